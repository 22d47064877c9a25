"""The gateway's own durable data: buyer sessions, the message history and pending order events.
SQLite by default (var/gateway.db), PostgreSQL by URL (GATEWAY_DB_URL). The tables are in
bot.db_schema; bot.db_migrate.upgrade creates them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.db import create_engine, utc_at
from bot.db_schema import gateway_messages as messages
from bot.db_schema import gateway_pending_events as pending_events
from bot.db_schema import gateway_sessions as sessions


class GatewayStore:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    # -- sessions --------------------------------------------------------------------------
    def touch_session(self, session_id: str, buyer_id: Optional[str]) -> None:
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            updated = conn.execute(
                sessions.update()
                .where(sessions.c.session_id == session_id)
                .values(last_seen=now, **({"buyer_id": buyer_id} if buyer_id else {}))
            ).rowcount
            if not updated:
                try:
                    conn.execute(
                        sessions.insert().values(session_id=session_id, buyer_id=buyer_id, created_at=now, last_seen=now)
                    )
                except IntegrityError:
                    pass

    def claim_session(self, session_id: str, buyer_id: Optional[str]) -> bool:
        """A conversation belongs to the identity it was opened with (a buyer, or nobody): True when
        ``buyer_id`` (None: not logged in) is that identity or the session is new, False otherwise."""
        now = datetime.now(timezone.utc)
        owner = self._owner(session_id)
        if owner is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        sessions.insert().values(session_id=session_id, buyer_id=buyer_id, created_at=now, last_seen=now)
                    )
                return True
            except IntegrityError:
                owner = self._owner(session_id)
        if owner is None or (owner[0] or None) != (buyer_id or None):
            return False
        with self.engine.begin() as conn:
            conn.execute(sessions.update().where(sessions.c.session_id == session_id).values(last_seen=now))
        return True

    def _owner(self, session_id: str):
        """(buyer_id,) of an existing session, else None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sessions.c.buyer_id).where(sessions.c.session_id == session_id)).first()
        return (row[0],) if row else None

    def may_read(self, session_id: str, buyer_id: Optional[str]) -> bool:
        """A buyer's conversation is readable with that buyer's token only; an anonymous one (or one
        not started yet) by whoever holds its random id."""
        owner = self._owner(session_id)
        return owner is None or owner[0] is None or owner[0] == buyer_id

    def session_exists(self, session_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sessions.c.session_id).where(sessions.c.session_id == session_id)).first() is not None

    def buyer_of(self, session_id: str) -> Optional[str]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sessions.c.buyer_id).where(sessions.c.session_id == session_id)).first()
        return row[0] if row else None

    def buyers_of(self, session_ids: Iterable[str]) -> Dict[str, Optional[str]]:
        """buyer_of for many sessions in one query (sessions not stored are left out)."""
        ids = list(set(session_ids))
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sessions.c.session_id, sessions.c.buyer_id).where(sessions.c.session_id.in_(ids))).all()
        return {session_id: buyer_id for session_id, buyer_id in rows}

    def latest_session_of(self, buyer_id: str) -> Optional[str]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions.c.session_id)
                .where(sessions.c.buyer_id == buyer_id)
                .order_by(sessions.c.last_seen.desc())
                .limit(1)
            ).first()
        return row[0] if row else None

    # -- messages --------------------------------------------------------------------------
    @staticmethod
    def _row(
        session_id: str, role: str, text: str, extra: Optional[Dict[str, Any]], client_id: Optional[str] = None
    ) -> Dict[str, Any]:
        return dict(
            session_id=session_id,
            role=role,
            text=text or "",
            extra=json.dumps(extra or {}, ensure_ascii=False),
            client_id=client_id,
            created_at=datetime.now(timezone.utc),
        )

    def add_message(
        self,
        session_id: str,
        role: str,
        text: str,
        extra: Optional[Dict[str, Any]] = None,
        client_id: Optional[str] = None,
    ) -> Optional[Dict[str, Any]]:
        """Stores a message; None when a buyer message with this client_id is already stored."""
        values = self._row(session_id, role, text, extra, client_id)
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(messages.insert().values(**values)).inserted_primary_key[0]
        except IntegrityError:
            return None
        return self._as_message({**values, "id": new_id})

    def add_messages(self, session_id: str, role: str, items: List[Tuple[str, Dict[str, Any]]]) -> List[Dict[str, Any]]:
        """Stores the (text, extra) messages of one turn together, in order."""
        rows = [self._row(session_id, role, text, extra) for text, extra in items]
        with self.engine.begin() as conn:
            for values in rows:
                values["id"] = conn.execute(messages.insert().values(**values)).inserted_primary_key[0]
        return [self._as_message(values) for values in rows]

    def history(self, session_id: str, limit: int = 200) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(messages).where(messages.c.session_id == session_id).order_by(messages.c.id.desc()).limit(limit)
                )
                .mappings()
                .all()
            )
        return [self._as_message(dict(r)) for r in reversed(rows)]

    def last_buyer_texts(self, session_ids: Iterable[str], within: int = 20) -> Dict[str, str]:
        """Per session, the text of the latest buyer message among its last ``within`` messages
        (sessions without one are left out), in one query."""
        ids = list(set(session_ids))
        if not ids:
            return {}
        position = sa.func.row_number().over(partition_by=messages.c.session_id, order_by=messages.c.id.desc()).label("position")
        recent = (
            sa.select(messages.c.session_id, messages.c.role, messages.c.text, position)
            .where(messages.c.session_id.in_(ids))
            .subquery()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(recent.c.session_id, recent.c.text)
                .where(recent.c.position <= within, recent.c.role == "buyer")
                .order_by(recent.c.session_id, recent.c.position)
            ).all()
        found: Dict[str, str] = {}
        for session_id, text in rows:
            found.setdefault(session_id, text)
        return found

    def buyer_message_before(self, session_id: str, text: str, before: datetime) -> Optional[Dict[str, Any]]:
        """The latest stored buyer message of this text sent no later than ``before`` (the question
        a held reply answers), among the conversation's last 200 messages."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(messages)
                    .where(messages.c.session_id == session_id, messages.c.role == "buyer", messages.c.text == text)
                    .order_by(messages.c.id.desc())
                    .limit(200)
                )
                .mappings()
                .all()
            )
        for row in rows:
            if utc_at(row["created_at"]) <= before:
                return self._as_message(dict(row))
        return None

    def viewed_product(self, session_id: str) -> Optional[str]:
        """The product page the buyer wrote from last (kept with their messages), if any."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(messages.c.extra)
                .where(messages.c.session_id == session_id, messages.c.role == "buyer")
                .order_by(messages.c.id.desc())
                .limit(20)
            ).all()
        for (extra,) in rows:
            product_id = (json.loads(extra) if isinstance(extra, str) else (extra or {})).get("product_id")
            if product_id:
                return str(product_id)
        return None

    @staticmethod
    def _as_message(row: Dict[str, Any]) -> Dict[str, Any]:
        extra = json.loads(row["extra"]) if isinstance(row["extra"], str) else (row["extra"] or {})
        message = {
            "id": row["id"],
            "session_id": row["session_id"],
            "role": row["role"],
            "text": row["text"],
            "ts": utc_at(row["created_at"]).isoformat(),
        }
        if row.get("client_id"):
            message["client_id"] = row["client_id"]
        for key in ("buttons", "card", "image", "quote"):
            if extra.get(key):
                message[key] = extra[key]
        return message

    # -- order events for buyers who were not connected ------------------------------------
    def add_pending_event(self, buyer_id: str, order_id: str, event: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                pending_events.insert().values(
                    buyer_id=buyer_id, order_id=order_id, event=event, created_at=datetime.now(timezone.utc)
                )
            )

    def take_pending_events(self, buyer_id: str) -> List[Dict[str, Any]]:
        with self.engine.begin() as conn:
            rows = (
                conn.execute(sa.select(pending_events).where(pending_events.c.buyer_id == buyer_id).order_by(pending_events.c.id))
                .mappings()
                .all()
            )
            if rows:
                conn.execute(pending_events.delete().where(pending_events.c.id.in_([r["id"] for r in rows])))
        return [dict(r) for r in rows]
