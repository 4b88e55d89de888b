"""The public documents answered from the cache before the rest of the stack.

`PublicDocumentMiddleware` comes first in MIDDLEWARE. For a GET it fully
understands (the public totals, the recent pledges, the board's polled
document; known query parameters with valid values, no body) whose document
is cached and current (pledges/public_cache.py), it answers at once: 200
with the body, or 304 when If-None-Match offers the ETag. Everything else,
and every miss, goes on through the middleware, DRF and the views, which
build the document, answer problems for bad parameters and ride out a Redis
outage, as before.

The headers of a fast answer are the ones the whole stack gave the same
kind of request: the first request of each kind (document route, 200 or
304, HTTPS or not, with an Origin or not) takes the full path, and the
headers its response came back with (security headers, CSP, CORS,
Cache-Control, Vary...) are kept and reused, with the document's own ETag
and Content-Length. A response that sets a cookie is never reused, and a
change of settings forgets what was kept. The fast answers are not in the
request log (django-structlog's request_finished): as with a CDN in front.
"""

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified

from pledges.public_cache import cached_document

SLUG = re.compile(r"[-a-zA-Z0-9_]{0,64}")
LIMIT = re.compile(r"[0-9]{1,3}")
BOARD = re.compile(r"/(ar|zh|en|fr|ru|es)/board/([-a-zA-Z0-9_]{1,64})/live\.json")
MAX_PUBLIC_LIMIT = 100
# Headers that belong to one document, set for each answer.
OWN_HEADERS = {"etag", "content-length"}
MAX_KINDS = 256


def _query(request: HttpRequest, allowed: set[str]) -> dict[str, str] | None:
    """The query's parameters when each is allowed, given once and plain
    (letters, digits, - and _): anything else is for the full path."""
    query = request.META.get("QUERY_STRING", "")
    params: dict[str, str] = {}
    if not query:
        return params
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if not equals or name not in allowed or name in params or not SLUG.fullmatch(value):
            return None
        params[name] = value
    return params


def _totals(request: HttpRequest) -> str | None:
    params = _query(request, {"campaign"})
    if params is None:
        return None
    return f"totals:{params.get('campaign') or settings.DEFAULT_CAMPAIGN_SLUG}"


def _pledges(request: HttpRequest) -> str | None:
    params = _query(request, {"campaign", "limit"})
    if params is None:
        return None
    limit = params.get("limit", "20")
    if not LIMIT.fullmatch(limit) or not 1 <= int(limit) <= MAX_PUBLIC_LIMIT:
        return None  # the view's 400 problem
    return f"pledges:{params.get('campaign') or settings.DEFAULT_CAMPAIGN_SLUG}:{limit}"


ROUTES: dict[str, Callable[[HttpRequest], str | None]] = {
    "/api/v1/public/totals/": _totals,
    "/api/v1/public/pledges/": _pledges,
}


def document_name(request: HttpRequest) -> tuple[str, str] | None:
    """(route, document name) of a request the fast path understands."""
    path = request.path_info
    route = ROUTES.get(path)
    if route is not None:
        name = route(request)
        return (path, name) if name is not None else None
    board = BOARD.fullmatch(path)
    if board is not None and not request.META.get("QUERY_STRING"):
        language, slug = board.groups()
        return "board", f"board:{slug}:{language}"
    return None


# (route, status, HTTPS, origin) -> the headers the stack answered with
_kinds: dict[tuple, list[tuple[str, str]]] = {}


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    _kinds.clear()


def _offered(request: HttpRequest) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")}


class PublicDocumentMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "GET" or request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
            return self.get_response(request)
        if "HTTP_TRANSFER_ENCODING" in request.META:
            return self.get_response(request)
        named = document_name(request)
        if named is None:
            return self.get_response(request)
        kind = self._kind(request, named[0])
        if kind is None:
            return self.get_response(request)
        document = cached_document(named[1])
        if document is not None:
            not_modified = document.etag in _offered(request) or "*" in _offered(request)
            headers = _kinds.get((*kind, not_modified))
            if headers is not None:
                return self._answer(document, headers, not_modified)
        response = self.get_response(request)
        self._learn(kind, response)
        return response

    @staticmethod
    def _kind(request: HttpRequest, route: str) -> tuple | None:
        try:
            request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it
            secure = request.is_secure()
        except DisallowedHost:
            return None
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None  # SecurityMiddleware redirects
        origin = request.META.get("HTTP_ORIGIN")
        if origin:
            try:
                urlsplit(origin)
            except ValueError:
                return None
        any_origin = settings.CORS_ALLOW_ALL_ORIGINS and not settings.CORS_ALLOW_CREDENTIALS
        return route, secure, bool(origin) if any_origin else origin

    @staticmethod
    def _learn(kind: tuple, response: HttpResponseBase) -> None:
        if response.status_code not in (200, 304) or "ETag" not in response or response.streaming:
            return
        if response.cookies or "Set-Cookie" in response or len(_kinds) >= MAX_KINDS:
            return
        headers = [(name, value) for name, value in response.items() if name.lower() not in OWN_HEADERS]
        _kinds.setdefault((*kind, response.status_code == 304), headers)

    @staticmethod
    def _answer(document, headers: list[tuple[str, str]], not_modified: bool) -> HttpResponseBase:
        response = HttpResponseNotModified() if not_modified else HttpResponse(document.body)
        for name, value in headers:
            response.headers[name] = value
        response.headers["ETag"] = document.etag
        response.headers["Content-Length"] = "0" if not_modified else str(len(document.body))
        return response
