"""The HTML file of a report, read in a browser: on a phone, a tablet and
a desktop, in English and in Arabic, nothing runs wider than the page (the
sessions table once overflowed by 64 px)."""

from io import StringIO

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from pledges.audit import Actor
from pledges.models import Event
from reports import render
from reports.figures import report_figures
from reports.services import ReportRequest, report_request

pytestmark = pytest.mark.django_db

OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("table, dl, figure, pre, h1, h2, p")]
    .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > width + 1
                   || e.getBoundingClientRect().left < -1)
    .map((e) => `${e.tagName} ${e.scrollWidth}/${e.clientWidth}: ${e.textContent.slice(0, 40)}`);
}"""


@pytest.fixture
def event_report_html(db):
    call_command("demo_data", stdout=StringIO())
    event = Event.objects.get(slug="ga-dialogue-2012")
    report, _ = report_request(
        ReportRequest(campaign=event.campaign, kind="event", event=event), actor=Actor.system("tests")
    )
    figures = report_figures(report)
    return {language: render.render_html(figures, language).decode() for language in ("en", "ar")}


@pytest.mark.parametrize("width", [390, 768, 1280])
def test_the_report_page_fits_the_screen_in_english_and_arabic(chromium, event_report_html, width):
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    stylesheet = finders.find(render.STYLESHEET)
    page.route(render.stylesheet_url(), lambda route: route.fulfill(path=stylesheet, content_type="text/css"))
    try:
        for language, html in event_report_html.items():
            page.set_content(html, wait_until="load")

            assert page.evaluate("getComputedStyle(document.querySelector('table')).tableLayout") == "fixed"
            assert page.evaluate(OVERFLOWING) == [], f"{language} at {width} px"
            assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
