"""Quick phrases: the shop's list of ready answers in the agent console. A phrase may
hold {variables} that the console fills from the open conversation (VARIABLES)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from bot.db import utc
from bot.db_schema import quick_phrases as phrases

# What the console can fill in: the buyer, the order the conversation is about, its courier and
# tracking number and state, the product (viewed, or of that order), the agent.
VARIABLES = ("buyer", "order_id", "order_status", "courier", "tracking_no", "product", "agent")
MAX_TITLE = 32
MAX_TEXT = 500
MAX_PHRASES = 200


class PhraseError(ValueError):
    """A phrase that cannot be stored; ``code`` names the console string that explains why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def check(title: Any, text: Any) -> Dict[str, str]:
    title = str(title or "").strip()
    text = str(text or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise PhraseError("phrase_title_invalid")
    if not text or len(text) > MAX_TEXT:
        raise PhraseError("phrase_text_invalid")
    unknown = [name for name in re.findall(r"\{([^{}]*)\}", text) if name not in VARIABLES]
    if unknown:
        raise PhraseError("phrase_unknown_variable")
    return {"title": title, "text": text}


class QuickPhrases:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine

    def all(self) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(phrases).order_by(phrases.c.title, phrases.c.id)).mappings().all()
        return [self._view(r) for r in rows]

    def add(self, title: Any, text: Any, agent: str) -> Dict[str, Any]:
        values = {**check(title, text), "updated_by": agent, "updated_at": datetime.now(timezone.utc)}
        with self.engine.begin() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(phrases)).scalar() or 0
            if count >= MAX_PHRASES:
                raise PhraseError("phrase_too_many")
            new_id = conn.execute(phrases.insert().values(**values)).inserted_primary_key[0]
        return self._view({**values, "id": new_id})

    def update(self, phrase_id: int, title: Any, text: Any, agent: str) -> Optional[Dict[str, Any]]:
        values = {**check(title, text), "updated_by": agent, "updated_at": datetime.now(timezone.utc)}
        with self.engine.begin() as conn:
            if not conn.execute(phrases.update().where(phrases.c.id == phrase_id).values(**values)).rowcount:
                return None
        return self._view({**values, "id": phrase_id})

    def delete(self, phrase_id: int) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(phrases.delete().where(phrases.c.id == phrase_id)).rowcount)

    @staticmethod
    def _view(row: Any) -> Dict[str, Any]:
        updated_at = utc(row["updated_at"])
        return {
            "id": row["id"],
            "title": row["title"],
            "text": row["text"],
            "updated_by": row["updated_by"],
            "updated_at": updated_at.isoformat() if updated_at else None,
        }
