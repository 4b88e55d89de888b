"""Reconcilers record the money that arrives: a pledge's balances and
status follow from its payments, to the last minor unit; wrong entries are
reversed, never deleted; one bank transfer cannot be posted twice."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from pledges.models import AuditEvent, Payment, PaymentStatus, Pledge, PledgeSource, PledgeStatus
from tests.factories import ExchangeRateFactory, PledgeFactory
from tests.helpers import PROBLEM, bank_payment_body, confirmed_pledge, pick, problem, today

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/"


@pytest.fixture
def pledge() -> Pledge:
    """USD 1,000.00, confirmed, nothing paid."""
    return confirmed_pledge()


@pytest.fixture
def client(client_for, reconciler):
    return client_for(reconciler)


_references = iter(range(1, 10_000))


def payment_body(target: Pledge, amount: str, **fields) -> dict:
    return bank_payment_body(target, amount, f"CHASUS33-{next(_references):06d}") | fields


def pay(client, target: Pledge, amount: str, **fields):
    return client.post(URL, payment_body(target, amount, **fields), format="json")


def detail(client, pledge: Pledge) -> dict:
    response = client.get(f"/api/v1/pledges/{pledge.reference}/")
    assert response.status_code == 200
    return response.json()


def balances(body: dict) -> tuple:
    """A pledge's status and its paid, outstanding and overpaid amounts, from its detail."""
    return pick(body, "status", "amount_paid", "amount_outstanding", "amount_overpaid")


# --- balances and statuses ------------------------------------------------------------


def test_a_partial_payment_leaves_the_pledge_partially_paid(client, reconciler, pledge):
    response = pay(client, pledge, "400.00", bank_reference="CHASUS33-0001", note="first instalment")

    assert response.status_code == 201
    body = response.json()
    assert pick(body, "amount", "currency", "amount_applied", "amount_usd") == ("400.00", "USD", "400.00", "400.00")
    assert pick(body, "status", "recorded_by", "bank_reference") == ("succeeded", "rico.reconciler", "CHASUS33-0001")
    assert body["bank_account"] == settings.FUND_BANK_ACCOUNT["account_number"]
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PARTIALLY_PAID
    assert (pledge.amount_paid, pledge.amount_outstanding) == (Decimal("400.00"), Decimal("600.00"))
    assert pledge.amount_received_usd == Decimal("400.00")
    event = AuditEvent.objects.get(action="pledge.payment.recorded")
    assert (event.object_type, event.object_id, event.pledge) == ("payment", str(body["id"]), pledge)
    assert (event.actor_user, event.reason) == (reconciler, "first instalment")
    assert event.old_values["status"] == "confirmed"
    assert event.new_values["status"] == "partially_paid"
    assert Decimal(event.new_values["amount_paid"]) == Decimal("400.00")


def test_payments_that_add_up_to_the_amount_make_it_paid(client, reader, pledge):
    pay(client, pledge, "400.00")
    pay(client, pledge, "600.00")

    body = detail(reader, pledge)
    assert balances(body) == ("paid", "1000.00", "0.00", "0.00")
    assert sorted(p["amount"] for p in body["payments"]) == ["400.00", "600.00"]
    assert Pledge.objects.get(pk=pledge.pk).amount_received_usd == Decimal("1000.00")


def test_an_over_payment_is_kept_and_shown_not_trimmed(client, reader, pledge):
    response = pay(client, pledge, "1200.00")

    assert response.status_code == 201
    body = detail(reader, pledge)
    assert balances(body) == ("paid", "1200.00", "0.00", "200.00")
    assert Pledge.objects.get(pk=pledge.pk).amount_overpaid == Decimal("200.00")


def test_money_on_an_unverified_web_submission_marks_it_paid(client, pledge):
    web = PledgeFactory(status=PledgeStatus.SUBMITTED, source=PledgeSource.WEB, amount=Decimal("500.00"))

    pay(client, web, "500.00")

    web.refresh_from_db()
    assert web.status == PledgeStatus.PAID


# --- other currencies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_ago", "applied", "rate"),
    [(30, "900.00", "0.80"), (5, "800.00", "0.90")],
    ids=["received-under-the-first-rate", "received-under-the-second-rate"],
)
def test_a_euro_payment_on_a_dollar_pledge_is_converted_at_the_receipt_dates_rate(
    client, pledge, eur_rates, days_ago, applied, rate
):
    response = pay(client, pledge, "720.00", currency="EUR", received_on=str(today() - timedelta(days=days_ago)))

    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["currency"], body["amount_applied"], body["pledge_currency"]) == (
        "720.00",
        "EUR",
        applied,
        "USD",
    )
    payment = Payment.objects.get()
    assert (payment.amount_applied, payment.amount_usd, payment.usd_rate) == (
        Decimal(applied),
        Decimal(applied),
        Decimal(rate),
    )
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.amount_received_usd) == (Decimal(applied), Decimal(applied))
    assert pledge.status == PledgeStatus.PARTIALLY_PAID


def test_a_euro_payment_on_a_yen_pledge_is_converted_through_usd_to_whole_yen(client, eur_rate):
    ExchangeRateFactory(currency="JPY", rate=Decimal("150.00"), valid_from=today() - timedelta(days=60))
    yen = confirmed_pledge(amount=Decimal("30000"), currency="JPY", amount_usd=Decimal("200.00"))

    response = pay(client, yen, "100.01", currency="EUR")

    # 100.01 EUR / 0.80 = 125.0125 USD; x 150 = 18751.875 JPY, rounded to 18752.
    assert response.status_code == 201
    assert response.json()["amount_applied"] == "18752"
    yen.refresh_from_db()
    assert yen.amount_paid == Decimal("18752")
    assert yen.amount_outstanding == Decimal("11248")
    assert Payment.objects.get().amount_usd == Decimal("125.01")


def test_without_a_rate_the_amount_applied_can_be_given(client, pledge):
    response = pay(client, pledge, "900.00", currency="CHF", amount_applied="1000.00")

    assert response.status_code == 201
    body = response.json()
    assert (body["amount_applied"], body["amount_usd"]) == ("1000.00", None)
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, Decimal("1000.00"))
    assert pledge.amount_received_usd == Decimal("0.00")


def test_an_explicit_amount_applied_wins_over_the_rate(client, pledge, eur_rate):
    pay(client, pledge, "800.00", currency="EUR", amount_applied="990.00")

    payment = Payment.objects.get()
    assert payment.amount_applied == Decimal("990.00")
    assert payment.amount_usd == Decimal("1000.00")


def test_without_a_rate_or_an_amount_applied_the_payment_is_refused(client, pledge):
    response = pay(client, pledge, "900.00", currency="CHF")

    body = problem(response, 400, "invalid-input")
    assert list(body["errors"]) == ["amount_applied"]
    assert "CHF" in body["errors"]["amount_applied"][0]
    assert not Payment.objects.exists()
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.CONFIRMED, Decimal("0"))
    assert not AuditEvent.objects.exists()


# --- fees -------------------------------------------------------------------------------


def test_a_fee_is_recorded_in_usd_apart_from_the_money_received(client, reader, pledge, eur_rate):
    pay(client, pledge, "1000.00", fee="25.00")
    pay(client, pledge, "80.00", currency="EUR", fee="8.00")

    pledge.refresh_from_db()
    assert pledge.fees_usd == Decimal("35.00")
    assert pledge.amount_received_usd == Decimal("1100.00")
    assert pledge.amount_paid == Decimal("1100.00")
    body = detail(reader, pledge)
    assert body["fees_usd"] == "35.00"
    assert sorted(p["fee_usd"] for p in body["payments"]) == ["10.00", "25.00"]


def test_a_fee_above_the_amount_is_refused(client, pledge):
    response = pay(client, pledge, "100.00", fee="100.01")

    body = problem(response, 400, "invalid-input")
    assert "fee" in body["errors"]
    assert not Payment.objects.exists()


# --- reversals ----------------------------------------------------------------------------


def reverse(client, payment_id: int, reason: str = "posted to the wrong pledge"):
    return client.post(f"/api/v1/payments/{payment_id}/reverse/", {"reason": reason}, format="json")


@pytest.mark.parametrize("amount", ["400.00", "1000.00"], ids=["partial", "full"])
def test_a_reversal_is_a_negative_entry_and_the_pledge_returns_to_its_commitment(
    client, reconciler, pledge, eur_rate, amount
):
    original = pay(client, pledge, amount, fee="5.00").json()

    response = reverse(client, original["id"])

    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["amount_applied"], body["amount_usd"], body["fee"]) == (
        f"-{amount}",
        f"-{amount}",
        f"-{amount}",
        "-5.00",
    )
    assert (body["reverses"], body["bank_reference"], body["note"]) == (
        original["id"],
        original["bank_reference"],
        "posted to the wrong pledge",
    )
    assert Payment.objects.count() == 2
    assert Payment.objects.get(pk=original["id"]).status == PaymentStatus.REVERSED
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.CONFIRMED
    assert (pledge.amount_paid, pledge.amount_received_usd, pledge.fees_usd) == (Decimal("0"),) * 3
    event = AuditEvent.objects.get(action="pledge.payment.reversed")
    assert (event.object_id, event.pledge, event.actor_user) == (str(original["id"]), pledge, reconciler)
    assert (event.old_values["status"], event.new_values["status"]) == (
        "paid" if amount == "1000.00" else "partially_paid",
        "confirmed",
    )
    assert event.new_values["reversal_id"] == body["id"]
    assert event.reason == "posted to the wrong pledge"


@pytest.mark.parametrize(
    ("status", "fields", "back_to"),
    [
        (PledgeStatus.SUBMITTED, {"source": PledgeSource.WEB}, PledgeStatus.SUBMITTED),
        (PledgeStatus.ANNOUNCED, {"verified_at": timezone.now}, PledgeStatus.ANNOUNCED),
    ],
    ids=["unverified-web-submission", "announced"],
)
def test_a_reversal_returns_an_unconfirmed_pledge_to_where_it_was(client, status, fields, back_to):
    values = {name: value() if callable(value) else value for name, value in fields.items()}
    pledge = PledgeFactory(status=status, amount=Decimal("1000.00"), **values)
    payment_id = pay(client, pledge, "1000.00").json()["id"]

    reverse(client, payment_id)

    pledge.refresh_from_db()
    assert pledge.status == back_to


def test_a_reversed_bank_reference_can_be_posted_again(client, pledge):
    original = pay(client, pledge, "400.00", bank_reference="CHASUS33-REPOST").json()
    reverse(client, original["id"])

    again = pay(client, pledge, "40.00", bank_reference="CHASUS33-REPOST")

    assert again.status_code == 201
    pledge.refresh_from_db()
    assert pledge.amount_paid == Decimal("40.00")
    assert Payment.objects.filter(external_reference="CHASUS33-REPOST").count() == 3


def test_a_payment_cannot_be_reversed_twice(client, pledge):
    original = pay(client, pledge, "400.00").json()
    reverse(client, original["id"])

    response = reverse(client, original["id"])

    problem(response, 409, "transition-not-allowed")
    assert Payment.objects.count() == 2
    pledge.refresh_from_db()
    assert pledge.amount_paid == Decimal("0")
    assert AuditEvent.objects.filter(action="pledge.payment.reversed").count() == 1


def test_a_reversal_cannot_itself_be_reversed(client, pledge):
    original = pay(client, pledge, "400.00").json()
    reversal = reverse(client, original["id"]).json()

    response = reverse(client, reversal["id"])

    problem(response, 409, "transition-not-allowed")
    assert Payment.objects.count() == 2
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.status) == (Decimal("0"), PledgeStatus.CONFIRMED)


def test_a_reversal_needs_a_reason(client, pledge):
    original = pay(client, pledge, "400.00").json()

    response = reverse(client, original["id"], reason="")

    body = problem(response, 400, "invalid-input")
    assert "reason" in body["errors"]
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED


def test_reversing_an_unknown_payment_is_not_found(client):
    response = reverse(client, 999_999)

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_a_reversal_on_a_lapsed_pledge_keeps_it_lapsed(client_for, client, fund_admin, pledge):
    original = pay(client, pledge, "400.00").json()
    client_for(fund_admin).post(f"/api/v1/pledges/{pledge.reference}/lapse/", {"reason": "silence"}, format="json")

    reverse(client, original["id"])

    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.LAPSED, Decimal("0"))


# --- one transfer, one posting ------------------------------------------------------------


def test_the_same_bank_reference_on_the_same_account_is_refused(client, pledge):
    first = pay(client, pledge, "400.00", bank_reference="CHASUS33-DUP")

    second = pay(client, pledge, "400.00", bank_reference="CHASUS33-DUP")

    assert first.status_code == 201
    body = problem(second, 409, "duplicate-payment")
    assert "CHASUS33-DUP" in body["detail"]
    assert Payment.objects.count() == 1
    pledge.refresh_from_db()
    assert pledge.amount_paid == Decimal("400.00")
    assert AuditEvent.objects.filter(action="pledge.payment.recorded").count() == 1


def test_the_same_bank_reference_is_refused_on_another_pledge_too(client, pledge):
    other = confirmed_pledge()
    pay(client, pledge, "400.00", bank_reference="CHASUS33-DUP")

    response = pay(client, other, "400.00", bank_reference="CHASUS33-DUP")

    problem(response, 409, "duplicate-payment")
    other.refresh_from_db()
    assert (other.amount_paid, other.status) == (Decimal("0"), PledgeStatus.CONFIRMED)


def test_surrounding_spaces_do_not_make_a_bank_reference_new(client, pledge):
    pay(client, pledge, "400.00", bank_reference="CHASUS33-DUP")

    response = pay(client, pledge, "400.00", bank_reference="  CHASUS33-DUP ")

    problem(response, 409, "duplicate-payment")
    assert Payment.objects.count() == 1


def test_the_same_bank_reference_on_another_account_is_another_transfer(client, pledge):
    pay(client, pledge, "400.00", bank_reference="REF-1")

    response = pay(client, pledge, "400.00", bank_reference="REF-1", bank_account="CH93-0076-2011-6238-5295-7")

    assert response.status_code == 201
    assert response.json()["bank_account"] == "CH93-0076-2011-6238-5295-7"
    assert Payment.objects.count() == 2
    pledge.refresh_from_db()
    assert pledge.amount_paid == Decimal("800.00")


def test_a_bank_transfer_needs_its_bank_reference(client, pledge):
    response = pay(client, pledge, "400.00", bank_reference="")

    body = problem(response, 400, "invalid-input")
    assert "bank_reference" in body["errors"]
    assert not Payment.objects.exists()


def test_other_payments_need_no_reference_and_may_repeat(client, pledge):
    pay(client, pledge, "100.00", method="other", bank_reference="")
    pay(client, pledge, "100.00", method="other", bank_reference="")

    assert Payment.objects.count() == 2
    pledge.refresh_from_db()
    assert pledge.amount_paid == Decimal("200.00")


# --- refusals ------------------------------------------------------------------------


def test_a_cancelled_pledge_takes_no_payment(client):
    cancelled = PledgeFactory(status=PledgeStatus.CANCELLED, closed_at=timezone.now())

    response = pay(client, cancelled, "100.00")

    problem(response, 409, "transition-not-allowed")
    assert not Payment.objects.exists()
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.amount_paid) == (PledgeStatus.CANCELLED, Decimal("0"))


def test_money_cannot_arrive_in_the_future(client, pledge):
    response = pay(client, pledge, "100.00", received_on=str(today() + timedelta(days=1)))

    body = problem(response, 400, "invalid-input")
    assert "received_on" in body["errors"]
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("currency", "amount", "field"),
    [("USD", "100.001", "amount"), ("JPY", "100.5", "amount"), ("KWD", "1.0001", "amount"), ("USD", "0", "amount")],
)
def test_an_amount_its_currency_cannot_hold_is_refused(client, pledge, currency, amount, field):
    response = pay(client, pledge, amount, currency=currency, amount_applied="100.00")

    body = problem(response, 400, "invalid-input")
    assert field in body["errors"]
    assert not Payment.objects.exists()


def test_an_amount_applied_finer_than_the_pledges_currency_is_refused(client):
    yen = confirmed_pledge(amount=Decimal("30000"), currency="JPY", amount_usd=None)

    response = pay(client, yen, "100.00", currency="EUR", amount_applied="15000.5")

    body = problem(response, 400, "invalid-input")
    assert "amount_applied" in body["errors"]
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("method", "card"), ("currency", "XYZ"), ("pledge", "RF00NOSUCHPLEDGE"), ("colour", "red")]
)
def test_a_bad_field_is_named(client, pledge, field, value):
    response = pay(client, pledge, "100.00", **{field: value})

    body = problem(response, 400, "invalid-input")
    assert field in body["errors"]
    assert not Payment.objects.exists()


def test_the_printed_reference_finds_the_pledge(client, pledge):
    printed = " ".join(pledge.reference[i : i + 4] for i in range(0, len(pledge.reference), 4)).lower()

    response = pay(client, pledge, "100.00", pledge=printed)

    assert response.status_code == 201
    assert response.json()["pledge"] == pledge.reference


# --- amounts keep every minor unit ---------------------------------------------------------


def test_yen_amounts_have_no_decimals(client, reader):
    yen = confirmed_pledge(amount=Decimal("5000000"), currency="JPY", amount_usd=None)

    response = pay(client, yen, "2500000", currency="JPY")

    assert response.status_code == 201
    assert (response.json()["amount"], response.json()["amount_applied"]) == ("2500000", "2500000")
    body = detail(reader, yen)
    assert (body["amount"], body["amount_paid"], body["amount_outstanding"]) == ("5000000", "2500000", "2500000")
    yen.refresh_from_db()
    assert (yen.amount_paid, yen.status) == (Decimal("2500000"), PledgeStatus.PARTIALLY_PAID)


def test_three_decimal_currencies_are_settled_to_the_fils(client):
    dinars = confirmed_pledge(amount=Decimal("1500.125"), currency="KWD", amount_usd=None)

    pay(client, dinars, "1000.062", currency="KWD")
    pay(client, dinars, "500.063", currency="KWD")

    dinars.refresh_from_db()
    assert dinars.amount_paid == Decimal("1500.125")
    assert dinars.status == PledgeStatus.PAID


def test_many_small_payments_add_up_exactly(client):
    big = confirmed_pledge(amount=Decimal("999999999.99"))

    for _ in range(3):
        pay(client, big, "0.10")
    pay(client, big, "999999999.69")

    big.refresh_from_db()
    assert big.amount_paid == Decimal("999999999.99")
    assert big.status == PledgeStatus.PAID
    assert big.amount_received_usd == Decimal("999999999.99")


def test_a_json_number_is_read_as_an_exact_decimal(client, pledge):
    raw = json.dumps(payment_body(pledge, "0")).replace('"amount": "0"', '"amount": 400.1')

    response = client.post(URL, raw, content_type="application/json")

    assert response.status_code == 201, response.content
    assert Payment.objects.get().amount == Decimal("400.10")
    pledge.refresh_from_db()
    assert pledge.amount_outstanding == Decimal("599.90")


# --- reading payments ----------------------------------------------------------------------


def test_payments_can_be_listed_by_pledge_and_read_one_by_one(client, reader, pledge):
    other = confirmed_pledge()
    mine = pay(client, pledge, "100.00").json()
    pay(client, other, "200.00")

    listed = reader.get(URL, {"pledge": pledge.reference.lower()})
    one = reader.get(f"{URL}{mine['id']}/")

    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["results"]] == [mine["id"]]
    assert one.status_code == 200
    assert one.json() == mine
