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


def public_document(name: str, build: Callable[[], dict]) -> tuple[bytes, str]:
    """The JSON body of a public document and its strong ETag, from the
    cache when fresh, else built and stored."""
    key = f"public:doc:{_generation()}:{hashlib.sha256(name.encode()).hexdigest()[:32]}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    body = json.dumps(build(), cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    cache.set(key, (body, etag), timeout=DOCUMENT_TTL_SECONDS)
    return body, etag
