"""One RabbitMQ message of Rasa's Pika event broker -> one row of ``conversation_events``.

Rasa publishes each new tracker event as JSON: ``{"sender_id": ..., "event": "user", "timestamp":
..., ...}`` (rasa.core.tracker_store.TrackerStore._stream_new_events). The row keeps the whole event
as JSON beside the columns analytics filter on, with buyer tokens removed: a signed token in a
message's metadata (or in an order event's entities) is a credential, and the events table is read
by people and tools that must not be able to act as a buyer.

A message that arrives twice (redelivered after a consumer stopped between its commit and its ack,
or published again by Rasa after a reconnect) has the same sender, timestamp, type and content, so
the same unique key: the second insert does nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.db_schema import conversation_events
from bot.log_scrub import scrub

REDACTED = "<redacted>"
TOKEN_KEYS = frozenset({"buyer_token"})


class NotAnEvent(ValueError):
    """A message that is not a Rasa event (not JSON, no sender, type or timestamp)."""


@dataclass(frozen=True)
class EventRecord:
    sender_id: str
    type: str
    timestamp: float
    intent: Optional[str]
    action_name: Optional[str]
    text: Optional[str]
    data: str  # JSON, keys sorted
    event_hash: str

    def row(self, stored_at: datetime) -> Dict[str, Any]:
        return {
            "sender_id": self.sender_id,
            "type": self.type,
            "timestamp": self.timestamp,
            "at": datetime.fromtimestamp(self.timestamp, timezone.utc),
            "intent": self.intent,
            "action_name": self.action_name,
            "text": self.text,
            "data": self.data,
            "event_hash": self.event_hash,
            "stored_at": stored_at,
        }


def without_tokens(value: Any) -> Any:
    """``value`` with every buyer token replaced: under a ``buyer_token`` key anywhere (metadata,
    entities, slots) and anything shaped like one inside a text."""
    if isinstance(value, dict):
        return {key: REDACTED if key in TOKEN_KEYS and value[key] else without_tokens(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_tokens(item) for item in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def _text(value: Any, limit: int) -> Optional[str]:
    return value[:limit] if isinstance(value, str) and value else None


def parse_event(body: bytes) -> EventRecord:
    """The record of one message body; NotAnEvent when it is not a Rasa event."""
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise NotAnEvent(f"not JSON: {error}") from None
    if not isinstance(event, dict):
        raise NotAnEvent("not a JSON object")
    sender_id, kind, timestamp = event.get("sender_id"), event.get("event"), event.get("timestamp")
    if not isinstance(sender_id, str) or not sender_id or len(sender_id) > 255:
        raise NotAnEvent("no sender_id")
    if not isinstance(kind, str) or not kind or len(kind) > 64:
        raise NotAnEvent("no event type")
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)) or timestamp < 0:
        raise NotAnEvent("no timestamp")
    clean = without_tokens(event)
    data = json.dumps(clean, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    parse_data = clean.get("parse_data") if kind == "user" else None
    intent = parse_data.get("intent") if isinstance(parse_data, dict) else None
    return EventRecord(
        sender_id=sender_id,
        type=kind,
        timestamp=float(timestamp),
        intent=_text(intent.get("name") if isinstance(intent, dict) else None, 64),
        action_name=_text(clean.get("name"), 128) if kind == "action" else None,
        text=_text(clean.get("text"), 100_000) if kind in ("user", "bot") else None,
        data=data,
        event_hash=hashlib.sha256(data.encode("utf-8")).hexdigest(),
    )


def store(engine: sa.engine.Engine, records: Iterable[EventRecord]) -> int:
    """Inserts the records in one transaction; those already stored are skipped. Returns how many
    rows were new. Blocking: the consumer calls it off its event loop."""
    now = datetime.now(timezone.utc)
    rows: List[Dict[str, Any]] = [record.row(now) for record in records]
    if not rows:
        return 0
    dialect = engine.dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(conversation_events).on_conflict_do_nothing(constraint="uq_conversation_event")
    elif dialect == "sqlite":
        statement = sqlite.insert(conversation_events).on_conflict_do_nothing()
    else:
        raise ValueError(f"conversation_events on {dialect}: PostgreSQL or SQLite")
    inserted = 0
    with engine.begin() as connection:
        for row in rows:  # one statement per row: rowcount tells new from already stored
            inserted += connection.execute(statement, row).rowcount
    return inserted
