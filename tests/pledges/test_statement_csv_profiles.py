"""Banks' CSV exports as they come: header names in five languages read
without a profile where they are unambiguous, a saved profile for the rest
(title lines, day-first dates, decimal commas, no header at all), a preview
that stores nothing, and the next export of the same bank imported with no
editing."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pledges.models import AuditEvent, CsvProfile, LineStatus, PledgeStatus, StatementLine
from tests.helpers import problem
from tests.statements import FIXTURES, confirmed_pledge, nothing_stored

pytestmark = pytest.mark.django_db

PROFILES = "/api/v1/csv-profiles/"
PREVIEW = "/api/v1/statements/preview/"


def fixture(name: str, reference: str = "RF18539007547034") -> bytes:
    return (FIXTURES / name).read_bytes().replace(b"{RF}", reference.encode())


@pytest.fixture
def reconciling(client_for, reconciler):
    return client_for(reconciler)


@pytest.mark.parametrize(
    ("header", "row"),
    [
        (
            "Buchungstag;Wertstellung;Betrag;Währung;Auftraggeber;Verwendungszweck",
            "05.11.2024;05.11.2024;1.250,00;EUR;Stadt Bern;{RF}",
        ),
        (
            "Date d'opération;Date de valeur;Montant;Devise;Donneur d'ordre;Libellé",
            "2024-11-05;2024-11-05;1250,00;EUR;Ville de Genève;{RF}",
        ),
        (
            "Fecha contable;Fecha valor;Importe;Divisa;Ordenante;Concepto",
            "05.11.2024;05.11.2024;1.250,00;EUR;Ayuntamiento;{RF}",
        ),
        (
            "Boekdatum;Valutadatum;Bedrag;Munt;Tegenrekeninghouder;Omschrijving",
            "20241105;20241105;1250,00;EUR;Gemeente;{RF}",
        ),
        (
            "Booking Date,Value Date,Amount,Currency,Payer,Details",
            "2024-11-05,2024-11-05,1250.00,EUR,City of Oslo,{RF}",
        ),
    ],
    ids=["de", "fr", "es", "nl", "en"],
)
def test_header_names_in_five_languages_are_recognised_without_a_profile(statement_upload, header, row):
    pledge = confirmed_pledge("1250.00", "EUR")
    data = f"{header}\r\n{row.replace('{RF}', pledge.reference)}\r\n".encode()

    response = statement_upload(data, "export.csv")

    assert response.status_code == 201, response.content
    line = StatementLine.objects.get()
    assert (line.amount, line.currency, str(line.booking_date)) == (Decimal("1250.00"), "EUR", "2024-11-05")
    assert line.bank_reference.startswith("csv:")  # the bank gave none: a digest of the row
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID


def test_a_header_that_could_be_read_two_ways_is_refused_naming_both_columns(statement_upload):
    data = b"Buchungstag;Booking date;Betrag;Currency\r\n05.11.2024;05.11.2024;1,00;EUR\r\n"

    body = problem(statement_upload(data, "two-dates.csv"), 400, "invalid-input")

    assert "'Buchungstag' and 'Booking date' could both be booking_date" in body["errors"]["file"][0]
    assert "save a CSV profile" in body["errors"]["file"][0]


def test_a_currency_in_the_amount_column_name_is_used(statement_upload):
    data = (
        b'"Datum","Naam / Omschrijving","Af Bij","Bedrag (EUR)","Mededelingen"\r\n'
        b'"20241105","Gemeente","Bij","12,50","Gift"\r\n"20241105","Bank","Af","1,25","Kosten"\r\n'
    )

    response = statement_upload(data, "ing.csv")

    assert response.status_code == 201, response.content
    gift, fee = StatementLine.objects.order_by("position")
    assert (gift.direction, gift.amount, gift.currency, gift.debtor_name) == (
        "credit",
        Decimal("12.50"),
        "EUR",
        "Gemeente",
    )
    assert (fee.direction, fee.status) == ("debit", LineStatus.EXCLUDED)


def test_a_preview_shows_the_lines_as_they_will_be_read_and_stores_nothing(reconciling):
    data = fixture("csv_dutch_title_line.csv")

    response = reconciling.post(
        PREVIEW, {"file": SimpleUploadedFile("knab.csv", data), "date_order": "DMY"}, format="multipart"
    )

    assert response.status_code == 200, response.content
    preview = response.json()
    assert preview["file_format"] == "csv" and preview["file_error"] == ""
    assert preview["columns"]["booking_date"] == "Boekdatum"  # the specific name wins over Transactiedatum
    assert preview["columns"]["direction"] == "CreditDebet"
    assert [(line["direction"], line["amount"]) for line in preview["lines"]] == [
        ("credit", "1250.00"),
        ("debit", "7.50"),
        ("credit", "0.00"),
    ]
    assert nothing_stored()


def test_a_saved_profile_imports_the_banks_next_export_unchanged(reconciling, statement_upload):
    profile = reconciling.post(
        PROFILES,
        {
            "name": "Knab, transactieoverzicht",
            "skip_lines": 1,
            "columns": {
                "booking_date": "Boekdatum",
                "value_date": "Valutadatum",
                "amount": "Bedrag",
                "currency": "Valutacode",
                "direction": "CreditDebet",
                "debtor_name": "Tegenrekeninghouder",
                "remittance": "Omschrijving",
                "bank_reference": "Referentie",
            },
            "date_order": "DMY",
            "decimal_separator": ",",
        },
        format="json",
    )
    assert profile.status_code == 201, profile.content
    assert AuditEvent.objects.filter(action="statement.csv_profile.created").count() == 1
    pledge = confirmed_pledge("1250.00", "EUR", donor="Gemeente Utrecht")

    response = statement_upload(
        fixture("csv_dutch_title_line.csv", pledge.reference), "knab-nov.csv", profile="Knab, transactieoverzicht"
    )

    assert response.status_code == 201, response.content
    gift, fee, zero = StatementLine.objects.order_by("position")
    assert (gift.bank_reference, gift.amount, gift.debtor_name) == (
        "B4K05XM00J000001",
        Decimal("1250.00"),
        "Gemeente Utrecht",
    )
    assert (fee.status, zero.status, zero.note) == (
        LineStatus.EXCLUDED,
        LineStatus.EXCLUDED,
        "A zero amount: no money moved.",
    )
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID


def test_a_file_without_a_header_imports_through_a_profile_of_column_numbers(reconciling, statement_upload):
    columns = {
        "booking_date": 12,
        "value_date": 13,
        "currency": 10,
        "amount": 11,
        "debtor_name": 4,
        "bank_reference": 16,
        "remittance": 18,
    }
    made = reconciling.post(
        PROFILES,
        {"name": "ASN", "has_header": False, "columns": columns, "date_order": "DMY", "decimal_separator": "."},
        format="json",
    )
    assert made.status_code == 201, made.content
    pledge = confirmed_pledge("250.00", "EUR", donor="Stichting Hulp")

    response = statement_upload(
        fixture("csv_headerless.csv", pledge.reference), "asn.csv", profile=str(made.json()["id"])
    )

    assert response.status_code == 201, response.content
    gift, fee = StatementLine.objects.order_by("position")
    assert (gift.bank_reference, gift.amount, gift.direction) == ("51392971", Decimal("250.00"), "credit")
    assert gift.remittance == f"'Gift {pledge.reference}'"
    assert (fee.direction, fee.amount) == ("debit", Decimal("2.20"))
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID


def test_a_profile_that_cannot_be_used_is_refused_naming_each_field(reconciling):
    response = reconciling.post(
        PROFILES,
        {
            "name": "Broken",
            "has_header": False,
            "columns": {"amount": "Bedrag", "colour": 3},
            "sign": "guess",
            "currency": "EUX",
        },
        format="json",
    )

    body = problem(response, 400, "invalid-input")
    assert sorted(body["errors"]) == ["columns", "currency", "sign"]
    assert not CsvProfile.objects.exists()


def test_the_direction_column_can_decide_when_the_bank_signs_amounts_both_ways(reconciling, statement_upload):
    reconciling.post(
        PROFILES,
        {"name": "Signs both ways", "sign": "direction", "date_order": "MDY", "currency": "USD"},
        format="json",
    )
    data = (
        b'"Date","Label","Amount","D/C","Partner Name"\r\n'
        b'"12/15/2024","Supplier","33.50","D","A"\r\n"12/15/2024","Gift","-1,533.50","C","B"\r\n'
    )

    response = statement_upload(data, "dc.csv", profile="Signs both ways")

    assert response.status_code == 201, response.content
    lines = list(StatementLine.objects.order_by("position").values_list("direction", "amount", "currency"))
    assert lines == [("debit", Decimal("33.50"), "USD"), ("credit", Decimal("1533.50"), "USD")]


def test_viewers_read_profiles_but_only_reconcilers_make_them(client_for, viewer):
    response = client_for(viewer).post(PROFILES, {"name": "x"}, format="json")

    assert response.status_code == 403
    assert client_for(viewer).get(PROFILES).status_code == 200
