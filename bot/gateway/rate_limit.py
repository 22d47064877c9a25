"""Per-buyer token bucket: a burst of messages, then a steady rate."""

from __future__ import annotations

import time
from typing import Dict, Tuple


class RateLimiter:
    def __init__(self, burst: int = 5, per_second: float = 1.0, clock=time.monotonic) -> None:
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self._buckets: Dict[str, Tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        return True
