"""Fixed-window rate limits in Redis: ``INCR`` + ``EXPIRE`` in one pipeline, one round trip.

A limit is a number of events per window per key. The counter key carries the
window's index, so each window starts from zero and the key expires on its own.
The limiter fails open: if Redis does not answer, the event is allowed, the
outage is logged, and Redis is left alone for a few seconds so that a dead
Redis does not add its connect timeout to every request.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence

from redis import Redis
from redis.exceptions import RedisError

from shopify_app.errors import AppError

log = logging.getLogger(__name__)

KEY_PREFIX = "rl"
OUTAGE_BACKOFF_SECONDS = 5.0


class RateLimitExceeded(AppError):
    """Too many events for one of the limits; ``retry_after`` is when the window ends (seconds)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class Limit:
    """At most ``max_events`` per ``window_seconds`` for each key of this limit's ``name``."""

    name: str
    max_events: int
    window_seconds: int


class FixedWindowLimiter:
    """Counts events in Redis. Thread-safe; share one per process (it remembers Redis outages)."""

    def __init__(self, redis: Redis, *, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._redis = redis
        self._clock = clock
        self._monotonic = monotonic
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def hit(self, checks: Sequence[tuple[Limit, str]]) -> None:
        """Count one event against every ``(limit, key)``; raise :class:`RateLimitExceeded` if any is over.

        The event is counted in every window even when one of them is over, which is
        what a fixed window does: a flood keeps its counters high until the window ends.
        """
        if not checks or self._monotonic() < self._skip_until:
            return
        now = self._clock()
        keys = []
        pipe = self._redis.pipeline(transaction=False)
        for limit, key in checks:
            window = int(now // limit.window_seconds)
            redis_key = f"{KEY_PREFIX}:{limit.name}:{key}:{window}"
            keys.append(redis_key)
            pipe.incr(redis_key)
            # A little longer than the window, so a late INCR never finds the key gone mid-window.
            pipe.expire(redis_key, limit.window_seconds + 1)
        try:
            results = pipe.execute()
        except RedisError as exc:
            with self._lock:
                self._skip_until = self._monotonic() + OUTAGE_BACKOFF_SECONDS
            log.warning("Rate limiting skipped: Redis unavailable (%s)", type(exc).__name__)
            return
        for (limit, _key), count in zip(checks, results[::2], strict=True):
            if int(count) > limit.max_events:
                retry_after = limit.window_seconds - int(now % limit.window_seconds)
                raise RateLimitExceeded(f"Too many events ({limit.name}); try again later.", max(retry_after, 1))
