"""Card money that is not what the service asked for: a PaymentIntent made
on Stripe by someone else, an amount changed on Stripe, another currency.
What arrived is recorded as received, flagged for staff with a reason, and
counts as full payment only when it covers the pledge; staff find it with
the needs_review filters."""

from decimal import Decimal

import pytest

from pledges.models import AuditEvent, Payment, Pledge, PledgeStatus
from tests.conftest import card_pledge_body, stripe_card_pay, stripe_intent_object, stripe_signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_pledge(api, stripe_on) -> dict:
    """A 100.00 USD card pledge made through the API, not yet paid."""
    body = api.post("/api/v1/pledges/", card_pledge_body(), format="json").json()
    assert body["payment"] is not None
    return body


def paid_elsewhere(stripe_client, reference: str, amount_minor: int, currency: str = "usd"):
    """A PaymentIntent made directly on Stripe (not by this service), naming
    the pledge in its metadata, paid with the test card."""
    return stripe_client.v1.payment_intents.create(
        params={
            "amount": amount_minor,
            "currency": currency,
            "metadata": {"pledge": reference},
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )


def deliver_succeeded(stripe_deliver, intent):
    response = stripe_deliver(*stripe_signed("payment_intent.succeeded", stripe_intent_object(intent)))
    assert response.status_code == 200
    return response


def test_a_payment_intent_not_created_by_this_service_is_recorded_as_received_and_flagged(
    card_pledge, stripe_client, stripe_deliver
):
    reference = card_pledge["reference"]
    intent = paid_elsewhere(stripe_client, reference, 6000)
    assert intent.status == "succeeded"

    deliver_succeeded(stripe_deliver, intent)

    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.amount_applied) == (Decimal("60.00"), "USD", Decimal("60.00"))
    assert payment.external_reference == intent.id
    assert "not created by this service" in payment.review_reason
    pledge = Pledge.objects.get(reference=reference)
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PARTIALLY_PAID, Decimal("60.00"))
    recorded = AuditEvent.objects.get(action="pledge.payment.recorded")
    assert recorded.new_values["review_reason"] == payment.review_reason
    assert recorded.actor_kind == "webhook"


def test_an_amount_changed_on_stripe_is_recorded_as_received_and_flagged(card_pledge, stripe_client, stripe_deliver):
    intent_id = card_pledge["payment"]["payment_intent"]
    stripe_client.v1.payment_intents.update(intent_id, params={"amount": 6000})  # e.g. in the Dashboard
    intent = stripe_card_pay(stripe_client, intent_id)
    assert intent.amount_received == 6000

    deliver_succeeded(stripe_deliver, intent)

    payment = Payment.objects.get()
    assert payment.amount == Decimal("60.00")
    assert "asked for 100.00 USD" in payment.review_reason
    assert "received 60.00 USD" in payment.review_reason
    pledge = Pledge.objects.get(reference=card_pledge["reference"])
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PARTIALLY_PAID, Decimal("60.00"))


def test_more_than_asked_is_flagged_and_pays_the_pledge_since_the_money_covers_it(
    card_pledge, stripe_client, stripe_deliver
):
    intent = paid_elsewhere(stripe_client, card_pledge["reference"], 15000)

    deliver_succeeded(stripe_deliver, intent)

    payment = Payment.objects.get()
    assert payment.amount == Decimal("150.00")
    assert payment.review_reason
    pledge = Pledge.objects.get(reference=card_pledge["reference"])
    assert (pledge.status, pledge.amount_paid, pledge.amount_overpaid) == (
        PledgeStatus.PAID,
        Decimal("150.00"),
        Decimal("50.00"),
    )


def test_another_currency_without_a_rate_is_recorded_but_settles_nothing_until_staff_decide(
    card_pledge, stripe_client, stripe_deliver
):
    intent = paid_elsewhere(stripe_client, card_pledge["reference"], 9000, currency="eur")

    deliver_succeeded(stripe_deliver, intent)

    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.amount_applied) == (Decimal("90.00"), "EUR", Decimal("0"))
    assert "no exchange rate" in payment.review_reason
    pledge = Pledge.objects.get(reference=card_pledge["reference"])
    assert pledge.amount_paid == Decimal("0")
    assert pledge.status == PledgeStatus.SUBMITTED


def test_another_currency_with_a_rate_settles_its_value_and_is_still_flagged(
    card_pledge, eur_rate, stripe_client, stripe_deliver
):
    intent = paid_elsewhere(stripe_client, card_pledge["reference"], 4000, currency="eur")  # 0.80 EUR per USD

    deliver_succeeded(stripe_deliver, intent)

    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.amount_applied) == (Decimal("40.00"), "EUR", Decimal("50.00"))
    assert payment.amount_usd == Decimal("50.00")
    assert payment.review_reason
    pledge = Pledge.objects.get(reference=card_pledge["reference"])
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PARTIALLY_PAID, Decimal("50.00"))


def test_a_payment_as_asked_is_not_flagged(card_pledge, stripe_client, stripe_deliver):
    intent = stripe_card_pay(stripe_client, card_pledge["payment"]["payment_intent"])

    deliver_succeeded(stripe_deliver, intent)

    assert Payment.objects.get().review_reason == ""


def test_staff_find_flagged_card_payments_and_their_pledges_with_needs_review(
    api, stripe_on, stripe_client, stripe_deliver, viewer, client_for
):
    fine = api.post("/api/v1/pledges/", card_pledge_body(), format="json").json()
    odd = api.post("/api/v1/pledges/", card_pledge_body(), format="json").json()
    deliver_succeeded(stripe_deliver, stripe_card_pay(stripe_client, fine["payment"]["payment_intent"]))
    deliver_succeeded(stripe_deliver, paid_elsewhere(stripe_client, odd["reference"], 6000))
    flagged = Payment.objects.get(pledge__reference=odd["reference"])
    clean = Payment.objects.get(pledge__reference=fine["reference"])
    staff = client_for(viewer)

    payments = staff.get("/api/v1/payments/", {"needs_review": "true"})
    not_flagged = staff.get("/api/v1/payments/", {"needs_review": "false"})
    pledges = staff.get("/api/v1/pledges/", {"needs_review": "true"})

    assert payments.status_code == 200
    assert [p["id"] for p in payments.json()["results"]] == [flagged.pk]
    assert "not created by this service" in payments.json()["results"][0]["review_reason"]
    assert [p["id"] for p in not_flagged.json()["results"]] == [clean.pk]
    assert [p["reference"] for p in pledges.json()["results"]] == [odd["reference"]]


def test_the_needs_review_lists_are_for_staff_only(api, stripe_on):
    assert api.get("/api/v1/payments/", {"needs_review": "true"}).status_code in (401, 403)
    assert api.get("/api/v1/pledges/", {"needs_review": "true"}).status_code in (401, 403)
