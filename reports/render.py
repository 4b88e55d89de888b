"""A report's figures rendered as files: JSON (language-neutral), and CSV,
HTML and PDF in each language. Every renderer is a pure function of the
figures, so the same figures give the same bytes (the PDF aside, whose
fonts are subset by WeasyPrint; its text and numbers are the same)."""

import csv
import io
import json

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from reports import charts
from reports.formatting import (
    DONOR_TYPE_LABELS,
    RTL_LANGUAGES,
    STATUS_LABELS,
    country_name,
    long_date,
    moment,
    money,
    number,
    percent,
)


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
        for row in figures["received_over_time"]:
            writer.writerow(["received_over_time", row["date"], _("Received"), "received", row["received"]])
            writer.writerow(["received_over_time", row["date"], _("Received"), "cumulative", row["cumulative"]])
    return "\ufeff".encode() + buffer.getvalue().encode()


def _context(figures: dict, language: str) -> dict:
    meta = figures["report"]
    headline = figures["headline"]
    limit = settings.REPORTS_MAX_LISTED_DONORS
    named = figures["donors"]["named"]
    chart_labels = {
        "pledged": _("Pledged"),
        "received": _("Received"),
        "usd": _("US dollars"),
        "none": _("No money received yet"),
    }
    rtl = language in RTL_LANGUAGES
    return {
        "language": language,
        "direction": "rtl" if rtl else "ltr",
        "meta": meta,
        "title": _translated(meta, "event" if meta["kind"] == "event" else "campaign", language),
        "period_start": long_date(meta["period_start"], language),
        "period_end": long_date(meta["period_end"], language),
        "event_held_on": long_date(meta["event_held_on"], language),
        "as_of": moment(meta["as_of"], language),
        "headline": [
            (_("Announced"), money(headline["announced"], language)),
            (_("Pledged"), money(headline["pledged"], language)),
            (_("Received"), money(headline["received"], language)),
            (_("Outstanding"), money(headline["outstanding"], language)),
            (_("Goal"), money(meta["goal"], language)),
            (_("Progress to goal"), percent(headline["progress"], language)),
            (_("Fulfilment rate"), percent(headline["fulfilment_rate"], language)),
            (_("Donors"), number(headline["donors"], language)),
            (_("Pledges"), number(headline["pledges"], language)),
        ],
        "period": figures["period"]
        and {
            "new_count": number(figures["period"]["new_pledges"]["count"], language),
            "new_announced": money(figures["period"]["new_pledges"]["announced"], language),
            "new_pledged": money(figures["period"]["new_pledges"]["pledged"], language),
            "receipts_count": number(figures["period"]["receipts"]["count"], language),
            "receipts_amount": money(figures["period"]["receipts"]["amount"], language),
        },
        "by_donor_type": [
            {
                "label": DONOR_TYPE_LABELS[row["type"]],
                "announced": money(row["announced"], language),
                "pledged": money(row["pledged"], language),
                "received": money(row["received"], language),
                "fulfilment_rate": percent(row["fulfilment_rate"], language),
                "donors": number(row["donors"], language),
            }
            for row in figures["by_donor_type"]
        ],
        "by_country": [
            {
                "label": country_name(row["country"], language) if row["country"] else _("Other or not disclosed"),
                "announced": money(row["announced"], language),
                "pledged": money(row["pledged"], language),
                "received": money(row["received"], language),
                "donors": number(row["donors"], language),
            }
            for row in figures["by_country"]
        ],
        "sessions": [
            {
                "title": row.get("titles", {}).get(language, row["title"]),
                "announced_then": money(row["announced_then"], language),
                "still_announced": money(row["still_announced"], language),
                "pledged": money(row["pledged"], language),
                "received": money(row["received"], language),
                "rate": percent(row["turned_into_commitments"], language),
            }
            for row in figures["sessions"]
        ],
        "named": [
            {
                "donor": row["donor"],
                "type": DONOR_TYPE_LABELS[row["donor_type"]],
                "country": country_name(row["country"], language),
                "status": STATUS_LABELS.get(row["status"], row["status"]),
                "amount": money(row["amount"], language, row["currency"]) if row["amount"] else None,
                "amount_usd": money(row["amount_usd"], language) if row["amount_usd"] else None,
                "received_usd": money(row["received_usd"], language) if row["received_usd"] else None,
            }
            for row in named[:limit]
        ],
        "named_more": max(len(named) - limit, 0),
        "anonymous_pledges": number(figures["donors"]["anonymous_pledges"], language),
        "anonymous_donors": number(figures["donors"]["anonymous_donors"], language),
        "chart_by_type": charts.pledged_vs_received(figures["by_donor_type"], labels=chart_labels, rtl=rtl),
        "chart_over_time": charts.cumulative_received(figures["received_over_time"], labels=chart_labels, rtl=rtl),
    }


def render_html(figures: dict, language: str) -> bytes:
    with translation.override(language):
        return render_to_string("reports/report.html", _context(figures, language)).encode()


def render_pdf(html: bytes) -> bytes:
    from weasyprint import HTML

    return HTML(string=html.decode(), base_url=None).write_pdf()


def _translated(meta: dict, kind: str, language: str) -> str:
    """The campaign's or event's title in `language` (i10: figures built
    before translated titles have only the English one)."""
    return (meta.get(f"{kind}_titles") or {}).get(language) or meta[f"{kind}_title"]
