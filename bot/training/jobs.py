"""Training jobs, one at a time: train a candidate model in the background, evaluate it on the
held-in test set, and load it into the running Rasa server (Rasa's PUT /model: conversations go
on) only when it is not worse than the active model, or when the trainer confirms. Job state and
the model history are in the gateway database, so a page reload shows them."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

import aiohttp
import sqlalchemy as sa

from bot.db_schema import trained_models as models
from bot.db_schema import training_jobs as jobs
from bot.training.rasa_env import rasa_env

logger = logging.getLogger(__name__)
PROGRESS = re.compile(r"Epochs:\s+(\d+)%")


class JobRunning(RuntimeError):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc)


class TrainingJobs:
    def __init__(
        self,
        engine: sa.engine.Engine,
        project_root: Path,
        models_dir: Path,
        rasa_urls: Sequence[str],
        rasa_token: str = "",
        run_db: Optional[Callable[..., Awaitable[Any]]] = None,
    ) -> None:
        self.engine = engine
        self.rasa_token = rasa_token  # RASA_AUTH_TOKEN: PUT /model is part of Rasa's protected API
        self.root = Path(project_root)
        self.models_dir = Path(models_dir)
        # Every Rasa replica loads the new model (behind a load balancer one PUT would reach one).
        self.rasa_urls = [url.rstrip("/") for url in rasa_urls]
        self._task: Optional[asyncio.Task] = None
        # How the async methods run their database calls (off the event loop): the gateway's DbRunner,
        # else the loop's default executor.
        self.run_db = run_db

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.run_db is not None:
            return await self.run_db(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))

    # -- state -----------------------------------------------------------------------------
    def latest(self) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).order_by(jobs.c.id.desc()).limit(1)).mappings().first()
        return {**dict(row), "started_at": str(row["started_at"]), "finished_at": str(row["finished_at"] or "")} if row else None

    def _update(self, job_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))

    def history(self) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(models).order_by(models.c.created_at.desc())).mappings().all()
        return [{**dict(r), "created_at": str(r["created_at"])} for r in rows]

    def model(self, name: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(models).where(models.c.name == name)).mappings().first()
        return dict(row) if row else None

    def active(self) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(models).where(models.c.active.is_(True))).mappings().first()
        return dict(row) if row else None

    def register(self, name: str, path: Path, evaluation: Dict[str, Any], active: bool) -> None:
        with self.engine.begin() as conn:
            if active:
                conn.execute(models.update().values(active=False))
            conn.execute(models.delete().where(models.c.name == name))
            conn.execute(
                models.insert().values(
                    name=name,
                    path=str(path),
                    created_at=_now(),
                    accuracy=evaluation.get("accuracy"),
                    macro_f1=evaluation.get("macro_f1"),
                    report_dir=evaluation.get("report_dir"),
                    active=active,
                )
            )

    # -- running ---------------------------------------------------------------------------
    def start(self, confirm_worse: bool = False) -> Dict[str, Any]:
        job_id = self._new_job()
        self._task = asyncio.ensure_future(self._run(job_id, confirm_worse))
        started = self.latest()
        assert started is not None  # the job just inserted
        return started

    async def start_async(self, confirm_worse: bool = False) -> Dict[str, Any]:
        """start, with its database calls off the event loop."""
        if self._task is not None and not self._task.done():
            raise JobRunning("a training job is already running")
        job_id = await self._db(self._new_job)
        self._task = asyncio.ensure_future(self._run(job_id, confirm_worse))
        return await self._db(self.latest)

    def _new_job(self) -> int:
        with self.engine.begin() as conn:
            running = conn.execute(sa.select(jobs.c.id).where(jobs.c.status.in_(("training", "evaluating")))).first()
            if running or (self._task is not None and not self._task.done()):
                raise JobRunning("a training job is already running")
            return conn.execute(
                jobs.insert().values(status="training", progress=0, message="", started_at=_now())
            ).inserted_primary_key[0]

    async def _run(self, job_id: int, confirm_worse: bool) -> None:
        name = f"model-{_now().strftime('%Y%m%d-%H%M%S')}-{job_id}"
        try:
            path = await self._train(job_id, name)
            await self._db(
                self._update, job_id, status="evaluating", progress=100, message="evaluating on the held-in test set", model=name
            )
            evaluation = await self.evaluate(path, name)
            baseline = await self._baseline()
            previous = baseline.get("accuracy") if baseline else None
            better = previous is None or evaluation["accuracy"] >= previous
            if better or confirm_worse:
                await self.load_into_rasa(path)
                await self._db(self.register, name, path, evaluation, active=True)
                await self._db(
                    self._update,
                    job_id,
                    status="swapped",
                    accuracy=evaluation["accuracy"],
                    previous_accuracy=previous,
                    message="the new model is answering buyers",
                    finished_at=_now(),
                )
            else:
                await self._db(self.register, name, path, evaluation, active=False)
                await self._db(
                    self._update,
                    job_id,
                    status="kept",
                    accuracy=evaluation["accuracy"],
                    previous_accuracy=previous,
                    message="the new model is worse on the held-in set; the running model was kept",
                    finished_at=_now(),
                )
        except Exception as error:  # noqa: BLE001 - any failure leaves the running model untouched
            logger.exception("training job %s failed", job_id)
            await self._db(self._update, job_id, status="failed", message=str(error)[-2000:], finished_at=_now())

    async def _train(self, job_id: int, name: str) -> Path:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.rasa_server",
            "train",
            "--out",
            str(self.models_dir),
            "--fixed-model-name",
            name,
            cwd=self.root,
            env=rasa_env(),
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
                match = PROGRESS.search(line)
                if match:
                    await self._db(self._update, job_id, progress=min(99, int(match.group(1))), message="training")
                elif line.strip():
                    tail = (tail + [line])[-20:]
        if await process.wait() != 0:
            raise RuntimeError("rasa train failed: " + "\n".join(tail))
        return self.models_dir / f"{name}.tar.gz"

    async def evaluate(self, path: Path, name: str) -> Dict[str, Any]:
        report_dir = self.models_dir / "reports" / name
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.rasa_server",
            "test",
            "nlu",
            "--model",
            str(path),
            "--nlu",
            "tests/nlu/test_nlu.yml",
            "--out",
            str(report_dir),
            cwd=self.root,
            env=rasa_env(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError("rasa test nlu failed: " + stderr.decode(errors="replace")[-2000:])
        report = json.loads((report_dir / "intent_report.json").read_text())
        return {
            "accuracy": round(report["accuracy"], 4),
            "macro_f1": round(report["macro avg"]["f1-score"], 4),
            "report_dir": str(report_dir),
        }

    async def _baseline(self) -> Optional[Dict[str, Any]]:
        """The active model; the first time, the model the server was started with is evaluated."""
        active = await self._db(self.active)
        if active is not None:
            return active
        started_with = self.root / "models" / "qinkefu.tar.gz"
        if not started_with.exists():
            return None
        evaluation = await self.evaluate(started_with, "initial")
        await self._db(self.register, "initial", started_with, evaluation, active=True)
        return await self._db(self.active)

    async def load_into_rasa(self, path: Path) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http:
            for rasa_url in self.rasa_urls:
                params = {"token": self.rasa_token} if self.rasa_token else {}
                async with http.put(f"{rasa_url}/model", json={"model_file": str(Path(path).resolve())}, params=params) as reply:
                    if reply.status not in (200, 204):
                        raise RuntimeError(
                            f"the Rasa server {rasa_url} refused the model: HTTP {reply.status} {await reply.text()}"
                        )

    async def activate(self, name: str) -> None:
        found = await self._db(self.model, name)
        if found is None:
            raise KeyError(name)
        await self.load_into_rasa(Path(found["path"]))
        await self._db(self._mark_active, name)

    def _mark_active(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(models.update().values(active=False))
            conn.execute(models.update().where(models.c.name == name).values(active=True))

    def report(self, name: str) -> Optional[Dict[str, Any]]:
        found = self.model(name)
        if found is None or not found["report_dir"]:
            return None
        directory = Path(found["report_dir"])
        report = json.loads((directory / "intent_report.json").read_text())
        errors_file = directory / "intent_errors.json"
        errors = json.loads(errors_file.read_text()) if errors_file.exists() else []
        errors.sort(key=lambda e: -e["intent_prediction"]["confidence"])
        return {
            "accuracy": report["accuracy"],
            "per_intent": {
                k: {
                    "precision": round(v["precision"], 3),
                    "recall": round(v["recall"], 3),
                    "f1": round(v["f1-score"], 3),
                    "support": v["support"],
                }
                for k, v in report.items()
                if isinstance(v, dict) and "support" in v and k not in ("macro avg", "weighted avg", "micro avg")
            },
            "errors": [
                {
                    "text": e["text"],
                    "intent": e["intent"],
                    "predicted": e["intent_prediction"]["name"],
                    "confidence": round(e["intent_prediction"]["confidence"], 3),
                }
                for e in errors[:20]
            ],
            "confusion_png": f"/trainer/reports/{name}/intent_confusion_matrix.png"
            if (directory / "intent_confusion_matrix.png").exists()
            else None,
        }
