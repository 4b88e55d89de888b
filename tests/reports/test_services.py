"""Report figures, anonymity, reproducibility and the as-of semantics."""

import csv
import hashlib
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.errors import InvalidInput
from pledges.models import PledgeStatus, PledgeStatusChange
from pledges.selectors import public_totals
from reports import services
from reports.figures import report_figures
from reports.models import REPORT_LANGUAGES, Report, ReportStatus
from reports.services import ReportRequest, report_request
from tests.factories import DonorFactory, PledgeFactory
from tests.reports.conftest import ACTOR, paid, period_report

pytestmark = pytest.mark.django_db


def test_the_figures_of_a_mix_of_pledges_agree_with_the_public_totals(campaign, mixed_pledges):
    figures = report_figures(period_report(campaign))
    totals = public_totals(campaign)

    headline = figures["headline"]
    assert (headline["announced"], headline["pledged"], headline["received"]) == ("300.00", "3550.00", "950.00")
    for name in ("announced", "pledged", "received", "donors", "pledges", "progress"):
        assert headline[name] == totals[name], name
    assert headline["outstanding"] == "2600.00"  # 600 Norway + 0 Qatar + 2000 the foundation
    assert headline["fulfilment_rate"] == pytest.approx(950 / 3550, abs=1e-4)
    by_type = {row["type"]: row for row in figures["by_donor_type"]}
    for row in totals["by_donor_type"]:
        assert {k: by_type[row["type"]][k] for k in ("announced", "pledged", "received", "donors")} == {
            k: row[k] for k in ("announced", "pledged", "received", "donors")
        }
    assert figures["period"]["new_pledges"]["count"] == 5
    assert figures["period"]["receipts"] == {"count": 3, "amount": "950.00"}
    assert figures["received_over_time"][-1]["cumulative"] == "950.00"


def test_anonymous_donors_are_counted_never_named_and_amounts_only_with_consent(campaign, mixed_pledges):
    figures = report_figures(period_report(campaign))
    named = {row["donor"]: row for row in figures["donors"]["named"]}

    assert set(named) == {"Kingdom of Norway", "State of Qatar", "Holy See", "Lapsed Ltd"}
    assert figures["donors"]["anonymous_pledges"] == 1
    assert figures["donors"]["anonymous_donors"] == 1
    assert named["State of Qatar"]["amount"] is None and named["State of Qatar"]["amount_usd"] is None
    assert named["Kingdom of Norway"]["amount_usd"] == "1000.00"
    # The anonymous foundation's country is not given away by the by-country table.
    countries = {row["country"] for row in figures["by_country"]}
    assert "CH" not in countries and None in countries
    everything = json.dumps(figures)
    assert "Secret Donor Foundation" not in everything


def test_no_file_names_an_anonymous_donor(campaign, mixed_pledges):
    report = period_report(campaign, languages=("en", "fr"))
    documents = services.report_documents(report)
    for name, (_language, fmt, content) in documents.items():
        if fmt != "pdf":
            assert b"Secret Donor Foundation" not in content, name


def test_rebuilding_gives_the_same_bytes_for_json_csv_and_html(campaign, mixed_pledges):
    report = period_report(campaign, languages=("en", "ar", "zh-hans"))
    first = services.report_documents(report)
    second = services.report_documents(report)

    for name, (_language, fmt, content) in first.items():
        if fmt in ("json", "csv", "html"):
            assert hashlib.sha256(content).hexdigest() == hashlib.sha256(second[name][2]).hexdigest(), name
    csv_bytes = first[f"report-{report.pk}-ar.csv"][2]
    assert csv_bytes.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    headline = {row["measure"]: row["value"] for row in rows if row["section"] == "headline"}
    assert headline["pledged"] == "3550.00" and headline["received"] == "950.00"


def test_figures_are_those_of_the_as_of_moment(campaign, mixed_pledges):
    as_of = timezone.now()
    report = period_report(campaign, as_of=as_of)
    before = report_figures(report)

    # After as_of: a new pledge, more money, and a status change in the history.
    PledgeFactory(
        campaign=campaign, donor=DonorFactory(name="Latecomer"), status=PledgeStatus.CONFIRMED, public_name=True
    )
    paid(mixed_pledges["norway"], "600.00")
    qatar = mixed_pledges["qatar"]
    PledgeStatusChange.objects.create(
        at=as_of - timedelta(hours=1), actor_kind="system", pledge=qatar, old_status="confirmed", new_status="paid"
    )
    PledgeStatusChange.objects.create(
        at=as_of + timedelta(microseconds=1),
        old_status_since=as_of - timedelta(hours=1),
        actor_kind="system",
        pledge=qatar,
        old_status="paid",
        new_status="cancelled",
    )
    qatar.status = PledgeStatus.CANCELLED
    qatar.save(update_fields=["status"])

    again = report_figures(Report.objects.get(pk=report.pk))
    assert again["headline"] == before["headline"]
    assert again == before
    # A report as of now sees the changes, and agrees with the public totals again.
    later = Report(campaign=campaign, kind="period", period_start=report.period_start, period_end=report.period_end)
    later.as_of = timezone.now()
    current = report_figures(later)["headline"]
    totals = public_totals(campaign)
    assert current["pledged"] == totals["pledged"] != before["headline"]["pledged"]
    assert current["received"] == totals["received"] == "1050.00"


def test_the_same_period_is_one_report_and_a_failed_one_is_queued_again(campaign):
    first = period_report(campaign)
    second = period_report(campaign)
    assert first.pk == second.pk
    Report.objects.filter(pk=first.pk).update(status=ReportStatus.FAILED, error="boom")
    _report, queued = report_request(
        ReportRequest(campaign=campaign, kind="period", period_start=first.period_start, period_end=first.period_end),
        actor=ACTOR,
    )
    assert queued and Report.objects.get(pk=first.pk).status == ReportStatus.QUEUED


def test_a_past_period_is_reported_as_of_its_end(campaign):
    today = timezone.localdate()
    report = period_report(campaign, days_ago=(14, 8), languages=REPORT_LANGUAGES)
    assert timezone.localtime(report.as_of).date() == today - timedelta(days=8)
    assert timezone.localtime(report.as_of + timedelta(microseconds=1)).date() == today - timedelta(days=7)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"period_start": 1, "period_end": -1}, "period_end"),
        ({"period_start": 1, "period_end": 3}, "period_start"),
        ({"period_start": -3, "period_end": 2}, "period_end"),
        ({"period_start": -3, "period_end": -1, "languages": ("en", "de")}, "languages"),
        ({"kind": "quarterly", "period_start": -3, "period_end": -1}, "kind"),
        ({"kind": "event"}, "event"),
    ],
)
def test_bad_requests_name_the_field(campaign, fields, field):
    today = timezone.localdate()
    values = {"campaign": campaign, "kind": "period"}
    for name, value in fields.items():
        values[name] = today + timedelta(days=value) if name.startswith("period") else value
    with pytest.raises(InvalidInput) as raised:
        report_request(ReportRequest(**values), actor=ACTOR)
    assert field in raised.value.errors


def test_a_failed_build_leaves_no_files(campaign, mixed_pledges, monkeypatch, settings):
    report = period_report(campaign, languages=("en", "fr"))

    def broken(html):
        raise RuntimeError("the PDF engine broke")

    monkeypatch.setattr(services.render, "render_pdf", broken)
    with pytest.raises(RuntimeError):
        services.report_build(report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and "the PDF engine broke" in report.error
    assert not report.files.exists()
    folder = settings.MEDIA_ROOT / "reports" / str(report.pk)
    assert not folder.exists() or not any(folder.iterdir())


def test_the_weekly_job_requests_the_last_complete_week_once(campaign):
    from datetime import date

    assert services.last_complete_week(date(2026, 3, 18)) == (date(2026, 3, 9), date(2026, 3, 15))
    first = services.weekly_report_request()
    second = services.weekly_report_request()
    assert first == second and Report.objects.count() == 1
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.filter(name="reports-weekly", task="reports.tasks.reports_weekly").exists()


def test_money_is_formatted_for_each_locale():
    from reports.formatting import money

    assert money("1234567.5", "en") == "$1,234,567.50"
    assert money("1234567.5", "fr") == "1\u202f234\u202f567,50\u00a0$US"
    assert money("1234567.5", "es") == "1.234.567,50\u00a0US$"
    assert money("1234567.5", "zh-hans") == "US$1,234,567.50"
    assert money("1234567.5", "ar") == "1,234,567.50\u00a0US$"
    assert Decimal(money("1234567.5", "ru").replace("\u00a0", "").rstrip("$").replace(",", ".")) == Decimal(
        "1234567.50"
    )


def test_pages_rendered_in_parallel_processes_are_the_bytes_rendered_in_this_one(campaign, mixed_pledges, settings):
    report = period_report(campaign, languages=("en", "ar", "zh-hans"))
    figures = report_figures(report)

    settings.REPORTS_PAGE_PROCESSES = 3
    parallel = services.report_documents(report, figures)
    settings.REPORTS_PAGE_PROCESSES = 1
    serial = services.report_documents(report, figures)

    assert list(parallel) == list(serial)  # the same files in the same order, whoever finished first
    for name, (_language, _fmt, content) in parallel.items():
        assert content == serial[name][2], name


def test_a_build_computes_the_figures_once_for_every_language_and_records_each_language_built(
    campaign, mixed_pledges, monkeypatch
):
    report = period_report(campaign, languages=("en", "ar", "fr"))
    computed = []

    def counted(report):
        computed.append(report.pk)
        return report_figures(report)

    monkeypatch.setattr(services, "report_figures", counted)
    assert services.report_build(report.pk) == "done"

    report.refresh_from_db()
    assert computed == [report.pk]
    assert report.languages_built == report.languages == ["ar", "en", "fr"]
    names = list(report.files.order_by("id").values_list("name", flat=True))
    stem = f"report-{report.pk}"
    assert names == [f"{stem}.json", f"{stem}-ar.csv", f"{stem}-en.csv", f"{stem}-fr.csv"] + [
        f"{stem}-{language}.{fmt}" for language in ("ar", "en", "fr") for fmt in ("html", "pdf")
    ]
