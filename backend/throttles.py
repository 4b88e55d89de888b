"""DRF's sliding-window throttle in one Redis round trip.

DRF's `SimpleRateThrottle` keeps each client's recent request times as a
list in the cache: a get, then a set, on every request. Here the same history
is a Redis sorted set, trimmed, counted and added to by one Lua script, so the
limit, the window and the Retry-After are DRF's. Without Redis (the embedded
mode's local cache, or Redis away) DRF's own code counts in the process's
cache, through `resilient_cache`.
"""

import secrets

from rest_framework.throttling import SimpleRateThrottle

from backend.cache import resilient_cache

# KEYS[1]: the history; ARGV: now (seconds), window (seconds), limit, a
# unique member. Drops what left the window, then records this request if it
# is within the limit. Returns {allowed, requests in the window, the oldest
# one's time} (the time as a string: Lua numbers come back as integers).
SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], window)
  count, allowed = count + 1, 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {allowed, count, oldest[2] or ARGV[1]}
"""


class SlidingWindowThrottle(SimpleRateThrottle):
    """A `SimpleRateThrottle` whose check and record are one Redis call.
    Subclasses name `scope`, `get_rate` and `get_cache_key` as usual."""

    # Redis away: counted in-process (fails open to a local limiter). DRF
    # only calls the cache's get and set, which ResilientCache has; the stubs
    # ask for a whole BaseCache.
    cache = resilient_cache  # type: ignore[assignment]
    _script = None
    # Set by SimpleRateThrottle.__init__ from the rate (the stubs omit them);
    # read only once `rate` is known not to be None.
    num_requests: int
    duration: int

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.window = resilient_cache.redis_call(self._check)
        if self.window is None:
            return super().allow_request(request, view)
        return bool(self.window[0])

    def _check(self, client, make_key) -> tuple[int, int, float]:
        script = SlidingWindowThrottle._script
        if script is None:
            script = SlidingWindowThrottle._script = client.register_script(SLIDING_WINDOW)
        member = f"{self.now!r}:{secrets.token_hex(4)}"
        allowed, count, oldest = script(
            keys=[make_key(f"{self.key}:window")],
            args=[repr(self.now), self.duration, self.num_requests, member],
            client=client,
        )
        return int(allowed), int(count), float(oldest)

    def wait(self) -> float | None:
        if self.window is None:
            return super().wait()
        _, count, oldest = self.window
        available_requests = self.num_requests - count + 1
        if available_requests <= 0:
            return None
        return (self.duration - (self.now - oldest)) / float(available_requests)
