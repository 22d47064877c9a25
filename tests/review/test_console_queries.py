"""What the consoles poll every few seconds costs a constant number of SQL statements, however
many conversations wait; and the gateway's database calls run off the event loop."""

import asyncio
import contextlib
import time

import sqlalchemy as sa

from bot.db_schema import GATEWAY
from bot.gateway.agent_api import queue_snapshot
from bot.gateway.conversation import Conversations
from bot.gateway.db_runner import DbRunner
from bot.gateway.store import GatewayStore
from bot.review.queue import ReviewQueue
from tests.conftest import migrated


@contextlib.contextmanager
def counted(engine):
    statements = []

    def count(_conn, _cursor, statement, *_):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def fill(store, queue, sessions):
    for n in range(sessions):
        session_id = f"s-{n:07d}"
        store.claim_session(session_id, f"B{n:03d}" if n % 2 else None)
        store.add_message(session_id, "buyer", f"第{n}个问题", client_id=f"c{n}")
        store.add_message(session_id, "bot", "亲，稍等")
        queue.record_turn(session_id, None, f"第{n}个问题", [{"intent": "ask_stock", "confidence": 0.5}], [{"text": "亲"}], True, "unsure")
        queue.request_human(session_id)
        if n % 3 == 0:
            queue.take_over(f"s-{n:07d}", "agent1")


def poll(store, queue):
    return queue_snapshot(store, queue), queue.metrics()


def test_a_queue_poll_costs_the_same_few_statements_for_5_or_60_conversations(tmp_path):
    costs = {}
    for sessions in (5, 60):
        store = GatewayStore(migrated(f"sqlite:///{tmp_path / f'g{sessions}.db'}", GATEWAY))
        queue = ReviewQueue(store.engine)
        fill(store, queue, sessions)
        with counted(store.engine) as statements:
            snapshot, metrics = poll(store, queue)
        costs[sessions] = len(statements)
        assert len(snapshot["pending"]) == sessions
        waiting = [w["session_id"] for w in snapshot["waiting"]]
        assert waiting == [f"s-{n:07d}" for n in range(sessions) if n % 3]
        assert snapshot["buyers"] == {f"s-{n:07d}": (f"B{n:03d}" if n % 2 else None) for n in range(sessions)}
        assert snapshot["last_texts"] == {f"s-{n:07d}": f"第{n}个问题" for n in range(sessions)}
        assert snapshot["taken_over_by"] == {f"s-{n:07d}": ("agent1" if n % 3 == 0 else None) for n in range(sessions)}
        assert metrics["per_intent"]["ask_stock"]["pending"] == sessions
        store.close()
    assert costs[5] == costs[60] <= 8, costs  # 6 for the queue, 2 for the metrics


def test_the_last_buyer_text_is_looked_for_among_the_last_20_messages_only(tmp_path):
    store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'g.db'}", GATEWAY))
    store.add_message("s-0000001", "buyer", "很早的问题")
    for n in range(20):
        store.add_message("s-0000001", "bot", f"回复{n}")
    store.add_message("s-0000002", "buyer", "第一句")
    store.add_message("s-0000002", "buyer", "第二句")
    store.add_message("s-0000002", "agent", "好的")
    assert store.last_buyer_texts(["s-0000001", "s-0000002", "s-0000003"]) == {"s-0000002": "第二句"}
    store.close()


class SlowStore:
    """A store whose every call blocks its thread for a while (a slow database)."""

    def add_messages(self, session_id, role, items):
        time.sleep(0.4)
        return [{"session_id": session_id, "role": role, "text": text} for text, _ in items]


def test_two_deliveries_with_a_slow_store_overlap_instead_of_blocking_the_loop():
    async def nothing(*_):
        return None

    async def main():
        run_db = DbRunner()
        run_db.open()
        conversations = Conversations(SlowStore(), None, None, None, {}, nothing, run_db)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        beating = asyncio.ensure_future(ticker())
        started = time.monotonic()
        await asyncio.gather(*(conversations.deliver(f"s-{n}", [{"text": "亲"}], nothing) for n in range(2)))
        elapsed = time.monotonic() - started
        beating.cancel()
        run_db.close()
        return elapsed, ticks

    elapsed, ticks = asyncio.run(main())
    assert elapsed < 0.7  # both in 0.4 s, not one after the other
    assert ticks >= 10  # and the loop kept running meanwhile
