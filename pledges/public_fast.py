"""The public documents answered from the cache before the rest of the stack.

`PublicDocumentMiddleware` comes first in MIDDLEWARE. For a GET it fully
understands (the public totals, the recent pledges, the widget's figures,
the board's polled document; known query parameters with valid values, no body) whose document
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
from django.http.response import ResponseHeaders

from pledges.public_cache import AWAY, cache_away_in_this_request, cached_document, etag_offered

SLUG = re.compile(r"[-a-zA-Z0-9_]{0,64}")
LIMIT = re.compile(r"[0-9]{1,3}")
BOARD = re.compile(r"/(ar|zh|en|fr|ru|es)/board/([-a-zA-Z0-9_]{1,64})/live\.json")
MAX_PUBLIC_LIMIT = 100
# Headers that belong to one document, set for each answer.
OWN_HEADERS = {"etag", "content-length"}
MAX_KINDS = 256


def _query(query: str, allowed: set[str]) -> dict[str, str] | None:
    """The query's parameters when each is allowed, given once and plain
    (letters, digits, - and _): anything else is for the full path."""
    params: dict[str, str] = {}
    if not query:
        return params
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if not equals or name not in allowed or name in params or not SLUG.fullmatch(value):
            return None
        params[name] = value
    return params


def _totals(query: str) -> str | None:
    params = _query(query, {"campaign"})
    if params is None:
        return None
    return f"totals:{params.get('campaign') or _setting('DEFAULT_CAMPAIGN_SLUG')}"


def _pledges(query: str) -> str | None:
    params = _query(query, {"campaign", "limit"})
    if params is None:
        return None
    limit = params.get("limit", "20")
    if not LIMIT.fullmatch(limit) or not 1 <= int(limit) <= MAX_PUBLIC_LIMIT:
        return None  # the view's 400 problem
    return f"pledges:{params.get('campaign') or _setting('DEFAULT_CAMPAIGN_SLUG')}:{limit}"


def _widget_figures(query: str) -> tuple[str, str] | None:
    params = _query(query, {"campaign", "lang"})
    if params is None:
        return None
    from pledges.widget.views import widget_language

    language = widget_language(params.get("lang"))
    slug = params.get("campaign") or _setting("DEFAULT_CAMPAIGN_SLUG")
    # Its headers depend on the language (Content-Language): a kind of its own each.
    return f"figures:{language}", f"widget-figures:{slug}:{language}"


ROUTES: dict[str, Callable[[str], str | None]] = {
    "/api/v1/public/totals/": _totals,
    "/api/v1/public/pledges/": _pledges,
}


def document_name(path: str, query: str) -> tuple[str, str] | None:
    """(route, document name) of a GET the fast path understands."""
    route = ROUTES.get(path)
    if route is not None:
        name = route(query)
        return (path, name) if name is not None else None
    if path == "/widget/v1/figures.json":
        return _widget_figures(query)
    board = BOARD.fullmatch(path)
    if board is not None and not query:
        language, slug = board.groups()
        return "board", f"board:{slug}:{language}"
    return None


def _plain_get(meta: dict) -> bool:
    """A GET without a body: nothing for RequestBodyLimitMiddleware to refuse."""
    return (
        meta.get("REQUEST_METHOD") == "GET"
        and meta.get("CONTENT_LENGTH") in (None, "", "0")
        and "HTTP_TRANSFER_ENCODING" not in meta
    )


def _origin_key(meta: dict) -> object:
    """What of the Origin header decides the CORS headers; False for an
    Origin the fast path leaves to django-cors-headers (unparsable)."""
    origin = meta.get("HTTP_ORIGIN")
    if origin:
        try:
            urlsplit(origin)
        except ValueError:
            return False
    if _setting("CORS_ALLOW_ALL_ORIGINS") and not _setting("CORS_ALLOW_CREDENTIALS"):
        return bool(origin)
    return origin


# (route, HTTPS, origin, 304) -> the headers the stack answered with
_kinds: dict[tuple, ResponseHeaders] = {}
# Host header -> whether ALLOWED_HOSTS lets it in
_hosts: dict[str, bool] = {}
_settings: dict[str, object] = {}


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    _kinds.clear()
    _hosts.clear()
    _settings.clear()


def _setting(name: str):
    try:
        return _settings[name]
    except KeyError:
        return _settings.setdefault(name, getattr(settings, name))


def _host_allowed(request: HttpRequest) -> bool:
    host = request.META.get("HTTP_HOST", "")
    allowed = _hosts.get(host)
    if allowed is None:
        try:
            request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it
            allowed = True
        except DisallowedHost:
            allowed = False
        if host and len(_hosts) < MAX_KINDS:
            _hosts[host] = allowed
    return allowed


class PublicDocumentMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not _plain_get(request.META):
            return self.get_response(request)
        named = document_name(request.path_info, request.META.get("QUERY_STRING", ""))
        if named is None:
            return self.get_response(request)
        kind = self._kind(request, named[0])
        if kind is None:
            return self.get_response(request)
        document = cached_document(named[1])
        if document is AWAY:
            with cache_away_in_this_request():
                return self.get_response(request)
        if document is not None:
            not_modified = etag_offered(request.META.get("HTTP_IF_NONE_MATCH"), document.etag)
            headers = _kinds.get((*kind, not_modified))
            if headers is not None:
                return self._answer(document, headers, not_modified)
        response = self.get_response(request)
        self._learn(kind, response)
        return response

    @staticmethod
    def _kind(request: HttpRequest, route: str) -> tuple | None:
        if not _host_allowed(request):
            return None
        secure = request.is_secure()
        if _setting("SECURE_SSL_REDIRECT") and not secure:
            return None  # SecurityMiddleware redirects
        origin = _origin_key(request.META)
        if origin is False and request.META.get("HTTP_ORIGIN"):
            return None
        return route, secure, origin

    @staticmethod
    def _learn(kind: tuple, response: HttpResponseBase) -> None:
        if response.status_code not in (200, 304) or "ETag" not in response or response.streaming:
            return
        if response.cookies or "Set-Cookie" in response or len(_kinds) >= MAX_KINDS:
            return
        headers = ResponseHeaders({name: value for name, value in response.items() if name.lower() not in OWN_HEADERS})
        _kinds.setdefault((*kind, response.status_code == 304), headers)

    @staticmethod
    def _answer(document, headers: ResponseHeaders, not_modified: bool) -> HttpResponseBase:
        response = HttpResponseNotModified() if not_modified else HttpResponse(document.body)
        # The kept headers were checked when they were set; copied as they are.
        store = headers._store.copy()
        store["etag"] = ("ETag", document.etag)
        store["content-length"] = ("Content-Length", "0" if not_modified else str(len(document.body)))
        response.headers._store = store
        return response


# --- In front of Django: the WSGI application of backend/wsgi.py ---------------------------

# The request's values the stack's headers may depend on (ALLOWED_HOSTS,
# HTTPS behind a proxy, the host behind a proxy), besides the route, Origin
# and the header SECURE_PROXY_SSL_HEADER names.
KIND_ENVIRON = ("HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "wsgi.url_scheme", "HTTP_X_FORWARDED_PROTO",
                "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_SSL", "SCRIPT_NAME")  # fmt: skip
# kind -> (status line, headers without the document's own)
_wsgi_kinds: dict[tuple, tuple[str, list[tuple[str, str]]]] = {}


@receiver(setting_changed)
def _forget_wsgi(**kwargs) -> None:
    _wsgi_kinds.clear()


class PublicDocumentFront:
    """The same fast path one step earlier, as WSGI middleware around
    Django's handler: a cached document is answered before Django builds a
    request, runs its signals or its middleware. Each kind of request (the
    values in KIND_ENVIRON, the route, Origin, 200 or 304) is answered the
    first time by Django, whose status line and headers are then reused for
    that kind; a request that differs in any of them is a new kind, so a
    host Django refuses or an HTTPS redirect is never learned."""

    def __init__(self, application: Callable) -> None:
        self.application = application

    def __call__(self, environ: dict, start_response: Callable):
        if not _plain_get(environ):
            return self.application(environ, start_response)
        named = document_name(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        origin = _origin_key(environ) if named is not None else False
        if named is None or (origin is False and environ.get("HTTP_ORIGIN")):
            return self.application(environ, start_response)
        proxy_https = _setting("SECURE_PROXY_SSL_HEADER")
        kind = (named[0], origin, environ.get(proxy_https[0]) if proxy_https else None)
        kind += tuple(environ.get(name) for name in KIND_ENVIRON)
        document = cached_document(named[1])
        if document is AWAY:
            with cache_away_in_this_request():
                return self.application(environ, start_response)
        if document is not None:
            not_modified = etag_offered(environ.get("HTTP_IF_NONE_MATCH"), document.etag)
            learned = _wsgi_kinds.get((*kind, not_modified))
            if learned is not None:
                status, headers = learned
                length = "0" if not_modified else str(len(document.body))
                start_response(status, [*headers, ("ETag", document.etag), ("Content-Length", length)])
                return [] if not_modified else [document.body]

        def learning(status: str, headers: list, exc_info=None):
            self._learn(kind, status, headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.application(environ, learning)

    @staticmethod
    def _learn(kind: tuple, status: str, headers: list[tuple[str, str]]) -> None:
        code = status.split(" ", 1)[0]
        names = {name.lower() for name, _ in headers}
        if code not in ("200", "304") or "etag" not in names or "set-cookie" in names:
            return
        if len(_wsgi_kinds) < MAX_KINDS:
            kept = [(name, value) for name, value in headers if name.lower() not in OWN_HEADERS]
            _wsgi_kinds.setdefault((*kind, code == "304"), (status, kept))
