"""Render sample pages of the reports for the README: the event report of
the 3 April 2012 dialogue, as of the end of 2014 (where the demo data's
story ends), in English and Arabic, as PDF pages turned into PNG with
pdftoppm. Needs the demo data (`make report-samples` loads it).

The report is built in memory (nothing is stored or queued), so running
this changes nothing in the database."""

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pledges.models import Campaign, Event, Pledge
from reports import render
from reports.figures import report_figures
from reports.models import Report, ReportKind

AS_OF = datetime(2014, 12, 31, 23, 59, 59, tzinfo=UTC)


class Command(BaseCommand):
    help = "Write PNG pages of the demo event report (English and Arabic) for the README."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "docs" / "reports"))
        parser.add_argument("--pages", default="2,4", help="Page numbers to write, e.g. 2,4")
        parser.add_argument("--dpi", type=int, default=72)
        parser.add_argument("--languages", default="en,ar")

    def handle(self, *args, **options) -> None:
        if shutil.which("pdftoppm") is None:
            raise CommandError("pdftoppm is missing: install poppler-utils (apt-get install poppler-utils).")
        event = Event.objects.get(slug="ga-dialogue-2012")
        if not Pledge.objects.filter(session__event=event).exists():
            raise CommandError("No pledges at the event: load the demo data first (manage.py demo_data).")
        report = Report(
            campaign=Campaign.objects.get(pk=event.campaign_id), kind=ReportKind.EVENT, event=event, as_of=AS_OF
        )
        figures = report_figures(report)
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        pages = [int(page) for page in options["pages"].split(",")]
        for language in options["languages"].split(","):
            pdf = render.render_pdf(render.render_html(figures, language))
            with tempfile.TemporaryDirectory() as folder:
                source = Path(folder) / "report.pdf"
                source.write_bytes(pdf)
                for page in pages:
                    target = out / f"event-report-{language}-page-{page}"
                    subprocess.run(  # noqa: S603 (our own arguments)
                        ["pdftoppm", "-png", "-r", str(options["dpi"]), "-f", str(page), "-l", str(page),  # noqa: S607
                         "-singlefile", str(source), str(target)],
                        check=True,
                    )  # fmt: skip
                    self.stdout.write(f"wrote {target}.png")
