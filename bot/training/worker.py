"""The training worker (`python -m bot training-worker`): claims the queued training jobs of the
gateway database one at a time, exports the trainer's data (the shipped project with the edits
stored in the database over it) into a fresh directory, runs `rasa train` there, evaluates the
candidate on the held-in test set and makes it the running model only when it is not worse than the
active model, or when the trainer confirmed. It needs no checkout shared with the gateways: on a
cluster it is a Kubernetes Job (``--once``: one job, then exit) whose model goes to the model server.
Progress, timings and a heartbeat are written to the job's row for the console."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Awaitable, Dict, List, Optional

import sqlalchemy as sa

from bot.training.delivery import ModelDelivery
from bot.training.jobs import TRAIN_SHARE, TrainingJobs, TrainingProgress, owner_id, training_components, utc_now
from bot.training.project_data import ProjectData
from bot.training.rasa_env import rasa_env

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30  # well inside jobs.STALE_AFTER
HELD_IN_TEST_SET = "tests/nlu/test_nlu.yml"  # in the exported project (documents.PROJECT_FILES)
STARTED_WITH = "models/qinkefu.tar.gz"  # the model the project ships, the first baseline
DATABASE_DOWN = (sa.exc.DBAPIError, sa.exc.DisconnectionError)


class JobFailed(RuntimeError):
    """A step of a job failed; ``reason`` is the code the console shows in its own words."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class TrainingWorker:
    def __init__(
        self, jobs: TrainingJobs, project: ProjectData, work_dir: Path, delivery: ModelDelivery, poll_seconds: float = 5
    ) -> None:
        self.jobs = jobs
        self.project = project
        self.work_dir = Path(work_dir)
        self.models_dir = self.work_dir / "models"
        self.delivery = delivery
        self.poll_seconds = poll_seconds
        self.owner = owner_id()

    async def run(self, once: bool = False, stop: Optional[asyncio.Event] = None) -> int:
        """Runs queued jobs until ``stop`` is set; with ``once``, the next queued job (if any), then
        returns (1 when the database could not be reached: the Job fails and the next one tries
        again). Jobs a stopped worker left running are marked failed first. While the database is
        down (a restart, a failover) the long-running worker waits and tries again; it does not exit."""
        stop = stop or asyncio.Event()
        recovered = False
        while not stop.is_set():
            try:
                if not recovered:
                    await self.jobs.db(self.jobs.recover_interrupted)
                    recovered = True
                ran = await self.run_next()
            except DATABASE_DOWN as error:
                logger.warning("training worker: the gateway database is unreachable (%s); trying again", error)
                if once:
                    return 1
                ran = False
            if once:
                return 0
            if not ran:
                try:
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)
                except asyncio.TimeoutError:
                    pass
        return 0

    async def run_next(self) -> bool:
        """Claims and runs the oldest queued job; False when none waits."""
        claimed = await self.jobs.db(self.jobs.claim, self.owner)
        if claimed is None:
            return False
        logger.info("training job %s claimed by %s", claimed["id"], self.owner)
        await self._run(claimed["id"], claimed["confirm_worse"])
        return True

    async def _update(self, job_id: int, **values: Any) -> None:
        await self.jobs.db(self.jobs.update, job_id, **values)

    async def _heartbeat(self, job_id: int) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._update(job_id, heartbeat_at=utc_now())

    async def _run(self, job_id: int, confirm_worse: bool) -> None:
        name = f"model-{utc_now().strftime('%Y%m%d-%H%M%S')}-{job_id}"
        heartbeat = asyncio.ensure_future(self._heartbeat(job_id))
        project = self.work_dir / "projects" / name
        try:
            await self._step("export_failed", asyncio.get_running_loop().run_in_executor(None, self.project.export, project))
            path = await self._train(job_id, name, project)
            await self._update(job_id, status="evaluating", progress=TRAIN_SHARE, stage="evaluate", model=name)
            evaluation = await self._step("evaluate_failed", self.evaluate(path, name, project))
            await self._update(job_id, progress=TRAIN_SHARE + 4, stage="baseline")
            baseline = await self._step("evaluate_failed", self._baseline(project))
            previous = baseline.get("accuracy") if baseline else None
            better = previous is None or evaluation["accuracy"] >= previous
            if better or confirm_worse:
                await self._update(job_id, progress=TRAIN_SHARE + 7, stage="load_model")
                await self._step("rasa_refused", self.delivery.deliver(name, path))
                await self.jobs.db(self.jobs.register, name, path, evaluation, active=True)
                status = "swapped"
            else:
                await self._step("rasa_refused", self.delivery.keep(name, path))
                await self.jobs.db(self.jobs.register, name, path, evaluation, active=False)
                status = "kept"
            await self._update(
                job_id,
                status=status,
                progress=100,
                stage=None,
                accuracy=evaluation["accuracy"],
                previous_accuracy=previous,
                finished_at=utc_now(),
            )
        except Exception as error:  # noqa: BLE001 - any failure leaves the running model untouched
            logger.exception("training job %s failed", job_id)
            reason = error.reason if isinstance(error, JobFailed) else "unexpected"
            await self._update(
                job_id, status="failed", reason=reason, stage=None, message=str(error)[-2000:], finished_at=utc_now()
            )
        finally:
            heartbeat.cancel()
            shutil.rmtree(project, ignore_errors=True)

    @staticmethod
    async def _step(reason: str, step: Awaitable[Any]) -> Any:
        try:
            return await step
        except JobFailed:
            raise
        except Exception as error:  # noqa: BLE001 - reported as this step's failure
            raise JobFailed(reason, f"{type(error).__name__}: {error}") from error

    def train_command(self, name: str) -> List[str]:
        return [sys.executable, "-m", "bot.rasa_server", "train", "--out", str(self.models_dir), "--fixed-model-name", name]

    async def _train(self, job_id: int, name: str, project: Path) -> Path:
        """`rasa train` in the exported project; its per-component log lines move the job's progress."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        progress = TrainingProgress(training_components(project))
        reached: Dict[str, float] = {}  # position -> seconds since the start when it was reached
        process = await asyncio.create_subprocess_exec(
            *self.train_command(name),
            cwd=project,
            # The per-component lines are INFO; the cache (components whose inputs did not change are
            # restored) outlives the exported project.
            env={**rasa_env(), "LOG_LEVEL": "INFO", "RASA_CACHE_DIRECTORY": str(self.work_dir / "rasa-cache")},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        tail: List[str] = []
        buffer = b""
        assert process.stdout is not None  # stdout=PIPE
        while True:
            chunk = await process.stdout.read(4096)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = re.split(rb"[\r\n]", buffer)
            for raw in lines:
                line = raw.decode(errors="replace")
                if progress.feed(line):
                    reached.setdefault(str(progress.position), round(loop.time() - started, 1))
                    await self._update(
                        job_id,
                        progress=progress.percent,
                        stage=progress.stage,
                        heartbeat_at=utc_now(),
                        timings=json.dumps({"total": progress.total, "position": progress.position, "reached": reached}),
                    )
                elif line.strip():
                    tail = (tail + [line])[-20:]
        if await process.wait() != 0:
            raise JobFailed("train_failed", "rasa train failed: " + "\n".join(tail))
        trained = round(loop.time() - started, 1)
        timings = {"total": progress.total, "position": progress.total, "reached": reached, "trained": trained}
        await self._update(job_id, timings=json.dumps(timings))
        return self.models_dir / f"{name}.tar.gz"

    def evaluate_command(self, path: Path, report_dir: Path) -> List[str]:
        return [
            sys.executable,
            "-m",
            "bot.rasa_server",
            "test",
            "nlu",
            "--model",
            str(path),
            "--nlu",
            HELD_IN_TEST_SET,
            "--out",
            str(report_dir),
        ]

    async def evaluate(self, path: Path, name: str, project: Path) -> Dict[str, Any]:
        """The model on the held-in test set; the report (per intent, the errors) goes into the
        model's row, for a console that cannot read this machine's files."""
        report_dir = self.work_dir / "reports" / name
        process = await asyncio.create_subprocess_exec(
            *self.evaluate_command(path, report_dir),
            cwd=project,
            env=rasa_env(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError("rasa test nlu failed: " + stderr.decode(errors="replace")[-2000:])
        report = json.loads((report_dir / "intent_report.json").read_text())
        errors_file = report_dir / "intent_errors.json"
        errors = json.loads(errors_file.read_text()) if errors_file.exists() else []
        return {
            "accuracy": round(report["accuracy"], 4),
            "macro_f1": round(report["macro avg"]["f1-score"], 4),
            "report_dir": str(report_dir),
            "report": json.dumps({"intents": report, "errors": errors}, ensure_ascii=False),
        }

    async def _baseline(self, project: Path) -> Optional[Dict[str, Any]]:
        """The active model; the first time, the model the project ships is evaluated and registered."""
        active = await self.jobs.db(self.jobs.active)
        if active is not None:
            return active
        started_with = self.project.root / STARTED_WITH
        if not started_with.exists():
            return None
        evaluation = await self.evaluate(started_with, "initial", project)
        evaluation["real_accuracy"] = self.shipped_real_accuracy()
        await self.jobs.db(self.jobs.register, "initial", started_with, evaluation, active=True)
        return await self.jobs.db(self.jobs.active)

    def shipped_real_accuracy(self) -> Optional[float]:
        """Accuracy on real buyer messages of the model the project ships (models/qinkefu.tar.gz), as
        bench/real_language.py measured it; None without that result. The real-message set itself is
        never read here (shared/realdev/README.md)."""
        try:
            results = json.loads((self.project.root / "bench" / "results" / "real_language.json").read_text(encoding="utf-8"))
            return float(results["models"]["shipped model"]["accuracy"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
