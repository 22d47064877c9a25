"""The training worker as a cluster runs it (`python -m bot training-worker --once`, a process of its
own with no checkout shared with the gateway): a trainer's new intent, stored only in the gateway
database, is exported, trained with the shipped config.yml by a real `rasa train`, evaluated, and
published to and activated on a real model server, whose /models/active then serves that model.
The console's view (job status, history, report) comes from the database alone."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest
import requests

from bot.db_schema import GATEWAY
from bot.gateway.store import GatewayStore
from bot.training.delivery import ModelDelivery
from bot.training.documents import SqlDocuments
from bot.training.jobs import TrainingJobs
from bot.training.project_data import ProjectData
from tests.conftest import ROOT, migrated
from tests.model_server.test_replicas import model_server  # noqa: F401 (fixture)
from tests.servers import MODEL_SERVER_TOKEN
from tests.training.test_training_data_in_database import INVOICE

pytestmark = pytest.mark.slow
WORKER_TIMEOUT = 1800  # `rasa train` of config.yml takes about 4 minutes on 2 free cores


def domain_intents(model: bytes) -> list:
    """The intents of the domain a Rasa model archive was trained with (its metadata.json)."""
    with tarfile.open(fileobj=io.BytesIO(model), mode="r:gz") as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("metadata.json"))
        metadata = json.load(archive.extractfile(member))
    return [i if isinstance(i, str) else next(iter(i)) for i in metadata["domain"]["intents"]]


def test_a_queued_job_is_trained_on_the_database_edits_and_served_by_the_model_server(tmp_path, model_server):  # noqa: F811
    url, _server_dir = model_server
    database_url = migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)
    domain_before = (ROOT / "domain.yml").read_bytes()
    store = GatewayStore(database_url)
    try:
        trainer = ProjectData(ROOT, SqlDocuments(store.engine, ROOT)).by("tina")
        trainer.add_intent("ask_invoice", INVOICE)
        trainer.set_response("utter_ask_invoice", ["亲，可以开电子发票的呢~"], [])
        trainer.add_rule("ask_invoice", "utter_ask_invoice")
        jobs = TrainingJobs(store.engine, ROOT, ModelDelivery([]))
        jobs.enqueue(confirm_worse=True)  # the trainer confirmed: activated whatever it scores
        assert jobs.latest()["status"] == "queued"

        work = tmp_path / "training"
        work.mkdir()
        if (ROOT / ".rasa" / "cache").is_dir():  # what `make train` cached: unchanged components are restored
            (work / "rasa-cache").symlink_to(ROOT / ".rasa" / "cache")
        env = {
            **os.environ,
            "GATEWAY_DB_URL": database_url,
            "MODEL_SERVER_URL": url,
            "MODEL_SERVER_TOKEN": MODEL_SERVER_TOKEN,
            "TRAINING_WORK_DIR": str(work),
            "TRAINER_PROJECT_DIR": str(ROOT),
            "QKF_VAR_DIR": str(tmp_path / "var"),
            "QKF_HOST": "127.0.0.1",
        }
        log = tmp_path / "worker.log"
        with open(log, "wb") as output:
            worker = subprocess.run(
                [sys.executable, "-m", "bot", "training-worker", "--once"],
                cwd=tmp_path,  # not the checkout: everything it trains comes from the export
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=WORKER_TIMEOUT,
            )
        assert worker.returncode == 0, log.read_text(errors="replace")[-3000:]

        job = jobs.latest()
        assert job["status"] == "swapped" and job["progress"] == 100, (job, log.read_text(errors="replace")[-3000:])
        name = job["model"]
        assert jobs.active()["name"] == name
        report = jobs.report(name)  # from the database: the worker's files are not the gateway's
        assert report["accuracy"] > 0.5 and "ask_stock" in report["per_intent"]

        listed = requests.get(f"{url}/models", headers={"Authorization": f"Bearer {MODEL_SERVER_TOKEN}"}, timeout=10).json()
        assert listed["active"] == name
        served = requests.get(f"{url}/models/active", headers={"Authorization": f"Bearer {MODEL_SERVER_TOKEN}"}, timeout=60)
        assert served.status_code == 200
        assert "ask_invoice" in domain_intents(served.content)  # the trainer's intent is in the model Rasa pulls
        assert not (work / "projects" / name).exists()  # the exported project is gone after the job
    finally:
        store.close()
    assert (ROOT / "domain.yml").read_bytes() == domain_before


def test_with_nothing_queued_the_worker_exits_at_once(tmp_path):
    database_url = migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)
    env = {**os.environ, "GATEWAY_DB_URL": database_url, "TRAINING_WORK_DIR": str(tmp_path / "w"), "QKF_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "training-worker", "--once"], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_worker_waits_out_a_database_outage_and_a_one_shot_job_reports_it(tmp_path, caplog):
    """A database restart must not kill the long-running worker (the supervisor would count it as a
    crash): it logs, waits and tries again until stopped; `--once` (the Kubernetes Job) exits 1 so
    the next Job tries again."""
    import asyncio
    import socket

    import sqlalchemy as sa

    from bot.training.worker import TrainingWorker

    with socket.socket() as probe:  # a port nothing listens on: every connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    engine = sa.create_engine(f"postgresql://postgres@127.0.0.1:{closed_port}/gateway", future=True)
    worker = TrainingWorker(
        TrainingJobs(engine, ROOT, ModelDelivery([])),
        ProjectData(ROOT, SqlDocuments(engine, ROOT)),
        tmp_path,
        ModelDelivery([]),
        poll_seconds=0.2,
    )

    async def stopped_after(seconds: float) -> int:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        return await worker.run(stop=stop)

    assert asyncio.run(stopped_after(1.5)) == 0
    outages = [r for r in caplog.records if "gateway database is unreachable" in r.getMessage()]
    assert len(outages) >= 3, "the worker kept trying while the database was down"
    assert asyncio.run(worker.run(once=True)) == 1
