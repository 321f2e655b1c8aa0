"""Per-key token buckets: each key may make `burst` requests at once and `rate` per second on average.

Buckets live in each replica's memory: with N replicas behind a round-robin balancer a key gets up to N times
its rate in total (set the per-key rate with that in mind).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Dict, Tuple

from gateway.errors import QuotaExceeded

__all__ = ["TokenBucket", "RateLimiter"]


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int, now: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), now

    def take(self, now: float) -> float:
        """Takes one token; returns 0 when it was there, else the seconds until one will be."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One bucket per key id; a key whose limits change gets a fresh bucket."""

    def __init__(self, default_rate: float, default_burst: int, clock: Callable[[], float] = time.monotonic):
        self._default = (default_rate, default_burst)
        self._clock = clock
        self._buckets: Dict[str, Tuple[Tuple[float, int], TokenBucket]] = {}

    def check(self, key_id: str, rate: float = None, burst: int = None) -> None:
        """Spends one request of `key_id`; raises QuotaExceeded with the wait in whole seconds."""
        limits = (rate or self._default[0], burst or self._default[1])
        now = self._clock()
        held = self._buckets.get(key_id)
        if held is None or held[0] != limits:
            held = (limits, TokenBucket(limits[0], limits[1], now))
            self._buckets[key_id] = held
        wait = held[1].take(now)
        if wait > 0:
            raise QuotaExceeded(f"key {key_id} is over its rate limit ({limits[0]:g} requests/s, burst "
                                f"{limits[1]}); retry in {wait:.2f}s", math.ceil(wait))
