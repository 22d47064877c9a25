"""The model server's artifacts, in the one directory it owns (MODEL_SERVER_DIR):

models/<name>.tar.gz   a published model (never changed once published)
models/<name>.json     its sha256, size and publication time
active                 the name of the model the replicas load (replaced atomically)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, List, Optional, Tuple

# A model name is a file name: no path separators, no leading dot.
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
GZIP_MAGIC = b"\x1f\x8b"
SEED_NAME = "initial"


class ModelConflict(ValueError):
    """A model of that name was already published with other content."""


class NotAModel(ValueError):
    """An upload that is not a gzip file (a Rasa model is a .tar.gz)."""


@dataclass(frozen=True)
class StoredModel:
    name: str
    sha256: str
    size: int
    published_at: str

    @property
    def etag(self) -> str:
        """The HTTP entity tag: the sha256 of the file, quoted."""
        return f'"{self.sha256}"'

    @property
    def filename(self) -> str:
        return f"{self.name}.tar.gz"


def valid_name(name: str) -> bool:
    return bool(MODEL_NAME.match(name)) and not name.endswith(".json")


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list of (possibly weak) tags; Rasa sends back the ETag it
    got, as it got it (quoted)."""
    wanted = etag.strip('"')
    for tag in (if_none_match or "").split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag and tag.strip('"') == wanted:
            return True
    return False


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class ModelStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.models_dir = self.directory / "models"
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.active_file = self.directory / "active"

    def path(self, name: str) -> Path:
        if not valid_name(name):
            raise ValueError(f"not a model name: {name!r}")
        return self.models_dir / f"{name}.tar.gz"

    def get(self, name: str) -> Optional[StoredModel]:
        if not valid_name(name):
            return None
        meta = self.models_dir / f"{name}.json"
        if not meta.is_file() or not self.path(name).is_file():
            return None
        return StoredModel(**json.loads(meta.read_text(encoding="utf-8")))

    def history(self) -> List[StoredModel]:
        """Every published model, newest first."""
        found = [self.get(meta.name[: -len(".json")]) for meta in self.models_dir.glob("*.json")]
        return sorted((m for m in found if m is not None), key=lambda m: m.published_at, reverse=True)

    def active(self) -> Optional[StoredModel]:
        if not self.active_file.is_file():
            return None
        return self.get(self.active_file.read_text(encoding="utf-8").strip())

    def activate(self, name: str) -> StoredModel:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        _write_atomically(self.active_file, name + "\n")
        return found

    # -- publishing ------------------------------------------------------------------------
    def begin_upload(self) -> Tuple[Path, BinaryIO]:
        """A temporary file in the store's directory (same file system: the rename is atomic)."""
        temporary = self.models_dir / f".upload-{uuid.uuid4().hex}"
        return temporary, open(temporary, "wb")

    def finish_upload(self, name: str, temporary: Path) -> Tuple[StoredModel, bool]:
        """Publishes the uploaded file as ``name``; returns the model and whether it is new. The same
        content under the same name again is accepted (idempotent); other content is a conflict."""
        try:
            digest = hashlib.sha256()
            with open(temporary, "rb") as handle:
                head = handle.read(2)
                digest.update(head)
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            if head != GZIP_MAGIC:
                raise NotAModel("a Rasa model is a .tar.gz file")
            existing = self.get(name)
            if existing is not None:
                if existing.sha256 != digest.hexdigest():
                    raise ModelConflict(f"a different model named {name} is already published")
                return existing, False
            model = StoredModel(
                name=name,
                sha256=digest.hexdigest(),
                size=temporary.stat().st_size,
                published_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            )
            os.replace(temporary, self.path(name))
            _write_atomically(self.models_dir / f"{name}.json", json.dumps(asdict(model)))
            return model, True
        finally:
            temporary.unlink(missing_ok=True)

    def publish_file(self, name: str, source: Path) -> Tuple[StoredModel, bool]:
        temporary, handle = self.begin_upload()
        with handle, open(source, "rb") as reading:
            for chunk in iter(lambda: reading.read(1 << 20), b""):
                handle.write(chunk)
        return self.finish_upload(name, temporary)

    def seed(self, source: Path) -> Optional[StoredModel]:
        """The first start: publishes ``source`` (the model baked into the image) and makes it the
        active model, only when none is active; returns it, or None when a model was already active."""
        if self.active() is not None:
            return None
        try:
            model, _ = self.publish_file(SEED_NAME, source)
        except ModelConflict:
            digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
            model, _ = self.publish_file(f"{SEED_NAME}-{digest[:12]}", source)
        return self.activate(model.name)
