"""Money going back out through Stripe: refunds made on localstripe and
disputes (which localstripe lacks, so their objects are built here, naming
the real charge) arrive as signed webhooks. Each takes money out once, as a
negative entry pointing at the card payment, never more than was captured,
in whatever order the events come."""

import time
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from pledges.models import AuditEvent, Payment, Pledge, PledgeStatus, StripeEvent, StripeEventStatus
from tests import stripe_harness as sh
from tests.conftest import (
    card_pledge_paid_on_stripe,
    run_at_once,
    stripe_intent_object,
    stripe_signed,
    stripe_webhook_post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(api, stripe_on, stripe_client, stripe_deliver):
    """A 100.00 USD card pledge paid on Stripe, its payment_intent.succeeded
    delivered: (the pledge's reference, the PaymentIntent)."""
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)
    stripe_deliver(*stripe_signed("payment_intent.succeeded", stripe_intent_object(intent)))
    assert Pledge.objects.get(reference=body["reference"]).status == PledgeStatus.PAID
    return body["reference"], intent


def refunded_event(stripe_client, intent, **kwargs) -> tuple[bytes, str]:
    """charge.refunded for the PaymentIntent's real charge, as it is on
    localstripe now (refunds are not embedded since API 2022-11-15)."""
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    copied = ("id", "amount", "currency", "amount_refunded", "balance_transaction")
    obj = sh.charge_object(**{name: charge[name] for name in copied}, payment_intent=intent.id)
    return stripe_signed("charge.refunded", obj, **kwargs)


def refund(stripe_client, intent, amount_minor: int):
    return stripe_client.v1.refunds.create(params={"charge": intent.latest_charge, "amount": amount_minor})


def dispute_event(event_type: str, intent, *, status: str, dispute_id: str, amount: int = 10000, **kwargs):
    created = kwargs.pop("created", None)
    obj = sh.dispute_object(
        id=dispute_id,
        amount=amount,
        charge=intent.latest_charge,
        payment_intent=intent.id,
        status=status,
        reason="fraudulent",
        created=created,
    )
    return stripe_signed(event_type, obj, created=created, timestamp=int(time.time()), **kwargs)


def received_total(api) -> str:
    response = api.get("/api/v1/public/totals/")
    assert response.status_code == 200
    return response.json()["received"]


def card_payment(reference: str) -> Payment:
    return Payment.objects.get(pledge__reference=reference, amount__gt=0)


def taken_back(reference: str) -> list[Decimal]:
    return sorted(Payment.objects.filter(pledge__reference=reference, amount__lt=0).values_list("amount", flat=True))


# --- Refunds ----------------------------------------------------------------------------


def test_a_partial_refund_takes_its_amount_back_out(api, paid, stripe_client, stripe_deliver):
    reference, intent = paid
    made = refund(stripe_client, intent, 3000)

    response = stripe_deliver(*refunded_event(stripe_client, intent))

    assert response.status_code == 200
    original = card_payment(reference)
    entry = Payment.objects.get(pledge__reference=reference, amount__lt=0)
    assert (entry.amount, entry.currency, entry.amount_applied) == (Decimal("-30.00"), "USD", Decimal("-30.00"))
    assert entry.amount_usd == Decimal("-30.00")
    assert entry.method == "card"
    assert entry.external_reference == made.id
    assert entry.taken_back_from_id == original.pk
    pledge = Pledge.objects.get(reference=reference)
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PARTIALLY_PAID, Decimal("70.00"))
    assert pledge.amount_received_usd == Decimal("70.00")
    audit = AuditEvent.objects.get(action="pledge.payment.refunded")
    assert (audit.actor_kind, audit.pledge.reference) == ("webhook", reference)
    assert (audit.old_values["status"], audit.new_values["status"]) == ("paid", "partially_paid")
    assert StripeEvent.objects.get(event_type="charge.refunded").status == StripeEventStatus.APPLIED


def test_the_public_totals_count_the_money_net_of_refunds(api, paid, stripe_client, stripe_deliver):
    _, intent = paid
    assert received_total(api) == "100.00"

    refund(stripe_client, intent, 3000)
    stripe_deliver(*refunded_event(stripe_client, intent))

    assert received_total(api) == "70.00"


def test_a_second_refund_adds_only_itself_and_a_full_refund_returns_the_pledge_to_its_commitment(
    api, paid, stripe_client, stripe_deliver
):
    reference, intent = paid
    refund(stripe_client, intent, 3000)
    stripe_deliver(*refunded_event(stripe_client, intent))
    assert Pledge.objects.get(reference=reference).status == PledgeStatus.PARTIALLY_PAID

    refund(stripe_client, intent, 7000)
    stripe_deliver(*refunded_event(stripe_client, intent))

    assert taken_back(reference) == [Decimal("-70.00"), Decimal("-30.00")]
    original = card_payment(reference)
    assert set(Payment.objects.filter(amount__lt=0).values_list("taken_back_from_id", flat=True)) == {original.pk}
    pledge = Pledge.objects.get(reference=reference)
    assert (pledge.status, pledge.amount_paid, pledge.amount_received_usd) == (
        PledgeStatus.SUBMITTED,
        Decimal("0"),
        Decimal("0"),
    )
    assert AuditEvent.objects.filter(action="pledge.payment.refunded").count() == 2
    assert received_total(api) == "0.00"


def test_a_replayed_refund_event_adds_nothing(api, paid, stripe_client, stripe_deliver):
    reference, intent = paid
    refund(stripe_client, intent, 3000)
    payload, signature = refunded_event(stripe_client, intent)

    stripe_deliver(payload, signature)
    again = stripe_deliver(payload, signature)
    stripe_deliver(*refunded_event(stripe_client, intent))  # the same refund, another event

    assert again.json()["duplicate"] is True
    assert taken_back(reference) == [Decimal("-30.00")]
    assert AuditEvent.objects.filter(action="pledge.payment.refunded").count() == 1
    assert Pledge.objects.get(reference=reference).amount_paid == Decimal("70.00")


def test_refunds_never_take_back_more_than_was_captured(api, paid, stripe_client, stripe_deliver):
    reference, intent = paid
    refund(stripe_client, intent, 10000)
    for _ in range(3):
        stripe_deliver(*refunded_event(stripe_client, intent))

    assert sum(taken_back(reference)) == Decimal("-100.00")
    pledge = Pledge.objects.get(reference=reference)
    assert pledge.amount_paid == Decimal("0")
    assert pledge.amount_received_usd == Decimal("0")


def test_a_refund_arriving_before_its_payment_records_the_payment_first(api, stripe_on, stripe_client, stripe_deliver):
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)
    refund(stripe_client, intent, 4000)

    response = stripe_deliver(*refunded_event(stripe_client, intent))  # payment_intent.succeeded never sent

    assert response.status_code == 200
    reference = body["reference"]
    assert card_payment(reference).amount == Decimal("100.00")
    assert taken_back(reference) == [Decimal("-40.00")]
    pledge = Pledge.objects.get(reference=reference)
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PARTIALLY_PAID, Decimal("60.00"))
    actions = list(
        AuditEvent.objects.filter(pledge=pledge, action__startswith="pledge.payment.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["pledge.payment.recorded", "pledge.payment.refunded"]

    stripe_deliver(*stripe_signed("payment_intent.succeeded", stripe_intent_object(intent)))  # late

    assert Payment.objects.filter(pledge=pledge).count() == 2
    assert Pledge.objects.get(pk=pledge.pk).amount_paid == Decimal("60.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_succeeded_and_refunded_racing_record_one_payment_and_one_refund(postgres_only, stripe_on, stripe_client):
    body, intent = card_pledge_paid_on_stripe(APIClient(), stripe_client)
    refund(stripe_client, intent, 3000)
    succeeded = stripe_signed("payment_intent.succeeded", stripe_intent_object(intent))
    refunded = refunded_event(stripe_client, intent)
    deliveries = [succeeded, refunded] * 3
    clients = [APIClient() for _ in deliveries]

    responses = run_at_once(
        *(lambda c=c, d=d: stripe_webhook_post(c, *d) for c, d in zip(clients, deliveries, strict=True))
    )

    assert [r.status_code for r in responses] == [200] * 6
    reference = body["reference"]
    assert Payment.objects.filter(pledge__reference=reference, amount__gt=0).count() == 1
    assert taken_back(reference) == [Decimal("-30.00")]
    pledge = Pledge.objects.get(reference=reference)
    assert (pledge.status, pledge.amount_paid, pledge.amount_received_usd) == (
        PledgeStatus.PARTIALLY_PAID,
        Decimal("70.00"),
        Decimal("70.00"),
    )
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {StripeEventStatus.APPLIED}
    assert AuditEvent.objects.filter(action="pledge.payment.recorded").count() == 1
    assert AuditEvent.objects.filter(action="pledge.payment.refunded").count() == 1


# --- Disputes ---------------------------------------------------------------------------


def test_an_opened_dispute_flags_the_payment_for_staff(api, paid, stripe_deliver, viewer, client_for):
    reference, intent = paid

    response = stripe_deliver(
        *dispute_event("charge.dispute.created", intent, status="needs_response", dispute_id="dp_1")
    )

    assert response.status_code == 200
    payment = card_payment(reference)
    assert payment.dispute_status == "needs_response"
    assert "dispute" in payment.review_reason and "dp_1" in payment.review_reason
    opened = AuditEvent.objects.get(action="pledge.payment.dispute.opened")
    assert (opened.actor_kind, opened.pledge.reference) == ("webhook", reference)
    assert (opened.old_values, opened.new_values) == ({"dispute_status": ""}, {"dispute_status": "needs_response"})
    pledge = Pledge.objects.get(reference=reference)
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, Decimal("100.00"))  # not yet taken back
    flagged = client_for(viewer).get("/api/v1/payments/", {"needs_review": "true"}).json()["results"]
    assert [p["id"] for p in flagged] == [payment.pk]
    assert flagged[0]["dispute_status"] == "needs_response"


def test_a_won_dispute_is_recorded_and_the_money_stays(api, paid, stripe_deliver):
    reference, intent = paid
    stripe_deliver(*dispute_event("charge.dispute.created", intent, status="needs_response", dispute_id="dp_1"))

    stripe_deliver(*dispute_event("charge.dispute.closed", intent, status="won", dispute_id="dp_1"))

    payment = card_payment(reference)
    assert payment.dispute_status == "won"
    assert "won" in payment.review_reason
    assert taken_back(reference) == []
    assert Pledge.objects.get(reference=reference).status == PledgeStatus.PAID
    closed = AuditEvent.objects.get(action="pledge.payment.dispute.closed")
    assert closed.new_values == {"dispute_status": "won"}
    assert received_total(api) == "100.00"


def test_a_lost_dispute_takes_the_money_back_out(api, paid, stripe_deliver):
    reference, intent = paid
    stripe_deliver(*dispute_event("charge.dispute.created", intent, status="needs_response", dispute_id="dp_1"))
    assert received_total(api) == "100.00"

    stripe_deliver(*dispute_event("charge.dispute.closed", intent, status="lost", dispute_id="dp_1"))

    original = card_payment(reference)
    assert original.dispute_status == "lost"
    entry = Payment.objects.get(pledge__reference=reference, amount__lt=0)
    assert (entry.amount, entry.external_reference, entry.taken_back_from_id) == (
        Decimal("-100.00"),
        "dp_1",
        original.pk,
    )
    assert AuditEvent.objects.filter(action="pledge.payment.dispute_lost", actor_kind="webhook").count() == 1
    pledge = Pledge.objects.get(reference=reference)
    assert (pledge.amount_paid, pledge.amount_received_usd) == (Decimal("0"), Decimal("0"))
    assert pledge.status == PledgeStatus.SUBMITTED
    assert received_total(api) == "0.00"


def test_a_lost_dispute_after_a_partial_refund_takes_back_only_what_is_left(api, paid, stripe_client, stripe_deliver):
    reference, intent = paid
    refund(stripe_client, intent, 3000)
    stripe_deliver(*refunded_event(stripe_client, intent))

    stripe_deliver(*dispute_event("charge.dispute.closed", intent, status="lost", dispute_id="dp_1"))

    assert taken_back(reference) == [Decimal("-70.00"), Decimal("-30.00")]
    assert Pledge.objects.get(reference=reference).amount_paid == Decimal("0")


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_an_older_dispute_event_arriving_after_the_close_does_not_reopen_it(api, paid, stripe_deliver, outcome):
    reference, intent = paid
    an_hour_ago = int(time.time()) - 3600
    stripe_deliver(*dispute_event("charge.dispute.closed", intent, status=outcome, dispute_id="dp_1"))

    late = stripe_deliver(
        *dispute_event(
            "charge.dispute.created", intent, status="needs_response", dispute_id="dp_1", created=an_hour_ago
        )
    )

    assert late.status_code == 200
    assert card_payment(reference).dispute_status == outcome
    assert not AuditEvent.objects.filter(action="pledge.payment.dispute.opened").exists()
    assert len(taken_back(reference)) == (1 if outcome == "lost" else 0)


def test_a_replayed_lost_dispute_takes_the_money_out_once(api, paid, stripe_deliver):
    reference, intent = paid
    payload, signature = dispute_event("charge.dispute.closed", intent, status="lost", dispute_id="dp_1")

    stripe_deliver(payload, signature)
    stripe_deliver(payload, signature)
    stripe_deliver(*dispute_event("charge.dispute.closed", intent, status="lost", dispute_id="dp_1"))

    assert taken_back(reference) == [Decimal("-100.00")]


def test_a_dispute_arriving_before_its_payment_records_the_payment_then_flags_it(
    api, stripe_on, stripe_client, stripe_deliver
):
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)

    stripe_deliver(*dispute_event("charge.dispute.created", intent, status="needs_response", dispute_id="dp_1"))

    payment = card_payment(body["reference"])
    assert payment.amount == Decimal("100.00")
    assert payment.dispute_status == "needs_response"
