"""A report's figures rendered as files: JSON (language-neutral), and CSV,
HTML and PDF in each language. Every renderer is a pure function of the
figures, so the same figures give the same bytes, the PDF included (its
dates are the figures' moment, its identifier fixed, the charts' SVG
salted the same way every time).

The pages of the languages are rendered in parallel processes
(render_pages), each process writing its PDF to a file, so a build's
memory does not grow with the number of languages.

The pages are styled by one static stylesheet (reports/static/reports/
report.css, linked from the HTML; no inline style), which the PDF build
reads from disk: the PDF loads nothing from the network."""

import csv
import ctypes
import io
import json
import os
import signal
import sys
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from reports import charts
from reports.formatting import (
    DONOR_TYPE_LABELS,
    DONOR_TYPE_SINGULAR,
    EARMARK_LABELS,
    RTL_LANGUAGES,
    STATUS_LABELS,
    amount,
    country_name,
    decimal_aligned,
    isolate,
    long_date,
    ltr,
    moment,
    money,
    number,
    percent,
    text_direction,
)

STYLESHEET = "reports/report.css"


def render_json(figures: dict) -> bytes:
    return (json.dumps(figures, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode()


def render_csv(figures: dict, language: str) -> bytes:
    """Long format, one figure a row: section, key, label (in the language),
    measure, value (plain decimals, the same as the JSON). UTF-8 with a BOM
    so spreadsheet programs read Arabic and Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with translation.override(language):
        writer.writerow(["section", "key", "label", "measure", "value"])
        meta = figures["report"]
        for measure in (
            "kind",
            "campaign",
            "event",
            "period_start",
            "period_end",
            "as_of",
            "replaces",
            "currency",
            "goal",
        ):
            writer.writerow(["report", "", _("Report"), measure, "" if meta[measure] is None else meta[measure]])
        for measure, value in figures["headline"].items():
            writer.writerow(["headline", "", _("Headline figures"), measure, value])
        if figures["period"]:
            for part in ("new_pledges", "receipts"):
                for measure, value in figures["period"][part].items():
                    writer.writerow(["period", part, _("In the period"), measure, value])
        for row in figures["by_donor_type"]:
            for measure, value in row.items():
                if measure != "type":
                    writer.writerow(["by_donor_type", row["type"], str(DONOR_TYPE_LABELS[row["type"]]), measure, value])
        for row in figures["by_country"]:
            label = country_name(row["country"], language) if row["country"] else _("Other or not disclosed")
            for measure, value in row.items():
                if measure != "country":
                    writer.writerow(["by_country", row["country"] or "", label, measure, value])
        for row in figures["sessions"]:
            for measure, value in row.items():
                if measure not in ("session", "title", "titles"):
                    title = row.get("titles", {}).get(language, row["title"])
                    writer.writerow(["sessions", row["session"], title, measure, value])
        for index, row in enumerate(figures["donors"]["named"]):
            for measure, value in row.items():
                if measure != "donor":
                    writer.writerow(["donors", index + 1, row["donor"], measure, "" if value is None else value])
        writer.writerow(
            ["donors", "anonymous", _("Anonymous donors"), "pledges", figures["donors"]["anonymous_pledges"]]
        )
        writer.writerow(["donors", "anonymous", _("Anonymous donors"), "donors", figures["donors"]["anonymous_donors"]])
        for row in figures.get("pledged_over_time", []):
            writer.writerow(["pledged_over_time", row["date"], _("Pledged"), "pledged", row["pledged"]])
            writer.writerow(["pledged_over_time", row["date"], _("Pledged"), "cumulative", row["cumulative"]])
        for row in figures["received_over_time"]:
            writer.writerow(["received_over_time", row["date"], _("Received"), "received", row["received"]])
            writer.writerow(["received_over_time", row["date"], _("Received"), "cumulative", row["cumulative"]])
    return "\ufeff".encode() + buffer.getvalue().encode()


def _page_label(language: str) -> tuple[str, str, str]:
    """ "Page x of y" in the language, cut around its two numbers for the
    stylesheet's page counters (Chinese puts words before, between and
    after them)."""
    text = _("Page %(page)s of %(pages)s")
    before, _sep, rest = text.partition("%(page)s")
    middle, _sep, after = rest.partition("%(pages)s")
    return before, middle, after


EMPTY_CELL = mark_safe('<td class="n"></td>')


def _n(text: str) -> str:
    """A number cell: right-aligned (on the decimal sign, see
    decimal_aligned), left to right in every language."""
    return format_html('<td class="n">{}</td>', ltr(text))


def _usd(value: str | None, language: str) -> str:
    return _n(decimal_aligned(amount(value, language))) if value is not None else EMPTY_CELL


def _original_amount(row: dict, language: str) -> str | None:
    """A donor's pledge in its own currency ("14,000.000 KWD"); None when
    the donor did not agree to show it."""
    if not row["amount"]:
        return None
    figures = decimal_aligned(amount(row["amount"], language, row["currency"]), row["currency"])
    return _n(f"{figures}\u00a0{row['currency']}")


def _totals_row(row: dict, language: str) -> dict:
    return {
        "announced": _usd(row["announced"], language),
        "pledged": _usd(row["pledged"], language),
        "received": _usd(row["received"], language),
        "donors": number(row["donors"], language),
    }


def _span(figures: dict) -> tuple[date, date]:
    """What the time chart covers: the period; for an event, from its day
    to the last money pledged or received (at least a month, at most the
    date of the figures), so years of nothing do not flatten the story."""
    meta = figures["report"]
    if meta["kind"] == "period":
        return date.fromisoformat(meta["period_start"]), date.fromisoformat(meta["period_end"])
    start = date.fromisoformat(meta["event_held_on"])
    as_of = datetime.fromisoformat(meta["as_of"]).date()
    dates = [row["date"] for row in figures["received_over_time"] + figures.get("pledged_over_time", [])]
    last = date.fromisoformat(max(dates)) if dates else start
    return start, min(as_of, max(last + timedelta(days=31), start + timedelta(days=31)))


def _context(figures: dict, language: str, checksums: dict[str, str] | None = None) -> dict:
    meta = figures["report"]
    headline = figures["headline"]
    limit = settings.REPORTS_MAX_LISTED_DONORS
    named = figures["donors"]["named"]
    rtl = language in RTL_LANGUAGES
    chart_labels = {"pledged": _("Pledged"), "received": _("Received"), "usd": _("US dollars"), "goal": _("Goal")}
    start, end = _span(figures)
    period = figures["period"]
    title = _translated(meta, "event" if meta["kind"] == "event" else "campaign", language)
    return {
        "language": language,
        "direction": "rtl" if rtl else "ltr",
        "page_label": _page_label(language),
        "stylesheet": stylesheet_url(),
        "meta": meta,
        "title_dir": text_direction(title),
        "title": isolate(title),
        "period_start": long_date(meta["period_start"], language),
        "period_end": long_date(meta["period_end"], language),
        "event_held_on": long_date(meta["event_held_on"], language),
        "as_of": isolate(moment(meta["as_of"], language)),
        "headline": [
            (label, ltr(value))
            for label, value in (
                (_("Announced, not yet confirmed"), money(headline["announced"], language)),
                (_("Pledged"), money(headline["pledged"], language)),
                (_("Received"), money(headline["received"], language)),
                (_("Outstanding"), money(headline["outstanding"], language)),
                (_("Goal"), money(meta["goal"], language)),
                (_("Progress to goal"), percent(headline["progress"], language)),
                (_("Fulfilment rate"), percent(headline["fulfilment_rate"], language)),
                (_("Donors"), number(headline["donors"], language)),
                (_("Pledges"), number(headline["pledges"], language)),
            )
        ],
        "period": period
        and {
            "new_count": number(period["new_pledges"]["count"], language),
            "new_announced": _usd(period["new_pledges"]["announced"], language),
            "new_pledged": _usd(period["new_pledges"]["pledged"], language),
            "receipts_count": number(period["receipts"]["count"], language),
            "receipts_amount": _usd(period["receipts"]["amount"], language),
        },
        "by_donor_type": [
            {
                "label": DONOR_TYPE_LABELS[row["type"]],
                "fulfilment_rate": ltr(percent(row["fulfilment_rate"], language)),
                **_totals_row(row, language),
            }
            for row in figures["by_donor_type"]
            # A type nobody pledged as is no line in the page (it stays in the CSV and JSON).
            if row["pledges"]
        ],
        "by_country": [
            {
                "label": country_name(row["country"], language) if row["country"] else _("Other or not disclosed"),
                **_totals_row(row, language),
            }
            for row in figures["by_country"]
        ],
        "sessions": [
            {
                "title": isolate(row.get("titles", {}).get(language) or row["title"]),
                "dir": text_direction(row.get("titles", {}).get(language) or row["title"]),
                "announced_then": _usd(row["announced_then"], language),
                "still_announced": _usd(row["still_announced"], language),
                "pledged": _usd(row["pledged"], language),
                "received": _usd(row["received"], language),
                "rate": ltr(percent(row["turned_into_commitments"], language)),
            }
            for row in figures["sessions"]
        ],
        "named": [
            {
                "donor": isolate(row["donor"]),
                "dir": text_direction(row["donor"]),
                "type": DONOR_TYPE_SINGULAR[row["donor_type"]],
                "country": country_name(row["country"], language),
                "earmark": EARMARK_LABELS.get(row.get("earmark") or "unrestricted", row.get("earmark")),
                "status": STATUS_LABELS.get(row["status"], row["status"]),
                "amount": _original_amount(row, language),
                "amount_usd": _usd(row["amount_usd"], language),
                "received_usd": _usd(row["received_usd"], language),
            }
            for row in named[:limit]
        ],
        "named_more": max(len(named) - limit, 0),
        "anonymous_pledges": figures["donors"]["anonymous_pledges"]
        and number(figures["donors"]["anonymous_pledges"], language),
        "anonymous_donors": number(figures["donors"]["anonymous_donors"], language),
        "chart_by_type": charts.pledged_vs_received(
            figures["by_donor_type"], labels=chart_labels, language=language, rtl=rtl
        ),
        "chart_over_time": charts.cumulative_against_goal(
            figures.get("pledged_over_time", []),
            figures["received_over_time"],
            start=start,
            end=end,
            goal=Decimal(meta["goal"]),
            labels=chart_labels,
            language=language,
            rtl=rtl,
        ),
        "checksums": [(isolate(name), digest) for name, digest in sorted((checksums or {}).items())],
        "sha256sums_url": f"{settings.SITE_URL}/api/v1/public/reports/{meta['id']}/files/SHA256SUMS",
    }


def render_html(figures: dict, language: str, checksums: dict[str, str] | None = None) -> bytes:
    """The report page; `checksums` (file name -> SHA-256) of the files
    built before it are listed in its colophon."""
    with translation.override(language):
        return render_to_string("reports/report.html", _context(figures, language, checksums)).encode()


def stylesheet_url() -> str:
    return f"{settings.SITE_URL}/{settings.STATIC_URL.strip('/')}/{STYLESHEET}"


def _local_fetcher():
    """WeasyPrint's fetcher for the PDF: the stylesheet from disk, images
    from data: URIs, nothing from the network; a failure stops the build
    rather than giving an unstyled PDF."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url == stylesheet_url():
                css = Path(finders.find(STYLESHEET)).read_bytes()
                return URLFetcherResponse(url, css, {"Content-Type": "text/css; charset=utf-8"})
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise ValueError(f"The report PDF loads nothing from {url}")

    return LocalOnly(fail_on_errors=True)


def pdf_document(html: bytes):
    """The laid-out pages of a report page (WeasyPrint's Document): what
    render_pdf writes, and what the layout tests inspect."""
    from weasyprint import HTML

    # A FontConfiguration of its own for every PDF (WeasyPrint's default):
    # one shared by the PDFs of a process makes a page's bytes depend on the
    # pages laid out before it (a Chinese page after an Arabic one).
    return HTML(string=html.decode(), base_url=None, url_fetcher=_local_fetcher()).render()


PDF_IDENTIFIER = b"vtf-pledges-report"


def render_pdf(html: bytes) -> bytes:
    """The PDF of a report page. Its dates come from the page's
    dcterms.created/modified (the figures' moment) and its identifier is
    fixed, so the same page gives the same PDF."""
    return pdf_document(html).write_pdf(pdf_identifier=PDF_IDENTIFIER)


_WARM_UP_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><link rel="stylesheet" href="{stylesheet}"></head>'
    # Latin, Arabic, Chinese and Cyrillic: the fonts of the six languages.
    "<body><h1>Report</h1><p>Pledged مرحبا 你好 Привет</p>"
    '<table><tr><th>Donor</th><td class="n">1,234.50</td></tr></table></body></html>'
)


_warm = False


def warm_up() -> None:
    """Draw a chart and lay out and write a small page, once in this
    process: matplotlib's first chart and WeasyPrint's first PDF pay for
    loading the fonts of every script and fontconfig's cache (seconds). Done
    before the page processes are forked, they all start warm
    (copy-on-write) instead of each paying it again. What it leaves does not
    change later files' bytes (the tests compare pages rendered after it
    with pages rendered without it)."""
    global _warm
    if not _warm:
        charts.warm_up()
        render_pdf(_WARM_UP_PAGE.format(stylesheet=stylesheet_url()).encode())
        _warm = True


@dataclass(frozen=True)
class Page:
    """One language's page of a report: its HTML, and its PDF written to a
    file (PDFs of large reports are not held in memory all at once)."""

    language: str
    html: bytes
    pdf: Path


def render_page(figures: dict, language: str, checksums: dict[str, str], directory: Path) -> Page:
    """The HTML page in `language` and its PDF, written into `directory`."""
    html = render_html(figures, language, checksums)
    pdf = Path(directory) / f"{language}.pdf"
    pdf.write_bytes(render_pdf(html))
    return Page(language=language, html=html, pdf=pdf)


def page_processes(languages: int) -> int:
    """How many processes render a report's pages: one a language, at most
    settings.REPORTS_PAGE_PROCESSES (0: the CPU cores this process may use)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(languages, settings.REPORTS_PAGE_PROCESSES or cores))


# What the forked page processes render from: set in each by the pool's
# initializer (inherited through fork, not pickled).
_job: dict = {}


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _page_process_start(figures: dict, checksums: dict[str, str], directory: Path, parent: int) -> None:
    _job.update(figures=figures, checksums=checksums, directory=directory)
    # Die with the building process (a worker killed at its hard time
    # limit) rather than render on for nobody: Linux's parent-death signal.
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)


def _page_in_process(language: str) -> Page:
    return render_page(_job["figures"], language, _job["checksums"], _job["directory"])


def render_pages(
    figures: dict, languages: list[str], checksums: dict[str, str], directory: Path, *, processes: int
) -> Generator[Page, None, None]:
    """Every language's page (render_page), as each is finished.

    With more than one process, the languages are shared out among forked
    processes (billiard's pool, Celery's fork of multiprocessing: a prefork
    worker's processes are daemonic, and multiprocessing lets no daemonic
    process have children). Forking keeps what this process has loaded
    (Django, the translations, matplotlib, WeasyPrint and its fonts, warmed
    here first); the page processes touch neither the database nor the
    storage. Leaving the iteration early, or an error in a page process,
    stops them all. Close the iterator (contextlib.closing) when leaving
    it early."""
    if processes <= 1 or len(languages) <= 1:
        for language in languages:
            yield render_page(figures, language, checksums, directory)
        return
    import billiard

    warm_up()
    pool = billiard.get_context("fork").Pool(
        processes, initializer=_page_process_start, initargs=(figures, checksums, directory, os.getpid())
    )
    try:
        yield from pool.imap_unordered(_page_in_process, languages)
    finally:
        pool.terminate()
        pool.join()


def _translated(meta: dict, kind: str, language: str) -> str:
    """The campaign's or event's title in `language` (figures built
    before translated titles have only the English one)."""
    return (meta.get(f"{kind}_titles") or {}).get(language) or meta[f"{kind}_title"]
