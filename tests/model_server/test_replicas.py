"""Two real Rasa replicas (``rasa run`` through bot.rasa_server, as the production profile starts
them) and the model server, the way they run on a cluster: each replica in its own empty working
directory holding only what the image holds besides models (credentials, data/, build/), with
deploy/endpoints.prod.yml's ``models:`` section and a short MODEL_PULL_SECONDS. When this runs as
root, each replica runs in its own mount namespace where the other replica's directory, the model
server's directory and the project's models/ are empty tmpfs mounts: it can only get a model over
HTTP. Then:

- both replicas load the active model from the server at start (their ``--model`` path does not exist);
- after the trainer's client activates another model, and after a rollback, both answer /status with
  it within one poll interval plus the time to load it;
- a replica restarted with a wrong token comes up with no model (the server said 403); restarted with
  the right one it comes back with the model active now, not the one it had.

Costly (three Rasa starts on a 2-core machine): one test, marked slow."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import requests
import yaml

from bot.model_server.client import ModelServerClient
from bot.ops.supervisor import rasa_command
from tests.conftest import ROOT
from tests.servers import ACTION_SECRET, MODEL_SERVER_TOKEN, RASA_TOKEN, free_port, require_model

pytestmark = pytest.mark.slow

PULL_SECONDS = 3
# A replica notices a new model at its next pull (PULL_SECONDS at most), then loads it; loading our
# model takes a few seconds on an idle machine, more on a busy 2-core one.
LOAD_ALLOWANCE = 90
# What a Rasa container has in its image besides models/ (config.yml's paths are relative to it).
IMAGE_FILES = ["credentials.yml", "data", "build/spacy_zh", "build/sentence_encoder"]
HIDE = (
    'for hidden in "$@"; do [ "$hidden" = -- ] && break; mount -t tmpfs -o size=1m tmpfs "$hidden"; shift; done; shift; exec "$@"'
)


def isolation_available() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def hiding(hidden, command):
    """``command`` run in its own mount namespace where the ``hidden`` folders are empty."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", HIDE, "sh", *map(str, hidden), "--", *command]


def second_model(source: Path, target: Path) -> str:
    """``source`` with a new model_id in its metadata (another model, as a retraining makes)."""
    model_id = uuid.uuid4().hex
    with tarfile.open(source, "r:gz") as reading, tarfile.open(target, "w:gz") as writing:
        for member in reading.getmembers():
            data = reading.extractfile(member) if member.isfile() else None
            if member.name.lstrip("/") == "metadata.json" and data is not None:
                metadata = json.loads(data.read())
                metadata["model_id"] = model_id
                content = json.dumps(metadata).encode()
                member.size = len(content)
                writing.addfile(member, io.BytesIO(content))
            else:
                writing.addfile(member, data)
    return model_id


def model_id_of(path: Path) -> str:
    with tarfile.open(path, "r:gz") as reading:
        for member in reading.getmembers():
            if member.name.lstrip("/") == "metadata.json":
                handle = reading.extractfile(member)
                assert handle is not None
                return json.loads(handle.read())["model_id"]
    raise AssertionError(f"no metadata.json in {path}")


class Replica:
    def __init__(self, name: str, workdir: Path, hidden: List[Path], model_server_url: str) -> None:
        self.name = name
        self.workdir = workdir
        self.hidden = hidden
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None
        self.log = workdir.parent / f"{name}.log"
        workdir.mkdir()
        for relative in IMAGE_FILES:
            source, target = ROOT / relative, workdir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
        production = yaml.safe_load((ROOT / "deploy/endpoints.prod.yml").read_text(encoding="utf-8"))
        embedded = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
        # The production profile's models: section as shipped; the embedded profile's SQLite tracker
        # store (in this directory) instead of PostgreSQL, which this test does not need.
        (workdir / "endpoints.yml").write_text(
            yaml.safe_dump({**embedded, "models": production["models"]}, allow_unicode=True), encoding="utf-8"
        )
        self.env = {
            **os.environ,
            "MODEL_SERVER_URL": model_server_url,
            "MODEL_SERVER_TOKEN": MODEL_SERVER_TOKEN,
            "MODEL_PULL_SECONDS": str(PULL_SECONDS),
            "RASA_AUTH_TOKEN": RASA_TOKEN,
            "ACTION_SERVER_SECRET": ACTION_SECRET,
            "ACTION_PORT": str(free_port()),
            "RASA_TRACKER_DB": str(workdir / "tracker.db"),
            "QKF_VAR_DIR": str(workdir),
            "HOME": str(workdir),
        }

    def start(self, token: str = MODEL_SERVER_TOKEN) -> "Replica":
        # The command the production profile gives its replicas: --model names the image's model,
        # which is not in this directory; with a model server in the endpoints Rasa pulls instead.
        command = rasa_command("models/qinkefu.tar.gz", "127.0.0.1", self.port, "endpoints.yml")
        if isolation_available():
            command = hiding(self.hidden, command)
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env={**self.env, "MODEL_SERVER_TOKEN": token},
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_up(self, timeout: float = 300) -> None:
        """Rasa answers / once it has tried to load a model at start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.tail()
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{self.name} not up after {timeout}s: {self.tail()}")

    def status(self) -> Dict:
        """Rasa's /status: the model file and model_id it answers with ({} without a model)."""
        try:
            reply = requests.get(f"http://127.0.0.1:{self.port}/status", params={"token": RASA_TOKEN}, timeout=5)
        except requests.RequestException:
            return {"unreachable": True}
        return reply.json() if reply.status_code == 200 else {"status": reply.status_code}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait_for_model(replicas: List[Replica], model_file: str, model_id: str, timeout: float) -> float:
    """Seconds until every replica answers with the model (fails after ``timeout``)."""
    started = time.monotonic()
    pending = list(replicas)
    while pending and time.monotonic() - started < timeout:
        pending = [r for r in pending if (r.status().get("model_file"), r.status().get("model_id")) != (model_file, model_id)]
        if pending:
            time.sleep(0.5)
    assert not pending, {r.name: r.status() for r in pending}
    return time.monotonic() - started


@pytest.fixture
def model_server(tmp_path):
    server_dir = tmp_path / "model-server"
    port = free_port()
    log = tmp_path / "model-server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "model-server", "--seed", str(require_model())],
        cwd=ROOT,
        env={
            **os.environ,
            "MODEL_SERVER_DIR": str(server_dir),
            "MODEL_SERVER_PORT": str(port),
            "MODEL_SERVER_TOKEN": MODEL_SERVER_TOKEN,
            "QKF_HOST": "127.0.0.1",
        },
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.3)
    try:
        yield url, server_dir
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_two_replicas_follow_the_active_model_and_a_restarted_one_comes_back_with_it(tmp_path, model_server):
    url, server_dir = model_server
    initial_id = model_id_of(require_model())
    retrained = tmp_path / "trainer" / "model-2.tar.gz"
    retrained.parent.mkdir()
    retrained_id = second_model(require_model(), retrained)
    client = ModelServerClient(url, MODEL_SERVER_TOKEN)

    a_dir, b_dir = tmp_path / "replica-a", tmp_path / "replica-b"
    hidden = [server_dir, ROOT / "models", tmp_path / "trainer"]
    a = Replica("replica-a", a_dir, [*hidden, b_dir], url)
    b = Replica("replica-b", b_dir, [*hidden, a_dir], url)
    try:
        if isolation_available():
            # The isolation itself: inside a replica's namespace the others' folders are empty.
            seen = subprocess.run(
                hiding(a.hidden, ["ls", "-A", str(server_dir), str(b_dir), str(ROOT / "models")]),
                capture_output=True,
                text=True,
                check=True,
            )
            # Only the folder headers, no files (ls lists the folders in its own order).
            assert sorted(seen.stdout.split()) == sorted([f"{server_dir}:", f"{b_dir}:", f"{ROOT / 'models'}:"]), seen.stdout
        a.start(), b.start()
        a.wait_up(), b.wait_up()
        # At start: the model the server has active (seeded from the image's model).
        wait_for_model([a, b], "initial.tar.gz", initial_id, 30)
        assert not (a_dir / "models" / "qinkefu.tar.gz").exists()

        # The trainer swaps in a new model: both replicas answer with it.
        asyncio.run(client.publish_and_activate("model-2", retrained))
        swap = wait_for_model([a, b], "model-2.tar.gz", retrained_id, PULL_SECONDS + LOAD_ALLOWANCE)

        # Rollback to the initial model.
        asyncio.run(client.publish_and_activate("initial", require_model()))
        rollback = wait_for_model([a, b], "initial.tar.gz", initial_id, PULL_SECONDS + LOAD_ALLOWANCE)

        # Replica A stops; meanwhile the new model becomes active again.
        a.stop()
        asyncio.run(client.activate("model-2"))
        wait_for_model([b], "model-2.tar.gz", retrained_id, PULL_SECONDS + LOAD_ALLOWANCE)

        # With a wrong token the server gives it nothing: no model.
        a.start(token="wrong-token-0123456789abcdef0123456789").wait_up()
        assert a.status() == {"status": 409}
        time.sleep(PULL_SECONDS + 1)
        assert a.status() == {"status": 409}
        a.stop()

        # Restarted with the right token: the model active now, not the one it had before.
        a.start().wait_up()
        wait_for_model([a], "model-2.tar.gz", retrained_id, 30)
        print(f"every replica answered with the new model {swap:.1f} s after the swap, {rollback:.1f} s after the rollback")
    finally:
        a.stop()
        b.stop()
