"""The Redis cache in front of the public endpoints.

Cached documents are keyed by a generation number that every change to a
pledge or payment bumps after its transaction commits, so the widget sees new
money within seconds instead of waiting for a TTL. The TTL is only a safety
net.

The generation is read *before* the figures are computed: a change that
commits meanwhile bumps it, so a document computed from older data is
stored under a generation nobody reads any more.

With Redis away the documents are built from the database on every request
(slower, never wrong), and an invalidation that could not be written is
written with the next cache access that works.
"""

import hashlib
import json
import logging
from collections.abc import Callable

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from backend.outages import infrastructure_unavailable

logger = logging.getLogger(__name__)

GENERATION_KEY = "public:generation"
DOCUMENT_TTL_SECONDS = 300
# An invalidation Redis did not take (it was away): done before the next read.
_invalidation_pending = False


def _bump() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set yet, or evicted
        cache.set(GENERATION_KEY, 2, timeout=None)


def public_cache_invalidate() -> None:
    """Make every cached public document stale. Call it after commit; it
    never raises for a cache outage (the change has committed)."""
    global _invalidation_pending
    try:
        _bump()
        _invalidation_pending = False
    except Exception as error:
        if not infrastructure_unavailable(error):
            raise
        _invalidation_pending = True
        logger.warning("public_cache.invalidate_failed", extra={"error": type(error).__name__})


def _generation() -> int:
    global _invalidation_pending
    if _invalidation_pending:
        _bump()
        _invalidation_pending = False
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.get(GENERATION_KEY, 1)
    return generation


def _name_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def _json_body(build: Callable[[], dict]) -> Callable[[], bytes]:
    return lambda: json.dumps(build(), cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def _with_etag(body: bytes) -> tuple[bytes, str]:
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _cache_away(error: Exception) -> bool:
    """True (logged) for a cache outage, which callers ride out; any other
    error is re-raised by them."""
    if not infrastructure_unavailable(error):
        return False
    logger.warning("public_cache.unavailable", extra={"error": type(error).__name__})
    return True


def _store(key: str, document: tuple[bytes, str], timeout: int) -> None:
    try:
        cache.set(key, document, timeout=timeout)
    except Exception as error:
        if not _cache_away(error):
            raise


def public_document(name: str, build: Callable[[], dict]) -> tuple[bytes, str]:
    """The JSON body of a public document and its strong ETag, from the
    cache when fresh, else built and stored; built from the database alone
    when the cache is away."""
    return public_bytes(name, _json_body(build))


def public_bytes(name: str, build: Callable[[], bytes]) -> tuple[bytes, str]:
    """As `public_document`, for a body that is not JSON (the IATI file)."""
    try:
        key = f"public:doc:{_generation()}:{_name_hash(name)}"
        cached = cache.get(key)
    except Exception as error:
        if not _cache_away(error):
            raise
        return _with_etag(build())
    if cached is not None:
        return cached
    document = _with_etag(build())
    _store(key, document, DOCUMENT_TTL_SECONDS)
    return document


# --- Documents many clients poll at once (the live board) ----------------------

# How long one client may hold the right to rebuild a document; past it
# (a crashed worker), another one rebuilds.
BUILD_LOCK_SECONDS = 10
# The last version built is kept much longer than the document itself, so
# that when a document merely expires (nothing changed for its TTL) the
# other screens still have something to be answered with.
LATEST_TTL_SECONDS = 24 * 3600


def public_document_polled(name: str, build: Callable[[], dict]) -> tuple[bytes, str]:
    """As `public_document`, for a document that hundreds of screens poll
    every second: after a change only the first request rebuilds it, and
    the others are answered with the version built last (older by one
    build's time at most) instead of each querying the database. Nobody
    waits on the lock; the next poll gets the new version. With the cache
    away every poll is built from the database."""
    name_hash = _name_hash(name)
    latest_key = f"public:latest:{name_hash}"
    try:
        generation = _generation()
        key = f"public:doc:{generation}:{name_hash}"
        cached = cache.get(key)
        if cached is not None:
            return cached
        if not cache.add(f"public:building:{generation}:{name_hash}", 1, timeout=BUILD_LOCK_SECONDS):
            latest = cache.get(latest_key)
            if latest is not None:
                return latest
    except Exception as error:
        if not _cache_away(error):
            raise
        return _with_etag(_json_body(build)())
    document = _with_etag(_json_body(build)())
    _store(key, document, DOCUMENT_TTL_SECONDS)
    _store(latest_key, document, LATEST_TTL_SECONDS)
    return document
