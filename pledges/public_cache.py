"""The cache in front of the public documents.

Every change to a pledge or payment bumps a generation number after its
transaction commits, so the widget sees new money within seconds instead of
waiting for a TTL (the TTL is only a safety net). Each document is one Redis
entry, `public:doc:<name>`, holding the generation it was built at, its body
and its strong ETag: one `MGET` of the generation and the entry answers a
request, and an entry of an older generation is a miss.

The generation is read *before* the figures are computed: a change that
commits meanwhile bumps it, so a document computed from older data is
stored under a generation nobody reads any more. A lost generation (Redis
flushed or restarted) starts again from the clock, never from a number it
had before, so no process mistakes an old entry for a current one.

After a change, the first request builds the document and the others wait
for it (a short lock in Redis; past BUILD_WAIT_SECONDS they build it
themselves). The board's polled documents do not wait: they are answered
with the version built last.

Each process also keeps the documents it served for PUBLIC_CACHE_LOCAL_SECONDS
(0.5 s unless settings say otherwise), so a hit within that window costs no
round trip at all. A change clears this process's copies at once; the other
processes see it when their window ends, well inside the two seconds the
widget is promised.

With Redis away the documents are built from the database (slower, never
wrong), and an invalidation that could not be written is written with the
next cache access that works.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

from backend.outages import infrastructure_unavailable

logger = logging.getLogger(__name__)

GENERATION_KEY = "public:generation"
DOCUMENT_TTL_SECONDS = 300
# How long one client may hold the right to build a document; past it (a
# crashed worker), another one builds.
BUILD_LOCK_SECONDS = 10
# How long the others wait for that build before building it themselves.
BUILD_WAIT_SECONDS = 5
BUILD_POLL_SECONDS = 0.02
# The last version built of a polled document is kept much longer than the
# document itself, so that when it merely expires (nothing changed for its
# TTL) the other screens still have something to be answered with.
LATEST_TTL_SECONDS = 24 * 3600
LOCAL_SECONDS_DEFAULT = 0.5
LOCAL_MAX_ENTRIES = 512

# An invalidation Redis did not take (it was away): done before the next read.
_invalidation_pending = False


class Document(NamedTuple):
    generation: int | None
    body: bytes
    etag: str


# name -> (document, monotonic time it was known current)
_local: dict[str, tuple[Document, float]] = {}


_local_seconds: list[float] = []


@receiver(setting_changed)
def _settings_changed(**kwargs) -> None:
    _local_seconds.clear()
    _local.clear()


def local_seconds() -> float:
    if not _local_seconds:
        _local_seconds.append(getattr(settings, "PUBLIC_CACHE_LOCAL_SECONDS", LOCAL_SECONDS_DEFAULT))
    return _local_seconds[0]


def local_clear() -> None:
    _local.clear()


def _new_generation() -> int:
    # Microseconds since the epoch: above any generation counted before.
    return time.time_ns() // 1000


def _bump() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set yet, or evicted
        cache.set(GENERATION_KEY, _new_generation(), timeout=None)


def public_cache_invalidate() -> None:
    """Make every cached public document stale. Call it after commit; it
    never raises for a cache outage (the change has committed)."""
    global _invalidation_pending
    _local.clear()
    try:
        _bump()
        _invalidation_pending = False
    except Exception as error:
        if not infrastructure_unavailable(error):
            raise
        _invalidation_pending = True
        logger.warning("public_cache.invalidate_failed", extra={"error": type(error).__name__})


def _key(name: str) -> str:
    return "public:doc:" + hashlib.sha256(name.encode()).hexdigest()[:32]


def _read(key: str) -> tuple[int, Document | None]:
    """The current generation and the stored entry, in one round trip."""
    global _invalidation_pending
    if _invalidation_pending:
        _bump()
        _invalidation_pending = False
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, _new_generation(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation, found.get(key)


def _remember(name: str, document: Document) -> Document:
    if local_seconds() > 0:
        if len(_local) >= LOCAL_MAX_ENTRIES:
            _local.clear()
        _local[name] = (document, time.monotonic())
    return document


def _recent(name: str) -> Document | None:
    entry = _local.get(name)
    if entry is not None and time.monotonic() - entry[1] < local_seconds():
        return entry[0]
    return None


def _cache_away(error: Exception) -> bool:
    """True (logged) for a cache outage, which callers ride out; any other
    error is re-raised by them."""
    if not infrastructure_unavailable(error):
        return False
    logger.warning("public_cache.unavailable", extra={"error": type(error).__name__})
    return True


# Set for the rest of a request that found the cache away, so that the full
# path builds from the database instead of waiting for Redis a second time.
_away_in_request: ContextVar[bool] = ContextVar("public_cache_away", default=False)
AWAY = Document(None, b"", "")


@contextmanager
def cache_away_in_this_request() -> Iterator[None]:
    token = _away_in_request.set(True)
    try:
        yield
    finally:
        _away_in_request.reset(token)


def cached_document(name: str) -> Document | None:
    """The current document when it is cached, without building it: None
    for a miss, AWAY when the cache is away (the caller's full path then
    answers, inside `cache_away_in_this_request`). For the fast path
    (pledges/public_fast.py)."""
    document = _recent(name)
    if document is not None:
        return document
    if _invalidation_pending or _away_in_request.get():
        return None
    try:
        generation, stored = _read(_key(name))
    except Exception as error:
        if not _cache_away(error):
            raise
        return AWAY
    if stored is None or stored.generation != generation:
        return None
    return _remember(name, stored)


def _json_body(build: Callable[[], dict]) -> Callable[[], bytes]:
    return lambda: json.dumps(build(), cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def _document(generation: int | None, body: bytes) -> Document:
    return Document(generation, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _store(items: dict[str, Document], timeout: int) -> None:
    try:
        cache.set_many(items, timeout=timeout)
    except Exception as error:
        if not _cache_away(error):
            raise


def _build(name: str, key: str, generation: int, build: Callable[[], bytes], *, polled: bool) -> Document:
    document = _document(generation, build())
    _store({key: document}, DOCUMENT_TTL_SECONDS)
    if polled:
        _store({key + ":latest": document}, LATEST_TTL_SECONDS)
    return _remember(name, document)


def _fetch(name: str, build: Callable[[], bytes], *, polled: bool) -> Document:
    document = _recent(name)
    if document is not None:
        return document
    if _away_in_request.get():
        return _remember(name, _document(None, build()))
    key = _key(name)
    try:
        generation, stored = _read(key)
        if stored is not None and stored.generation == generation:
            return _remember(name, stored)
        lock = f"public:building:{generation}:{key}"
        deadline = time.monotonic() + BUILD_WAIT_SECONDS
        while not cache.add(lock, 1, timeout=BUILD_LOCK_SECONDS):
            # Another request builds it: the polled screens take the last
            # version at once; the others wait for the new one.
            if polled:
                latest = cache.get(key + ":latest")
                if latest is not None:
                    return latest
            if time.monotonic() > deadline:
                return _build(name, key, generation, build, polled=polled)
            time.sleep(BUILD_POLL_SECONDS)
            stored = cache.get(key)
            if stored is not None and stored.generation >= generation:
                return _remember(name, stored)
        # The lock may be free because a build just finished: look again.
        stored = cache.get(key)
        if stored is not None and stored.generation >= generation:
            cache.delete(lock)
            return _remember(name, stored)
    except Exception as error:
        if not _cache_away(error):
            raise
        # Built from the database alone; kept only for this process's window.
        return _remember(name, _document(None, build()))
    try:
        return _build(name, key, generation, build, polled=polled)
    finally:
        try:
            cache.delete(lock)
        except Exception as error:
            if not _cache_away(error):
                raise


def public_document(name: str, build: Callable[[], dict]) -> tuple[bytes, str]:
    """The JSON body of a public document and its strong ETag, from the
    cache when current, else built (once, however many ask at the same
    time) and stored; built from the database alone when the cache is away."""
    document = _fetch(name, _json_body(build), polled=False)
    return document.body, document.etag


def public_bytes(name: str, build: Callable[[], bytes]) -> tuple[bytes, str]:
    """As `public_document`, for a body that is not JSON (the IATI file)."""
    document = _fetch(name, build, polled=False)
    return document.body, document.etag


def public_document_polled(name: str, build: Callable[[], dict]) -> tuple[bytes, str]:
    """As `public_document`, for a document that hundreds of screens poll
    every second: after a change only the first request rebuilds it, and
    the others are answered with the version built last (older by one
    build's time at most) instead of waiting or querying the database. The
    next poll gets the new version. With the cache away every poll is built
    from the database."""
    document = _fetch(name, _json_body(build), polled=True)
    return document.body, document.etag


def etag_offered(if_none_match: str | None, etag: str) -> bool:
    """Whether a request's If-None-Match header offers `etag`, so that a 304
    answers it: `*`, or the tag among those listed, compared weakly (RFC 9110
    13.1.2: a proxy that compresses the body hands the client W/"..." for our
    strong tag). The one reading of the header for every public document;
    Django's `parse_etags` splits it."""
    if not if_none_match:
        return False
    offered = {tag.removeprefix("W/") for tag in parse_etags(if_none_match)}
    return etag in offered or "*" in offered


def document_response(request: HttpRequest, body: str | bytes, etag: str, content_type: str) -> HttpResponse:
    """A public document with its ETag, or 304 Not Modified (no body) when
    the request's If-None-Match offers that ETag. The caller adds its
    caching headers."""
    response: HttpResponse
    if etag_offered(request.headers.get("If-None-Match"), etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    return response
