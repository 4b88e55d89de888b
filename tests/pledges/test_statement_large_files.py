"""Big statement files off the request: the upload is capped as its bytes
arrive, a file above STATEMENT_INLINE_MAX_BYTES is stored and imported by a
task (202 and an import to follow, with its progress and outcome), and the
import reports its progress batch by batch."""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from pledges.audit import Actor
from pledges.models import BankStatement, ImportStatus, PledgeStatus, StatementImport, StatementLine
from pledges.reconciliation import services
from tests.helpers import problem
from tests.statements import Entry, camt053, confirmed_pledge, nothing_stored

pytestmark = pytest.mark.django_db

STATEMENTS = "/api/v1/statements/"


@pytest.fixture
def large_means_small(settings, tmp_path):
    """Any statement over 200 bytes is imported by the task; files are stored under tmp_path."""
    settings.STATEMENT_INLINE_MAX_BYTES = 200
    settings.MEDIA_ROOT = tmp_path


def test_a_large_file_is_imported_by_a_task_and_its_outcome_can_be_read(
    statement_upload, large_means_small, client_for, viewer
):
    pledge = confirmed_pledge("1000.00")
    data = camt053([Entry("1000.00", reference=pledge.reference), Entry("5.00")], statement_id="BIG-1")

    response = statement_upload(data, "big.xml")

    assert response.status_code == 202, response.content
    job = response.json()
    assert response["Location"] == f"/api/v1/statement-imports/{job['id']}/"
    followed = client_for(viewer).get(response["Location"]).json()
    assert followed["status"] == ImportStatus.DONE
    statement = BankStatement.objects.get(statement_id="BIG-1")
    assert followed["statements"] == [statement.pk]
    assert followed["outcome"] == {"lines": 2}
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID  # matching ran after the task's commit


def test_a_large_file_that_is_refused_says_why_on_its_import(statement_upload, large_means_small, client_for, viewer):
    data = camt053([Entry("100.00"), Entry("100.005")], statement_id="BIG-BAD")

    job = statement_upload(data, "big-bad.xml").json()

    followed = client_for(viewer).get(f"/api/v1/statement-imports/{job['id']}/").json()
    assert followed["status"] == ImportStatus.REFUSED
    assert followed["outcome"]["code"] == "invalid-input"
    assert list(followed["outcome"]["errors"]) == ["lines.2.amount"]
    assert nothing_stored()


def test_the_task_imports_a_file_once_however_often_it_is_delivered(statement_upload, large_means_small):
    from pledges.reconciliation.imports import statement_import_run

    job = statement_upload(camt053([Entry("1.00")], statement_id="ONCE-BIG"), "once.xml").json()

    assert statement_import_run(job_pk=job["id"]) == ImportStatus.DONE  # a second delivery

    assert StatementLine.objects.count() == 1
    assert StatementImport.objects.get().status == ImportStatus.DONE


def test_an_import_left_running_by_a_dead_worker_is_taken_again_once_stale(large_means_small):
    from datetime import timedelta

    from django.utils import timezone

    from pledges.reconciliation.imports import STALE_AFTER_SECONDS, statement_import_run

    job = StatementImport.objects.create(filename="lost.xml", status=ImportStatus.RUNNING, started_at=timezone.now())
    assert statement_import_run(job_pk=job.pk) == ImportStatus.RUNNING  # still fresh: left alone

    job.file.save("lost.xml", ContentFile(camt053([Entry("3.00")], statement_id="LOST-1")))
    StatementImport.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timedelta(seconds=STALE_AFTER_SECONDS + 1)
    )

    assert statement_import_run(job_pk=job.pk) == ImportStatus.DONE
    assert BankStatement.objects.filter(statement_id="LOST-1").exists()


def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_read(statement_upload, settings):
    settings.STATEMENT_MAX_BYTES = 1000

    response = statement_upload(b"x" * 200_000, "huge.csv")

    body = problem(response, 413, "request-too-large")
    assert "1000 bytes" in body["detail"]
    assert nothing_stored()


def test_an_upload_is_stopped_as_soon_as_it_passes_the_limit(client_for, reconciler, settings):
    """The multipart envelope may be a little larger than the file: a file
    just over the limit is stopped by the upload handler while it arrives."""
    settings.STATEMENT_MAX_BYTES = 1000
    upload = SimpleUploadedFile("over.csv", b"y" * 1500)

    response = client_for(reconciler).post(STATEMENTS, {"file": upload}, format="multipart")

    body = problem(response, 413, "request-too-large")
    assert body["detail"] == "Statements are limited to 1000 bytes; the upload was stopped when it passed them."
    assert nothing_stored()


def test_the_import_reports_its_progress_batch_by_batch(reconciler):
    rows = "".join(f"2024-11-05,1.00,USD,R-{n}\r\n" for n in range(4100))
    data = io.BytesIO(("booking_date,amount,currency,bank_reference\r\n" + rows).encode())
    seen: list[int] = []

    services.statement_import(stream=data, filename="p.csv", actor=Actor.staff(reconciler), progress=seen.append)

    assert seen == [2000, 4000, 4100]
    assert StatementLine.objects.count() == 4100
