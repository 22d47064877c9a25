"""The trainer console served alone in a background thread of the test process (the trainer
blueprint with a real project copy, database and TrainingJobs), and a training worker polling the
same database in the same loop, its `rasa train` and `rasa test nlu` replaced by small scripts: the training script prints the per-component lines
Rasa printed in a real `rasa train` of config.yml (fixtures/rasa_train.log), and can be held
half-way until the test lets it finish. Nothing here trains a model."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sanic import Blueprint, Sanic

from bot.db_schema import GATEWAY, training_jobs
from bot.gateway.db_runner import DbRunner
from bot.gateway.staff_auth import StaffAuth, register_login
from bot.gateway.store import GatewayStore
from bot.gateway.trainer_api import TrainerServices, trainer_blueprint
from bot.review.agents import AgentAccounts
from bot.review.queue import ReviewQueue
from bot.training.delivery import ModelDelivery
from bot.training.documents import SqlDocuments
from bot.training.jobs import TrainingJobs
from bot.training.project_data import ProjectData
from bot.training.worker import TrainingWorker
from tests.conftest import ROOT, migrated
from tests.gateway.test_parts_alone import STRINGS, serving

Sanic.test_mode = True
PASSWORD = "secret-password"
TRAIN_LOG = Path(__file__).resolve().parent / "fixtures" / "rasa_train.log"
FAKE_TRAIN = """
import pathlib, sys, time
log, out, name, gate = sys.argv[1:5]
lines = pathlib.Path(log).read_text(encoding="utf-8").splitlines()
half = len(lines) // 2
for number, line in enumerate(lines):
    if number == half and gate:
        waited = 0
        while not pathlib.Path(gate).exists() and waited < 600:  # a failed test never opens it
            time.sleep(0.1)
            waited += 1
    print(line, flush=True)
    time.sleep(0.01)
if pathlib.Path(gate + ".fail").exists():
    print("rasa.shared.exceptions.InvalidConfigException: broken", flush=True)
    sys.exit(1)
pathlib.Path(out, name + ".tar.gz").write_bytes(b"model")
"""
FAKE_EVALUATE = """
import json, pathlib, sys
out, accuracy = sys.argv[1], float(sys.argv[2])
out = pathlib.Path(out)
out.mkdir(parents=True, exist_ok=True)
report = {"accuracy": accuracy, "macro avg": {"f1-score": accuracy - 0.02},
          "ask_stock": {"precision": 0.95, "recall": 0.9, "f1-score": 0.92, "support": 20}}
(out / "intent_report.json").write_text(json.dumps(report))
(out / "intent_errors.json").write_text("[]")
"""


class FakeRasaWorker(TrainingWorker):
    """A training worker whose `rasa train` replays a recorded log and whose evaluation gives set
    accuracies (the next trained model's, and the started-with model's)."""

    gate: Optional[Path] = None
    accuracy = 0.91
    initial_accuracy = 0.88

    def train_command(self, name: str) -> List[str]:
        gate = str(self.gate) if self.gate else ""
        return [sys.executable, "-c", FAKE_TRAIN, str(TRAIN_LOG), str(self.models_dir), name, gate]

    def evaluate_command(self, path: Path, report_dir: Path) -> List[str]:
        accuracy = self.initial_accuracy if Path(path).name == "qinkefu.tar.gz" else self.accuracy
        return [sys.executable, "-c", FAKE_EVALUATE, str(report_dir), str(accuracy)]



class NoRasa(ModelDelivery):
    """Loads models nowhere; remembers the last one."""

    async def load_into_rasa(self, path: Path) -> None:
        self.loaded = str(path)


def copy_project(target: Path, initial_model_time: float) -> Path:
    """domain, config, data and test set of this checkout; a started-with model file dated
    ``initial_model_time``, and the real-message result the bench wrote for it."""
    target.mkdir(parents=True)
    for name in ("domain.yml", "config.yml"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "data", target / "data")
    (target / "models").mkdir()
    started_with = target / "models" / "qinkefu.tar.gz"
    started_with.write_bytes(b"initial model")
    os.utime(started_with, (initial_model_time, initial_model_time))
    (target / "bench" / "results").mkdir(parents=True)
    shutil.copy(ROOT / "bench" / "results" / "real_language.json", target / "bench" / "results" / "real_language.json")
    return target


@dataclass
class ConsoleServer:
    url: str
    project: ProjectData
    jobs: TrainingJobs
    worker: FakeRasaWorker
    store: GatewayStore
    queue: ReviewQueue


class Background:
    """An asyncio loop in a thread serving the trainer console until stop()."""

    def __init__(self, tmp_path: Path, initial_model_time: float = 1_764_000_000.0, before_start=None) -> None:
        root = copy_project(tmp_path / "project", initial_model_time) if not (tmp_path / "project").exists() else tmp_path / "project"
        self.store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY))
        accounts = AgentAccounts(self.store.engine)
        for username, role in (("tina", "trainer"), ("alex", "agent")):
            if accounts.who(accounts.login(username, PASSWORD)) is None:
                accounts.add(username, PASSWORD, role)
        self.queue = ReviewQueue(self.store.engine)
        self.project = ProjectData.with_current_intents_fixed(root, SqlDocuments(self.store.engine, root))
        run_db = DbRunner()
        delivery = NoRasa([])
        self.jobs = TrainingJobs(self.store.engine, root, delivery, run_db=run_db)
        self.worker = FakeRasaWorker(
            TrainingJobs(self.store.engine, root, delivery),
            ProjectData(root, SqlDocuments(self.store.engine, root)),
            tmp_path / "training",
            delivery,
            poll_seconds=0.1,
        )
        if before_start:
            before_start(self)

        async def preview_values() -> Dict[str, Any]:
            return {"product": "纯棉T恤", "order_id": "SO20260001"}

        services = TrainerServices(
            STRINGS["trainer"],
            self.project,
            self.queue,
            self.jobs,
            StaffAuth(accounts, run_db=run_db),
            preview_values,
            run_db,
            intent_names=STRINGS["intent_names"],
        )
        self._ready: Future = Future()
        self._stop: Optional[asyncio.Event] = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(services),), daemon=True)
        self._thread.start()
        self.url = self._ready.result(timeout=60)

    async def _serve(self, services: TrainerServices) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        app = Sanic(f"trainer_console_{id(self)}")
        app.blueprint(trainer_blueprint(services))
        app.blueprint(agent_login_blueprint(services.auth))
        try:
            async with serving(app) as base:
                worker = asyncio.ensure_future(self.worker.run(stop=self._stop))
                self._ready.set_result(base)
                await self._stop.wait()
                await worker
        except BaseException as error:  # noqa: BLE001 - reported to the waiting test
            if not self._ready.done():
                self._ready.set_exception(error)
            raise

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self.store.close()

    def job_rows(self) -> List[Dict[str, Any]]:
        with self.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(training_jobs).order_by(training_jobs.c.id)).mappings()]


def agent_login_blueprint(auth: StaffAuth):
    """Only the agent console's login: an agent signed in at /agent, then opening /trainer."""
    bp = Blueprint("agent_login_only")
    register_login(bp, auth, "/agent", ("agent",))
    return bp
