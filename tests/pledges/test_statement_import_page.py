"""The staff page to import a statement, in the admin, used as a reconciler
would: choose the file, preview it, make a CSV profile from its header,
import, and read what came of it; nothing is stored before the import."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from pledges.models import BankStatement, CsvProfile, PledgeStatus, StatementLine
from tests.statements import FIXTURES, Entry, camt053, confirmed_pledge, nothing_stored

pytestmark = pytest.mark.django_db

PAGE = "/admin/pledges/bankstatement/import/"


def staff(role: str) -> User:
    user = User.objects.create_user(f"page-{role}", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def page(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff("reconciler"))
    return client


def pending_token(html: str) -> str:
    return re.search(r'name="pending" value="([^"]+)"', html).group(1)


def test_a_reconciler_previews_then_imports_and_sees_the_outcome(page, django_capture_on_commit_callbacks):
    pledge = confirmed_pledge("1000.00")
    data = camt053([Entry("1000.00", reference=pledge.reference), Entry("30.00"), Entry("5.00", debit=True)])

    preview = page.post(PAGE, {"file": SimpleUploadedFile("nov.xml", data), "preview": "Preview"})

    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Preview: camt053" in html and "1000.00" in html and "Import this file" in html
    assert nothing_stored()

    with django_capture_on_commit_callbacks(execute=True):
        imported = page.post(PAGE, {"pending": pending_token(html), "filename": "nov.xml", "import": "Import"})
    done = page.get(imported["Location"])

    assert imported.status_code == 302 and done.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", done.content.decode()))
    statement = BankStatement.objects.get()
    # lines read, matched, proposed, left for review, excluded, already imported
    assert f"{statement.statement_id} CH9300762011623852957 Statement (end of day) 3 1 0 1 1 0" in text
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID


def test_a_csv_profile_is_made_from_the_files_header_and_the_preview_uses_it(page):
    data = (FIXTURES / "csv_dutch_title_line.csv").read_bytes()
    first = page.post(PAGE, {"file": SimpleUploadedFile("knab.csv", data), "preview": "Preview"})
    html = first.content.decode()
    assert "a date with slashes can be day/month/year" in html  # read without a profile: dates are ambiguous

    saved = page.post(
        PAGE,
        {
            "pending": pending_token(html),
            "filename": "knab.csv",
            "save_profile": "Save",
            "p-profile_name": "Knab export",
            "p-column_booking_date": "Boekdatum",
            "p-column_amount": "Bedrag",
            "p-column_currency": "Valutacode",
            "p-column_direction": "CreditDebet",
            "p-column_bank_reference": "Referentie",
            "p-column_debtor_name": "Tegenrekeninghouder",
            "p-profile_date_order": "DMY",
            "p-profile_decimal_separator": ",",
            "p-profile_sign": "amount",
            "p-profile_skip_lines": "1",
            "p-profile_encoding": "auto",
        },
    )

    assert saved.status_code == 200, saved.content.decode()[:2000]
    profile = CsvProfile.objects.get(name="Knab export")
    assert profile.columns["booking_date"] == "Boekdatum" and profile.date_order == "DMY"
    html = saved.content.decode()
    assert "Import this file" in html and "B4K05XM00J000001" in html and "1250.00" in html
    assert "Save how this bank writes its CSV" not in html  # the profile is chosen now
    assert not StatementLine.objects.exists()


def test_a_file_that_cannot_be_read_is_explained_on_the_page(page):
    response = page.post(PAGE, {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.7 not a statement"), "preview": "Preview"})

    html = response.content.decode()
    assert "The file cannot be imported:" in html and "lacks the column(s)" in html
    assert "Import this file" not in html


def test_a_viewer_cannot_import(client):
    client.force_login(staff("viewer"))

    response = client.get(PAGE)

    assert response.status_code == 403
    assert "needs the reconciler role" in response.content.decode()
