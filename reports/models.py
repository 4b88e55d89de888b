"""Visibility reports: a period's or an event's figures, built as of a
stated moment into HTML, PDF, CSV and JSON files in the six UN languages.

A report is a draft until a fund admin publishes it; a published report
never changes. A correction is a new report that `replaces` it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pledges.models import Campaign, Event

# The six official languages of the United Nations, as Django names them.
REPORT_LANGUAGES = ("ar", "zh-hans", "en", "fr", "ru", "es")


class ReportKind(models.TextChoices):
    PERIOD = "period", "Period"
    EVENT = "event", "Event"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ReportFormat(models.TextChoices):
    HTML = "html", "HTML"
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"
    JSON = "json", "JSON"


CONTENT_TYPES: dict[str, str] = {
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.JSON: "application/json",
}


def report_key(*, campaign: Campaign, kind: str, period_start=None, period_end=None, event: Event | None = None) -> str:
    """What makes two requests the same report: one original per key."""
    if kind == ReportKind.EVENT:
        assert event is not None, "an event report names its event"
        return f"event:{campaign.slug}:{event.slug}"
    return f"period:{campaign.slug}:{period_start.isoformat()}:{period_end.isoformat()}"


class Report(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, null=True, blank=True, related_name="reports")
    key = models.CharField(max_length=200, editable=False, help_text="kind, campaign and period or event")
    as_of = models.DateTimeField(help_text="The figures are those of the data as it stood at this moment")
    languages = models.JSONField(default=list)

    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    build_seconds = models.FloatField(null=True, blank=True)
    # The build's progress: the languages whose page and PDF are stored.
    languages_built = models.JSONField(default=list, blank=True)
    figures = models.JSONField(null=True, blank=True, help_text="The figures the files were built from")

    replaces = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by")
    correction_note = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["published_at"])]
        constraints = [
            # One report per period (or event) and kind; a correction is the
            # only other report with the same key, and each report has at
            # most one correction (replaces is one-to-one).
            models.UniqueConstraint(fields=["key"], condition=Q(replaces__isnull=True), name="report_one_per_key"),
            models.CheckConstraint(
                condition=(
                    Q(kind="period", period_start__isnull=False, period_end__isnull=False, event__isnull=True)
                    | Q(kind="event", event__isnull=False)
                ),
                name="report_kind_fields",
            ),
            models.CheckConstraint(
                condition=Q(period_end__isnull=True) | Q(period_end__gte=models.F("period_start")),
                name="report_period_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Report {self.pk} {self.key}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ReportFile(models.Model):
    """One built file, stored through Django's storage API at `path`."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="files")
    language = models.CharField(max_length=8, blank=True, help_text="Empty for language-neutral files (JSON)")
    format = models.CharField(max_length=8, choices=ReportFormat.choices)
    name = models.CharField(max_length=100)
    path = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["report", "format", "language"]
        constraints = [models.UniqueConstraint(fields=["report", "name"], name="report_file_name_unique")]

    def __str__(self) -> str:
        return self.path

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]
