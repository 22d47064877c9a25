"""The durable review queue: every bot turn is a row (auto-sent or waiting for an agent); claiming a
waiting one is a single conditional UPDATE, so two agents never both send it."""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa

from bot.db import utc, utc_at
from bot.db_schema import review_conversations as conversations
from bot.db_schema import review_handoffs as handoffs
from bot.db_schema import review_suggestions as suggestions
from bot.db_schema import training_candidates as candidates


def _now() -> datetime:
    return datetime.now(timezone.utc)


class AlreadyHandled(RuntimeError):
    def __init__(self, status: str, handled_by: Optional[str]) -> None:
        super().__init__(f"already {status} by {handled_by}")
        self.status = status
        self.handled_by = handled_by


class ReviewQueue:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine

    # -- turns -----------------------------------------------------------------------------
    def record_turn(
        self,
        session_id: str,
        buyer_id: Optional[str],
        buyer_text: str,
        parse: List[Dict[str, Any]],
        replies: List[Dict[str, Any]],
        review: bool,
        reason: str,
        created_at: Optional[datetime] = None,
    ) -> Dict[str, Any]:
        """``created_at``: when the buyer's question came (a redraft keeps the rejected draft's, so
        the wait is still measured from the buyer's message)."""
        first = parse[0] if parse else {}
        values = dict(
            session_id=session_id,
            buyer_id=buyer_id,
            buyer_text=buyer_text,
            intent=first.get("intent"),
            confidence=first.get("confidence"),
            parse=json.dumps(parse, ensure_ascii=False),
            replies=json.dumps(replies, ensure_ascii=False),
            reason=reason,
            status="pending" if review else "auto_sent",
            created_at=created_at or _now(),
        )
        with self.engine.begin() as conn:
            new_id = conn.execute(suggestions.insert().values(**values)).inserted_primary_key[0]
        return self._as_dict({**values, "id": new_id, "handled_by": None, "final_text": None, "handled_at": None})

    def get(self, suggestion_id: int) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(suggestions).where(suggestions.c.id == suggestion_id)).mappings().first()
        return self._as_dict(row) if row else None

    def pending(self) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(sa.select(suggestions).where(suggestions.c.status == "pending").order_by(suggestions.c.created_at))
                .mappings()
                .all()
            )
        return [self._as_dict(r) for r in rows]

    def pending_of(self, session_id: str) -> List[Dict[str, Any]]:
        """One conversation's waiting suggestions, oldest first."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(suggestions)
                    .where(suggestions.c.session_id == session_id, suggestions.c.status == "pending")
                    .order_by(suggestions.c.created_at, suggestions.c.id)
                )
                .mappings()
                .all()
            )
        return [self._as_dict(r) for r in rows]

    def answer_pending(self, session_id: str, agent: str) -> int:
        """The agent wrote to the buyer in their own words: every draft still waiting in this
        conversation counts as answered by that agent (status ``agent_answered``)."""
        with self.engine.begin() as conn:
            return conn.execute(
                suggestions.update()
                .where(suggestions.c.session_id == session_id, suggestions.c.status == "pending")
                .values(status="agent_answered", handled_by=agent, handled_at=_now())
            ).rowcount

    def claim(self, suggestion_id: int, agent: str, status: str, final_text: Optional[str] = None) -> Dict[str, Any]:
        """Marks a waiting suggestion handled; raises AlreadyHandled for everyone but the first."""
        with self.engine.begin() as conn:
            won = conn.execute(
                suggestions.update()
                .where(suggestions.c.id == suggestion_id, suggestions.c.status == "pending")
                .values(status=status, handled_by=agent, handled_at=_now(), final_text=final_text)
            ).rowcount
        current = self.get(suggestion_id)
        if current is None:
            raise KeyError(suggestion_id)
        if won != 1:
            raise AlreadyHandled(current["status"], current["handled_by"])
        return current

    # -- conversations ---------------------------------------------------------------------
    def _conversation(self, session_id: str) -> Dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(conversations).where(conversations.c.session_id == session_id)).mappings().first()
        return dict(row) if row else {"session_id": session_id, "taken_over_by": None, "human_requested_at": None}

    def _set_conversation(self, session_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            updated = conn.execute(
                conversations.update().where(conversations.c.session_id == session_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(conversations.insert().values(session_id=session_id, **values))

    def taken_over_by(self, session_id: str) -> Optional[str]:
        return self._conversation(session_id)["taken_over_by"]

    def takeovers(self, session_ids: Iterable[str]) -> Dict[str, Optional[str]]:
        """taken_over_by for many conversations in one query."""
        ids = list(set(session_ids))
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(conversations.c.session_id, conversations.c.taken_over_by).where(conversations.c.session_id.in_(ids))
            ).all()
        found: Dict[str, Optional[str]] = {session_id: None for session_id in ids}
        found.update({session_id: agent for session_id, agent in rows})
        return found

    def take_over(self, session_id: str, agent: str) -> None:
        self._set_conversation(session_id, taken_over_by=agent, human_requested_at=None)
        self._record_handoff(session_id, "taken_over")

    def hand_back(self, session_id: str) -> None:
        self._set_conversation(session_id, taken_over_by=None)

    def request_human(self, session_id: str) -> None:
        if self._conversation(session_id)["human_requested_at"] is None:
            self._set_conversation(session_id, human_requested_at=_now())
            self._record_handoff(session_id, "requested")

    def _record_handoff(self, session_id: str, kind: str) -> None:
        """Kept for the owner's analytics (bot/review/analytics.py: the handoff rate)."""
        with self.engine.begin() as conn:
            conn.execute(handoffs.insert().values(session_id=session_id, kind=kind, created_at=_now()))

    def waiting_for_human(self) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(conversations)
                    .where(conversations.c.human_requested_at.isnot(None), conversations.c.taken_over_by.is_(None))
                    .order_by(conversations.c.human_requested_at)
                )
                .mappings()
                .all()
            )
        return [{**dict(r), "human_requested_at": utc(r["human_requested_at"])} for r in rows]

    def taken_over(self) -> List[Dict[str, Any]]:
        """Conversations an agent has taken over (one query)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(conversations).where(conversations.c.taken_over_by.isnot(None))).mappings().all()
        return [{**dict(r), "human_requested_at": utc(r["human_requested_at"])} for r in rows]

    def routing_state(self, session_id: str) -> Tuple[Dict[str, int], Optional[str]]:
        """What the routing policy reads about a conversation, in one read: per intent, how many bot
        replies it already had (sent in any way), and the agent who took it over (None: nobody)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(suggestions.c.intent, sa.func.count())
                .where(suggestions.c.session_id == session_id, suggestions.c.status != "rejected")
                .group_by(suggestions.c.intent)
            ).all()
            taken_over_by = conn.execute(
                sa.select(conversations.c.taken_over_by).where(conversations.c.session_id == session_id)
            ).scalar()
        return {intent: count for intent, count in rows if intent}, taken_over_by

    # -- learning from reviews --------------------------------------------------------------
    def add_candidate(self, text: str, predicted: Optional[str], correct: Optional[str], source: str, agent: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                candidates.insert().values(
                    text=text,
                    predicted_intent=predicted,
                    correct_intent=correct,
                    source=source,
                    agent=agent,
                    status="open",
                    created_at=_now(),
                )
            )

    def candidates(self, status: Optional[str] = None) -> List[Dict[str, Any]]:
        query = sa.select(candidates).order_by(candidates.c.id)
        if status is not None:
            query = query.where(candidates.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [dict(r) for r in rows]

    def candidate(self, candidate_id: int) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(candidates).where(candidates.c.id == candidate_id)).mappings().first()
        return dict(row) if row else None

    def close_candidate(self, candidate_id: int, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(candidates.update().where(candidates.c.id == candidate_id).values(status=status))

    def metrics(self) -> Dict[str, Any]:
        # Counts per intent and status aggregated in the database; only handled rows are read (for the median).
        with self.engine.connect() as conn:
            counted = conn.execute(
                sa.select(suggestions.c.intent, suggestions.c.status, sa.func.count()).group_by(
                    suggestions.c.intent, suggestions.c.status
                )
            ).all()
            handled_rows = conn.execute(
                sa.select(suggestions.c.created_at, suggestions.c.handled_at).where(suggestions.c.handled_at.isnot(None))
            ).all()
        per_intent: Dict[str, Dict[str, int]] = {}
        names = {"sent": "accepted", "edited": "edited", "rejected": "rejected", "auto_sent": "auto_sent", "pending": "pending"}
        for intent, status, count in counted:
            if status not in names:  # agent_answered: the agent wrote their own words (counted nowhere here)
                continue
            counts = per_intent.setdefault(
                intent or "unknown", {"accepted": 0, "edited": 0, "rejected": 0, "auto_sent": 0, "pending": 0}
            )
            counts[names[status]] += count
        review_seconds = [(utc_at(handled) - utc_at(created)).total_seconds() for created, handled in handled_rows]
        total = sum(count for _, _, count in counted)
        auto = sum(c["auto_sent"] for c in per_intent.values())
        return {
            "per_intent": per_intent,
            "median_review_seconds": round(statistics.median(review_seconds), 1) if review_seconds else None,
            "auto_send_share": round(auto / total, 3) if total else None,
        }

    @staticmethod
    def _as_dict(row: Any) -> Dict[str, Any]:
        item = dict(row)
        item["parse"] = json.loads(item["parse"])
        item["replies"] = json.loads(item["replies"])
        item["created_at"] = utc(item["created_at"])
        item["handled_at"] = utc(item["handled_at"])
        return item
