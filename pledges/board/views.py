"""The board page and the document it polls.

The page is rendered with the current figures (it shows them even without
JavaScript), then its script asks for `live.json` every second with the
ETag it has: an unchanged board costs a 304 from Redis and no database
query; after a change, one request rebuilds the document for everyone
(`public_document_polled`)."""

import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from pledges.board.labels import LABELS, LANGUAGES
from pledges.board.selectors import board_document, django_language
from pledges.errors import NotFound
from pledges.public_cache import document_response, public_document_polled
from reports.formatting import RTL_LANGUAGES, moment

# How often the page asks for new figures. One second keeps a pledge
# recorded by staff on the screens within two.
POLL_MILLISECONDS = 1000
HTML_LANG = {"zh": "zh-Hans"}
LANGUAGE_NAMES = dict(settings.LANGUAGES)


def _language(request: HttpRequest, lang: str | None) -> str:
    if lang is None:
        code = translation.get_language_from_request(request) or "en"
        lang = "zh" if code.startswith("zh") else code.split("-")[0]
        return lang if lang in LANGUAGES else "en"
    if lang not in LANGUAGES:
        raise Http404
    return lang


def _document(slug: str, language: str) -> tuple[bytes, str]:
    return public_document_polled(f"board:{slug}:{language}", lambda: board_document(slug, language))


def _page(language: str) -> dict:
    return {
        "language": language,
        "html_lang": HTML_LANG.get(language, language),
        "direction": "rtl" if django_language(language) in RTL_LANGUAGES else "ltr",
        "words": LABELS[language],
        "languages": [(code, HTML_LANG.get(code, code), LANGUAGE_NAMES[django_language(code)]) for code in LANGUAGES],
    }


@require_safe
def board(request: HttpRequest, slug: str, lang: str | None = None) -> HttpResponse:
    language = _language(request, lang)
    page = _page(language)
    try:
        body, etag = _document(slug, language)
    except NotFound:
        return render(request, "pledges/board/not_found.html", page, status=404)
    document = json.loads(body)
    context = {
        **page,
        "slug": slug,
        "board": document,
        "etag": etag,
        "updated": LABELS[language]["updated"].format(moment(document["generated_at"], django_language(language))),
        "poll_ms": POLL_MILLISECONDS,
    }
    response = render(request, "pledges/board/board.html", context)
    response["Content-Language"] = page["html_lang"]
    # The page is only the first frame; the figures come from live.json.
    patch_cache_control(response, no_cache=True)
    return response


@require_safe
def board_live(request: HttpRequest, slug: str, lang: str) -> HttpResponse:
    """The board's document in one language, with its ETag (304 when the
    screen already has it)."""
    language = _language(request, lang)
    try:
        body, etag = _document(slug, language)
    except NotFound:
        response = HttpResponse(
            json.dumps({"title": LABELS[language]["not_found"], "status": 404}),
            status=404,
            content_type="application/problem+json",
        )
        patch_cache_control(response, no_cache=True)
        return response
    response = document_response(request, body, etag, "application/json")
    # Proxies may share it for a second; the screens revalidate every poll.
    patch_cache_control(response, public=True, max_age=1)
    patch_vary_headers(response, ["Accept-Encoding"])
    return response
