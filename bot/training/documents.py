"""Where the trainer's documents (domain.yml, data/nlu|rules|stories/*.yml) are read and written.

Two stores behind one Protocol:
- ``FileDocuments``: the files of a checkout (the command line, a developer's project). An edit holds
  a file lock, so two edits never interleave.
- ``SqlDocuments``: the gateway's database (training_documents) over the files the process ships
  with. A document nobody edited is read from the shipped file; the first edit stores it in the
  database, and the shipped file is never written. The stored text keeps the shipped text it was
  edited from: when a newer release ships another file, the document reads as the trainer's text
  merged with what the release changed (bot/training/merge.py), and the next edit stores that.
  An edit checks, in the transaction that stores it, that no document it read was changed by another edit since (its revision): the loser gets
  ``EditConflict`` and ProjectData runs the edit again on the new text, so two gateways never lose
  each other's change. The first attempt reads without waiting for anyone; a retry is made
  ``exclusive``: it holds the store's edit lock (a process lock, and on PostgreSQL an advisory lock
  shared by every gateway) from its first read to its commit, and every commit takes that lock, so
  a retry cannot lose again and a burst of trainers never ends in "try again".

``export_project`` writes a complete training project (the shipped files with the store's
documents over them) into a directory: what `rasa train` and `rasa data validate` run in."""

from __future__ import annotations

import fcntl
import logging
import shutil
import threading
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import ContextManager, Dict, Iterator, List, Optional, Protocol, Tuple

import sqlalchemy as sa

from bot.db_schema import training_documents
from bot.training.merge import merge_documents

logger = logging.getLogger(__name__)

# What a training project needs besides the documents: the pipeline, the shop data its components
# read (lexicon, jieba dictionary), the built spaCy pipeline and sentence encoder, and the held-in
# test set the evaluation runs on. Copied (or, for the large build outputs, linked) by export_project.
PROJECT_FILES = ("config.yml", "domain.yml", "data", "tests/nlu")
PROJECT_LINKS = ("build",)


# One edit at a time across the gateways sharing a PostgreSQL database (pg_advisory_lock's key).
ADVISORY_LOCK_KEY = zlib.crc32(b"qkf.training_documents")
# ... and across the stores of one process (SQLite has no advisory locks).
_PROCESS_EDIT_LOCK = threading.RLock()


class EditConflict(RuntimeError):
    """Another edit stored a document this edit read, after it was read."""


class Documents(Protocol):
    """What an edit reads and writes."""

    def read(self, path: str) -> Optional[str]:
        """The document's text; None when there is none."""

    def paths(self, folder: str) -> List[str]:
        """The .yml documents directly in ``folder``, sorted."""

    def write(self, path: str, text: str) -> None:
        """Only inside ``edit()``."""


class DocumentStore(Documents, Protocol):
    def edit(self, author: str = "", exclusive: bool = False) -> ContextManager[Documents]:
        """A view of the store whose writes are kept only when the block ends without an error;
        raises EditConflict when another edit changed what this one read. ``exclusive``: no other
        edit commits while this one runs."""

    def stored(self) -> Dict[str, str]:
        """path -> text of the documents that differ from the shipped files (what export writes over them)."""


def _shipped_paths(root: Path, folder: str) -> List[str]:
    return sorted(str(p.relative_to(root)) for p in (root / folder).glob("*.yml"))


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


class FileDocuments:
    """The checkout's own files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def read(self, path: str) -> Optional[str]:
        found = self.root / path
        return found.read_text(encoding="utf-8") if found.exists() else None

    def paths(self, folder: str) -> List[str]:
        return _shipped_paths(self.root, folder)

    def write(self, path: str, text: str) -> None:
        _write_file(self.root / path, text)

    @contextmanager
    def edit(self, author: str = "", exclusive: bool = False) -> Iterator["FileDocuments"]:
        with open(self.root / ".trainer.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def stored(self) -> Dict[str, str]:
        return {}  # the checkout's files are the shipped files


class SqlDocuments:
    """The trainer's documents in the gateway database, over the shipped files of ``root``."""

    def __init__(self, engine: sa.engine.Engine, root: Path) -> None:
        self.engine = engine
        self.root = Path(root)
        self._merged: Dict[str, Tuple[Tuple[str, str, str], str]] = {}  # path -> (its texts, merged)
        self._shipped: Dict[str, Optional[str]] = {}

    def shipped(self, path: str) -> Optional[str]:
        """The file the process ships with (read once: a release is a new process)."""
        if path not in self._shipped:
            self._shipped[path] = FileDocuments(self.root).read(path)
        return self._shipped[path]

    def _row(self, conn: sa.engine.Connection, path: str) -> Optional[Tuple[str, int]]:
        """The document's current text (merged with a newer shipped file) and its revision."""
        table = training_documents
        row = conn.execute(sa.select(table.c.text, table.c.revision, table.c.base_text).where(table.c.path == path)).first()
        return (self.current(path, row.text, row.base_text), row.revision) if row else None

    def current(self, path: str, text: str, base: Optional[str]) -> str:
        """A stored ``text`` edited from the shipped ``base``, merged with what the shipped file
        has changed since (cached: documents are read often, releases are rare)."""
        shipped = self.shipped(path)
        if base is None or shipped is None or shipped == base:
            return text
        key = (text, base, shipped)
        cached = self._merged.get(path)
        if cached is None or cached[0] != key:
            merged, conflicts = merge_documents(base, text, shipped)
            if conflicts:
                logger.warning("%s: the trainer's version kept where the release changed it too: %s", path, ", ".join(conflicts))
            cached = self._merged[path] = (key, merged)
        return cached[1]

    def _revision(self, conn: sa.engine.Connection, path: str) -> int:
        row = conn.execute(sa.select(training_documents.c.revision).where(training_documents.c.path == path)).first()
        return row.revision if row else 0

    def read(self, path: str) -> Optional[str]:
        with self.engine.connect() as conn:
            row = self._row(conn, path)
        if row is not None:
            return row[0]
        return self.shipped(path)

    def paths(self, folder: str) -> List[str]:
        prefix = folder.rstrip("/") + "/"
        with self.engine.connect() as conn:
            stored = conn.execute(
                sa.select(training_documents.c.path).where(training_documents.c.path.like(prefix + "%"))
            ).scalars()
            found = {p for p in stored if "/" not in p[len(prefix) :] and p.endswith(".yml")}
        return sorted(found | set(_shipped_paths(self.root, folder)))

    def write(self, path: str, text: str) -> None:
        raise RuntimeError("SqlDocuments.write outside edit()")

    @contextmanager
    def edit(self, author: str = "", exclusive: bool = False) -> Iterator["_SqlEdit"]:
        session = _SqlEdit(self)
        if exclusive:
            with self.edit_lock():
                yield session
                session.commit(author)
        else:
            yield session
            with self.edit_lock():
                session.commit(author)

    @contextmanager
    def edit_lock(self) -> Iterator[None]:
        """Held by every commit and by an exclusive edit throughout."""
        with _PROCESS_EDIT_LOCK:
            if self.engine.dialect.name != "postgresql":
                yield
                return
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                    conn.commit()

    def stored(self) -> Dict[str, str]:
        table = training_documents
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.path, table.c.text, table.c.base_text)).all()
        return {row.path: self.current(row.path, row.text, row.base_text) for row in rows}


class _SqlEdit:
    """One edit: reads remember the revision they saw (0: the shipped file), writes wait for commit."""

    def __init__(self, store: SqlDocuments) -> None:
        self.store = store
        self.seen: Dict[str, int] = {}
        self.written: Dict[str, str] = {}

    def read(self, path: str) -> Optional[str]:
        if path in self.written:
            return self.written[path]
        with self.store.engine.connect() as conn:
            row = self.store._row(conn, path)
        if row is not None:
            self.seen[path] = row[1]
            return row[0]
        self.seen[path] = 0
        return self.store.shipped(path)

    def paths(self, folder: str) -> List[str]:
        return self.store.paths(folder)

    def write(self, path: str, text: str) -> None:
        self.written[path] = text

    def commit(self, author: str) -> None:
        if not self.written:
            return
        now = datetime.now(timezone.utc)
        table = training_documents
        try:
            with self.store.engine.begin() as conn:
                for path, seen in self.seen.items():
                    if path not in self.written and self.store._revision(conn, path) != seen:
                        raise EditConflict(f"{path} was changed by another edit")
                for path, text in self.written.items():
                    # A document written without being read first: over whatever is there.
                    revision = self.seen[path] if path in self.seen else self.store._revision(conn, path)
                    base = self.store.shipped(path)  # what the edit was merged with
                    values = dict(text=text, revision=revision + 1, updated_by=author, updated_at=now, base_text=base)
                    if revision == 0:
                        conn.execute(table.insert().values(path=path, **values))
                    elif (
                        conn.execute(
                            table.update().where(table.c.path == path, table.c.revision == revision).values(**values)
                        ).rowcount
                        != 1
                    ):
                        raise EditConflict(f"{path} was changed by another edit")
        except sa.exc.IntegrityError as error:  # another edit stored the same new document first
            raise EditConflict(str(error)) from error


def export_project(root: Path, stored: Dict[str, str], target: Path) -> Path:
    """A training project in ``target``: the shipped files of ``root`` with ``stored`` (path -> text)
    written over them."""
    root, target = Path(root), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, target / name, dirs_exist_ok=True)
        elif source.exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name in PROJECT_LINKS:
        if (root / name).exists() and not (target / name).exists():
            (target / name).symlink_to((root / name).resolve(), target_is_directory=True)
    for path, text in stored.items():
        _write_file(target / path, text)
    return target
