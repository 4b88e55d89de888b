"""The cache when Redis may be away.

`resilient_cache` answers like the default cache while Redis is up; when a
call fails it answers from a cache local to this process instead, so the
throttles keep counting (per process: they fail open to a local limiter, not
shut) and nothing that relies on the cache turns a request into a 500.
"""

import logging
import time

from django.core.cache import cache as default_cache
from django.core.cache.backends.locmem import LocMemCache

from backend.outages import infrastructure_unavailable

logger = logging.getLogger(__name__)

# How long to leave Redis alone after a failure before trying it again, so a
# dead Redis costs one connection timeout per process and interval, not one
# per call.
RETRY_AFTER_SECONDS = 5.0


class ResilientCache:
    def __init__(self) -> None:
        self.local = LocMemCache("resilient-fallback", {"MAX_ENTRIES": 10000})
        self._down_until = 0.0

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, method: str, *args, **kwargs):
        if not self.degraded:
            try:
                return getattr(default_cache, method)(*args, **kwargs)
            except Exception as error:
                if not infrastructure_unavailable(error):
                    raise
                self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
                logger.warning("cache.unavailable", extra={"error": f"{type(error).__name__}: {error}"[:300]})
        return getattr(self.local, method)(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)


resilient_cache = ResilientCache()
