"""Requesting, building and publishing reports. Everything that writes a
report lives here; tasks and views call these."""

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import DomainError, InvalidInput, TransitionNotAllowed
from pledges.models import Campaign, Event
from reports import render
from reports.figures import report_figures
from reports.models import REPORT_LANGUAGES, Report, ReportFile, ReportFormat, ReportKind, ReportStatus, report_key

logger = logging.getLogger(__name__)


class ReportNotReady(DomainError):
    status = 409
    code = "report-not-ready"
    title = "The report is not built yet"


@dataclass(frozen=True)
class ReportRequest:
    campaign: Campaign
    kind: str
    period_start: date | None = None
    period_end: date | None = None
    event: Event | None = None
    as_of: datetime | None = None
    languages: tuple[str, ...] = field(default=REPORT_LANGUAGES)
    replaces: Report | None = None
    correction_note: str = ""


def report_request_errors(request: ReportRequest, *, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    today = timezone.localdate(now)
    if request.kind not in ReportKind.values:
        errors["kind"] = [f"Unknown kind {request.kind!r}: use one of {', '.join(ReportKind.values)}."]
    elif request.kind == ReportKind.PERIOD:
        if request.period_start is None:
            errors["period_start"] = ["A period report needs period_start."]
        if request.period_end is None:
            errors["period_end"] = ["A period report needs period_end."]
        if request.event is not None:
            errors["event"] = ["A period report has no event."]
        if request.period_start and request.period_end:
            if request.period_end < request.period_start:
                errors["period_end"] = ["The period ends before it starts."]
            elif request.period_start > today:
                errors["period_start"] = ["The period is in the future."]
            elif request.period_end > today:
                errors["period_end"] = ["The period ends in the future."]
    else:
        if request.event is None:
            errors["event"] = ["An event report needs event."]
        elif request.event.campaign_id != request.campaign.pk:
            errors["event"] = [f"The event {request.event.slug} is not part of {request.campaign.slug}."]
        if request.period_start or request.period_end:
            errors["period_start"] = ["An event report has no period."]
    unknown = sorted(set(request.languages) - set(REPORT_LANGUAGES))
    if unknown or not request.languages:
        errors["languages"] = [
            f"Use some of {', '.join(REPORT_LANGUAGES)}" + (f"; unknown: {', '.join(unknown)}." if unknown else ".")
        ]
    if request.as_of is not None and request.as_of > now:
        errors["as_of"] = ["as_of is in the future."]
    return errors


def _default_as_of(request: ReportRequest, now: datetime) -> datetime:
    """The end of the period (the start of the next day, minus a microsecond)
    when it is over, else now: a report of a past week stays the same
    whenever it is built."""
    if request.as_of is not None:
        return request.as_of
    if request.kind == ReportKind.PERIOD:
        end = timezone.make_aware(datetime.combine(request.period_end + timedelta(days=1), dtime.min)) - timedelta(
            microseconds=1
        )
        return min(end, now)
    return now


def report_request(request: ReportRequest, *, actor: Actor) -> tuple[Report, bool]:
    """The report for this period (or event) and kind: the existing one, or
    a new one queued for building. Concurrent requests for the same report
    get the same row (unique key; the loser of the insert reads the
    winner's). A failed report is queued again. A correction (`replaces`, a
    published report) is a new report; one correction per report.

    Returns (report, queued): queued when a build task should be sent.
    """
    now = timezone.now()
    errors = report_request_errors(request, now=now)
    if errors:
        raise InvalidInput(errors)
    key = report_key(
        campaign=request.campaign,
        kind=request.kind,
        period_start=request.period_start,
        period_end=request.period_end,
        event=request.event,
    )
    if request.replaces is not None:
        if request.replaces.key != key:
            raise InvalidInput({"replaces": ["A correction covers the same campaign, kind and period or event."]})
        if not request.replaces.is_published:
            raise TransitionNotAllowed("Only a published report is corrected; a draft can simply be rebuilt.")
    lookup = {"replaces": request.replaces} if request.replaces is not None else {"key": key, "replaces__isnull": True}
    user = actor.user if actor.user is not None and actor.user.is_authenticated else None

    with transaction.atomic():
        report = Report.objects.select_for_update().filter(**lookup).first()
        created = False
        if report is None:
            try:
                with transaction.atomic():
                    report = Report.objects.create(
                        campaign=request.campaign,
                        kind=request.kind,
                        period_start=request.period_start,
                        period_end=request.period_end,
                        event=request.event,
                        key=key,
                        as_of=_default_as_of(request, now),
                        languages=[code for code in REPORT_LANGUAGES if code in request.languages],
                        replaces=request.replaces,
                        correction_note=request.correction_note,
                        requested_by=user,
                    )
                    created = True
            except IntegrityError:
                report = Report.objects.select_for_update().get(**lookup)
        queued = created
        if not created and (report.status == ReportStatus.FAILED or report_is_stuck(report)):
            report.status = ReportStatus.QUEUED
            report.save(update_fields=["status"])
            queued = True
        if created:
            audit_record(actor=actor, action="report.requested", obj=report, new={"key": key, "as_of": report.as_of})
    return report, queued


def report_request_and_queue(request: ReportRequest, *, actor: Actor) -> Report:
    """report_request, then the build task sent once the row is committed."""
    from reports import tasks

    with transaction.atomic():
        report, queued = report_request(request, actor=actor)
        if queued:
            tasks.report_build.delay_durable(report.pk)
    return report


def report_is_stuck(report: Report) -> bool:
    """Running for longer than a build may: its worker died mid-build."""
    stale = timezone.now() - timedelta(seconds=settings.REPORTS_BUILD_TIME_LIMIT)
    return report.status == ReportStatus.RUNNING and (report.started_at is None or report.started_at <= stale)


def reports_stuck_requeue() -> int:
    """Queue again every build left running past its time limit; how many."""
    from reports import tasks

    stale = timezone.now() - timedelta(seconds=settings.REPORTS_BUILD_TIME_LIMIT)
    requeued = 0
    for pk in Report.objects.filter(status=ReportStatus.RUNNING, started_at__lte=stale).values_list("pk", flat=True):
        with transaction.atomic():
            report = Report.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if report is None or not report_is_stuck(report):
                continue
            report.status = ReportStatus.QUEUED
            report.error = "Requeued: the build was still running past its time limit."
            report.save(update_fields=["status", "error"])
            tasks.report_build.delay_durable(report.pk)
            requeued += 1
    return requeued


def _claim(report_id: int) -> Report | None:
    """Mark the report running, under a row lock: None when another worker
    has it (running, not stale) or it is already built."""
    stale = timezone.now() - timedelta(seconds=settings.REPORTS_BUILD_TIME_LIMIT)
    with transaction.atomic():
        report = Report.objects.select_for_update(of=("self",)).select_related("campaign", "event").get(pk=report_id)
        if report.status == ReportStatus.DONE:
            return None
        if report.status == ReportStatus.RUNNING and report.started_at and report.started_at > stale:
            return None
        report.status = ReportStatus.RUNNING
        report.started_at = timezone.now()
        report.attempts += 1
        report.error = ""
        report.save(update_fields=["status", "started_at", "attempts", "error"])
    return report


def report_documents(report: Report, figures: dict | None = None) -> dict[str, tuple[str, str, bytes]]:
    """Every file of the report: name -> (language, format, content)."""
    figures = figures if figures is not None else report_figures(report)
    stem = f"report-{report.pk}"
    documents = {f"{stem}.json": ("", ReportFormat.JSON, render.render_json(figures))}
    for language in report.languages:
        documents[f"{stem}-{language}.csv"] = (language, ReportFormat.CSV, render.render_csv(figures, language))
    # The pages list the data files' digests in their colophon.
    checksums = {name: hashlib.sha256(content).hexdigest() for name, (_lang, _fmt, content) in documents.items()}
    for language in report.languages:
        html = render.render_html(figures, language, checksums)
        documents[f"{stem}-{language}.html"] = (language, ReportFormat.HTML, html)
        documents[f"{stem}-{language}.pdf"] = (language, ReportFormat.PDF, render.render_pdf(html))
    return documents


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except Exception:
            logger.exception("Could not delete %s", path)


def report_build(report_id: int) -> str:
    """Build a queued report's files, store them and record their SHA-256.

    Idempotent: a report already built, or being built by another worker,
    is left alone. A failure deletes whatever was written, records the
    error and re-raises (the task decides whether to retry).
    """
    report = _claim(report_id)
    if report is None:
        return "skipped"
    started = time.monotonic()
    written: list[str] = []
    try:
        figures = report_figures(report)
        rows = []
        for name, (language, fmt, content) in report_documents(report, figures).items():
            path = f"reports/{report.pk}/{name}"
            if default_storage.exists(path):  # left by a crashed attempt
                default_storage.delete(path)
            stored = default_storage.save(path, ContentFile(content))
            written.append(stored)
            rows.append(
                ReportFile(
                    report=report,
                    language=language,
                    format=fmt,
                    name=name,
                    path=stored,
                    sha256=hashlib.sha256(content).hexdigest(),
                    size=len(content),
                )
            )
        with transaction.atomic():
            locked = Report.objects.select_for_update().get(pk=report.pk)
            locked.files.all().delete()
            ReportFile.objects.bulk_create(rows)
            locked.figures = figures
            locked.status = ReportStatus.DONE
            locked.finished_at = timezone.now()
            locked.build_seconds = round(time.monotonic() - started, 3)
            locked.save(update_fields=["figures", "status", "finished_at", "build_seconds"])
    except BaseException as error:
        _delete_files(written)
        report_fail(report_id, f"{type(error).__name__}: {error}")
        raise
    return "done"


def report_fail(report_id: int, error: str, *, status: str = ReportStatus.FAILED) -> None:
    Report.objects.filter(pk=report_id).exclude(status=ReportStatus.DONE).update(
        status=status, error=error[:4000], finished_at=timezone.now()
    )


def report_publish(report: Report, *, actor: Actor) -> Report:
    """Make a built report's files public. Publishing twice is a no-op."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.is_published:
            return report
        if report.status != ReportStatus.DONE:
            raise ReportNotReady(f"The report is {report.status}; only a built report can be published.")
        report.published_at = timezone.now()
        report.published_by = actor.user if actor.user is not None and actor.user.is_authenticated else None
        report.save(update_fields=["published_at", "published_by"])
        audit_record(actor=actor, action="report.published", obj=report, new={"key": report.key})
    return report


def last_complete_week(today: date | None = None) -> tuple[date, date]:
    """The last Monday-to-Sunday week that is over."""
    today = today or timezone.localdate()
    end = today - timedelta(days=today.isoweekday())
    return end - timedelta(days=6), end


def weekly_report_request(today: date | None = None) -> int:
    """What beat runs: the report of the last complete week of the default
    campaign (requested once, however often beat fires)."""
    start, end = last_complete_week(today)
    campaign = Campaign.objects.get(slug=settings.DEFAULT_CAMPAIGN_SLUG)
    report = report_request_and_queue(
        ReportRequest(campaign=campaign, kind=ReportKind.PERIOD, period_start=start, period_end=end),
        actor=Actor.task("reports_weekly"),
    )
    return report.pk
