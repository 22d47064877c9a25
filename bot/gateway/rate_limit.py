"""Per-buyer token bucket (a burst of messages, then a steady rate) and per-conversation turn locks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Dict, Tuple


class RateLimiter:
    PRUNE_ABOVE = 10_000  # buckets kept before idle ones (already full again) are dropped

    def __init__(self, burst: int = 5, per_second: float = 1.0, clock=time.monotonic) -> None:
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self._buckets: Dict[str, Tuple[float, float]] = {}

    def _prune(self, now: float) -> None:
        refill_seconds = self.burst / self.per_second
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill_seconds}

    def allow(self, key: str) -> bool:
        now = self.clock()
        if len(self._buckets) > self.PRUNE_ABOVE:
            self._prune(now)
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        return True

    def allow_all(self, *keys: str) -> bool:
        """Takes one token from each key's bucket when every one has a token; else takes none."""
        now = self.clock()
        if len(self._buckets) > self.PRUNE_ABOVE:
            self._prune(now)
        levels = {}
        for key in keys:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            levels[key] = min(self.burst, tokens + (now - last) * self.per_second)
        if any(tokens < 1 for tokens in levels.values()):
            return False
        for key, tokens in levels.items():
            self._buckets[key] = (tokens - 1, now)
        return True


class SessionLocks:
    """One lock per conversation, so its turns run in order; forgotten when nobody holds it."""

    def __init__(self) -> None:
        self._locks: Dict[str, Tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str):
        lock, users = self._locks.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
