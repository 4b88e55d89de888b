"""Thin Celery wrappers for reports: take ids, call a service."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from reports import services
from reports.models import ReportStatus

# Failures worth another try: the database or the storage briefly away.
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=3,
    soft_time_limit=settings.REPORTS_BUILD_TIME_LIMIT - 30,
    time_limit=settings.REPORTS_BUILD_TIME_LIMIT,
)
def report_build(self, report_id: int) -> str:
    """Build one report. Safe to run twice or in two workers at once: the
    service claims the report under a row lock and skips it otherwise."""
    try:
        return services.report_build(report_id)
    except SoftTimeLimitExceeded:
        services.report_fail(report_id, "The build took longer than the time limit.")
        return "failed"
    except TRANSIENT as error:
        if self.request.retries < self.max_retries:
            services.report_fail(report_id, f"Will retry: {error}", status=ReportStatus.QUEUED)
            raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 600)) from error
        raise


@shared_task
def reports_weekly() -> int:
    """Beat's weekly job (django-celery-beat entry "reports-weekly")."""
    return services.weekly_report_request()


@shared_task
def reports_stuck_requeue() -> int:
    """Beat's sweep: builds left `running` past their time limit (a worker
    killed mid-build) are queued again."""
    return services.reports_stuck_requeue()
