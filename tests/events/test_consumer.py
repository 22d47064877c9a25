"""The event consumer (`python -m bot events`) against the machine's RabbitMQ, with events published by
Rasa's own PikaEventBroker: every event lands once in conversation_events, also when the consumer
is killed mid-stream and started again, and when its connection dies between the commit and the
acknowledgement (the messages come again and are not stored twice)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
import requests
import sqlalchemy as sa

from bot.db import create_engine
from bot.db_schema import GATEWAY, conversation_events
from bot.events import consumer as consumer_module
from bot.events.consumer import EventConsumer
from bot.ops.production.event_broker import create_user_and_vhost, delete_user_and_vhost
from tests.conftest import ROOT, migrated
from tests.events.broker import new_broker, publish_with_rasa, rasa_events, require_rabbitmq
from tests.servers import free_port

pytestmark = pytest.mark.slow  # starts the consumer and RabbitMQ clients


@pytest.fixture
def broker():
    require_rabbitmq()
    config = new_broker()
    create_user_and_vhost(config)
    try:
        yield config
    finally:
        delete_user_and_vhost(config)


@pytest.fixture
def database(tmp_path):
    return migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)


def stored(url: str) -> List[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.select(conversation_events.c.sender_id, conversation_events.c.type, conversation_events.c.timestamp)
            return [tuple(row) for row in connection.execute(query.order_by(conversation_events.c.id))]
    finally:
        engine.dispose()


def keys(events: List[dict]) -> List[tuple]:
    return [(event["sender_id"], event["event"], event["timestamp"]) for event in events]


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s")


class ConsumerProcess:
    """`python -m bot events` with the test's broker and database."""

    def __init__(self, config, database_url: str, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / "events.log"
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(workdir),
            "QKF_HOST": "127.0.0.1",
            "QKF_VAR_DIR": str(workdir),
            "GATEWAY_DB_URL": database_url,
            "EVENTS_PORT": str(self.port),
            **config.environment(),
        }
        self.process: subprocess.Popen = None  # type: ignore[assignment]

    def start(self) -> "ConsumerProcess":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "events"], cwd=ROOT, env=self.env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT
        )
        wait_until(self.ready, 60, "the consumer's /ready")
        return self

    def ready(self) -> bool:
        assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def status(self) -> dict:
        return requests.get(f"http://127.0.0.1:{self.port}/health", timeout=5).json()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=30)


def test_every_event_rasa_publishes_is_stored_once(broker, database, tmp_path):
    consumer = ConsumerProcess(broker, database, tmp_path).start()
    try:
        events = rasa_events("buyer-1", 4) + rasa_events("buyer-2", 3, start=1_765_000_100.0)
        asyncio.run(publish_with_rasa(broker, events))
        wait_until(lambda: len(stored(database)) >= len(events), 30, "all events stored")
        time.sleep(0.5)
        assert sorted(stored(database)) == sorted(keys(events))
        status = consumer.status()
        assert status["status"] == "ok" and status["stored"] == len(events) and status["duplicates"] == 0
        # A message that is not an event is refused, and the consumer goes on.
        asyncio.run(publish_with_rasa(broker, [{"no": "event"}]))
        wait_until(lambda: consumer.status()["rejected"] == 1, 30, "the bad message refused")
        more = rasa_events("buyer-3", 1, start=1_765_000_200.0)
        asyncio.run(publish_with_rasa(broker, more))
        wait_until(lambda: len(stored(database)) == len(events) + len(more), 30, "the next events stored")
    finally:
        assert consumer.stop() == 0, consumer.log.read_text(errors="replace")[-3000:]


def test_a_consumer_killed_mid_stream_and_started_again_stores_every_event_once(broker, database, tmp_path):
    """SIGKILL while Rasa keeps publishing: what was received but not acknowledged comes again, what
    was published meanwhile waits in the durable queue."""
    consumer = ConsumerProcess(broker, database, tmp_path).start()
    senders = [f"buyer-{i}" for i in range(6)]
    events = [event for i, sender in enumerate(senders) for event in rasa_events(sender, 20, start=1_765_000_000.0 + i * 1000)]
    events.sort(key=lambda event: event["timestamp"] % 1000)  # interleaved, as conversations are

    async def publish_while_killing():
        half = len(events) // 2
        await publish_with_rasa(broker, events[:half])
        consumer.stop(signal.SIGKILL)  # whatever it was doing: storing, acknowledging
        await publish_with_rasa(broker, events[half:])

    try:
        asyncio.run(publish_while_killing())
        before = len(stored(database))
        assert before < len(events)
        consumer.start()
        wait_until(lambda: len(stored(database)) >= len(events), 60, "every event stored")
        time.sleep(1)
        assert sorted(stored(database)) == sorted(keys(events))
    finally:
        consumer.stop()


def test_a_connection_lost_between_commit_and_ack_stores_nothing_twice(broker, database, monkeypatch):
    """The first consumer commits a batch and loses its connection before acknowledging it; RabbitMQ
    delivers the batch again to the next consumer, which finds every event stored already."""
    events = rasa_events("buyer-1", 6)

    async def scenario():
        await publish_with_rasa(broker, events)
        first = EventConsumer(broker, database)
        acknowledged = []

        async def connection_lost(acknowledgement):
            acknowledgement.close()  # the ack coroutine never runs
            acknowledged.append(False)
            if len(acknowledged) == 1:
                await first.connection.close()
            first.stop()

        monkeypatch.setattr(consumer_module, "_settle", connection_lost)
        monkeypatch.setattr(consumer_module, "BATCH_WAIT_SECONDS", 2.0)  # the whole stream in one batch
        await asyncio.wait_for(first.run(), 60)
        assert first.counts.stored == len(events)
        monkeypatch.undo()

        second = EventConsumer(broker, database)
        runner = asyncio.ensure_future(second.run())
        deadline = time.monotonic() + 30
        while second.counts.duplicates < len(events) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        second.stop()
        await asyncio.wait_for(runner, 30)
        return second.counts

    counts = asyncio.run(scenario())
    assert (counts.stored, counts.duplicates) == (0, len(events))
    assert sorted(stored(database)) == sorted(keys(events))


def test_the_consumer_waits_for_its_database_and_says_so_on_ready(broker, tmp_path):
    """A database without the table (migrations not run): not ready, nothing consumed; then ready."""
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    create_engine(url).dispose()
    consumer = ConsumerProcess(broker, url, tmp_path)
    consumer.process = subprocess.Popen(
        [sys.executable, "-m", "bot", "events"], cwd=ROOT, env=consumer.env, stdout=open(consumer.log, "ab"), stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: _answers(consumer), 60, "/health")
        assert consumer.status()["database"] is False and not consumer.ready()
        migrated(url, GATEWAY)
        wait_until(consumer.ready, 30, "ready once the table exists")
        events = rasa_events("buyer-1", 1)
        asyncio.run(publish_with_rasa(broker, events))
        wait_until(lambda: len(stored(url)) == len(events), 30, "events stored")
    finally:
        consumer.stop()


def _answers(consumer: ConsumerProcess) -> bool:
    try:
        return consumer.status()["status"] in ("ok", "unavailable")
    except (requests.RequestException, json.JSONDecodeError):
        return False
