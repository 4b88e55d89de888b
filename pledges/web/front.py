"""The front page at / (and /<lang>/): what the Fund is, the pledge form,
the live totals, the published reports, and where developers and staff go."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_safe

from pledges import cldr
from pledges.errors import NotFound
from pledges.web.views import page_context, page_language
from pledges.widget.views import frame_context, widget_language
from reports.api import published_reports


def _reports(language: str) -> list[dict]:
    """The latest published reports, each with its files in the page's
    language (HTML, PDF, CSV) and the language-neutral JSON."""
    rows = []
    for report in published_reports()[:10]:
        files = [f for f in report.files.all() if f.language in (language, "")]
        rows.append(
            {
                "title": report.event.title if report.event_id else report.campaign.title,
                "period": (
                    f"{cldr.long_date(report.period_start, language)} – {cldr.long_date(report.period_end, language)}"
                    if report.period_start
                    else cldr.long_date(report.event.held_on, language)
                    if report.event_id
                    else ""
                ),
                "published": cldr.long_date(report.published_at.date(), language),
                "files": [
                    (f.format.upper(), reverse("public-report-file", kwargs={"pk": report.pk, "name": f.name}))
                    for f in sorted(files, key=lambda f: f.format)
                ],
            }
        )
    return rows


@require_safe
def front_page(request: HttpRequest, lang: str | None = None) -> HttpResponse:
    language = page_language(request, lang)
    with translation.override(language):
        try:
            totals = frame_context(settings.DEFAULT_CAMPAIGN_SLUG, widget_language(language))
        except NotFound:
            totals = None
        context = {
            **page_context(language, lambda prefix: f"/{prefix}/"),
            "totals": totals,
            "reports": _reports(language),
        }
        response = render(request, "pledges/web/front.html", context)
        response["Content-Language"] = language
        response["Cache-Control"] = "no-cache"
        if lang is None:
            response["Vary"] = "Accept-Language"
        return response
