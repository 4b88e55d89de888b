"""reports 0001_reports to 0003_i15d_report_languages_built in one migration
(see pledges 0001_squashed_0020: every installation of the release at 455be84
has applied all three).

The schema is Django's own; after it, the weekly report as a
django-celery-beat entry, so staff can change its schedule (or switch it off)
in the admin.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

TASK_NAME = "reports-weekly"


def weekly_schedule_create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Mondays at 03:00 UTC: the report of the week that ended on Sunday.
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="1", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "reports.tasks.reports_weekly",
            "crontab": schedule,
            "description": "Request the report of the last complete week (Monday to Sunday) of the default campaign.",
        },
    )


def weekly_schedule_remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    initial = True

    replaces = [
        ("reports", "0001_reports"),
        ("reports", "0002_weekly_schedule"),
        ("reports", "0003_i15d_report_languages_built"),
    ]

    dependencies = [
        ("pledges", "0001_squashed_0020"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="Report",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("period", "Period"), ("event", "Event")], max_length=16)),
                ("period_start", models.DateField(blank=True, null=True)),
                ("period_end", models.DateField(blank=True, null=True)),
                (
                    "key",
                    models.CharField(editable=False, help_text="kind, campaign and period or event", max_length=200),
                ),
                (
                    "as_of",
                    models.DateTimeField(help_text="The figures are those of the data as it stood at this moment"),
                ),
                ("languages", models.JSONField(default=list)),
                (
                    "status",
                    models.CharField(
                        choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("error", models.TextField(blank=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("build_seconds", models.FloatField(blank=True, null=True)),
                ("figures", models.JSONField(blank=True, help_text="The figures the files were built from", null=True)),
                ("correction_note", models.TextField(blank=True)),
                ("published_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="reports", to="pledges.campaign"
                    ),
                ),
                (
                    "event",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reports",
                        to="pledges.event",
                    ),
                ),
                (
                    "published_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "replaces",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="replaced_by",
                        to="reports.report",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("languages_built", models.JSONField(blank=True, default=list)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="ReportFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "language",
                    models.CharField(blank=True, help_text="Empty for language-neutral files (JSON)", max_length=8),
                ),
                (
                    "format",
                    models.CharField(
                        choices=[("html", "HTML"), ("pdf", "PDF"), ("csv", "CSV"), ("json", "JSON")], max_length=8
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("path", models.CharField(max_length=300)),
                ("sha256", models.CharField(max_length=64)),
                ("size", models.PositiveBigIntegerField()),
                (
                    "report",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="files", to="reports.report"
                    ),
                ),
            ],
            options={
                "ordering": ["report", "format", "language"],
            },
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(fields=["published_at"], name="reports_rep_publish_363f92_idx"),
        ),
        migrations.AddConstraint(
            model_name="report",
            constraint=models.UniqueConstraint(
                condition=models.Q(("replaces__isnull", True)), fields=("key",), name="report_one_per_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="report",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("event__isnull", True),
                        ("kind", "period"),
                        ("period_end__isnull", False),
                        ("period_start__isnull", False),
                    ),
                    models.Q(("event__isnull", False), ("kind", "event")),
                    _connector="OR",
                ),
                name="report_kind_fields",
            ),
        ),
        migrations.AddConstraint(
            model_name="report",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("period_end__isnull", True), ("period_end__gte", models.F("period_start")), _connector="OR"
                ),
                name="report_period_ends_after_start",
            ),
        ),
        migrations.AddConstraint(
            model_name="reportfile",
            constraint=models.UniqueConstraint(fields=("report", "name"), name="report_file_name_unique"),
        ),
        migrations.RunPython(weekly_schedule_create, weekly_schedule_remove),
    ]
