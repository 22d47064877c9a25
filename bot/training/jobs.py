"""Training jobs, one at a time, as the gateway database records them: the trainer console queues
a job (``enqueue``), a training worker (bot/training/worker.py, `python -m bot training-worker`)
claims it, trains, evaluates and delivers the model, writing its progress here; the console shows
the progress with an estimate of the time left, the model history and the reports, and activates
an older model (rollback). Job state and the model history are in the database, so a page reload,
a gateway restart or another gateway shows them."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

import sqlalchemy as sa
import yaml

from bot.db_schema import trained_models as models
from bot.db_schema import training_jobs as jobs
from bot.training.delivery import ModelDelivery

logger = logging.getLogger(__name__)
# Rasa's graph trainer logs each component it trains (rasa.engine.training.hooks.LoggingHook):
# "Starting to train component 'X'.", then "Finished training component 'X'." or, when the
# fingerprint did not change, "Restored component 'X' from cache."
COMPONENT_LINE = re.compile(r"(Starting to train|Finished training|Restored) component '([A-Za-z_][A-Za-z0-9_]*)'")
RUNNING = ("training", "evaluating")
WAITING = ("queued",) + RUNNING  # a job in one of these blocks a new one
TRAIN_SHARE = 90  # per cent of the progress bar for `rasa train`; evaluation and loading the rest
STALE_AFTER = timedelta(minutes=3)  # a running job without a heartbeat for this long was abandoned
# A job still queued this long after it was asked for: no training worker is taking jobs (the
# console says so; a worker polls every few seconds, the Kubernetes CronJob starts every minute).
UNCLAIMED_AFTER = timedelta(minutes=3)


class JobRunning(RuntimeError):
    pass


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(value: Optional[datetime]) -> Optional[datetime]:
    """SQLite gives naive datetimes back: they were written in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _iso(value: Optional[datetime]) -> str:
    found = _utc(value)
    return found.isoformat() if found else ""


def _file_time(path: Path) -> datetime:
    """When a model file was written (its own timestamp, not when it was registered)."""
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, tz=timezone.utc)
    except OSError:
        return utc_now()


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def training_components(root: Path) -> List[str]:
    """The components of the project's config.yml in the order `rasa train` runs them: the NLU
    pipeline, then the policies (a component used twice is there twice)."""
    try:
        config = yaml.safe_load((Path(root) / "config.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    entries = list(config.get("pipeline") or []) + list(config.get("policies") or [])
    return [str(e.get("name", "")).rsplit(".", 1)[-1] for e in entries if isinstance(e, dict) and e.get("name")]


class TrainingProgress:
    """Follows `rasa train`'s log through config.yml's components. Only components with a training
    step log a line; the ones between two such lines (a featurizer preparing the training data, a
    provider) are what runs after the first finished, so the stage is the next component in order.
    ``position`` is how many of the components are behind."""

    def __init__(self, components: Sequence[str]) -> None:
        self.components = list(components)
        self.position = 0
        self.done: set = set()
        self.stage: Optional[str] = self.components[0] if self.components else None

    def _find(self, component: str) -> Optional[int]:
        """The component's entry: the next one of that name, else the first of that name not done
        (Rasa's graph may train a component before one listed above it)."""
        for index in list(range(self.position, len(self.components))) + list(range(self.position)):
            if self.components[index] == component and index not in self.done:
                return index
        return None

    def feed(self, line: str) -> bool:
        """True when the line moved the progress or the stage."""
        match = COMPONENT_LINE.search(line)
        if not match:
            return False
        verb, component = match.groups()
        index = self._find(component)
        if verb == "Starting to train":
            self.stage = component
        else:
            if index is not None:
                self.done.add(index)
                self.position = max(self.position, index + 1)
            self.stage = self.components[self.position] if self.position < len(self.components) else None
        return True

    @property
    def total(self) -> int:
        return len(self.components)

    @property
    def percent(self) -> int:
        return min(TRAIN_SHARE - 1, round(self.position * TRAIN_SHARE / max(1, self.total)))


class TrainingJobs:
    def __init__(
        self,
        engine: sa.engine.Engine,
        project_root: Path,
        delivery: ModelDelivery,
        run_db: Optional[Callable[..., Awaitable[Any]]] = None,
    ) -> None:
        self.engine = engine
        self.root = Path(project_root)  # its config.yml: how many components a job trains
        self.delivery = delivery
        # How the async methods run their database calls (off the event loop): the gateway's DbRunner,
        # else the loop's default executor.
        self.run_db = run_db

    async def db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.run_db is not None:
            return await self.run_db(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))

    # -- state -----------------------------------------------------------------------------
    def latest(self) -> Optional[Dict[str, Any]]:
        """The newest job, with its stage, step and, while it runs, an estimate of the seconds left
        from the previous finished job's timings (None when there is none to go by)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).order_by(jobs.c.id.desc()).limit(1)).mappings().first()
            if row is None:
                return None
            previous = None
            if row["status"] in RUNNING:
                previous = (
                    conn.execute(
                        sa.select(jobs)
                        .where(jobs.c.status.in_(("swapped", "kept")), jobs.c.id < row["id"], jobs.c.finished_at.is_not(None))
                        .order_by(jobs.c.id.desc())
                        .limit(1)
                    )
                    .mappings()
                    .first()
                )
        timings = _timings(row)
        found = {k: v for k, v in dict(row).items() if k not in ("timings", "owner", "heartbeat_at", "confirm_worse")}
        return {
            **found,
            "started_at": _iso(row["started_at"]),
            "finished_at": _iso(row["finished_at"]),
            "step": timings.get("position", 0),
            "steps": timings.get("total"),
            "eta_seconds": _eta(row, timings, previous) if previous is not None else None,
            "unclaimed_minutes": _unclaimed_minutes(row),
            "progress": _timed_progress(row, timings, previous) if previous is not None else row["progress"],
        }

    def update(self, job_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))

    def history(self) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(models).order_by(models.c.created_at.desc())).mappings().all()
        return [{**{k: v for k, v in dict(r).items() if k != "report"}, "created_at": _iso(r["created_at"])} for r in rows]

    def model(self, name: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(models).where(models.c.name == name)).mappings().first()
        return dict(row) if row else None

    def active(self) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(models).where(models.c.active.is_(True))).mappings().first()
        return dict(row) if row else None

    def register(self, name: str, path: Path, evaluation: Dict[str, Any], active: bool) -> None:
        """A model in the history, dated by its file (the model the server started with keeps its own time)."""
        with self.engine.begin() as conn:
            if active:
                conn.execute(models.update().values(active=False))
            conn.execute(models.delete().where(models.c.name == name))
            conn.execute(
                models.insert().values(
                    name=name,
                    path=str(path),
                    created_at=_file_time(path),
                    accuracy=evaluation.get("accuracy"),
                    macro_f1=evaluation.get("macro_f1"),
                    real_accuracy=evaluation.get("real_accuracy"),
                    report_dir=evaluation.get("report_dir"),
                    report=evaluation.get("report"),
                    active=active,
                )
            )

    def recover_interrupted(self) -> int:
        """At a gateway's or a worker's start: jobs left running by a worker that stopped (a process of
        this host that is gone, or any job without a heartbeat for STALE_AFTER) are marked failed,
        reason "interrupted"."""
        host = socket.gethostname()
        now = utc_now()
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(jobs.c.id, jobs.c.owner, jobs.c.heartbeat_at, jobs.c.started_at).where(jobs.c.status.in_(RUNNING))
            ).all()
            abandoned = []
            for job_id, owner, heartbeat, started in rows:
                owner_host, _, pid = (owner or "").rpartition(":")
                mine = owner_host == host and pid.isdigit() and (int(pid) == os.getpid() or not _pid_alive(int(pid)))
                last = _utc(heartbeat) or _utc(started) or now
                if not owner or mine or now - last > STALE_AFTER:
                    abandoned.append(job_id)
            if abandoned:
                conn.execute(
                    jobs.update()
                    .where(jobs.c.id.in_(abandoned))
                    .values(
                        status="failed",
                        reason="interrupted",
                        stage=None,
                        message="the training worker stopped during this job",
                        finished_at=now,
                    )
                )
        for job_id in abandoned:
            logger.warning("training job %s was interrupted (its worker stopped): marked failed", job_id)
        return len(abandoned)

    # -- queueing --------------------------------------------------------------------------
    async def enqueue_async(self, confirm_worse: bool = False) -> Dict[str, Any]:
        """A new job for the training workers, with its database calls off the event loop."""
        await self.db(self.enqueue, confirm_worse)
        return await self.db(self.latest)

    def enqueue(self, confirm_worse: bool = False) -> int:
        """Queues a job; JobRunning while another one waits or runs (a running one whose worker was
        silent for STALE_AFTER is marked failed instead)."""
        now = utc_now()
        with self.engine.begin() as conn:
            waiting = conn.execute(
                sa.select(jobs.c.id, jobs.c.status, jobs.c.heartbeat_at, jobs.c.started_at).where(jobs.c.status.in_(WAITING))
            ).all()
            abandoned = [
                r.id
                for r in waiting
                if r.status in RUNNING and now - (_utc(r.heartbeat_at) or _utc(r.started_at) or now) > STALE_AFTER
            ]
            if len(abandoned) < len(waiting):
                raise JobRunning("a training job is already queued or running")
            if abandoned:
                conn.execute(
                    jobs.update()
                    .where(jobs.c.id.in_(abandoned))
                    .values(status="failed", reason="interrupted", stage=None, finished_at=now)
                )
            total = len(training_components(self.root))
            return conn.execute(
                jobs.insert().values(
                    status="queued",
                    progress=0,
                    message="",
                    started_at=now,
                    confirm_worse=confirm_worse,
                    timings=json.dumps({"total": total, "position": 0, "reached": {}}),
                )
            ).inserted_primary_key[0]

    def claim(self, owner: str) -> Optional[Dict[str, Any]]:
        """The oldest queued job, now "training" under ``owner``; None when none waits. The status
        check is in the UPDATE itself: of two workers claiming the same job, one gets it."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(jobs.c.id, jobs.c.confirm_worse).where(jobs.c.status == "queued").order_by(jobs.c.id).limit(1)
            ).first()
            if row is None:
                return None
            now = utc_now()
            claimed = conn.execute(
                jobs.update()
                .where(jobs.c.id == row.id, jobs.c.status == "queued")
                .values(status="training", owner=owner, started_at=now, heartbeat_at=now)
            ).rowcount
        return {"id": row.id, "confirm_worse": bool(row.confirm_worse)} if claimed == 1 else None

    async def activate(self, name: str) -> None:
        found = await self.db(self.model, name)
        if found is None:
            raise KeyError(name)
        await self.delivery.deliver(name, Path(found["path"]))
        await self.db(self._mark_active, name)

    def _mark_active(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(models.update().values(active=False))
            conn.execute(models.update().where(models.c.name == name).values(active=True))

    def report(self, name: str) -> Optional[Dict[str, Any]]:
        found = self.model(name)
        if found is None or not found["report_dir"]:
            return None
        directory = Path(found["report_dir"])
        if found["report"]:  # stored by the worker, which may have run on another machine
            stored = json.loads(found["report"])
            report, errors = stored["intents"], stored["errors"]
        else:  # a model registered before reports were stored
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


def _unclaimed_minutes(row: Any) -> Optional[int]:
    """For a job still queued after UNCLAIMED_AFTER: the minutes it has waited; else None."""
    asked = _utc(row["started_at"])
    waited = utc_now() - asked if asked is not None else None
    if row["status"] != "queued" or waited is None or waited < UNCLAIMED_AFTER:
        return None
    return int(waited.total_seconds() // 60)


def _timings(row: Any) -> Dict[str, Any]:
    try:
        found = json.loads(row["timings"] or "{}")
    except ValueError:
        found = {}
    return found if isinstance(found, dict) else {}


def _eta(row: Any, timings: Dict[str, Any], previous: Any) -> Optional[int]:
    """Seconds left for a running job: how long the previous finished job still took from the same
    point (the same component of config.yml reached, or the end of training), less the time this
    job has spent since reaching it; from the start when the previous job did not log that point."""
    before = _timings(previous)
    started, finished = _utc(previous["started_at"]), _utc(previous["finished_at"])
    if started is None or finished is None:
        return None
    total_before = (finished - started).total_seconds()
    elapsed = (utc_now() - (_utc(row["started_at"]) or utc_now())).total_seconds()
    position = str(timings.get("position", 0))
    reached, reached_before = dict(timings.get("reached") or {}), dict(before.get("reached") or {})
    if row["status"] == "evaluating" and "trained" in timings and "trained" in before:
        mark_before, mark_now = float(before["trained"]), float(timings["trained"])
    elif position in reached and position in reached_before:
        mark_before, mark_now = float(reached_before[position]), float(reached[position])
    else:
        mark_before, mark_now = 0.0, 0.0
    return max(0, round(total_before - mark_before - (elapsed - mark_now)))


def _timed_progress(row: Any, timings: Dict[str, Any], previous: Any) -> int:
    """While `rasa train` runs, the share of the previous job's training time that corresponds to
    where this one is: the time the previous job reached this component, plus the time spent here
    since, never past the previous job's time for the next one. One component (the classifier)
    takes most of the time, so counting components alone would leave the bar still for minutes.
    The stored (component-count) progress when the previous job has no timings."""
    before = _timings(previous)
    position = str(timings.get("position", 0))
    reached, reached_before = dict(timings.get("reached") or {}), dict(before.get("reached") or {})
    trained = float(before.get("trained") or 0)
    if row["status"] != "training" or trained <= 0 or (position != "0" and position not in reached_before):
        return int(row["progress"])
    elapsed = (utc_now() - (_utc(row["started_at"]) or utc_now())).total_seconds()
    here_before = float(reached_before.get(position, 0.0))
    later = [float(v) for k, v in reached_before.items() if int(k) > int(position)] + [trained]
    estimate = min(here_before + max(0.0, elapsed - float(reached.get(position, 0.0))), min(later))
    return max(0, min(TRAIN_SHARE - 1, round(TRAIN_SHARE * estimate / trained)))
