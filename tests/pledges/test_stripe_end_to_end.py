"""End to end over HTTP: a donor pledges by card through the API served by a
live server, pays on Stripe (localstripe) with the test card, and
localstripe's own signed webhooks alone make the pledge paid and the money
show in the public totals. Nothing here calls the app's functions."""

import time
from decimal import Decimal

import pytest
import requests
import stripe

from pledges.models import AuditEvent, CardPaymentIntent, Payment, Pledge, PledgeStatus, StripeEvent, StripeEventStatus
from tests import stripe_harness as sh
from tests.conftest import STRIPE_WEBHOOK_PATH, STRIPE_WEBHOOK_SECRET, card_pledge_body, stripe_card_pay

WAIT_SECONDS = 15.0


@pytest.fixture
def http():
    """Straight to the live server, never through a proxy from the environment."""
    session = requests.Session()
    session.trust_env = False
    with session:
        yield session


@pytest.fixture
def webhooks_to_live_server(live_server, stripe_on):
    """localstripe delivers every event to the live server's webhook."""
    stripe_on.register_webhook(live_server.url + STRIPE_WEBHOOK_PATH, STRIPE_WEBHOOK_SECRET)
    return live_server


def wait_until(condition, what: str, timeout: float = WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def pledge_status(reference: str) -> str:
    return Pledge.objects.get(reference=reference).status


def totals(http, live_server) -> dict:
    response = http.get(live_server.url + "/api/v1/public/totals/", timeout=10)
    assert response.status_code == 200
    return response.json()


def pledge_by_card(http, live_server, **overrides) -> dict:
    response = http.post(live_server.url + "/api/v1/pledges/", json=card_pledge_body(**overrides), timeout=30)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["payment"] is not None, body.get("payment_error")
    return body


def test_a_card_pledge_paid_on_stripe_becomes_paid_through_the_webhook_alone(
    webhooks_to_live_server, http, stripe_client
):
    live_server = webhooks_to_live_server
    assert totals(http, live_server)["received"] == "0.00"
    body = pledge_by_card(http, live_server)
    reference = body["reference"]

    intent = stripe_card_pay(stripe_client, body["payment"]["payment_intent"])
    assert intent.status == "succeeded"
    wait_until(lambda: pledge_status(reference) == PledgeStatus.PAID, "the pledge becoming paid")

    pledge = Pledge.objects.get(reference=reference)
    assert (pledge.amount_paid, pledge.amount_received_usd) == (Decimal("100.00"), Decimal("100.00"))
    payment = Payment.objects.get(pledge=pledge)
    assert (payment.method, payment.amount, payment.currency) == ("card", Decimal("100.00"), "USD")
    assert payment.external_reference == intent.id
    assert payment.fee == Decimal("3.20")  # 2.9 % + 0.30, from the balance transaction
    assert payment.review_reason == ""
    event = StripeEvent.objects.get(event_type="payment_intent.succeeded")
    assert (event.status, event.source) == (StripeEventStatus.APPLIED, "webhook")
    assert intent.id in event.payload
    recorded = AuditEvent.objects.get(action="pledge.payment.recorded", pledge=pledge)
    assert (recorded.actor_kind, recorded.actor_label) == ("webhook", event.event_id)
    assert CardPaymentIntent.objects.get(payment_intent_id=intent.id).status == "succeeded"

    public = totals(http, live_server)
    assert public["received"] == "100.00"
    assert public["fees"] == "3.20"
    assert public["pledged"] == "100.00"
    assert public["pledges"] == 1


def test_a_refund_made_on_stripe_comes_out_of_the_totals_through_the_webhook_alone(
    webhooks_to_live_server, http, stripe_client
):
    live_server = webhooks_to_live_server
    body = pledge_by_card(http, live_server)
    reference = body["reference"]
    intent = stripe_card_pay(stripe_client, body["payment"]["payment_intent"])
    wait_until(lambda: pledge_status(reference) == PledgeStatus.PAID, "the pledge becoming paid")

    stripe_client.v1.refunds.create(params={"charge": intent.latest_charge, "amount": 2500})
    wait_until(lambda: pledge_status(reference) == PledgeStatus.PARTIALLY_PAID, "the refund reaching the pledge")

    pledge = Pledge.objects.get(reference=reference)
    assert pledge.amount_paid == Decimal("75.00")
    refund = Payment.objects.get(pledge=pledge, amount__lt=0)
    assert (refund.amount, refund.method) == (Decimal("-25.00"), "card")
    assert refund.external_reference.startswith("re_")
    assert AuditEvent.objects.filter(action="pledge.payment.refunded", pledge=pledge, actor_kind="webhook").count() == 1
    assert totals(http, live_server)["received"] == "75.00"


def test_a_declined_card_is_recorded_through_the_webhook_and_the_pledge_waits(
    webhooks_to_live_server, http, stripe_client
):
    live_server = webhooks_to_live_server
    body = pledge_by_card(http, live_server)
    intent_id = body["payment"]["payment_intent"]

    with pytest.raises(stripe.CardError):
        stripe_card_pay(stripe_client, intent_id, sh.CARD_DECLINED)

    failed = wait_until(
        lambda: AuditEvent.objects.filter(action="pledge.card_payment.failed").first(), "the decline being recorded"
    )
    assert (failed.actor_kind, failed.pledge.reference) == ("webhook", body["reference"])
    known = CardPaymentIntent.objects.get(payment_intent_id=intent_id)
    assert (known.status, known.last_error) == ("requires_payment_method", "Your card was declined.")
    assert pledge_status(body["reference"]) == PledgeStatus.SUBMITTED
    assert not Payment.objects.exists()
    assert totals(http, live_server)["received"] == "0.00"
