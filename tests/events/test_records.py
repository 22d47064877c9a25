"""The consumer's parsing and storing (bot/events/records.py), without RabbitMQ: what a row holds,
that no buyer token reaches the table, and that an event delivered again is stored once, on SQLite
and on the project's PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from bot.db import create_engine
from bot.db_schema import GATEWAY, conversation_events
from bot.events.records import NotAnEvent, parse_event, store
from tests.conftest import migrated, new_postgres_database, token_for
from tests.events.broker import rasa_events


def body(event: dict) -> bytes:
    return json.dumps(event).encode("utf-8")


def rows(engine) -> list:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(conversation_events).order_by(conversation_events.c.id))]


def test_a_user_event_keeps_what_analytics_reads():
    event = rasa_events("buyer-1", 1)[0]
    record = parse_event(body(event))
    assert (record.sender_id, record.type, record.timestamp) == ("buyer-1", "user", event["timestamp"])
    assert record.intent == "ask_stock" and record.text == "这件还有货吗 0" and record.action_name is None
    assert json.loads(record.data) == event
    assert len(record.event_hash) == 64


def test_an_action_and_a_bot_event():
    events = rasa_events("buyer-1", 1)
    action, bot = parse_event(body(events[2])), parse_event(body(events[3]))
    assert (action.type, action.action_name, action.intent, action.text) == ("action", "action_stock", None, None)
    assert (bot.type, bot.text, bot.action_name) == ("bot", "亲，有现货的哦", None)


def test_no_buyer_token_is_stored():
    token = token_for("B001")
    event = {
        "sender_id": "b1",
        "event": "user",
        "timestamp": 1_765_000_000.5,
        "text": f"my token is {token}",
        "metadata": {"buyer_token": token, "product_id": "P001"},
        "parse_data": {"entities": [{"entity": "buyer_token", "value": token}], "intent": {"name": "EXTERNAL_order_shipped"}},
    }
    record = parse_event(body(event))
    assert token not in record.data and token.rsplit(".", 1)[1] not in record.data
    data = json.loads(record.data)
    assert data["metadata"] == {"buyer_token": "<redacted>", "product_id": "P001"}
    assert token not in (record.text or "")
    assert record.intent == "EXTERNAL_order_shipped"


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"\xff\xfe", "not JSON"),
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (body({"event": "user", "timestamp": 1.0}), "no sender_id"),
        (body({"sender_id": "s", "timestamp": 1.0}), "no event type"),
        (body({"sender_id": "s", "event": "user"}), "no timestamp"),
        (body({"sender_id": "s", "event": "user", "timestamp": "yesterday"}), "no timestamp"),
    ],
)
def test_what_is_not_a_rasa_event_is_refused(raw, why):
    with pytest.raises(NotAnEvent, match=why):
        parse_event(raw)


def test_the_same_event_delivered_again_has_the_same_key_and_another_event_another():
    first, second = rasa_events("buyer-1", 1)[:2]
    again = json.loads(json.dumps(first))  # a redelivery: the same body, keys in another order
    again = dict(reversed(list(again.items())))
    assert parse_event(body(again)).event_hash == parse_event(body(first)).event_hash
    assert parse_event(body(second)).event_hash != parse_event(body(first)).event_hash


def check_idempotent_store(url: str) -> None:
    engine = create_engine(migrated(url, GATEWAY))
    try:
        events = rasa_events("buyer-1", 3) + rasa_events("buyer-2", 2)
        records = [parse_event(body(event)) for event in events]
        assert store(engine, records[:7]) == 7
        # A batch that was stored but not acknowledged comes again, with new ones.
        assert store(engine, records) == len(records) - 7
        assert store(engine, records[3:9]) == 0
        stored = rows(engine)
        assert len(stored) == len(events)
        assert [(row["sender_id"], row["type"], row["timestamp"]) for row in stored] == [
            (event["sender_id"], event["event"], event["timestamp"]) for event in events
        ]
        assert [row["intent"] for row in stored if row["type"] == "user"] == ["ask_stock"] * 5
        assert stored[0]["at"].timestamp() == pytest.approx(events[0]["timestamp"], abs=1e-3)
    finally:
        engine.dispose()


def test_storing_twice_keeps_one_row_per_event_on_sqlite(tmp_path):
    check_idempotent_store(f"sqlite:///{tmp_path / 'gateway.db'}")


def test_storing_twice_keeps_one_row_per_event_on_postgres():
    with new_postgres_database() as url:
        check_idempotent_store(url)


def test_two_events_that_differ_only_in_content_are_both_kept(tmp_path):
    engine = create_engine(migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY))
    try:
        base = {"sender_id": "s", "event": "slot", "timestamp": 1_765_000_000.25}
        records = [parse_event(body({**base, "name": "color", "value": "黑色"})), parse_event(body({**base, "name": "size", "value": "M"}))]
        assert store(engine, records) == 2
        assert store(engine, records) == 0
    finally:
        engine.dispose()
