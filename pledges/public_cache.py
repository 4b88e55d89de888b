"""The Redis cache in front of the public endpoints.

Cached documents are keyed by a generation number that every change to a
pledge or payment bumps after its transaction commits, so the widget sees new
money within seconds instead of waiting for a TTL. The TTL is only a safety
net.

The generation is read *before* the figures are computed: a change that
commits meanwhile bumps it, so a document computed from older data is
stored under a generation nobody reads any more.
"""

import hashlib
import json
from collections.abc import Callable

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

GENERATION_KEY = "public:generation"
DOCUMENT_TTL_SECONDS = 300


def public_cache_invalidate() -> None:
    """Make every cached public document stale. Call it after commit."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set yet, or evicted
        cache.set(GENERATION_KEY, 2, timeout=None)


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.get(GENERATION_KEY, 1)
    return generation


def _name_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def _json_body(build: Callable[[], dict]) -> Callable[[], bytes]:
    return lambda: json.dumps(build(), cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def _built(key: str, build: Callable[[], bytes]) -> tuple[bytes, str]:
    body = build()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    cache.set(key, (body, etag), timeout=DOCUMENT_TTL_SECONDS)
    return body, etag


def public_document(name: str, build: Callable[[], dict]) -> tuple[bytes, str]:
    """The JSON body of a public document and its strong ETag, from the
    cache when fresh, else built and stored."""
    return public_bytes(name, _json_body(build))


def public_bytes(name: str, build: Callable[[], bytes]) -> tuple[bytes, str]:
    """As `public_document`, for a body that is not JSON (the IATI file)."""
    key = f"public:doc:{_generation()}:{_name_hash(name)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    return _built(key, build)


# --- Documents many clients poll at once (issue 16: the live board) ------------

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
    waits on the lock; the next poll gets the new version."""
    generation = _generation()
    name_hash = _name_hash(name)
    key = f"public:doc:{generation}:{name_hash}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    latest_key = f"public:latest:{name_hash}"
    if not cache.add(f"public:building:{generation}:{name_hash}", 1, timeout=BUILD_LOCK_SECONDS):
        latest = cache.get(latest_key)
        if latest is not None:
            return latest
    document = _built(key, _json_body(build))
    cache.set(latest_key, document, timeout=LATEST_TTL_SECONDS)
    return document
