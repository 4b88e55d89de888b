"""Reports built by a real Celery worker on the Redis broker, on
PostgreSQL: every format agrees with the database, Arabic and Chinese come
out as real glyphs, and concurrent requests and builds make one report."""

import csv
import hashlib
import io
import json
import shutil
import subprocess
import time

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image
from pypdf import PdfReader

from backend.celery import app
from pledges.audit import Actor
from pledges.selectors import public_totals
from reports import services
from reports.formatting import money, number, percent
from reports.models import Report, ReportStatus
from tests.conftest import run_at_once
from tests.helpers import wait_for
from tests.reports.conftest import squeeze
from tests.reports.test_api import body


def _worker_on_redis(pool: str):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis as the Celery broker")
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connection

    def close_connection(**kwargs):  # the worker thread's, so the test database can be dropped
        connection.close()

    task_postrun.connect(close_connection, weak=False)

    # Celery reads the namespaced key (CELERY_TASK_ALWAYS_EAGER, true in
    # tests) before the plain one: switch both off.
    app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False, broker_url=settings.REDIS_URL)
    try:
        with start_worker(app, pool=pool, concurrency=1, perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        task_postrun.disconnect(close_connection)
        app.conf.update(task_always_eager=True, CELERY_TASK_ALWAYS_EAGER=True)


@pytest.fixture
def celery_worker_on_redis(transactional_db, postgres_only):
    yield from _worker_on_redis("solo")


@pytest.fixture
def prefork_worker_on_redis(transactional_db, postgres_only):
    """A worker as `celery worker` runs by default: its tasks run in
    daemonic pool processes."""
    yield from _worker_on_redis("prefork")


def report_finished(report_id: int, seconds: float = 60) -> bool:
    """Whether the worker finishes the report (done or failed) within `seconds`."""
    return wait_for(lambda: Report.objects.get(pk=report_id).status in ("done", "failed"), seconds, every=0.2)


def read(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def test_a_worker_builds_a_report_whose_every_format_agrees_with_the_database(
    celery_worker_on_redis, mixed_pledges, campaign, client_for, fund_admin, api, tmp_path
):
    admin = client_for(fund_admin)
    started = time.monotonic()
    created = admin.post("/api/v1/reports/", body(languages=["ar", "zh-hans", "en", "fr", "ru", "es"]), format="json")
    assert created.status_code == 202 and created.json()["status"] == "queued"
    report_id = created.json()["id"]
    assert report_finished(report_id)
    report = Report.objects.get(pk=report_id)
    assert report.status == ReportStatus.DONE, report.error
    print(
        f"\nsix-language build: {report.build_seconds:.2f}s in the worker, {time.monotonic() - started:.2f}s end to end"
    )

    assert admin.post(f"/api/v1/reports/{report_id}/publish/").status_code == 200
    files = {(f["language"], f["format"]): f for f in admin.get(f"/api/v1/reports/{report_id}/").json()["files"]}
    assert len(files) == 1 + 6 * 3
    contents = {}
    for key, file in files.items():
        contents[key] = read(api, file["url"])
        assert hashlib.sha256(contents[key]).hexdigest() == file["sha256"]

    totals = public_totals(campaign)
    figures = json.loads(contents[(None, "json")])
    for name in ("announced", "pledged", "received", "donors", "pledges", "progress"):
        assert figures["headline"][name] == totals[name], name
    expected = figures["headline"]
    assert (expected["announced"], expected["pledged"], expected["received"]) == ("300.00", "3550.00", "950.00")

    for language in ("ar", "zh-hans", "en", "fr", "ru", "es"):
        rows = list(csv.DictReader(io.StringIO(contents[(language, "csv")].decode("utf-8-sig"))))
        headline = {row["measure"]: row["value"] for row in rows if row["section"] == "headline"}
        assert {k: headline[k] for k in ("announced", "pledged", "received", "outstanding")} == {
            k: expected[k] for k in ("announced", "pledged", "received", "outstanding")
        }
        shown = [
            money(expected["announced"], language),
            money(expected["pledged"], language),
            money(expected["received"], language),
            money(expected["outstanding"], language),
            percent(expected["fulfilment_rate"], language),
            number(expected["donors"], language),
        ]
        html = squeeze(contents[(language, "html")].decode())
        pdf_text = squeeze(
            "".join(page.extract_text() for page in PdfReader(io.BytesIO(contents[(language, "pdf")])).pages)
        )
        for value in shown:
            assert squeeze(value) in html, (language, value)
            assert squeeze(value) in pdf_text, (language, value)
        for text in (html, pdf_text):
            assert "SecretDonorFoundation" not in text
            assert "KingdomofNorway" in text

    ar_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(contents[("ar", "pdf")])).pages)
    zh_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(contents[("zh-hans", "pdf")])).pages)
    assert any("\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff" for c in ar_text)
    assert any("\u4e00" <= c <= "\u9fff" for c in zh_text)
    assert b'dir="rtl"' in contents[("ar", "html")]

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    for language in ("ar", "zh-hans"):
        pdf = tmp_path / f"{language}.pdf"
        pdf.write_bytes(contents[(language, "pdf")])
        subprocess.run(
            ["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-singlefile", "-png", str(pdf), str(tmp_path / language)],
            check=True,
        )
        image = Image.open(tmp_path / f"{language}.png").convert("L")
        dark = sum(1 for value in image.getdata() if value < 200)
        assert dark > 0.01 * image.width * image.height, language


def test_two_requests_at_once_make_one_report_built_once(postgres_only, transactional_db, campaign):
    request = services.ReportRequest(
        campaign=campaign,
        kind="period",
        period_start=services.last_complete_week()[0],
        period_end=services.last_complete_week()[1],
        languages=("en",),
    )
    first, second = run_at_once(
        lambda: services.report_request_and_queue(request, actor=Actor.system("a")).pk,
        lambda: services.report_request_and_queue(request, actor=Actor.system("b")).pk,
    )
    assert first == second
    assert Report.objects.count() == 1
    report = Report.objects.get()
    assert report.status == ReportStatus.DONE and report.attempts == 1


def test_two_builds_of_one_report_at_once_build_it_once(postgres_only, transactional_db, campaign):
    report, _queued = services.report_request(
        services.ReportRequest(
            campaign=campaign,
            kind="period",
            period_start=services.last_complete_week()[0],
            period_end=services.last_complete_week()[1],
            languages=("en",),
        ),
        actor=Actor.system("tests"),
    )
    outcomes = run_at_once(lambda: services.report_build(report.pk), lambda: services.report_build(report.pk))
    assert sorted(outcomes) == ["done", "skipped"]
    report.refresh_from_db()
    assert report.attempts == 1 and report.files.count() == 4


def test_a_prefork_worker_renders_the_languages_in_processes_of_its_own(
    prefork_worker_on_redis, mixed_pledges, campaign, client_for, fund_admin, settings
):
    """A prefork pool process is daemonic, and multiprocessing lets no
    daemonic process have children: the pages are still rendered in
    processes of their own, and every language is recorded as built."""
    settings.REPORTS_PAGE_PROCESSES = 2
    created = client_for(fund_admin).post("/api/v1/reports/", body(languages=["en", "ar", "fr"]), format="json")
    report_id = created.json()["id"]
    assert report_finished(report_id, seconds=120)
    report = Report.objects.get(pk=report_id)
    assert report.status == ReportStatus.DONE, report.error
    assert sorted(report.languages) == ["ar", "en", "fr"]
    assert report.languages_built == report.languages
    assert sorted(report.files.values_list("name", flat=True)) == sorted(
        [f"report-{report_id}.json"]
        + [f"report-{report_id}-{language}.{fmt}" for language in ("en", "ar", "fr") for fmt in ("csv", "html", "pdf")]
    )
    pdf = report.files.get(language="ar", format="pdf")
    assert default_storage.open(pdf.path).read().startswith(b"%PDF-")
