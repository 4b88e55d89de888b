"""Requesting, building and publishing reports. Everything that writes a
report lives here; tasks and views call these. This module never imports
reports.tasks (which imports it): builds are queued by task name through
the outbox."""

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import InvalidInput, ReportNotReady, TransitionNotAllowed
from pledges.models import Campaign, Event
from pledges.outbox import task_enqueue
from reports import render
from reports.figures import report_figures
from reports.models import REPORT_LANGUAGES, Report, ReportFile, ReportFormat, ReportKind, ReportStatus, report_key

logger = logging.getLogger(__name__)

# The build task's registered name (in reports/tasks.py), queued by name so
# that the services need not import the tasks.
REPORT_BUILD_TASK = "reports.tasks.report_build"


def _build_queue(report_id: int) -> None:
    """Queue the build with the current transaction, by name through the
    outbox (`task_enqueue` finds the task even in a web process that has
    imported no task module)."""
    task_enqueue(REPORT_BUILD_TASK, report_id)


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
        assert request.period_end is not None, "checked by report_request_errors"
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
    user = actor.user_to_store

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
    with transaction.atomic():
        report, queued = report_request(request, actor=actor)
        if queued:
            _build_queue(report.pk)
    return report


def report_is_stuck(report: Report) -> bool:
    """Running for longer than a build may: its worker died mid-build."""
    stale = timezone.now() - timedelta(seconds=settings.REPORTS_BUILD_TIME_LIMIT)
    return report.status == ReportStatus.RUNNING and (report.started_at is None or report.started_at <= stale)


def reports_stuck_requeue() -> int:
    """Queue again every build left running past its time limit; how many."""
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
            _build_queue(report.pk)
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
        report.languages_built = []
        report.save(update_fields=["status", "started_at", "attempts", "error", "languages_built"])
    return report


@dataclass(frozen=True)
class ReportDocument:
    """One file of a report: its content in memory, or in a file (a PDF)."""

    name: str
    language: str
    format: str
    content: bytes | Path

    def read(self) -> bytes:
        return self.content.read_bytes() if isinstance(self.content, Path) else self.content


def _report_files(report: Report, figures: dict, directory: Path) -> Iterator[ReportDocument]:
    """Every file of the report, one at a time: the JSON and the CSVs, then
    each language's page and PDF as soon as its process has rendered them
    (the PDFs written into `directory`)."""
    stem = f"report-{report.pk}"
    data: list[tuple[str, str, str, Callable[[], bytes]]] = [
        (f"{stem}.json", "", ReportFormat.JSON, lambda: render.render_json(figures))
    ]
    for language in report.languages:
        data.append(
            (
                f"{stem}-{language}.csv",
                language,
                ReportFormat.CSV,
                partial(render.render_csv, figures, language),
            )
        )
    # The pages list the data files' digests in their colophon.
    checksums: dict[str, str] = {}
    for name, language, fmt, build in data:
        content = build()
        checksums[name] = hashlib.sha256(content).hexdigest()
        yield ReportDocument(name, language, fmt, content)
    processes = render.page_processes(len(report.languages))
    with closing(render.render_pages(figures, report.languages, checksums, directory, processes=processes)) as pages:
        for page in pages:
            yield ReportDocument(f"{stem}-{page.language}.html", page.language, ReportFormat.HTML, page.html)
            yield ReportDocument(f"{stem}-{page.language}.pdf", page.language, ReportFormat.PDF, page.pdf)


def _file_order(report: Report) -> Callable[[ReportDocument | ReportFile], tuple]:
    """The files in one order, whichever page process finishes first: the
    JSON, the CSVs, then each language's page and PDF."""
    languages = {language: index for index, language in enumerate(report.languages)}
    formats: list[str] = [ReportFormat.JSON, ReportFormat.CSV, ReportFormat.HTML, ReportFormat.PDF]
    return lambda file: (
        min(formats.index(file.format), 2),
        languages.get(file.language, -1),
        formats.index(file.format),
    )


def report_documents(report: Report, figures: dict | None = None) -> dict[str, tuple[str, str, bytes]]:
    """Every file of the report in memory: name -> (language, format, content)."""
    figures = figures if figures is not None else report_figures(report)
    with tempfile.TemporaryDirectory(prefix=f"report-{report.pk}-") as directory:
        documents = sorted(_report_files(report, figures, Path(directory)), key=_file_order(report))
        return {document.name: (document.language, document.format, document.read()) for document in documents}


def _store(report: Report, document: ReportDocument) -> ReportFile:
    """Write one file to the storage (a PDF streamed from its file) and
    return its row, not saved yet."""
    path = f"reports/{report.pk}/{document.name}"
    if default_storage.exists(path):  # left by a crashed attempt
        default_storage.delete(path)
    digest = hashlib.sha256()
    if isinstance(document.content, Path):
        with document.content.open("rb") as pdf:
            for chunk in iter(lambda: pdf.read(2**20), b""):
                digest.update(chunk)
            pdf.seek(0)
            stored = default_storage.save(path, File(pdf, name=document.name))
        size = document.content.stat().st_size
    else:
        digest.update(document.content)
        stored = default_storage.save(path, ContentFile(document.content))
        size = len(document.content)
    return ReportFile(
        report=report,
        language=document.language,
        format=document.format,
        name=document.name,
        path=stored,
        sha256=digest.hexdigest(),
        size=size,
    )


def _language_built(report: Report, language: str) -> None:
    """A language's page and PDF are stored: the build's progress, for
    whoever polls the report while it runs."""
    report.languages_built = [code for code in report.languages if code in {*report.languages_built, language}]
    Report.objects.filter(pk=report.pk).update(languages_built=report.languages_built)


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except Exception:
            logger.exception("Could not delete %s", path)


def report_build(report_id: int) -> str:
    """Build a queued report's files, store them and record their SHA-256.

    The figures are computed once and shared by every language. The pages
    of the languages are rendered in parallel processes
    (render.render_pages) and stored as each is done; `languages_built`
    then says how far the build has come.

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
        with tempfile.TemporaryDirectory(prefix=f"report-{report.pk}-") as directory:
            for document in _report_files(report, figures, Path(directory)):
                row = _store(report, document)
                written.append(row.path)
                rows.append(row)
                if document.format == ReportFormat.PDF:
                    _language_built(report, document.language)
        rows.sort(key=_file_order(report))
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
        report.published_by = actor.user_to_store
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
