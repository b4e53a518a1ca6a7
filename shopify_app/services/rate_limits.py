"""Fixed-window rate limits in Redis: ``INCR`` + ``EXPIRE`` in one pipeline, one round trip.

A limit is a number of events per window per key. The counter key carries the
window's index, so each window starts from zero and the key expires on its own.
The limiter fails open: if Redis does not answer, the event is allowed, the
outage is logged, and Redis is left alone for a few seconds so that a dead
Redis does not add its connect timeout to every request.

:meth:`FixedWindowLimiter.hit_many` counts a whole batch of events (the consent
writer's) in one Lua script call: one ``INCRBY`` per distinct key, and each event's
rank within its window decides, exactly as if the events had been counted one by one.
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


# KEYS: counters. ARGV[1]: "increment:ttl" for each key in turn, separated by commas. Returns each key's
# count after the increment, comma-separated. (One argument and one string rather than two arguments and
# an integer per key: packing and parsing them is what costs the client most.) The TTL is set when the key
# is created (its count equals the increment): the key is per window, and window + 1 seconds from any
# moment in the window outlives the window.
_INCREMENT_SCRIPT = """
local counts = {}
local i = 0
for increment, ttl in string.gmatch(ARGV[1], "(%d+):(%d+)") do
  i = i + 1
  increment = tonumber(increment)
  local count = redis.call('INCRBY', KEYS[i], increment)
  if count == increment then
    redis.call('EXPIRE', KEYS[i], ttl)
  end
  counts[i] = count
end
return table.concat(counts, ",")
"""


class FixedWindowLimiter:
    """Counts events in Redis. Thread-safe; share one per process (it remembers Redis outages)."""

    def __init__(self, redis: Redis, *, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._redis = redis
        self._clock = clock
        self._monotonic = monotonic
        self._skip_until = 0.0
        self._lock = threading.Lock()
        self._increment = redis.register_script(_INCREMENT_SCRIPT)

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

    def hit_many(self, events: Sequence[Sequence[tuple[Limit, str]]]) -> list[RateLimitExceeded | None]:
        """Count a batch of events in one round trip; for each, None (allowed) or the error to raise.

        The same as calling :meth:`hit` for each event in turn: every event is counted against every
        one of its limits, and an event is refused when its rank in any of its windows is over the limit.
        """
        verdicts: list[RateLimitExceeded | None] = [None] * len(events)
        if not events or self._monotonic() < self._skip_until:
            return verdicts
        now = self._clock()
        increments: dict[str, int] = {}
        ttls: dict[str, int] = {}
        event_keys: list[list[tuple[Limit, str]]] = []
        for checks in events:
            keys = []
            for limit, key in checks:
                redis_key = f"{KEY_PREFIX}:{limit.name}:{key}:{int(now // limit.window_seconds)}"
                increments[redis_key] = increments.get(redis_key, 0) + 1
                ttls[redis_key] = limit.window_seconds + 1
                keys.append((limit, redis_key))
            event_keys.append(keys)
        if not increments:
            return verdicts
        spec = ",".join(f"{increment}:{ttls[redis_key]}" for redis_key, increment in increments.items())
        try:
            reply = self._increment(keys=list(increments), args=[spec])
            counts = (reply.decode() if isinstance(reply, bytes) else reply).split(",")
        except RedisError as exc:
            with self._lock:
                self._skip_until = self._monotonic() + OUTAGE_BACKOFF_SECONDS
            log.warning("Rate limiting skipped: Redis unavailable (%s)", type(exc).__name__)
            return verdicts
        # The batch's events hold the last ranks of each window, in batch order.
        rank = {k: int(count) - increments[k] for k, count in zip(increments, counts, strict=True)}
        for index, keys in enumerate(event_keys):
            for limit, redis_key in keys:
                rank[redis_key] += 1
                if rank[redis_key] > limit.max_events and verdicts[index] is None:
                    retry_after = limit.window_seconds - int(now % limit.window_seconds)
                    verdicts[index] = RateLimitExceeded(f"Too many events ({limit.name}); try again later.",
                                                        max(retry_after, 1))
        return verdicts
