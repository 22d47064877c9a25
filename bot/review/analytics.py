"""The owner's numbers per day over a date range, each one an SQL aggregate grouped by the shop's
local day (GROUP BY in the database; Python only lays the per-day results side by side). Read by the
analytics page (bot/gateway/analytics_api.py) and timed by bench/analytics_queries.py.

What each number means (the same on SQLite and PostgreSQL):
- conversations: conversations in which the buyer wrote that day; buyer messages: what buyers wrote.
- turns: buyer messages the bot answered or drafted an answer for (one review_suggestions row each;
  an agent's redraft after a rejection is not a new turn).
- automation rate: turns answered with no human (sent at once, or the safe draft sent when nobody
  reviewed it) / turns. Fallback rate: turns understood as nlu_fallback / turns.
- handoff rate: conversations that went to a human that day (the buyer asked, the bot could not
  answer, an agent took over: review_handoffs) / conversations.
- per intent: turns and their mean confidence.
- agent decisions: drafts an agent sent as they were, edited or rejected (redrafts included).
- first-response time: from the turn's start to the buyer's answer: 0 for a reply sent at once,
  the review's end for a held one, and for a rejected draft the moment its redraft went out (the
  buyer's wait, not the draft's). p50 / p90 are nearest-rank percentiles of the answered turns;
  the SLA share counts the answered turns within ``sla_seconds`` over those turns plus the ones
  still unanswered after more than ``sla_seconds``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.db_schema import gateway_messages as messages
from bot.db_schema import review_handoffs as handoffs
from bot.db_schema import review_suggestions as suggestions
from bot.review.analytics_days import ClosedDays, is_closed

MAX_DAYS = 366
DEFAULT_DAYS = 30
PERCENTILES = (("p50", 0.5), ("p90", 0.9))
# Statuses of a turn the buyer got an answer for, and of an agent's decision on a draft.
ANSWERED = ("auto_sent", "sent", "edited", "agent_answered")
DECISIONS = {"sent": "accepted", "edited": "edited", "rejected": "rejected"}
REDRAFT_REASON = "redrafted by %"  # bot.gateway.conversation.Conversations.agent_rejects
FALLBACK_INTENT = "nlu_fallback"
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")


class RangeError(ValueError):
    """A date range the page cannot show: ``code`` names the problem for the page's message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_range(start: Optional[str], end: Optional[str], today: date) -> Tuple[date, date]:
    """``start`` / ``end`` as YYYY-MM-DD (both days included); missing ones give the last
    DEFAULT_DAYS days up to ``today``. Raises RangeError: bad_date, reversed, too_long."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as error:
        raise RangeError("bad_date") from error
    if first > last:
        raise RangeError("reversed")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError("too_long")
    return first, last


def _rate(part: Optional[float], whole: Optional[float]) -> Optional[float]:
    return round(part / whole, 4) if whole and part is not None else None


EPOCH = date(1970, 1, 1)


def day_text(day: Any) -> str:
    """A day key of _Dialect.day as 'YYYY-MM-DD'."""
    if isinstance(day, int):
        return (EPOCH + timedelta(days=day)).isoformat()
    return day.isoformat() if isinstance(day, date) else str(day)


@dataclass(frozen=True)
class _Dialect:
    """The two expressions SQLite and PostgreSQL write differently: a stored time's local day, and
    the seconds between two stored times."""

    name: str
    zone: str
    offset_minutes: int

    def day(self, column: sa.sql.ColumnElement) -> sa.sql.ColumnElement:
        """The local day: a date on PostgreSQL; on SQLite, which stores UTC wall times as
        text, the local day as days since 1970-01-01 (integer division: cheaper to compute and group
        than date(); see day_text), for a zone without daylight saving (the shop's) a fixed offset."""
        if self.name == "postgresql":
            return sa.cast(sa.func.timezone(sa.literal_column(f"'{self.zone}'"), column), sa.Date)
        seconds = sa.cast(sa.func.strftime(sa.literal_column("'%s'"), column), sa.Integer)
        return (seconds + sa.literal_column(str(self.offset_minutes * 60))) / sa.literal_column("86400")

    def bytewise(self, text: sa.sql.ColumnElement) -> sa.sql.ColumnElement:
        """Text compared byte by byte (ids: PostgreSQL's language-aware collation only slows the
        sort of a DISTINCT; SQLite compares bytes already)."""
        return text.collate("C") if self.name == "postgresql" else text

    def seconds(self, later: sa.sql.ColumnElement, earlier: sa.sql.ColumnElement) -> sa.sql.ColumnElement:
        if self.name == "postgresql":
            return sa.extract("epoch", later - earlier)
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


class Analytics:
    """``sla_seconds``: the first-response goal (routing.yml sla_seconds.red); ``zone``: the shop's
    time zone (policy.yml timezone), which decides where a day starts; ``intent_names``: Chinese
    names of the intents (gateway_strings.yml), shown with the English name."""

    def __init__(
        self,
        engine: sa.engine.Engine,
        sla_seconds: float,
        zone: str = "Asia/Shanghai",
        intent_names: Optional[Mapping[str, str]] = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        if not _ZONE_NAME.match(zone):
            raise ValueError(f"not a time zone name: {zone!r}")
        self.engine = engine
        self.sla_seconds = float(sla_seconds)
        self.zone = ZoneInfo(zone)
        self.zone_name = zone
        self.intent_names = dict(intent_names or {})
        self.clock = clock

    def today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    def _bounds(self, first: date, last: date) -> Tuple[datetime, datetime]:
        start = datetime.combine(first, time(0), self.zone).astimezone(timezone.utc)
        end = datetime.combine(last + timedelta(days=1), time(0), self.zone).astimezone(timezone.utc)
        return start, end

    def report(self, first: date, last: date) -> Dict[str, Any]:
        """Every number of the page for the days ``first`` .. ``last`` (local days, both included).
        The days that are over and can no longer change are read from analytics_days (computed
        once, bot/review/analytics_days.py); the others are aggregated in SQL over the span from the
        first of them to the last (Queries: the review queue grouped by day and intent, its rejected
        drafts with their redrafts, the held turns' response seconds, the buyer messages and the
        handoffs by day), and the ones among them now closed are stored. Distinct conversations
        and handoffs over the whole range do not add up from days: two more SELECTs. The range's
        other totals add up the days."""
        days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
        offset = int((self.zone.utcoffset(datetime.combine(first, time(12))) or timedelta()).total_seconds() // 60)
        now = self.clock()
        stored = ClosedDays(self.zone_name, self.sla_seconds)
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # These aggregates are cheap, but their estimated cost starts PostgreSQL's JIT
                # compiler, which spends seconds compiling them.
                conn.exec_driver_sql("SET LOCAL jit = off")
            dialect = _Dialect(conn.dialect.name, self.zone_name, offset)
            marks = stored.marks(conn)
            kept, behind = stored.load(conn, days, dialect.day, day_text)
            live = [day for day in days if day not in kept]
            computed: Dict[str, Dict[str, Any]] = {}
            if live:
                span = self._bounds(date.fromisoformat(live[0]), date.fromisoformat(live[-1]))
                computed = _day_figures(conn, _Queries(dialect, *span, now, self.sla_seconds), live)
            whole = _Queries(dialect, *self._bounds(first, last), now, self.sla_seconds)
            messages_range = conn.execute(whole.messages(by_day=False)).mappings().one()
            handoffs_range = conn.execute(whole.handoffs(by_day=False)).mappings().one()
        closed = {
            day: figures
            for day, figures in computed.items()
            if is_closed(self._bounds(date.fromisoformat(day), date.fromisoformat(day))[1], now, self.sla_seconds)
        }
        stored.save(self.engine, closed, list(kept) if behind else [], marks, now)
        figures = {**computed, **kept}
        by_day = {day: figures[day]["counts"] for day in days}
        in_range = _added(by_day.values())
        held_in_range = sorted(seconds for day in days for seconds in figures[day]["held"])
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "today": self.today().isoformat(),
            "timezone": self.zone_name,
            "sla_seconds": self.sla_seconds,
            "days": [
                dict(
                    day=day,
                    **_summary(
                        figures[day]["messages"],
                        figures[day]["handoffs"],
                        by_day[day],
                        _percentiles(by_day[day], figures[day]["held"]),
                    ),
                )
                for day in days
            ],
            "totals": _summary(messages_range, handoffs_range, in_range, _percentiles(in_range, held_in_range)),
            "intents": self._intents(days, {day: figures[day]["intents"] for day in days}),
        }

    def _intents(self, days: List[str], per_day: Mapping[str, Mapping[str, List[float]]]) -> List[Dict[str, Any]]:
        """Per intent: its turns per day and over the range, and their mean confidence (``per_day``:
        day -> intent -> [turns, confidence sum, confidence count], see _intent_sums)."""
        found: Dict[str, Dict[str, Any]] = {}
        for day in days:
            for intent, (turns, total, count) in per_day[day].items():
                if not turns:
                    continue  # only redrafts of this intent that day
                item = found.setdefault(intent, {"per_day": dict.fromkeys(days, 0), "turns": 0, "sum": 0.0, "n": 0})
                item["per_day"][day] += int(turns)
                item["turns"] += int(turns)
                item["sum"] += float(total)
                item["n"] += int(count)
        listed = [
            {
                "intent": intent,
                "name": self.intent_names.get(intent, intent),
                "turns": item["turns"],
                "mean_confidence": round(item["sum"] / item["n"], 4) if item["n"] else None,
                "per_day": [item["per_day"][day] for day in days],
            }
            for intent, item in found.items()
        ]
        return sorted(listed, key=lambda entry: (-entry["turns"], entry["intent"]))


COUNTS = ("turns", "automated", *DECISIONS, "answered", "instant", "within_sla", "late_unanswered")


def _counts(row: Mapping[str, Any], rejected: Mapping[Tuple[str, str], Mapping[str, Any]]) -> Dict[str, Any]:
    """One row of Queries.turns as the counts the page adds up: a redraft is no turn of its own,
    but an agent's decision on it counts; a rejected draft's answer is its redraft's
    (``rejected``: Queries.rejected by day and intent)."""
    n, status, turn = int(row["n"]), row["status"], not row["redraft"]
    if turn and status == "rejected":
        row = {**row, **rejected.get((row["day"], row["intent"]), {})}
    counts: Dict[str, Any] = {"day": row["day"], "intent": row["intent"]}
    counts.update({name: n if status == name else 0 for name in DECISIONS})
    if not turn:
        counts.update(dict.fromkeys(("turns", "automated", "answered", "instant", "within_sla", "late_unanswered"), 0))
        counts.update(confidence_sum=0.0, confidence_count=0, fallbacks=0)
        return counts
    answered = n if status in ANSWERED else int(row.get("rejected_answered") or 0)
    counts.update(
        turns=n,
        automated=n if status == "auto_sent" else 0,
        answered=answered,
        instant=int(row["instant"] or 0),
        within_sla=int(row["within_sla"] or 0),
        late_unanswered=int(row["late_unanswered"] or 0),
        confidence_sum=float(row["confidence_sum"] or 0),
        confidence_count=int(row["confidence_count"] or 0),
        fallbacks=n if row["intent"] == FALLBACK_INTENT else 0,
    )
    return counts


def _add(total: Dict[str, float], counts: Mapping[str, Any]) -> None:
    """Adds one set of counts into ``total``."""
    for key in (*COUNTS, "fallbacks"):
        total[key] = total.get(key, 0) + int(counts.get(key) or 0)


def _rows(result: Any) -> List[Dict[str, Any]]:
    """A result's rows as dicts, their day keys as 'YYYY-MM-DD'."""
    rows = [dict(row) for row in result.mappings()]
    for row in rows:
        if "day" in row:
            row["day"] = day_text(row["day"])
    return rows


def _added(rows: Iterable[Mapping[str, Any]]) -> Dict[str, float]:
    total: Dict[str, float] = {}
    for row in rows:
        _add(total, row)
    return total


def _percentiles(counts: Mapping[str, float], held: List[float]) -> Dict[str, Optional[float]]:
    """Nearest-rank p50 / p90 of the answered turns' response seconds: the turns sent at once (0 s,
    ``instant``) sort first, then the held ones (``held``, sorted)."""
    answered, instant = int(counts.get("answered", 0)), int(counts.get("instant", 0))
    found: Dict[str, Optional[float]] = {}
    for name, share in PERCENTILES:
        rank = max(1, math.ceil(share * answered - 1e-9))
        if not answered:
            found[name] = None
        elif rank <= instant:
            found[name] = 0.0
        else:
            found[name] = held[rank - instant - 1] if rank - instant <= len(held) else None
    return found


def _day_figures(conn: sa.engine.Connection, queries: "_Queries", days: List[str]) -> Dict[str, Dict[str, Any]]:
    """Each day's aggregates over the queries' span (every day in ``days`` has an entry): the
    review queue's counts (_counts, added up) and per intent (_intent_sums), buyer messages and
    conversations, handoffs, the held turns' response seconds (sorted), and the ids of its drafts
    still waiting for an agent."""
    figures: Dict[str, Dict[str, Any]] = {day: _no_figures() for day in days}
    rejected = {(row["day"], row["intent"]): row for row in _rows(conn.execute(queries.rejected()))}
    for row in _rows(conn.execute(queries.turns())):
        figures.setdefault(row["day"], _no_figures())["turns"].append(_counts(row, rejected))
    for row in _rows(conn.execute(queries.messages(by_day=True))):
        if row["day"] in figures:
            figures[row["day"]]["messages"] = {k: row[k] for k in ("buyer_messages", "conversations")}
    for row in _rows(conn.execute(queries.handoffs(by_day=True))):
        if row["day"] in figures:
            figures[row["day"]]["handoffs"] = {"conversations": row["conversations"]}
    for row in _rows(conn.execute(queries.held_seconds())):
        if row["day"] in figures:
            figures[row["day"]]["held"].append(float(row["seconds"]))
    for row in _rows(conn.execute(queries.waiting())):
        if row["day"] in figures:
            figures[row["day"]]["waiting"].append(int(row["id"]))
    for day in figures.values():
        rows = day.pop("turns")
        day["counts"], day["intents"] = _added(rows), _intent_sums(rows)
        day["held"].sort()
    return {day: figures[day] for day in days}


def _intent_sums(rows: Iterable[Mapping[str, Any]]) -> Dict[str, List[float]]:
    """intent -> [turns, confidence sum, confidence count] of one day's _counts rows."""
    sums: Dict[str, List[float]] = {}
    for row in rows:
        entry = sums.setdefault(row["intent"], [0, 0.0, 0])
        entry[0] += int(row["turns"])
        entry[1] += float(row["confidence_sum"] or 0)
        entry[2] += int(row["confidence_count"] or 0)
    return sums


def _no_figures() -> Dict[str, Any]:
    return {"turns": [], "messages": {}, "handoffs": {}, "held": [], "waiting": []}


def _summary(messages_: Mapping, handoffs_: Mapping, turns_: Mapping, response_: Mapping) -> Dict[str, Any]:
    """One day's (or the range's) figures from its aggregates (empty mappings: no data)."""

    def number(row: Mapping, key: str) -> int:
        return int(row.get(key) or 0)

    conversations = number(messages_, "conversations")
    turns = number(turns_, "turns")
    decided = sum(number(turns_, status) for status in DECISIONS)
    judged = number(turns_, "answered") + number(turns_, "late_unanswered")
    return {
        "conversations": conversations,
        "buyer_messages": number(messages_, "buyer_messages"),
        "turns": turns,
        "automation_rate": _rate(number(turns_, "automated"), turns),
        "fallback_rate": _rate(number(turns_, "fallbacks"), turns),
        "handoffs": number(handoffs_, "conversations"),
        "handoff_rate": _rate(number(handoffs_, "conversations"), conversations),
        "agent": {
            "decisions": decided,
            **{name: number(turns_, status) for status, name in DECISIONS.items()},
            **{f"{name}_rate": _rate(number(turns_, status), decided) for status, name in DECISIONS.items()},
        },
        "first_response": {
            "answered": number(turns_, "answered"),
            "unanswered": turns - number(turns_, "answered"),
            **{
                f"{name}_seconds": None if response_.get(name) is None else round(float(response_[name]), 1)
                for name, _ in PERCENTILES
            },
            "within_sla_share": _rate(number(turns_, "within_sla"), judged),
        },
    }


class _Queries:
    """The SELECTs of one report, over [start, end) in UTC."""

    def __init__(self, dialect: _Dialect, start: datetime, end: datetime, now: datetime, sla_seconds: float) -> None:
        self.dialect = dialect
        self.start, self.end, self.now, self.sla = start, end, now, sla_seconds

    def _day(self, column: sa.sql.ColumnElement, by_day: bool) -> sa.sql.ColumnElement:
        return (self.dialect.day(column) if by_day else sa.literal_column("''")).label("day")

    def messages(self, by_day: bool) -> sa.sql.Select:
        """Buyer messages and the conversations they were written in (by day, or over the range)."""
        day = self._day(messages.c.created_at, by_day)
        query = sa.select(
            day,
            sa.func.count().label("buyer_messages"),
            sa.func.count(sa.distinct(self.dialect.bytewise(messages.c.session_id))).label("conversations"),
        ).where(messages.c.role == "buyer", messages.c.created_at >= self.start, messages.c.created_at < self.end)
        return query.group_by(day) if by_day else query

    def handoffs(self, by_day: bool) -> sa.sql.Select:
        day = self._day(handoffs.c.created_at, by_day)
        query = sa.select(day, sa.func.count(sa.distinct(handoffs.c.session_id)).label("conversations")).where(
            handoffs.c.created_at >= self.start, handoffs.c.created_at < self.end
        )
        return query.group_by(day) if by_day else query

    def _answered_by_redraft(self) -> sa.sql.ColumnElement:
        """For a rejected draft: when its redraft (the agent's chosen intent, drafted again) was
        answered, NULL while it was not."""
        redraft = suggestions.alias("redraft")
        return (
            sa.select(sa.func.min(redraft.c.handled_at))
            .where(
                redraft.c.session_id == suggestions.c.session_id,
                redraft.c.id > suggestions.c.id,
                redraft.c.reason.like(REDRAFT_REASON),
                redraft.c.status.in_(ANSWERED),
            )
            .scalar_subquery()
        )

    def _in_range(self) -> sa.sql.ColumnElement:
        return sa.and_(suggestions.c.created_at >= self.start, suggestions.c.created_at < self.end)

    def turns(self) -> sa.sql.Select:
        """The review queue per day, intent, status and redraft or not: how many, their confidences'
        sum and count (exact means over several days), how many were sent at once, answered
        within the SLA, still waiting past the SLA (rejected drafts: Queries.rejected). Each CASE
        reads a row's times only where its status needs them; every column is in the index
        ix_review_suggestions_created_at."""
        status, created, handled = suggestions.c.status, suggestions.c.created_at, suggestions.c.handled_at
        day = self.dialect.day(created).label("day")
        is_redraft = sa.case((suggestions.c.reason.like(REDRAFT_REASON), 1), else_=0).label("redraft")
        instant = sa.and_(status == "auto_sent", handled.is_(None))
        return (
            sa.select(
                day,
                sa.func.coalesce(suggestions.c.intent, "").label("intent"),
                status.label("status"),
                is_redraft,
                sa.func.count().label("n"),
                sa.func.sum(suggestions.c.confidence).label("confidence_sum"),
                sa.func.count(suggestions.c.confidence).label("confidence_count"),
                sa.func.sum(sa.case((instant, 1), else_=0)).label("instant"),
                sa.func.sum(sa.case((instant, 1), (status.in_(ANSWERED), self._within_sla(handled)), else_=0)).label(
                    "within_sla"
                ),
                sa.func.sum(sa.case((status == "pending", self._late()), else_=0)).label("late_unanswered"),
            )
            .where(self._in_range())
            .group_by(day, suggestions.c.intent, status, is_redraft)
        )

    def _within_sla(self, answer: sa.sql.ColumnElement) -> sa.sql.ColumnElement:
        return sa.case((self.dialect.seconds(answer, suggestions.c.created_at) <= self.sla, 1), else_=0)

    def _late(self) -> sa.sql.ColumnElement:
        return sa.case((suggestions.c.created_at < self.now - timedelta(seconds=self.sla), 1), else_=0)

    def rejected(self) -> sa.sql.Select:
        """The rejected drafts (turns, not redrafts) per day and intent: how many were answered by
        their redraft, within the SLA, and how many are still unanswered past it."""
        status = suggestions.c.status
        answer = self._answered_by_redraft()
        day = self.dialect.day(suggestions.c.created_at).label("day")
        return (
            sa.select(
                day,
                sa.func.coalesce(suggestions.c.intent, "").label("intent"),
                sa.func.sum(sa.case((answer.isnot(None), 1), else_=0)).label("rejected_answered"),
                sa.func.sum(sa.case((answer.isnot(None), self._within_sla(answer)), else_=0)).label("within_sla"),
                sa.func.sum(sa.case((answer.is_(None), self._late()), else_=0)).label("late_unanswered"),
            )
            .where(self._in_range(), status == "rejected", sa.not_(suggestions.c.reason.like(REDRAFT_REASON)))
            .group_by(day, suggestions.c.intent)
        )

    def waiting(self) -> sa.sql.Select:
        """The drafts still waiting for an agent (redrafts too), by day."""
        return sa.select(self.dialect.day(suggestions.c.created_at).label("day"), suggestions.c.id).where(
            self._in_range(), suggestions.c.status == "pending"
        )

    def held_seconds(self) -> sa.sql.Select:
        """The response seconds of the answered turns that were held (not sent at once), by day."""
        status, created, handled = suggestions.c.status, suggestions.c.created_at, suggestions.c.handled_at
        seconds = self.dialect.seconds
        answered_held = sa.select(self.dialect.day(created).label("day"), seconds(handled, created).label("seconds")).where(
            self._in_range(),
            handled.isnot(None),  # sent at once: 0 s, counted as instant
            status.in_(ANSWERED),
            sa.not_(suggestions.c.reason.like(REDRAFT_REASON)),
        )
        # rejected drafts, answered when their redraft was (a few rows, apart so the first part
        # reads the index only)
        answered_rejected = sa.select(
            self.dialect.day(created).label("day"), seconds(self._answered_by_redraft(), created).label("seconds")
        ).where(self._in_range(), status == "rejected", sa.not_(suggestions.c.reason.like(REDRAFT_REASON)))
        held = sa.union_all(answered_held, answered_rejected).subquery("held")
        return sa.select(held.c.day, held.c.seconds).where(held.c.seconds.isnot(None))
