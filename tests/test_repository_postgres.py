"""The same SQL repository and gateway store on a real PostgreSQL (127.0.0.1:5432): the production
profile's databases are configuration, not code forks. Skipped with a message where no PostgreSQL
runs; under CI=true (the machines have one) a missing server fails the suite."""

from datetime import datetime, timezone

import pytest

from bot.gateway.store import GatewayStore
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.memory import InMemoryOrderRepository
from bot.shop.orders.sql import SqlOrderRepository
from tests.conftest import ROOT, migrated

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module", autouse=True)
def schema(postgres_url):
    """The shop's and the gateway's tables, both in the module's one database."""
    migrated(postgres_url)


def test_postgres_repository_matches_the_in_memory_one(postgres_url):
    snapshot = load_demo_shop(ROOT / "data/shop/demo_shop.yml", now=NOW)
    repository = SqlOrderRepository(postgres_url)
    repository.import_shop(snapshot)
    memory = InMemoryOrderRepository(snapshot)
    assert repository.list_products() == memory.list_products()
    for order in snapshot.orders:
        assert repository.get_order(order.id) == memory.get_order(order.id)
    request = repository.create_return_request("260318273645019283", "B001", "quality", "refund", "seller")
    assert repository.return_requests_for_buyer("B001")[0].id == request.id
    refund = repository.create_price_refund("260309375521804617", "B003", 40.0)
    assert repository.price_refunds_for_order("260309375521804617") == [refund]
    repository.close()


def test_postgres_gateway_store_dedupes_by_client_id(postgres_url):
    store = GatewayStore(postgres_url)
    assert store.add_message("session-0001", "buyer", "有货吗", client_id="c1") is not None
    assert store.add_message("session-0001", "buyer", "有货吗", client_id="c1") is None
    replies = store.add_messages("session-0001", "bot", [("有的亲", {}), ("要看看这款吗", {"card": {"product_id": "P001"}})])
    assert store.history("session-0001")[1:] == replies
    assert [(m["role"], m["text"], m.get("card")) for m in store.history("session-0001")] == [
        ("buyer", "有货吗", None), ("bot", "有的亲", None), ("bot", "要看看这款吗", {"product_id": "P001"})
    ]
    store.touch_session("session-0001", "B001")
    assert store.latest_session_of("B001") == "session-0001"
    store.close()


def test_postgres_review_queue_claims_exactly_once(postgres_url):
    import threading

    from bot.review.queue import AlreadyHandled, ReviewQueue

    store = GatewayStore(postgres_url)
    queue = ReviewQueue(store.engine)
    held = queue.record_turn("session-0002", "B001", "我要退货", [{"intent": "request_return", "confidence": 0.99}], [{"text": "亲"}], True, "")
    winners = []

    def agent(name):
        try:
            queue.claim(held["id"], name, "sent")
            winners.append(name)
        except AlreadyHandled:
            pass

    threads = [threading.Thread(target=agent, args=(f"agent{i}",)) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(winners) == 1 and queue.get(held["id"])["handled_by"] == winners[0]
    store.close()


def test_a_connection_killed_while_idle_is_replaced_without_a_failed_query(postgres_url, monkeypatch):
    """What a PostgreSQL restart does to the pool: the next use after an idle second pings, finds
    the connection dead and opens another, so the caller's query succeeds."""
    import sqlalchemy as sa

    from bot import db

    engine = db.create_engine(postgres_url)
    admin = db.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            first_pid = conn.execute(sa.text("select pg_backend_pid()")).scalar()
        with admin.connect() as conn:
            assert conn.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": first_pid}).scalar()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # the connection counts as idle
        with engine.connect() as conn:
            second_pid = conn.execute(sa.text("select pg_backend_pid()")).scalar()
        assert second_pid != first_pid
    finally:
        engine.dispose()
        admin.dispose()
