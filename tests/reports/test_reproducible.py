"""Reproducible and checkable: the same report rebuilt gives the same
bytes in every format, the pages list the data files' digests, and the
published SHA256SUMS verifies the downloaded files with `sha256sum -c`."""

import hashlib
import shutil
import subprocess

import pytest
from django.core.files.storage import default_storage

from pledges.audit import Actor
from reports import services
from reports.formatting import money, percent
from reports.models import ReportStatus
from tests.reports.conftest import period_report

pytestmark = pytest.mark.django_db


def test_the_same_report_rebuilt_gives_the_same_bytes_in_every_format(campaign, mixed_pledges):
    report = period_report(campaign, languages=("en", "ar"))

    first = services.report_documents(report)
    again = services.report_documents(report)

    assert list(first) == list(again)
    for name, (_language, _format, content) in first.items():
        assert content == again[name][2], f"{name} differs between two builds"
    assert {fmt for _lang, fmt, _content in first.values()} == {"json", "csv", "html", "pdf"}


def test_each_page_lists_the_digests_of_the_data_files(campaign, mixed_pledges):
    report = period_report(campaign, languages=("en", "ar"))
    documents = services.report_documents(report)
    json_digest = hashlib.sha256(documents[f"report-{report.pk}.json"][2]).hexdigest()

    html = documents[f"report-{report.pk}-en.html"][2].decode()

    assert json_digest in html
    assert "sha256sum -c --ignore-missing SHA256SUMS" in html
    assert f"/api/v1/public/reports/{report.pk}/files/SHA256SUMS" in html


def test_the_published_sha256sums_verifies_the_downloaded_files(campaign, mixed_pledges, api, tmp_path, fund_admin):
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    report = period_report(campaign)
    assert services.report_build(report.pk) == "done"
    services.report_publish(report, actor=Actor.staff(fund_admin))
    names = list(report.files.values_list("name", flat=True))

    sums = api.get(f"/api/v1/public/reports/{report.pk}/files/SHA256SUMS")
    (tmp_path / "SHA256SUMS").write_bytes(sums.content)
    for name in names:
        response = api.get(f"/api/v1/public/reports/{report.pk}/files/{name}")
        (tmp_path / name).write_bytes(b"".join(response.streaming_content))
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == len(names) == 4  # JSON, and CSV, HTML and PDF in English

    (tmp_path / names[0]).write_bytes(b"tampered")
    assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True).returncode != 0


def test_rates_of_nothing_are_not_applicable_and_amounts_keep_a_space_from_their_code(campaign):
    report = period_report(campaign)
    services.report_build(report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE
    by_type = report.figures["by_donor_type"]

    assert all(row["fulfilment_rate"] is None for row in by_type)
    assert percent(None, "en") == "n/a"
    assert money("14000.000", "en", "KWD") == "KWD\u00a014,000.000"
    assert money("14000.000", "zh-hans", "KWD") == "KWD\u00a014,000.000"
    page = default_storage.open(report.files.get(format="html").path).read().decode()
    assert "so there is no chart to show" in page
    assert "<img" not in page  # no empty chart drawn
    assert '<dt>Fulfilment rate</dt><dd><span class="num">\u2066n/a\u2069' in page
