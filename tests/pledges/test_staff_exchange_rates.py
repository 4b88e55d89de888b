"""Fund admins enter the UN operational rates (currency units per USD), one
by one or from a CSV file. A rate that arrives computes the USD values that
waited for it; a confirmed pledge's fixed value never moves."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from pledges.models import AuditEvent, ExchangeRate, Payment, Pledge, PledgeStatus
from tests.conftest import pledge_body
from tests.factories import ExchangeRateFactory, PledgeFactory
from tests.helpers import PROBLEM, bank_payment_body, days_ago, today

pytestmark = pytest.mark.django_db

URL = "/api/v1/exchange-rates/"
IMPORT_URL = "/api/v1/exchange-rates/import/"


def set_rate(client, currency: str, rate: str, valid_from: date):
    return client.post(URL, {"currency": currency, "rate": rate, "valid_from": str(valid_from)}, format="json")


def upload(client, content: bytes, name: str = "rates.csv"):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content, "text/csv")}, format="multipart")


def refused(response, field: str) -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:vtf-pledges:problem:invalid-input"
    assert field in body["errors"], body
    return body


def submitted(client_for, currency: str, amount: str) -> Pledge:
    response = client_for(None).post(
        "/api/v1/pledges/", pledge_body(currency=currency, amount=amount, instalments=[]), format="json"
    )
    assert response.status_code == 201, response.content
    return Pledge.objects.get(reference=response.json()["reference"])


# --- one rate at a time ---------------------------------------------------------------


def test_a_new_rate_is_added_and_audited(admin, fund_admin):
    response = set_rate(admin, "EUR", "0.8512", days_ago(3))

    assert response.status_code == 201
    body = response.json()
    assert (body["currency"], Decimal(body["rate"]), body["valid_from"]) == ("EUR", Decimal("0.8512"), str(days_ago(3)))
    row = ExchangeRate.objects.get()
    assert (row.currency, row.rate, row.valid_from) == ("EUR", Decimal("0.8512"), days_ago(3))
    event = AuditEvent.objects.get(action="exchange_rate.added")
    assert (event.object_type, event.object_id, event.actor_user) == ("exchangerate", str(row.pk), fund_admin)
    assert event.new_values == {"currency": "EUR", "rate": "0.8512", "valid_from": str(days_ago(3))}


def test_the_same_rate_again_changes_nothing(admin):
    set_rate(admin, "EUR", "0.8512", days_ago(3))

    response = set_rate(admin, "EUR", "0.851200", days_ago(3))

    assert response.status_code == 200
    assert ExchangeRate.objects.count() == 1
    assert AuditEvent.objects.filter(action__startswith="exchange_rate.").count() == 1


def test_a_correction_changes_the_rate_and_records_the_old_one(admin):
    set_rate(admin, "EUR", "0.8512", days_ago(3))

    response = set_rate(admin, "EUR", "0.8521", days_ago(3))

    assert response.status_code == 200
    assert Decimal(response.json()["rate"]) == Decimal("0.8521")
    assert ExchangeRate.objects.get().rate == Decimal("0.8521")
    event = AuditEvent.objects.get(action="exchange_rate.changed")
    assert Decimal(event.old_values["rate"]) == Decimal("0.8512")
    assert event.new_values["rate"] == "0.8521"


def test_a_lower_case_currency_code_is_read_as_upper_case(admin):
    response = set_rate(admin, "chf", "0.9100", days_ago(3))

    assert response.status_code == 201
    assert ExchangeRate.objects.get().currency == "CHF"


@pytest.mark.parametrize(
    ("currency", "rate", "field"),
    [
        ("USD", "1", "currency"),
        ("XYZ", "1.5", "currency"),
        ("XAU", "0.0005", "currency"),
        ("EUR", "0", "rate"),
        ("EUR", "-0.85", "rate"),
        ("EUR", "0.123456789", "rate"),
        ("EUR", "100000000", "rate"),
        ("EUR", "abc", "rate"),
    ],
    ids=["usd", "unknown", "gold", "zero", "negative", "nine-decimals", "absurd", "not-a-number"],
)
def test_a_rate_that_cannot_be_is_refused(admin, currency, rate, field):
    response = set_rate(admin, currency, rate, days_ago(3))

    refused(response, field)
    assert not ExchangeRate.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_rate_more_than_a_year_ahead_is_refused(admin):
    refused(set_rate(admin, "EUR", "0.85", today() + timedelta(days=400)), "valid_from")
    assert not ExchangeRate.objects.exists()


def test_viewers_can_list_rates_by_currency(client_for, viewer):
    ExchangeRateFactory(currency="EUR", rate=Decimal("0.80"), valid_from=days_ago(60))
    ExchangeRateFactory(currency="EUR", rate=Decimal("0.90"), valid_from=days_ago(20))
    ExchangeRateFactory(currency="CHF", rate=Decimal("0.91"), valid_from=days_ago(20))

    response = client_for(viewer).get(URL, {"currency": "EUR"})

    assert response.status_code == 200
    assert [(r["currency"], r["valid_from"]) for r in response.json()["results"]] == [
        ("EUR", str(days_ago(20))),
        ("EUR", str(days_ago(60))),
    ]


# --- what a rate's arrival computes ------------------------------------------------------


def test_a_pledge_waiting_for_its_rate_gets_its_usd_value_when_the_rate_arrives(
    client_for, admin, reconciler, fund_admin
):
    pledge = submitted(client_for, "CHF", "1000.00")
    assert pledge.amount_usd is None
    body = bank_payment_body(pledge, "500.00", "UBSWCHZH-1")
    paid = client_for(reconciler).post("/api/v1/payments/", body, format="json")
    assert paid.status_code == 201
    assert paid.json()["amount_usd"] is None

    set_rate(admin, "CHF", "0.90", days_ago(10))

    pledge.refresh_from_db()
    assert (pledge.amount_usd, pledge.usd_rate, pledge.usd_rate_date) == (
        Decimal("1111.11"),
        Decimal("0.90"),
        days_ago(10),
    )
    assert pledge.usd_rate_fixed is False
    payment = Payment.objects.get()
    assert (payment.amount_usd, payment.usd_rate) == (Decimal("555.56"), Decimal("0.90"))
    assert pledge.amount_received_usd == Decimal("555.56")
    assert pledge.status == PledgeStatus.PARTIALLY_PAID
    event = AuditEvent.objects.get(action="pledge.usd_value.computed")
    assert (event.pledge, event.actor_user) == (pledge, fund_admin)
    assert Decimal(event.new_values["amount_usd"]) == Decimal("1111.11")
    assert Decimal(event.new_values["amount_received_usd"]) == Decimal("555.56")


def test_a_rate_that_starts_after_the_pledge_leaves_it_waiting(client_for, admin):
    pledge = submitted(client_for, "CHF", "1000.00")

    set_rate(admin, "CHF", "0.90", today() + timedelta(days=1))

    pledge.refresh_from_db()
    assert pledge.amount_usd is None
    assert not AuditEvent.objects.filter(action="pledge.usd_value.computed").exists()


def test_a_payment_in_a_currency_without_a_rate_gets_its_usd_value_later(client_for, admin, reconciler):
    pledge = PledgeFactory(
        status=PledgeStatus.CONFIRMED, confirmed_at=timezone.now(), confirmed_on=today(), amount=Decimal("1000.00")
    )
    client_for(reconciler).post(
        "/api/v1/payments/",
        {
            "pledge": pledge.reference,
            "amount": "910.00",
            "currency": "CHF",
            "amount_applied": "1000.00",
            "received_on": str(days_ago(2)),
            "method": "bank_transfer",
            "bank_reference": "UBSWCHZH-2",
        },
        format="json",
    )
    pledge.refresh_from_db()
    assert pledge.amount_received_usd == Decimal("0")

    set_rate(admin, "CHF", "0.91", days_ago(30))

    pledge.refresh_from_db()
    assert Payment.objects.get().amount_usd == Decimal("1000.00")
    assert pledge.amount_received_usd == Decimal("1000.00")
    assert (pledge.amount_usd, pledge.amount_paid, pledge.status) == (
        Decimal("1000.00"),
        Decimal("1000.00"),
        PledgeStatus.PAID,
    )


def test_a_correction_moves_unconfirmed_pledges_but_not_a_confirmed_ones_fixed_value(
    client_for, admin, reconciler, eur_rate
):
    fixed = submitted(client_for, "EUR", "1000.00")
    floating = submitted(client_for, "EUR", "1000.00")
    assert (
        client_for(reconciler).post(f"/api/v1/pledges/{fixed.reference}/confirm/", {}, format="json").status_code == 200
    )
    fixed.refresh_from_db()
    assert (fixed.amount_usd, fixed.usd_rate_fixed) == (Decimal("1250.00"), True)

    response = set_rate(admin, "EUR", "0.85", eur_rate.valid_from)

    assert response.status_code == 200
    fixed.refresh_from_db()
    floating.refresh_from_db()
    assert (fixed.amount_usd, fixed.usd_rate) == (Decimal("1250.00"), Decimal("0.80"))
    assert (floating.amount_usd, floating.usd_rate) == (Decimal("1176.47"), Decimal("0.85"))
    computed = AuditEvent.objects.filter(action="pledge.usd_value.computed")
    assert [e.pledge for e in computed] == [floating]


def test_a_pledge_confirmed_while_its_rate_was_missing_is_fixed_when_the_rate_arrives(client_for, admin, reconciler):
    pledge = submitted(client_for, "CHF", "1000.00")
    client_for(reconciler).post(
        f"/api/v1/pledges/{pledge.reference}/confirm/", {"confirmed_on": str(today())}, format="json"
    )
    pledge.refresh_from_db()
    assert (pledge.amount_usd, pledge.usd_rate_fixed) == (None, False)

    set_rate(admin, "CHF", "0.80", days_ago(5))
    set_rate(admin, "CHF", "0.50", days_ago(5))

    pledge.refresh_from_db()
    assert (pledge.amount_usd, pledge.usd_rate, pledge.usd_rate_fixed) == (Decimal("1250.00"), Decimal("0.80"), True)


# --- CSV import -------------------------------------------------------------------------


# Two rate dates in the past, whatever today is.
OLD, NEW = days_ago(90), days_ago(30)


@pytest.fixture
def existing_rates() -> None:
    ExchangeRateFactory(currency="EUR", rate=Decimal("0.80"), valid_from=OLD)
    ExchangeRateFactory(currency="GBP", rate=Decimal("0.70"), valid_from=OLD)


def test_an_import_reports_each_line_added_changed_unchanged_or_refused(admin, fund_admin, existing_rates):
    content = (
        "currency,rate,valid_from\n"
        f"EUR,0.80,{OLD}\n"  # 2: unchanged
        f"EUR,0.85,{NEW}\n"  # 3: added
        f"GBP,0.72,{OLD}\n"  # 4: changed
        f"ZZZ,1.50,{NEW}\n"  # 5: unknown currency
        f"CHF,0.91,{NEW.year}-13-01\n"  # 6: no such month
        f"CHF,abc,{NEW}\n"  # 7: not a number
        f"CHF,0,{NEW}\n"  # 8: zero
        f"chf,0.9100,{NEW}\n"  # 9: added
    ).encode()

    response = upload(admin, content)

    assert response.status_code == 200, response.content
    report = response.json()
    assert [(e["line"], e["currency"]) for e in report["unchanged"]] == [(2, "EUR")]
    assert [(e["line"], e["currency"], e["valid_from"]) for e in report["added"]] == [
        (3, "EUR", str(NEW)),
        (9, "CHF", str(NEW)),
    ]
    assert [(e["line"], e["currency"], Decimal(e["previous_rate"])) for e in report["changed"]] == [
        (4, "GBP", Decimal("0.70"))
    ]
    assert [(e["line"], sorted(e["errors"])) for e in report["refused"]] == [
        (5, ["currency"]),
        (6, ["valid_from"]),
        (7, ["rate"]),
        (8, ["rate"]),
    ]
    assert report["refused"][0]["currency"] == "ZZZ"
    rates = {(r.currency, r.valid_from): r.rate for r in ExchangeRate.objects.all()}
    assert rates == {
        ("EUR", OLD): Decimal("0.80"),
        ("EUR", NEW): Decimal("0.85"),
        ("GBP", OLD): Decimal("0.72"),
        ("CHF", NEW): Decimal("0.91"),
    }
    audited = AuditEvent.objects.filter(action__startswith="exchange_rate.", actor_user=fund_admin)
    assert sorted(e.action for e in audited) == ["exchange_rate.added", "exchange_rate.added", "exchange_rate.changed"]


def test_line_numbers_are_the_files_own_even_after_a_blank_line(admin):
    content = f"currency,rate,valid_from\nEUR,0.85,{NEW}\n\nZZZ,1.50,{NEW}\n".encode()

    report = upload(admin, content).json()

    assert [e["line"] for e in report["added"]] == [2]
    assert [e["line"] for e in report["refused"]] == [4]


def test_an_export_from_a_spreadsheet_with_a_byte_order_mark_and_crlf_is_read(admin):
    content = f"\ufeffCurrency,Rate,Valid_from\r\nEUR,0.85,{NEW}\r\n".encode()

    response = upload(admin, content)

    assert response.status_code == 200, response.content
    assert [e["currency"] for e in response.json()["added"]] == ["EUR"]
    assert ExchangeRate.objects.get().rate == Decimal("0.85")


def test_an_imported_rate_computes_the_usd_values_waiting_for_it(client_for, admin):
    pledge = submitted(client_for, "CHF", "1000.00")

    upload(admin, f"currency,rate,valid_from\nCHF,0.80,{days_ago(5)}\n".encode())

    pledge.refresh_from_db()
    assert pledge.amount_usd == Decimal("1250.00")


@pytest.mark.parametrize(
    "content",
    [b"EUR,0.85,2026-02-01\n", b"currency;rate;valid_from\nEUR;0.85;2026-02-01\n", b"", b"currency,rate\nEUR,0.85\n"],
    ids=["no-header", "semicolons", "empty", "missing-column"],
)
def test_a_file_without_the_header_is_refused(admin, content):
    body = refused(upload(admin, content), "file")

    assert "currency, rate, valid_from" in body["errors"]["file"][0]
    assert not ExchangeRate.objects.exists()


def test_a_file_that_is_not_utf8_is_refused(admin):
    content = "currency,rate,valid_from\nEUR,0.85,2026-02-01 ☐ café\n".encode("utf-16")

    refused(upload(admin, content), "file")
    assert not ExchangeRate.objects.exists()


def test_a_latin1_file_is_refused_rather_than_misread(admin):
    content = "currency,rate,valid_from\nEUR,0.85,2026-02-01\n# Banque de France, données\n".encode("latin-1")

    refused(upload(admin, content), "file")
    assert not ExchangeRate.objects.exists()


def test_an_import_without_a_file_is_refused(admin):
    response = admin.post(IMPORT_URL, {}, format="multipart")

    refused(response, "file")
