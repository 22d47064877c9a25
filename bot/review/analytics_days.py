"""The analytics figures of days that are over and can no longer change, stored (analytics_days) so
the owner's page reads a past day once instead of aggregating its rows at every view.

A day is stored once it ended more than ``SETTLE`` ago (a turn written just before midnight has been
committed; and longer than the SLA, so its waiting drafts are all past the SLA). After that only two
things change its figures: new rows written into it (a redraft keeps its draft's time; the gateway
writes messages, handoffs and redrafts as new rows) and a decision on one of its drafts still
waiting (the gateway updates a review row only while it is pending). So a stored day keeps the
highest row id of the three tables when it was computed, and the ids of its waiting drafts; a later
view reads the local days of the rows written since (by id: a few rows) and which of those drafts
were decided (by id), and computes those days again. Keyed by the shop's time zone and the SLA,
which decide a day's bounds and its within-SLA count."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, Mapping, Tuple

import sqlalchemy as sa

from bot.db_schema import analytics_days as table
from bot.db_schema import gateway_messages, review_handoffs, review_suggestions

logger = logging.getLogger(__name__)

SETTLE = timedelta(hours=1)
# The tables a day's figures are computed from, and the column of analytics_days that keeps the
# highest id each had when the day was computed.
SOURCES: Tuple[Tuple[sa.Table, str], ...] = (
    (review_suggestions, "upto_suggestion"),
    (gateway_messages, "upto_message"),
    (review_handoffs, "upto_handoff"),
)
Marks = Dict[str, int]


class ClosedDays:
    """Stored figures of closed days for one time zone and SLA. ``day_of``: the SQL expression of a
    stored time's local day (analytics._Dialect.day); ``day_text``: its values as 'YYYY-MM-DD'."""

    def __init__(self, zone: str, sla_seconds: float) -> None:
        self.zone = zone
        self.sla_seconds = float(sla_seconds)

    def _key(self) -> sa.sql.ColumnElement:
        return sa.and_(table.c.zone == self.zone, table.c.sla_seconds == self.sla_seconds)

    @staticmethod
    def marks(conn: sa.engine.Connection) -> Marks:
        """The highest id of each source table now (read before the figures they bound)."""
        return {column: int(conn.execute(sa.select(sa.func.max(source.c.id))).scalar() or 0) for source, column in SOURCES}

    def load(self, conn: sa.engine.Connection, days: List[str], day_of: Any, day_text: Any) -> Tuple[Dict[str, Any], bool]:
        """The stored figures of ``days`` that rows written since have not changed (day -> figures),
        and whether any stored day's marks are older than now (save() moves them on)."""
        rows = conn.execute(sa.select(table).where(self._key(), table.c.day >= days[0], table.c.day <= days[-1])).mappings().all()
        if not rows:
            return {}, False
        found = {row["day"]: json.loads(row["figures"]) for row in rows}
        changed: set = set()
        behind = False
        for source, column in SOURCES:
            since = min(int(row[column]) for row in rows)
            newer = conn.execute(sa.select(sa.distinct(day_of(source.c.created_at))).where(source.c.id > since)).scalars().all()
            changed.update(day_text(day) for day in newer)
            behind = behind or bool(newer)
        waiting = {int(i): day for day, figures in found.items() for i in figures.get("waiting", [])}
        ids = sorted(waiting)
        for chunk in range(0, len(ids), 500):
            decided = conn.execute(
                sa.select(review_suggestions.c.id).where(
                    review_suggestions.c.id.in_(ids[chunk : chunk + 500]), review_suggestions.c.status != "pending"
                )
            ).scalars()
            changed.update(waiting[i] for i in decided)
        return {day: figures for day, figures in found.items() if day not in changed}, behind

    def save(self, engine: sa.engine.Engine, closed: Mapping[str, Any], kept: Iterable[str], marks: Marks, now: datetime) -> None:
        """Stores the figures of the days just computed that are closed, and moves the marks of the
        stored days found unchanged (``kept``) to ``marks``. A failed write (another gateway storing
        the same day, a read-only database) costs only the saving."""
        kept = list(kept)
        if not closed and not kept:
            return
        try:
            with engine.begin() as conn:
                if closed:
                    conn.execute(table.delete().where(self._key(), table.c.day.in_(list(closed))))
                    conn.execute(
                        table.insert(),
                        [
                            dict(
                                zone=self.zone,
                                sla_seconds=self.sla_seconds,
                                day=day,
                                figures=json.dumps(figures),
                                computed_at=now,
                                **marks,
                            )
                            for day, figures in closed.items()
                        ],
                    )
                if kept:
                    conn.execute(table.update().where(self._key(), table.c.day.in_(kept)).values(**marks))
        except sa.exc.SQLAlchemyError as error:
            logger.warning("analytics: closed days not stored (%s)", type(error).__name__)


def is_closed(day_end: datetime, now: datetime, sla_seconds: float) -> bool:
    """A day is over long enough to be stored (see the module's docstring)."""
    return day_end <= now.astimezone(timezone.utc) - max(SETTLE, timedelta(seconds=sla_seconds))
