"""A training job nobody claims: the console is told how long it has waited, so a trainer is not left
watching 排队等待训练 forever when no training worker runs."""

from datetime import timedelta

import sqlalchemy as sa

from bot.db_schema import GATEWAY, training_jobs
from bot.gateway.store import GatewayStore
from bot.training.delivery import ModelDelivery
from bot.training.jobs import TrainingJobs, utc_now
from tests.conftest import ROOT, migrated


def test_a_job_nobody_claims_for_minutes_says_how_long_it_has_waited(tmp_path):
    store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY))
    try:
        jobs = TrainingJobs(store.engine, ROOT, ModelDelivery([]))
        job_id = jobs.enqueue()
        assert jobs.latest()["status"] == "queued" and jobs.latest()["unclaimed_minutes"] is None  # just asked
        with store.engine.begin() as conn:
            conn.execute(training_jobs.update().where(training_jobs.c.id == job_id).values(started_at=utc_now() - timedelta(minutes=7, seconds=5)))
        assert jobs.latest()["unclaimed_minutes"] == 7
        assert jobs.claim("worker-1")["id"] == job_id
        assert jobs.latest()["unclaimed_minutes"] is None  # a worker has it now
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(training_jobs.c.status)).scalar_one() == "training"
    finally:
        store.close()
