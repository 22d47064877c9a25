"""Past conversations for the agent console: search (buyer, order number, product, intent, text,
date) and export of one conversation or a date range as CSV or JSONL rows."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa

from bot.db import utc_at
from bot.db_schema import gateway_messages as messages
from bot.db_schema import gateway_sessions as sessions
from bot.db_schema import review_suggestions as suggestions

MAX_RESULTS = 50
MAX_EXPORT_ROWS = 100_000
EXPORT_COLUMNS = ("time", "session_id", "buyer_id", "buyer_name", "role", "text", "intent", "card", "image")


@dataclass
class SearchTerms:
    """What to look for. ``text`` matches message text and session ids; the rest come from the
    shop (buyers whose name or id matches, the buyer of a matching order number, a product's
    names) and from the intent names; ``start``/``end`` bound the messages' time (UTC)."""

    text: str = ""
    buyer_ids: List[str] = field(default_factory=list)
    product_id: Optional[str] = None
    product_names: List[str] = field(default_factory=list)
    intents: List[str] = field(default_factory=list)
    start: Optional[datetime] = None
    end: Optional[datetime] = None


class ConversationHistory:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine

    def _in_range(self, start: Optional[datetime], end: Optional[datetime]) -> List[Any]:
        bounds = []
        if start is not None:
            bounds.append(messages.c.created_at >= start)
        if end is not None:
            bounds.append(messages.c.created_at < end)
        return bounds

    def search(self, terms: SearchTerms, limit: int = MAX_RESULTS) -> List[Dict[str, Any]]:
        """Conversations with a message in the time range that match any of the terms (all the
        conversations of the range when there are none), newest first: three queries."""
        matches = []
        if terms.text:
            matches.append(messages.c.text.contains(terms.text, autoescape=True))
            matches.append(messages.c.session_id.startswith(terms.text, autoescape=True))
        for name in terms.product_names:
            matches.append(messages.c.text.contains(name, autoescape=True))
        if terms.product_id:
            matches.append(messages.c.extra.contains(f'"product_id": "{terms.product_id}"', autoescape=True))
        if terms.buyer_ids:
            matches.append(
                messages.c.session_id.in_(sa.select(sessions.c.session_id).where(sessions.c.buyer_id.in_(terms.buyer_ids)))
            )
        if terms.intents:
            matches.append(
                messages.c.session_id.in_(
                    sa.select(suggestions.c.session_id).where(suggestions.c.intent.in_(terms.intents)).distinct()
                )
            )
        searched = bool(terms.text or terms.buyer_ids or terms.product_id or terms.product_names or terms.intents)
        where = [*self._in_range(terms.start, terms.end)]
        if searched:
            where.append(sa.or_(*matches))
        query = (
            sa.select(
                messages.c.session_id,
                sa.func.count().label("messages"),
                sa.func.min(messages.c.created_at).label("first_at"),
                sa.func.max(messages.c.created_at).label("last_at"),
            )
            .where(*where)
            .group_by(messages.c.session_id)
            .order_by(sa.func.max(messages.c.created_at).desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [r.session_id for r in rows]
            buyers = dict(
                conn.execute(sa.select(sessions.c.session_id, sessions.c.buyer_id).where(sessions.c.session_id.in_(ids))).all()
            )
            intent_rows = conn.execute(
                sa.select(suggestions.c.session_id, suggestions.c.intent)
                .where(suggestions.c.session_id.in_(ids), suggestions.c.intent.isnot(None))
                .distinct()
            ).all()
        intents: Dict[str, List[str]] = {}
        for session_id, intent in intent_rows:
            intents.setdefault(session_id, []).append(intent)
        return [
            {
                "session_id": r.session_id,
                "buyer_id": buyers.get(r.session_id),
                "matched_messages": r.messages,
                "first_at": utc_at(r.first_at).isoformat(),
                "last_at": utc_at(r.last_at).isoformat(),
                "intents": sorted(intents.get(r.session_id, [])),
            }
            for r in rows
        ]

    def export_rows(self, session_id: Optional[str], start: Optional[datetime], end: Optional[datetime]) -> List[Dict[str, Any]]:
        """Every message of one conversation, or of every conversation in the time range, in order
        (at most MAX_EXPORT_ROWS), each with its conversation's buyer and, for a buyer's message,
        the intent the bot understood."""
        where = self._in_range(start, end)
        if session_id is not None:
            where.append(messages.c.session_id == session_id)
        understood = (
            sa.select(suggestions.c.intent)
            .where(suggestions.c.session_id == messages.c.session_id, suggestions.c.buyer_text == messages.c.text)
            .order_by(suggestions.c.id)
            .limit(1)
            .scalar_subquery()
        )
        query = (
            sa.select(messages, sessions.c.buyer_id, understood.label("intent"))
            .select_from(messages.outerjoin(sessions, sessions.c.session_id == messages.c.session_id))
            .where(*where)
            .order_by(messages.c.session_id, messages.c.id)
            .limit(MAX_EXPORT_ROWS)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        exported = []
        for row in rows:
            extra = json.loads(row["extra"]) if isinstance(row["extra"], str) else (row["extra"] or {})
            card = extra.get("card") if isinstance(extra.get("card"), dict) else None
            exported.append(
                {
                    "time": utc_at(row["created_at"]).isoformat(),
                    "session_id": row["session_id"],
                    "buyer_id": row["buyer_id"],
                    "role": row["role"],
                    "text": row["text"],
                    "intent": row["intent"] if row["role"] == "buyer" else None,
                    "card": card,
                    "image": extra.get("image"),
                }
            )
        return exported


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text (never runs it as a formula)."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(rows: Iterable[Dict[str, Any]]) -> str:
    """UTF-8 CSV with a byte order mark (Excel opens Chinese text right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in EXPORT_COLUMNS])
    return out.getvalue()


def as_jsonl(rows: Iterable[Dict[str, Any]]) -> str:
    return "".join(json.dumps({c: row.get(c) for c in EXPORT_COLUMNS}, ensure_ascii=False) + "\n" for row in rows)
