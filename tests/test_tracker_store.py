"""The shop's SQL tracker store reads the current session like Rasa's, on SQLite and PostgreSQL, and
its query costs the same before PostgreSQL has statistics for the events table."""

import asyncio
import json

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.rasa_server.tracker_store import ShopSQLTrackerStore
from tests.conftest import ROOT

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def turn(text: str, reply: str, at: float) -> list:
    return [
        UserUttered(text, {"name": "ask_stock", "confidence": 0.99}, timestamp=at),
        ActionExecuted("action_check_stock", timestamp=at + 0.1),
        BotUttered(reply, timestamp=at + 0.2),
        ActionExecuted("action_listen", timestamp=at + 0.3),
    ]


def session(start: float, turns: int, slot_value: str) -> list:
    events = [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start + 0.01),
        SlotSet("pending_question", slot_value, timestamp=start + 0.02),
        ActionExecuted("action_listen", timestamp=start + 0.03),
    ]
    for index in range(turns):
        events += turn(f"message {start} {index}", f"reply {index}", start + 1 + index)
    return events


def sqlite_store(tmp_path):
    return ShopSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))


def postgres_store(url: str):
    parsed = make_url(url)
    return ShopSQLTrackerStore(
        DOMAIN, dialect="postgresql", host=parsed.host, port=parsed.port, db=parsed.database, username=parsed.username
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        tracker_store = sqlite_store(tmp_path)
    else:
        tracker_store = postgres_store(request.getfixturevalue("postgres_url"))
        with tracker_store.engine.begin() as conn:
            conn.execute(sa.text("delete from events"))
    yield tracker_store
    tracker_store.engine.dispose()


def save_new(store, sender: str, events: list) -> None:
    tracker = asyncio.run(store.retrieve(sender)) or DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update_with_events(events, DOMAIN)
    asyncio.run(store.save(tracker))


def test_a_conversation_without_a_session_start_is_read_whole(store):
    save_new(store, "buyer-a", turn("还有货吗", "亲，有货的哦~", 1000.0))
    tracker = asyncio.run(store.retrieve("buyer-a"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["还有货吗"]


def test_only_the_latest_session_is_read_and_each_event_is_stored_once(store):
    save_new(store, "buyer-b", session(1000.0, 3, "ask_stock"))
    save_new(store, "buyer-b", session(2000.0, 2, "ask_fading"))
    save_new(store, "buyer-c", session(1500.0, 4, "ask_material"))  # another buyer, in between
    save_new(store, "buyer-b", turn("包邮吗", "亲，满99元包邮哦~", 3000.0))

    current = asyncio.run(store.retrieve("buyer-b"))
    texts = [e.text for e in current.events if isinstance(e, UserUttered)]
    assert texts == ["message 2000.0 0", "message 2000.0 1", "包邮吗"]
    assert current.get_slot("pending_question") == "ask_fading"
    # What the shop channel reads to decide on a roll-over: events after the session start.
    assert store.session_length("buyer-b") == 2 + 3 * 4
    assert store.session_length("buyer-c") == 2 + 4 * 4
    assert store.session_length("buyer-nobody") is None

    everything = asyncio.run(store.retrieve_full_tracker("buyer-b"))
    assert len(everything.events) == 2 * 4 + (3 + 2 + 1) * 4
    with store.engine.connect() as conn:
        stored = [json.loads(row[0]) for row in conn.execute(sa.text("select data from events where sender_id = 'buyer-b'"))]
    assert len(stored) == len(everything.events)
    assert len({(e["event"], e["timestamp"]) for e in stored}) == len(stored)


def test_on_a_fresh_postgresql_table_the_session_start_is_looked_up_once(postgres_url):
    """Before autovacuum has analysed the table, Rasa's own query looked the session start up again
    for every event row of the conversation."""
    store = postgres_store(postgres_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.text("delete from events"))
        events = []
        for number in range(5):
            events += session(10_000.0 * (number + 1), 30, "ask_stock")
        save_new(store, "buyer-long", events)
        with store.session_scope() as db:
            query = store._event_query(db, "buyer-long", fetch_events_from_all_sessions=False)
            sql = str(query.statement.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
            [[plan]] = db.execute(sa.text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).all()
            assert query.count() == 4 + 30 * 4 - 1  # the session's events after action_session_start

        def nodes(node):
            yield node
            for child in node.get("Plans", []):
                yield from nodes(child)

        aggregates = [n for n in nodes(plan[0]["Plan"]) if n["Node Type"] == "Aggregate"]
        assert aggregates and all(n["Actual Loops"] == 1 for n in aggregates), plan
    finally:
        store.engine.dispose()


def test_both_profiles_configure_the_shop_store(tmp_path, postgres_url, monkeypatch):
    """Rasa falls back to an in-memory store, silently, when a tracker store class cannot be imported."""
    from rasa.core.tracker_store import create_tracker_store
    from rasa.utils.endpoints import read_endpoint_config

    parsed = make_url(postgres_url)
    settings = {
        "RASA_TRACKER_DB": str(tmp_path / "tracker.db"), "ACTION_PORT": "5055", "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook",
        "TRACKER_PG_HOST": parsed.host, "TRACKER_PG_PORT": str(parsed.port or 5432), "TRACKER_PG_DB": parsed.database,
        "TRACKER_PG_USER": parsed.username, "TRACKER_PG_PASSWORD": "",
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379", "REDIS_LOCK_DB": "0", "REDIS_LOCK_PREFIX": "qkf-test",
        "ACTION_SERVER_SECRET": "test-action-secret",
        # The rest of deploy/endpoints.prod.yml: Rasa expands the whole file.
        "EVENT_BROKER_HOST": "127.0.0.1", "EVENT_BROKER_PORT": "5672", "EVENT_BROKER_VHOST": "qkf-test",
        "EVENT_BROKER_USERNAME": "qkf-test", "EVENT_BROKER_PASSWORD": "p" * 32, "EVENT_BROKER_EXCHANGE": "qkf-test",
        "EVENT_BROKER_QUEUE": "qkf-test", "MODEL_SERVER_URL": "http://127.0.0.1:5301",
        "MODEL_SERVER_TOKEN": "m" * 32, "MODEL_PULL_SECONDS": "10",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    for endpoints, dialect in (("endpoints.yml", "sqlite"), ("deploy/endpoints.prod.yml", "postgresql")):
        store = create_tracker_store(read_endpoint_config(str(ROOT / endpoints), "tracker_store"), DOMAIN)
        assert isinstance(store, ShopSQLTrackerStore), endpoints
        assert store.engine.dialect.name == dialect
        store.engine.dispose()
