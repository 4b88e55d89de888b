"""The totals widget: the script other sites embed with one line, the iframe
page for sites that allow no scripts, and the demo page that documents both.

Both versions show the public totals document (`/api/v1/public/totals/`) and
the latest public pledges (`/api/v1/public/pledges/?limit=5`), taken from the
same cached documents as the API, so the figures are the same everywhere.
"""

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from pledges import cldr
from pledges.errors import NotFound
from pledges.models import Campaign
from pledges.public_cache import document_response, public_document
from pledges.selectors import ANONYMOUS_DONOR, campaign_get, public_pledges, public_totals

SCRIPT_PATH = Path(__file__).resolve().parent.parent / "static" / "widget" / "v1" / "totals.js"
# The script changes rarely; an hour in caches, then a cheap revalidation.
SCRIPT_MAX_AGE = 3600
# As many as totals.js asks for (limit=5): both read the same cached document.
LATEST_PLEDGES = 5
REFRESH_DEFAULT = 60
REFRESH_MIN = 15

# The widget's labels, as in totals.js (the same words in the same order).
LABEL_NAMES = ("pledged", "received", "goal", "donors", "latest", "as_of", "updated", "anonymous", "undisclosed", "bar")
LABELS = {
    "en": (
        "Pledged",
        "Received",
        "Goal",
        "Donors",
        "Latest pledges",
        "Figures as of {}",
        "Updated {}",
        "Anonymous donor",
        "Amount not disclosed",
        "Pledged towards the goal",
    ),
    "fr": (
        "Promis",
        "Reçu",
        "Objectif",
        "Donateurs",
        "Dernières promesses",
        "Chiffres au {}",
        "Mis à jour le {}",
        "Donateur anonyme",
        "Montant non communiqué",
        "Promesses par rapport à l’objectif",
    ),
    "es": (
        "Prometido",
        "Recibido",
        "Meta",
        "Donantes",
        "Últimas promesas",
        "Cifras al {}",
        "Actualizado el {}",
        "Donante anónimo",
        "Importe no divulgado",
        "Promesas respecto de la meta",
    ),
    "ru": (
        "Обещано",
        "Получено",
        "Цель",
        "Доноры",
        "Последние обязательства",
        "Данные на {}",
        "Обновлено {}",
        "Анонимный донор",
        "Сумма не раскрывается",
        "Обещано относительно цели",
    ),
    "zh": (
        "认捐",
        "已收到",
        "目标",
        "捐助方",
        "最新认捐",
        "数据截至 {}",
        "更新于 {}",
        "匿名捐助方",
        "金额未公开",
        "认捐额占目标的比例",
    ),
    "ar": (
        "التعهدات",
        "المبالغ المستلمة",
        "الهدف",
        "المانحون",
        "أحدث التعهدات",
        "الأرقام حتى {}",
        "آخر تحديث {}",
        "مانح مجهول الهوية",
        "المبلغ غير معلن",
        "التعهدات مقارنة بالهدف",
    ),
}
NOT_FOUND = {
    "en": "These figures are not available.",
    "fr": "Ces chiffres ne sont pas disponibles.",
    "es": "Estas cifras no están disponibles.",
    "ru": "Эти данные недоступны.",
    "zh": "暂无这些数据。",
    "ar": "هذه الأرقام غير متاحة.",
}
TITLE_FIELDS = [f"title_{code.replace('-', '_')}" for code, _ in settings.LANGUAGES]
# The widget's language codes -> Django's (and pledges.cldr's).
DJANGO_LANGUAGE = {"zh": "zh-hans"}
HTML_LANG = {"zh": "zh-Hans"}


def widget_language(value: str | None) -> str:
    """One of the six UN languages from a tag ("fr", "fr-CA", "zh-Hans",
    "zh_hans"); English for anything else."""
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LABELS else "en"


def labels(language: str) -> dict[str, str]:
    return dict(zip(LABEL_NAMES, LABELS[language], strict=True))


# --- The script ---------------------------------------------------------------

_script: dict = {}


def script_body() -> tuple[bytes, str]:
    """totals.js and its ETag, read again only when the file changes."""
    stat = SCRIPT_PATH.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    if _script.get("key") != key:
        body = SCRIPT_PATH.read_bytes()
        _script.update(key=key, body=body, etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return _script["body"], _script["etag"]


@require_safe
def totals_script(request: HttpRequest) -> HttpResponse:
    """The widget's script, readable from any origin (django-cors-headers
    answers requests with an Origin, 304s included; plain <script> loads
    send none, so the header is set here as well)."""
    body, etag = script_body()
    response = document_response(request, body, etag, "application/javascript; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    patch_cache_control(response, public=True, max_age=SCRIPT_MAX_AGE, stale_while_revalidate=86400)
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


# --- The iframe page ------------------------------------------------------------


def _totals(slug: str) -> dict:
    body, _ = public_document(f"totals:{slug}", lambda: public_totals(campaign_get(slug, field="")))
    return json.loads(body)


def _latest(slug: str) -> list[dict]:
    # The same document (and cache key) as GET /api/v1/public/pledges/?limit=5.
    body, _ = public_document(
        f"pledges:{slug}:{LATEST_PLEDGES}",
        lambda: {"campaign": slug, "results": public_pledges(campaign_get(slug, field=""), limit=LATEST_PLEDGES)},
    )
    return json.loads(body)["results"]


def _share(part: str, whole: str) -> float:
    whole_value = float(whole)
    return min(100.0, max(0.0, float(part) / whole_value * 100)) if whole_value else 0.0


def frame_context(slug: str, language: str) -> dict:
    """What the widget shows, every figure formatted on the server for
    `language` (pledges.cldr): the iframe page and the script (through
    /widget/v1/figures.json) show the same text for the same figure."""
    totals = _totals(slug)
    words = labels(language)
    locale = DJANGO_LANGUAGE.get(language, language)
    currency = totals["currency"]
    with translation.override(locale):
        title = Campaign.objects.only("title", *TITLE_FIELDS).get(slug=slug).title
    progress = min(100.0, totals["progress"] * 100)
    updated = cldr.moment(datetime.fromisoformat(totals["updated_at"]), locale)
    return {
        "totals": totals,
        "title": title,
        "pledged": cldr.money(totals["pledged"], currency, locale),
        "received": cldr.money(totals["received"], currency, locale),
        "goal": cldr.money(totals["goal"], currency, locale),
        "donors": cldr.number(totals["donors"], locale),
        "pledged_share": f"{progress:.2f}",
        "received_share": f"{_share(totals['received'], totals['goal']):.2f}",
        "progress_now": f"{progress:.1f}",
        "progress_text": cldr.percent(Decimal(str(progress)) / 100, locale),
        "updated": words["updated"].format(updated),
        "as_of": words["as_of"].format(updated),
        "latest": [
            {
                "donor": words["anonymous"] if row["donor"] == ANONYMOUS_DONOR else row["donor"],
                "amount": cldr.money(row["amount"], row["currency"], locale) if row["amount"] is not None else None,
            }
            for row in _latest(slug)
        ],
    }


FIGURE_FIELDS = ("title", "pledged", "received", "goal", "donors", "pledged_share", "received_share")


def figures(slug: str, language: str) -> dict:
    """What /widget/v1/figures.json holds for a campaign in a language."""
    context = frame_context(slug, language)
    return {name: context[name] for name in FIGURE_FIELDS} | {
        "progress": context["progress_now"],
        "progress_text": context["progress_text"],
        "updated": context["updated"],
        "as_of": context["as_of"],
        "latest": [
            {"donor": row["donor"], "amount": row["amount"] or labels(language)["undisclosed"]}
            for row in context["latest"]
        ],
        "updated_at": context["totals"]["updated_at"],
    }


@require_safe
def figures_document(request: HttpRequest) -> HttpResponse:
    """/widget/v1/figures.json?campaign=SLUG&lang=fr: what the script widget
    draws, formatted here exactly as on the iframe page. CORS-open (the
    middleware), cacheable, with an ETag for cheap revalidation; one cached
    document per campaign and language, which pledges/public_fast.py
    answers before the rest of the stack."""
    language = widget_language(request.GET.get("lang"))
    slug = request.GET.get("campaign") or settings.DEFAULT_CAMPAIGN_SLUG
    try:
        body, etag = public_document(f"widget-figures:{slug}:{language}", lambda: figures(slug, language))
    except (NotFound, Campaign.DoesNotExist):
        response = HttpResponse(
            json.dumps({"status": 404, "detail": NOT_FOUND[language]}), status=404, content_type="application/json"
        )
        patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE)
        return response
    response = document_response(request, body, etag, "application/json; charset=utf-8")
    if response.status_code == 200:
        response["Content-Language"] = HTML_LANG.get(language, language)
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE)
    return response


def _frame_headers(response: HttpResponse) -> HttpResponse:
    """May be framed by WIDGET_FRAME_ANCESTORS only; loads nothing else."""
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {settings.WIDGET_FRAME_ANCESTORS}"
    )
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE)
    return response


@require_safe
@xframe_options_exempt
def totals_frame(request: HttpRequest) -> HttpResponse:
    """/widget/v1/totals/?campaign=SLUG&lang=fr[&refresh=60, 0 for never]: the widget as a
    page of its own, for an <iframe>. No script; it reloads itself."""
    language = widget_language(request.GET.get("lang"))
    slug = request.GET.get("campaign") or settings.DEFAULT_CAMPAIGN_SLUG
    asked = request.GET.get("refresh", "")
    if asked == "0":
        refresh = 0  # no reloading: for hosts that need content that never updates by itself (WCAG 2.2.2)
    else:
        refresh = max(REFRESH_MIN, int(asked)) if asked.isdigit() and len(asked) < 6 else REFRESH_DEFAULT
    html_lang = HTML_LANG.get(language, language)
    page = {
        "language": language,
        "html_lang": html_lang,
        "direction": "rtl" if cldr.is_rtl(DJANGO_LANGUAGE.get(language, language)) else "ltr",
        "labels": labels(language),
    }
    try:
        context = frame_context(slug, language)
    except (NotFound, Campaign.DoesNotExist):
        page["message"] = NOT_FOUND[language]
        return _frame_headers(render(request, "widget/totals_not_found.html", page, status=404))
    # The bars grow from the start of the line: the right in Arabic.
    for name in ("pledged", "received"):
        share = float(context[f"{name}_share"])
        context[f"{name}_x"] = f"{100 - share:.2f}" if page["direction"] == "rtl" else "0"
    response = render(request, "widget/totals_frame.html", {**page, **context, "refresh": refresh})
    response["Content-Language"] = html_lang
    return _frame_headers(response)


# --- The demo page ----------------------------------------------------------------


@require_safe
def demo(request: HttpRequest) -> HttpResponse:
    """/widget/: what the widget is, the snippets to copy, both versions live."""
    origin = request.build_absolute_uri("/").rstrip("/")
    language = widget_language(request.GET.get("lang"))
    campaigns = list(Campaign.objects.order_by("-starts_on", "slug").values("slug", "title"))
    slug = request.GET.get("campaign") or settings.DEFAULT_CAMPAIGN_SLUG
    known = any(campaign["slug"] == slug for campaign in campaigns)
    lang_attribute = f' data-lang="{language}"' if language != "en" else ""
    script_snippet = (
        f'<script src="{origin}/widget/v1/totals.js" data-campaign="{slug}"{lang_attribute} async></script>'
    )
    frame_src = f"{origin}/widget/v1/totals/?campaign={slug}&lang={language}"
    frame_snippet = (
        f'<iframe src="{frame_src}" title="Pledges to the UN Trust Fund for Victims of Trafficking" '
        'width="100%" height="420" style="border:0;max-width:32em" loading="lazy"></iframe>'
    )
    context = {
        "origin": origin,
        "slug": slug,
        "known": known,
        "campaigns": campaigns,
        "language": language,
        "languages": [(code, name, widget_language(code)) for code, name in settings.LANGUAGES],
        "script_snippet": script_snippet,
        "frame_snippet": frame_snippet,
        "frame_src": frame_src,
        "frame_ancestors": settings.WIDGET_FRAME_ANCESTORS,
    }
    return render(request, "widget/demo.html", context)
