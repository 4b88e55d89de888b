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


def _render(document: dict) -> tuple[bytes, str]:
    body = json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def public_document(name: str, build: Callable[[], dict]) -> tuple[bytes, str]:
    """The JSON body of a public document and its strong ETag, from the
    cache when fresh, else built and stored; built from the database alone
    when the cache is away."""
    try:
        key = f"public:doc:{_generation()}:{hashlib.sha256(name.encode()).hexdigest()[:32]}"
        cached = cache.get(key)
    except Exception as error:
        if not infrastructure_unavailable(error):
            raise
        logger.warning("public_cache.unavailable", extra={"error": type(error).__name__})
        return _render(build())
    if cached is not None:
        return cached
    rendered = _render(build())
    try:
        cache.set(key, rendered, timeout=DOCUMENT_TTL_SECONDS)
    except Exception as error:
        if not infrastructure_unavailable(error):
            raise
    return rendered
