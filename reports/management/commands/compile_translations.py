"""Compile the reports' gettext catalogues (.po) into .mo files with Babel,
in pure Python: `make run` needs no GNU gettext. The .mo files are build
output (not committed); `make venv` runs this."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile the gettext catalogues under LOCALE_PATHS into .mo files (Babel; no GNU gettext needed)."

    def handle(self, *args, **options):
        count = 0
        for root in settings.LOCALE_PATHS:
            for po_path in sorted(Path(root).glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                with po_path.open("rb") as po_file:
                    catalog = read_po(po_file)
                with mo_path.open("wb") as mo_file:
                    write_mo(mo_file, catalog, use_fuzzy=False)
                count += 1
                self.stdout.write(f"compiled {mo_path.relative_to(settings.BASE_DIR)}")
        self.stdout.write(f"{count} catalogue(s) compiled")
