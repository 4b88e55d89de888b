"""A build left `running` by a worker killed mid-build is queued again, by
beat's sweep or by the next request for the same report, and then built."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pledges.audit import Actor
from pledges.outbox import OutboxMessage
from reports import services, tasks
from reports.models import Report, ReportStatus
from reports.services import ReportRequest, report_request_and_queue

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")


def week(campaign) -> ReportRequest:
    today = timezone.localdate()
    return ReportRequest(
        campaign=campaign, kind="period", period_start=today - timedelta(days=6), period_end=today, languages=["en"]
    )


def left_running(campaign, *, seconds_ago: int) -> Report:
    """A report whose worker died after claiming it (as if SIGKILLed mid-build)."""
    report, _ = services.report_request(week(campaign), actor=ACTOR)
    Report.objects.filter(pk=report.pk).update(
        status=ReportStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return report


def test_the_sweep_requeues_a_build_running_past_its_time_limit_and_it_is_built(
    campaign, settings, django_capture_on_commit_callbacks
):
    report = left_running(campaign, seconds_ago=settings.REPORTS_BUILD_TIME_LIMIT + 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reports_stuck_requeue() == 1

    report.refresh_from_db()
    assert report.status == ReportStatus.DONE
    assert report.files.count() == 4  # JSON, and the English CSV, HTML and PDF
    assert OutboxMessage.objects.filter(task="reports.tasks.report_build", args=[report.pk]).count() == 1


def test_the_sweep_leaves_a_build_that_is_still_within_its_time_limit(campaign):
    report = left_running(campaign, seconds_ago=60)

    assert tasks.reports_stuck_requeue() == 0

    assert Report.objects.get(pk=report.pk).status == ReportStatus.RUNNING


def test_asking_again_for_a_stuck_report_queues_it_instead_of_returning_it_stuck(
    campaign, settings, django_capture_on_commit_callbacks
):
    stuck = left_running(campaign, seconds_ago=settings.REPORTS_BUILD_TIME_LIMIT + 1)

    with django_capture_on_commit_callbacks(execute=True):
        again = report_request_and_queue(week(campaign), actor=ACTOR)

    assert again.pk == stuck.pk
    assert Report.objects.get(pk=stuck.pk).status == ReportStatus.DONE
