"""The cache when Redis may be away.

`resilient_cache` answers like the default cache while Redis is up; when a
call fails it answers from a cache local to this process instead, so the
throttles keep counting (per process: they fail open to a local limiter, not
shut) and nothing that relies on the cache turns a request into a 500.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

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

    def redis_call(self, command: Callable[[Any, Callable[[str], str]], Any]) -> Any:
        """`command(client, make_key)` on the default cache's own Redis client,
        for what takes one round trip there and several through the cache API
        (a script). None when the cache is not Redis or Redis is away; the
        caller then uses the cache API, which answers from the local cache."""
        client = _redis_client()
        if client is None or self.degraded:
            return None
        try:
            return command(client, default_cache.make_key)
        except Exception as error:
            if not infrastructure_unavailable(error):
                raise
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            logger.warning("cache.unavailable", extra={"error": f"{type(error).__name__}: {error}"[:300]})
            return None


def _redis_client():
    """The django-redis client behind the default cache, or None (the local
    memory cache of the embedded mode)."""
    client = getattr(default_cache, "client", None)
    get_client = getattr(client, "get_client", None)
    return get_client(write=True) if get_client is not None else None


resilient_cache = ResilientCache()
