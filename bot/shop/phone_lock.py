"""Guessing an order's phone tail is stopped: after MAX_FAILURES wrong answers for one order its
check is locked for LOCK_SECONDS, whatever the conversation or session (the count lives in the
orders database, so it survives restarts and is shared by every action server replica; its table
is in bot.db_schema)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.db import create_engine
from bot.db_schema import phone_tail_failures as failures

logger = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCK_SECONDS = 3600


def _utc(moment: Optional[datetime]) -> Optional[datetime]:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class PhoneTailLocks:
    def __init__(self, url: str, max_failures: int = MAX_FAILURES, lock_seconds: int = LOCK_SECONDS) -> None:
        self.engine = create_engine(url)
        self.max_failures = max_failures
        self.lock = timedelta(seconds=lock_seconds)

    def _row(self, conn, order_id: str):
        return conn.execute(sa.select(failures).where(failures.c.order_id == order_id)).mappings().first()

    def is_locked(self, order_id: str, now: Optional[datetime] = None) -> bool:
        now = now or datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            row = self._row(conn, order_id)
            locked_until = None if row is None else _utc(row["locked_until"])
            if locked_until is None:
                return False
            if locked_until > now:
                return True
            conn.execute(failures.delete().where(failures.c.order_id == order_id))
        logger.warning("phone-tail lock of order %s lifted (an hour passed)", order_id)
        return False

    def failed(self, order_id: str, now: Optional[datetime] = None) -> bool:
        """Counts a wrong answer; True when the order is locked now."""
        now = now or datetime.now(timezone.utc)
        for _ in range(3):  # two action servers counting the same order at once
            try:
                with self.engine.begin() as conn:
                    row = self._row(conn, order_id)
                    if row is None:
                        conn.execute(failures.insert().values(order_id=order_id, failures=1, updated_at=now))
                        count = 1
                    else:
                        count = row["failures"] + 1
                        conn.execute(
                            failures.update()
                            .where(failures.c.order_id == order_id)
                            .values(failures=failures.c.failures + 1, updated_at=now)
                        )
                    if count >= self.max_failures:
                        conn.execute(
                            failures.update().where(failures.c.order_id == order_id).values(locked_until=now + self.lock)
                        )
                break
            except IntegrityError:
                continue
        else:
            return True
        if count >= self.max_failures:
            logger.warning("order %s locked for %d s after %d wrong phone tails", order_id, self.lock.total_seconds(), count)
            return True
        return False

    def succeeded(self, order_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(failures.delete().where(failures.c.order_id == order_id))

    def close(self) -> None:
        self.engine.dispose()
