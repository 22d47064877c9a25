"""Rasa's SQL tracker store with a conversation query whose cost does not depend on table statistics
(endpoints.yml and deploy/endpoints.prod.yml: ``type: bot.rasa_server.tracker_store.ShopSQLTrackerStore``).

Rasa 3.6 reads the current session (at every load, and at every save to count what is stored) by
joining a conversation's events with a one-row subquery, the time of its latest session start.
PostgreSQL plans that join by the table's statistics. Until autovacuum first analyses a new events
table, it re-runs the subquery for every event row: the query grows with the square of the
conversation's length. Measured on a fresh database (bench/socketio_load.py's long conversation):
115 ms for a conversation of 100 turns, against 0.3 ms once the table is analysed, and turns that
took 500 ms instead of 50. Here the session start is a scalar subquery, which PostgreSQL and SQLite
evaluate once per query whatever the statistics say. The rows returned are the same.

The store also remembers how long each conversation's current session was when this process last
saved it, so the shop channel knows when to roll a long session over without reading it again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional, Protocol, Text, runtime_checkable

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import Query, Session

REMEMBERED_CONVERSATIONS = 10_000


@runtime_checkable
class KnowsSessionLength(Protocol):
    """A tracker store that knows how many events a conversation's current session holds without
    reading it (the shop channel rolls long sessions over)."""

    def session_length(self, sender_id: Text) -> Optional[int]: ...


class ShopSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session_lengths: "OrderedDict[str, int]" = OrderedDict()

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(tracker)
        length = 0
        for event in reversed(tracker.events):
            if isinstance(event, SessionStarted):
                break
            length += 1
        self._session_lengths.pop(tracker.sender_id, None)
        self._session_lengths[tracker.sender_id] = length
        while len(self._session_lengths) > REMEMBERED_CONVERSATIONS:
            self._session_lengths.popitem(last=False)

    def session_length(self, sender_id: Text) -> Optional[int]:
        """Events after the session start when this process last saved the conversation (None: not seen)."""
        return self._session_lengths.get(sender_id)

    def _event_query(self, session: Session, sender_id: Text, fetch_events_from_all_sessions: bool) -> Query:
        events = self.SQLEvent
        query = session.query(events).filter(events.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            session_start = (
                session.query(sa.func.max(events.timestamp))
                .filter(events.sender_id == sender_id, events.type_name == SessionStarted.type_name)
                .scalar_subquery()
            )
            # No session start yet: the whole conversation (timestamps are positive).
            query = query.filter(events.timestamp >= sa.func.coalesce(session_start, 0))
        return query.order_by(events.id)
