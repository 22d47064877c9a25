"""`python -m bot events`: reads the conversation events Rasa's Pika event broker publishes to RabbitMQ
and writes each once into ``conversation_events`` (gateway database).

Messages are acknowledged only after the transaction that stored them has committed. A consumer that
stops (or is killed) before acknowledging leaves its messages in the queue; RabbitMQ delivers them
again, to this consumer when it comes back or to another one, and the table's unique key turns the
second insert into nothing (bot/events/records.py). So every event is stored once, whatever stops
when. Several consumers may read the same queue.

``/health`` answers while the process runs; ``/ready`` only while it is connected to RabbitMQ and
its last database write (or check) succeeded. Both on EVENTS_PORT."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import sqlalchemy as sa

from bot.db import create_engine
from bot.db_schema import conversation_events
from bot.events.broker import BrokerConfig, declare
from bot.events.records import NotAnEvent, parse_event, store
from bot.gateway.db_runner import DbRunner

logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # messages stored in one transaction at most
BATCH_WAIT_SECONDS = 0.05  # how long a batch waits for more messages once it has one
RETRY_SECONDS = 3.0  # between attempts to reach RabbitMQ or the database


@dataclass
class Counts:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class EventConsumer:
    def __init__(self, config: BrokerConfig, database_url: str, batch_size: int = BATCH_SIZE) -> None:
        self.config = config
        self.engine = create_engine(database_url)
        self.batch_size = batch_size
        self.counts = Counts()
        self.database_ok = False
        self.connection: Any = None
        self.channel: Any = None
        self._received: "asyncio.Queue[Any]" = asyncio.Queue()
        self._run_db = DbRunner(max_workers=1)
        self._stopping = asyncio.Event()

    # -- state -----------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return bool(
            self.connection is not None
            and not self.connection.is_closed
            and self.channel is not None
            and not self.channel.is_closed
        )

    @property
    def ready(self) -> bool:
        return self.connected and self.database_ok

    def status(self) -> dict:
        return {
            "status": "ok" if self.ready else "unavailable",
            "broker": self.connected,
            "database": self.database_ok,
            "stored": self.counts.stored,
            "duplicates": self.counts.duplicates,
            "rejected": self.counts.rejected,
        }

    def stop(self) -> None:
        self._stopping.set()

    # -- the loop --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Until stop(): waits for the database, connects, consumes, stores batches, acknowledges."""
        self._run_db.open()
        try:
            if not await self._wait_for_database():
                return
            if not await self._connect():
                return
            while not self._stopping.is_set():
                batch = await self._next_batch()
                if batch:
                    await self._handle(batch)
        finally:
            await self._close()

    async def _wait_for_database(self) -> bool:
        while not self._stopping.is_set():
            try:
                await self._run_db(self._check_database)
                self.database_ok = True
                return True
            except sa.exc.SQLAlchemyError as error:
                logger.warning("the gateway database is not ready (%s); trying again in %.0f s", _short(error), RETRY_SECONDS)
                await self._sleep(RETRY_SECONDS)
        return False

    def _check_database(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.select(conversation_events.c.id).limit(1)).all()

    async def _connect(self) -> bool:
        import aio_pika

        while not self._stopping.is_set():
            try:
                self.connection = await aio_pika.connect_robust(self.config.url)
                self.channel = await self.connection.channel()
                await self.channel.set_qos(prefetch_count=self.batch_size * 2)
                queue = await declare(self.channel, self.config)
                await queue.consume(self._received.put, no_ack=False)
                logger.info("consuming %s from %s", self.config.queue, self.config.where)
                return True
            except Exception as error:  # noqa: BLE001 - refused, unknown user or vhost, not ready yet
                logger.warning("RabbitMQ at %s: %s; trying again in %.0f s", self.config.where, _short(error), RETRY_SECONDS)
                await self._close_connection()
                await self._sleep(RETRY_SECONDS)
        return False

    async def _next_batch(self) -> List[Any]:
        """The next messages (one at least, unless stopping), up to the batch size."""
        getting = asyncio.ensure_future(self._received.get())
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if getting not in done:
            getting.cancel()
            return []
        stopping.cancel()
        batch = [getting.result()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BATCH_WAIT_SECONDS
        while len(batch) < self.batch_size:
            try:
                batch.append(self._received.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._received.get(), left))
            except asyncio.TimeoutError:
                break
        return batch

    async def _handle(self, batch: List[Any]) -> None:
        parsed: List[Tuple[Any, Any]] = []
        for message in batch:
            try:
                parsed.append((message, parse_event(message.body)))
            except NotAnEvent as problem:
                # Never storable: kept out of the queue (RabbitMQ dead-letters it where configured).
                self.counts.rejected += 1
                logger.warning("message %s is not a Rasa event (%s): rejected", message.delivery_tag, problem)
                await _settle(message.reject(requeue=False))
        if not parsed:
            return
        records = [record for _, record in parsed]
        while True:
            try:
                inserted = await self._run_db(store, self.engine, records)
                self.database_ok = True
                break
            except sa.exc.SQLAlchemyError as error:
                self.database_ok = False
                if self._stopping.is_set():
                    return  # not acknowledged: RabbitMQ delivers them again
                logger.warning(
                    "storing %d events failed (%s); trying again in %.0f s", len(records), _short(error), RETRY_SECONDS
                )
                await self._sleep(RETRY_SECONDS)
        self.counts.stored += inserted
        self.counts.duplicates += len(records) - inserted
        if inserted < len(records):
            logger.info("%d of %d events were stored already (delivered again)", len(records) - inserted, len(records))
        for message, _ in parsed:
            # Committed: now, and only now, RabbitMQ may forget the message.
            await _settle(message.ack())

    # -- stopping --------------------------------------------------------------------------------
    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _close_connection(self) -> None:
        if self.connection is not None:
            try:
                await self.connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self.connection = self.channel = None

    async def _close(self) -> None:
        # Messages received but not acknowledged go back to the queue when the channel closes.
        await self._close_connection()
        self._run_db.close()
        self.engine.dispose()


async def _settle(acknowledgement: Any) -> None:
    """An ack or reject; on a channel that has gone away RabbitMQ delivers the message again."""
    try:
        await acknowledgement
    except Exception as error:  # noqa: BLE001 - channel closed, connection lost
        logger.info("could not acknowledge (%s): the message comes again and is stored once", _short(error))


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:300]


# -- /health and /ready -------------------------------------------------------------------------------


async def _answer(consumer: EventConsumer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        request = await asyncio.wait_for(reader.readline(), 5)
        while True:  # the headers
            line = await asyncio.wait_for(reader.readline(), 5)
            if line in (b"\r\n", b"\n", b""):
                break
        parts = request.decode("latin-1").split()
        path = parts[1].split("?", 1)[0] if len(parts) > 1 else ""
        if path == "/health":
            code, body = 200, consumer.status()
        elif path == "/ready":
            code, body = (200 if consumer.ready else 503), consumer.status()
        else:
            code, body = 404, {"error": "not found"}
        payload = json.dumps(body).encode("utf-8")
        reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[code]
        writer.write(
            f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n".encode("latin-1")
            + payload
        )
        await writer.drain()
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(config: BrokerConfig, database_url: str, host: str, port: int) -> None:
    consumer = EventConsumer(config, database_url)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, consumer.stop)
    server = await asyncio.start_server(lambda r, w: _answer(consumer, r, w), host, port)
    logger.info("event consumer: /health and /ready on http://%s:%d", host, port)
    try:
        await consumer.run()
    finally:
        server.close()
        await server.wait_closed()
    logger.info(
        "event consumer stopped: %d events stored, %d delivered again, %d rejected",
        consumer.counts.stored,
        consumer.counts.duplicates,
        consumer.counts.rejected,
    )


def main(database_url: str, host: str, port: int, config: Optional[BrokerConfig] = None) -> int:
    asyncio.run(serve(config or BrokerConfig.from_env(), database_url, host, port))
    return 0
