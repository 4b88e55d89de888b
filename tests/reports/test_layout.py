"""The Done-when of issue 12: every page of the English and the Arabic PDF
of the event report and of a yearly report, built from the demo data,
keeps its content inside the printable area, splits no table row and ends
no page on a heading. And the checks themselves catch what they look for."""

from datetime import date

import pytest
from django.core.management import call_command

from pledges.audit import Actor
from pledges.models import Campaign, Event
from reports import render
from reports.figures import report_figures
from reports.models import REPORT_LANGUAGES
from reports.services import ReportRequest, report_request
from tests.reports.layout import layout_problems, page_texts, printable_area_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115 (closed with the process)
    return Campaign.objects.get(slug="vtf-2012")


def _report(campaign: Campaign, kind: str):
    if kind == "event":
        request = ReportRequest(campaign=campaign, kind="event", event=Event.objects.get(slug="ga-dialogue-2012"))
    else:
        request = ReportRequest(
            campaign=campaign, kind="period", period_start=date(2012, 1, 1), period_end=date(2012, 12, 31)
        )
    report, _ = report_request(request, actor=Actor.system("tests"))
    return report


@pytest.mark.parametrize("kind", ["event", "yearly"])
def test_every_page_of_the_pdf_holds_together_in_print_in_every_language(demo, kind):
    """English and Arabic as the issue asks, and the other four too: a
    French column heading is what once ran past the margin."""
    figures = report_figures(_report(demo, kind))
    for language in REPORT_LANGUAGES:
        html = render.render_html(figures, language, {"report-1.json": "0" * 64})
        document = render.pdf_document(html)
        pdf = document.write_pdf()

        assert len(document.pages) >= 4, "a cover, the figures, the donors and the colophon"
        problems = layout_problems(document) + printable_area_problems(pdf)
        assert not problems, f"{kind} report, {language}:\n" + "\n".join(map(str, problems))
        if language not in ("en", "ar"):
            continue

        texts = [visual(text, language) for text in page_texts(pdf)]
        pages = len(texts)
        label = {"en": "Page {} of {}", "ar": "الصفحة {} من {}"}[language]
        for number, text in enumerate(texts[1:], 2):  # the cover has no page number
            assert label.format(number, pages) in text
        whole = "\n".join(texts)
        assert {"en": "Holy See", "ar": "الكرسي الرسولي"}[language] in whole
        assert "Vatican" not in whole


def visual(text: str, language: str) -> str:
    """pdfplumber gives Arabic lines in visual order (right to left read
    as left to right): put each line back in reading order."""
    text = text.replace("\u2068", "").replace("\u2069", "").replace("\u2066", "")
    if language != "ar":
        return text
    return "\n".join(line[::-1] for line in text.splitlines())


def _page(body: str) -> bytes:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="{render.stylesheet_url()}"></head><body>{body}</body></html>'
    ).encode()


def test_the_checks_catch_a_table_that_runs_off_the_page(db):
    wide = "<table><tr>" + "".join(f"<td class='n'>{n:,}.00</td>" for n in range(10**9, 10**9 + 14)) + "</tr></table>"
    pdf = render.render_pdf(_page(f"<h2>Too wide</h2><p>text</p>{wide}"))

    assert printable_area_problems(pdf)


def test_the_checks_catch_a_number_that_runs_into_the_next_column(db):
    # The stylesheet's tables are fixed-layout and its number cells never wrap.
    cramped = "<table><tr>" + "<td class='n'>1,500,000,000,000.00 NOK</td>" * 6 + "</tr></table>"

    problems = layout_problems(render.pdf_document(_page(cramped)))

    assert any("runs out of its table cell" in str(p) for p in problems)


def test_the_checks_catch_a_heading_at_the_foot_of_a_page_and_a_split_row(db):
    # Inline styles are only for this probe: the report's own pages have none.
    filler = "<p style='margin:0;height:225mm'>filler</p>"
    heading_last = _page(
        f"{filler}<h2 style='break-after:auto'>Alone</h2><p style='break-inside:avoid;height:60mm'>x</p>"
    )
    tall_row = f"{filler}<table><tr style='break-inside:auto'><td>{'line<br>' * 60}</td></tr></table>"

    heading_problems = layout_problems(render.pdf_document(heading_last))
    row_problems = layout_problems(render.pdf_document(_page(tall_row)))

    assert any("heading 'Alone' ends the page" in str(p) for p in heading_problems)
    assert any("is split over pages" in str(p) for p in row_problems)


def test_the_checks_catch_a_table_continued_without_its_header_row(db):
    rows = "".join(f"<tr><td>row {n}</td></tr>" for n in range(80))
    repeated = f"<table><thead><tr><th>Heading</th></tr></thead><tbody>{rows}</tbody></table>"
    # A header group that does not repeat (CSS can ask for that) is what the check must see.
    not_repeated = repeated.replace("<thead>", "<thead style='display:table-row-group'>")

    assert not layout_problems(render.pdf_document(_page(repeated)))
    assert any("without its header row" in str(p) for p in layout_problems(render.pdf_document(_page(not_repeated))))
