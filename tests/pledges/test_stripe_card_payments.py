"""Starting a card payment: a card pledge made through the API gets a
PaymentIntent on Stripe (localstripe here) for the amount the server
computes, in Stripe's minor units, naming the pledge and nobody; Stripe
being down keeps the pledge and lets the donor start again later."""

import socket
import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from pledges.models import AuditEvent, CardPaymentIntent, Pledge, PledgeStatus
from tests.conftest import STRIPE_PUBLISHABLE_KEY, card_pledge_body, pledge_body, run_at_once

pytestmark = pytest.mark.django_db


def post(api, body):
    return api.post("/api/v1/pledges/", body, format="json")


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_card_pledge_gets_a_payment_intent_for_its_amount_naming_only_the_pledge(api, stripe_on, stripe_client):
    response = post(api, card_pledge_body(amount="1234.56"))

    assert response.status_code == 201
    body = response.json()
    payment = body["payment"]
    assert payment["provider"] == "stripe"
    assert payment["publishable_key"] == STRIPE_PUBLISHABLE_KEY
    assert payment["amount"] == "1234.56" and payment["currency"] == "USD"
    assert payment["payment_intent"].startswith("pi_")
    assert payment["client_secret"].startswith(payment["payment_intent"] + "_secret_")
    assert "payment_error" not in body

    intent = stripe_client.v1.payment_intents.retrieve(payment["payment_intent"])
    assert (intent.amount, intent.currency, intent.status) == (123456, "usd", "requires_payment_method")
    assert dict(intent.metadata) == {"pledge": body["reference"]}
    assert intent.client_secret == payment["client_secret"]
    said_to_stripe = f"{intent.description} {intent.get('receipt_email')} {dict(intent.metadata)}".lower()
    assert "mission@example.org" not in said_to_stripe
    assert "norway" not in said_to_stripe


def test_the_payment_intent_is_recorded_against_the_pledge_and_audited(api, stripe_on):
    body = post(api, card_pledge_body(amount="1234.56")).json()

    pledge = Pledge.objects.get(reference=body["reference"])
    known = CardPaymentIntent.objects.get(pledge=pledge)
    assert known.payment_intent_id == body["payment"]["payment_intent"]
    assert (known.amount, known.currency, known.amount_minor) == (Decimal("1234.56"), "USD", 123456)
    started = AuditEvent.objects.get(action="pledge.card_payment.started", pledge=pledge)
    assert started.actor_kind == "donor"
    assert started.new_values["payment_intent"] == known.payment_intent_id
    assert pledge.status == PledgeStatus.SUBMITTED


def test_starting_again_through_the_payment_url_reuses_the_open_payment_intent(api, stripe_on, stripe_client):
    body = post(api, card_pledge_body()).json()

    again = api.post(body["payment_url"])

    assert again.status_code == 200
    assert again.json()["payment_intent"] == body["payment"]["payment_intent"]
    assert again.json()["client_secret"] == body["payment"]["client_secret"]
    assert len(stripe_client.v1.payment_intents.list().data) == 1
    assert CardPaymentIntent.objects.count() == 1
    assert AuditEvent.objects.filter(action="pledge.card_payment.started").count() == 1


def test_the_payment_url_is_the_status_links_payment_endpoint(api, stripe_on):
    body = post(api, card_pledge_body()).json()

    secret = body["status_url"].rstrip("/").rsplit("/", 1)[1]
    assert body["payment_url"].endswith(f"/api/v1/pledges/status/{secret}/payment/")


def test_with_instalments_the_payment_intent_is_for_the_next_instalment(api, stripe_on, stripe_client):
    body = post(api, pledge_body(payment_method="card")).json()  # 250000.00 USD in two of 125000.00

    assert body["payment"]["amount"] == "125000.00"
    intent = stripe_client.v1.payment_intents.retrieve(body["payment"]["payment_intent"])
    assert (intent.amount, intent.currency) == (12500000, "usd")


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [
        ("JPY", "5000000", 5000000),
        ("KWD", "1500.120", 1500120),
        ("EUR", "0.50", 50),
        ("ISK", "1000", 100000),  # no decimals in ISO 4217, two zero decimals for Stripe
    ],
)
def test_the_amount_is_sent_in_stripes_minor_units_of_the_currency(
    api, stripe_on, stripe_client, currency, amount, minor
):
    body = post(api, card_pledge_body(currency=currency, amount=amount)).json()

    assert body["payment"] is not None, body.get("payment_error")
    intent = stripe_client.v1.payment_intents.retrieve(body["payment"]["payment_intent"])
    assert (intent.amount, intent.currency) == (minor, currency.lower())


def test_an_amount_stripe_cannot_charge_exactly_keeps_the_pledge_without_a_payment(api, stripe_on, stripe_client):
    response = post(api, card_pledge_body(currency="KWD", amount="1.005"))

    assert response.status_code == 201
    body = response.json()
    assert body["payment"] is None
    assert body["payment_error"]["code"] == "currency-not-chargeable"
    assert body["payment_error"]["detail"]
    assert body["payment_url"]
    assert Pledge.objects.get(reference=body["reference"]).amount == Decimal("1.005")
    assert stripe_client.v1.payment_intents.list().data == []
    assert not CardPaymentIntent.objects.exists()


def test_a_bank_transfer_pledge_creates_nothing_on_stripe(api, stripe_on, stripe_client):
    body = post(api, pledge_body()).json()

    assert "payment" not in body
    assert stripe_client.v1.payment_intents.list().data == []


def test_stripe_unreachable_keeps_the_pledge_and_says_why(api, settings, stripe_on, stripe_client):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    response = post(api, card_pledge_body())

    assert response.status_code == 201
    body = response.json()
    assert body["payment"] is None
    assert body["payment_error"]["code"] == "payment-provider-unavailable"
    assert body["payment_url"]
    pledge = Pledge.objects.get(reference=body["reference"])
    assert pledge.status == PledgeStatus.SUBMITTED
    assert AuditEvent.objects.filter(action="pledge.submitted", pledge=pledge).exists()
    assert not CardPaymentIntent.objects.exists()


def test_once_stripe_is_back_the_payment_url_starts_the_payment(api, settings, stripe_on, stripe_client):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"
    body = post(api, card_pledge_body(amount="75.00")).json()
    assert body["payment"] is None

    settings.STRIPE_API_BASE = stripe_on.base_url
    response = api.post(body["payment_url"])

    assert response.status_code == 200
    payment = response.json()
    assert payment["provider"] == "stripe"
    assert payment["amount"] == "75.00"
    intent = stripe_client.v1.payment_intents.retrieve(payment["payment_intent"])
    assert (intent.amount, intent.currency) == (7500, "usd")
    assert dict(intent.metadata) == {"pledge": body["reference"]}
    assert CardPaymentIntent.objects.get().payment_intent_id == intent.id


def test_the_payment_url_answers_503_while_stripe_is_unreachable(api, settings, stripe_on):
    body = post(api, card_pledge_body()).json()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    response = api.post(body["payment_url"])

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("payment-provider-unavailable")


def test_a_paid_pledge_takes_no_further_card_payment(api, stripe_on):
    body = post(api, card_pledge_body()).json()
    Pledge.objects.filter(reference=body["reference"]).update(status=PledgeStatus.PAID, amount_paid=Decimal("100.00"))

    response = api.post(body["payment_url"])

    assert response.status_code == 409
    assert CardPaymentIntent.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_donor_pressing_pay_four_times_at_once_gets_one_payment_intent(
    postgres_only, settings, stripe_on, stripe_client
):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"
    body = post(APIClient(), card_pledge_body()).json()  # no PaymentIntent yet
    settings.STRIPE_API_BASE = stripe_on.base_url
    clients = [APIClient() for _ in range(4)]

    responses = run_at_once(*(lambda c=c: c.post(body["payment_url"]) for c in clients))

    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.json()["payment_intent"] for r in responses}) == 1
    assert len(stripe_client.v1.payment_intents.list().data) == 1
    assert CardPaymentIntent.objects.count() == 1
    assert AuditEvent.objects.filter(action="pledge.card_payment.started").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_press_that_looks_before_the_first_is_stored_reuses_its_payment_intent(
    postgres_only, settings, stripe_on, stripe_client
):
    # The race of the test above, made to happen every time: the second
    # request reads the pledge's PaymentIntents, then waits until the first
    # request has created one and stored it, then goes on.
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"
    body = post(APIClient(), card_pledge_body()).json()
    settings.STRIPE_API_BASE = stripe_on.base_url
    second_has_looked, first_is_stored = threading.Event(), threading.Event()

    def wait_after_the_first_look(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if CardPaymentIntent._meta.db_table in sql and not second_has_looked.is_set():
            second_has_looked.set()
            assert first_is_stored.wait(timeout=30)
        return result

    def first():
        assert second_has_looked.wait(timeout=30)
        try:
            return APIClient().post(body["payment_url"])
        finally:
            first_is_stored.set()

    def second():
        with connection.execute_wrapper(wait_after_the_first_look):
            return APIClient().post(body["payment_url"])

    responses = run_at_once(first, second)

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].json()["payment_intent"] == responses[1].json()["payment_intent"]
    assert len(stripe_client.v1.payment_intents.list().data) == 1
    assert CardPaymentIntent.objects.count() == 1
