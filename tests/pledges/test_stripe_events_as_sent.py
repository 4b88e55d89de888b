"""Stripe events as Stripe really sends them to an account that serves other
integrations too: events about objects this service did not create, every
dispute status, the payload shapes of older and newer API versions, and an
apply that fails, counted and explained for staff."""

import logging
import time
from decimal import Decimal

import pytest

from pledges.models import AuditEvent, CardPaymentIntent, Payment, Pledge, PledgeStatus, StripeEvent, StripeEventStatus
from pledges.payments.card import _charge_id
from tests import stripe_harness as sh
from tests.conftest import (
    STRIPE_WEBHOOK_SECRET,
    card_pledge_paid_on_stripe,
    stripe_intent_object,
    stripe_signed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_unreachable(settings):
    """Webhooks configured, the API pointed at a port nobody listens on: any
    call to Stripe fails, so an event that is applied or ignored here was
    decided without calling Stripe."""
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET


@pytest.fixture
def paid(api, stripe_on, stripe_client, stripe_deliver):
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)
    stripe_deliver(*stripe_signed("payment_intent.succeeded", stripe_intent_object(intent)))
    return body["reference"], intent


def signed_now(event_type: str, obj: dict, **kwargs) -> tuple[bytes, str]:
    return stripe_signed(event_type, obj, timestamp=int(time.time()), **kwargs)


def dispute(intent, *, status: str, dispute_id: str = "dp_1", with_intent: bool = True) -> dict:
    obj = sh.dispute_object(
        id=dispute_id,
        amount=10000,
        charge=intent.latest_charge,
        payment_intent=intent.id if with_intent else None,
        status=status,
        reason="fraudulent",
    )
    if not with_intent:
        obj.pop("payment_intent", None)  # API versions before 2019 name only the charge
    return obj


def foreign_events() -> list[tuple[str, dict]]:
    """What another integration's objects look like, in several API versions."""
    intent = sh.payment_intent_object(amount=1500, metadata={"invoice": "in_42"})
    return [
        ("payment_intent.succeeded", intent),
        ("payment_intent.payment_failed", sh.payment_intent_object(amount=900, status="requires_payment_method")),
        ("payment_intent.canceled", sh.payment_intent_object(amount=900, status="canceled")),
        ("charge.refunded", sh.charge_object(amount=1500, payment_intent=intent["id"], amount_refunded=500)),
        ("charge.dispute.created", sh.dispute_object(amount=1500, charge="ch_foreign1", status="needs_response")),
        ("charge.dispute.funds_withdrawn", sh.dispute_object(amount=1500, charge="ch_foreign1")),
        ("charge.dispute.closed", sh.dispute_object(amount=1500, charge="ch_foreign1", status="lost")),
    ]


# --- Not ours ----------------------------------------------------------------------


@pytest.mark.parametrize("event_type, obj", foreign_events(), ids=[t for t, _ in foreign_events()])
def test_an_event_about_an_object_not_ours_is_acknowledged_and_ignored_without_calling_stripe(
    stripe_unreachable, stripe_deliver, caplog, event_type, obj
):
    caplog.set_level(logging.INFO)

    response = stripe_deliver(*signed_now(event_type, obj, api_version="2018-01-23"))

    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert (event.status, event.attempts) == (StripeEventStatus.IGNORED, 1)
    assert event.outcome.startswith("Not ours: ")
    assert "was not created by this service" in event.outcome or "PaymentIntent this service created" in event.outcome
    assert not Payment.objects.exists()
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.WARNING]


def test_a_refund_update_for_a_charge_not_ours_is_ignored(stripe_unreachable, stripe_deliver):
    refund = {"id": "re_foreign", "object": "refund", "amount": 500, "charge": "ch_foreign", "status": "succeeded"}

    stripe_deliver(*signed_now("charge.refund.updated", refund))

    event = StripeEvent.objects.get()
    assert event.status == StripeEventStatus.IGNORED
    assert event.outcome == (
        "Not ours: Refund re_foreign: charge ch_foreign is not a charge of a PaymentIntent this service created."
    )


# --- Disputes: every status ---------------------------------------------------------


@pytest.mark.parametrize("final", ["warning_closed", "prevented", "won"])
def test_a_dispute_closed_without_loss_is_final_and_the_money_stays(api, paid, stripe_deliver, final):
    reference, intent = paid
    stripe_deliver(*signed_now("charge.dispute.created", dispute(intent, status="warning_needs_response")))

    stripe_deliver(*signed_now("charge.dispute.closed", dispute(intent, status=final)))
    stripe_deliver(*signed_now("charge.dispute.updated", dispute(intent, status="warning_under_review")))

    payment = Payment.objects.get(pledge__reference=reference, amount__gt=0)
    assert payment.dispute_status == final  # the later, older-status event does not reopen it
    actions = list(
        AuditEvent.objects.filter(action__startswith="pledge.payment.dispute").order_by("id").values_list("action")
    )
    assert actions == [("pledge.payment.dispute.opened",), ("pledge.payment.dispute.closed",)]
    assert not Payment.objects.filter(pledge__reference=reference, amount__lt=0).exists()
    assert Pledge.objects.get(reference=reference).status == PledgeStatus.PAID


def test_an_inquiry_that_becomes_a_dispute_is_recorded_as_updated(api, paid, stripe_deliver):
    _reference, intent = paid
    stripe_deliver(*signed_now("charge.dispute.created", dispute(intent, status="warning_needs_response")))

    stripe_deliver(*signed_now("charge.dispute.funds_withdrawn", dispute(intent, status="needs_response")))

    updated = AuditEvent.objects.get(action="pledge.payment.dispute.updated")
    assert (updated.old_values, updated.new_values) == (
        {"dispute_status": "warning_needs_response"},
        {"dispute_status": "needs_response"},
    )


def test_a_dispute_naming_only_the_charge_finds_our_payment_by_its_charge(api, paid, stripe_deliver):
    reference, intent = paid
    assert CardPaymentIntent.objects.get(payment_intent_id=intent.id).charge_id == intent.latest_charge

    stripe_deliver(*signed_now("charge.dispute.closed", dispute(intent, status="lost", with_intent=False)))

    taken = Payment.objects.get(pledge__reference=reference, amount__lt=0)
    assert (taken.amount, taken.external_reference) == (Decimal("-100.00"), "dp_1")
    assert StripeEvent.objects.get(event_type="charge.dispute.closed").status == StripeEventStatus.APPLIED


# --- A failed apply --------------------------------------------------------------------


def test_a_failed_apply_counts_its_attempts_and_says_why(api, paid, stripe_deliver, caplog):
    reference, intent = paid
    obj = dispute(intent, status="needs_response")
    obj["status"] = "escalated"  # not a status Stripe defines
    payload, signature = signed_now("charge.dispute.updated", obj)

    with caplog.at_level(logging.CRITICAL, logger="django.db.backends"):
        stripe_deliver(payload, signature)
        stripe_deliver(payload, signature)  # Stripe delivers again, the task retries

    event = StripeEvent.objects.get(event_type="charge.dispute.updated")
    assert (event.status, event.attempts) == (StripeEventStatus.FAILED, 2)
    assert event.outcome == "ValueError: Dispute dp_1 has the status 'escalated', which Stripe does not define."
    assert Payment.objects.get(pledge__reference=reference, amount__gt=0).dispute_status == ""


def test_staff_see_failed_events_with_their_attempts_and_reason_in_the_admin(api, paid, stripe_deliver, client, viewer):
    _reference, intent = paid
    obj = dispute(intent, status="needs_response")
    obj["status"] = "escalated"
    stripe_deliver(*signed_now("charge.dispute.updated", obj))

    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    client.force_login(viewer)
    page = client.get("/admin/pledges/stripeevent/", {"status__exact": "failed"})

    assert page.status_code == 200
    text = page.content.decode()
    assert "charge.dispute.updated" in text and "which Stripe does not define" in text


# --- Older and newer payload shapes ----------------------------------------------------


def test_the_charge_is_read_from_latest_charge_or_from_the_embedded_charges_of_older_versions():
    newer = sh.payment_intent_object(amount=100, latest_charge="ch_new")
    expanded = sh.payment_intent_object(amount=100, latest_charge={"id": "ch_expanded", "object": "charge"})
    older = {**sh.payment_intent_object(amount=100), "latest_charge": None}
    older["charges"] = {"object": "list", "data": [{"id": "ch_newest"}, {"id": "ch_first_try"}]}

    assert [_charge_id(newer), _charge_id(expanded), _charge_id(older)] == ["ch_new", "ch_expanded", "ch_newest"]
    assert _charge_id({"id": "pi_1", "charges": {"data": []}}) == ""


def test_a_failure_in_the_older_shape_keeps_the_charges_failure_message(api, stripe_on, stripe_client, stripe_deliver):
    _body, intent = card_pledge_paid_on_stripe(api, stripe_client)
    obj = stripe_intent_object(intent, status="requires_payment_method", latest_charge=None, last_payment_error=None)
    obj["charges"] = {
        "object": "list",
        "data": [{"id": "ch_x", "failure_message": "Your card has insufficient funds."}],
    }

    stripe_deliver(*signed_now("payment_intent.payment_failed", obj, api_version="2020-08-27"))

    assert CardPaymentIntent.objects.get(payment_intent_id=intent.id).last_error == "Your card has insufficient funds."
    failed = AuditEvent.objects.get(action="pledge.card_payment.failed")
    assert failed.reason == "Your card has insufficient funds."


def test_a_refund_update_for_our_charge_records_the_refund_once(api, paid, stripe_client, stripe_deliver):
    reference, intent = paid
    refund = stripe_client.v1.refunds.create(params={"charge": intent.latest_charge, "amount": 3000})
    obj = {"id": refund.id, "object": "refund", "amount": 3000, "charge": intent.latest_charge, "status": "succeeded"}

    stripe_deliver(*signed_now("charge.refund.updated", obj))
    stripe_deliver(*signed_now("charge.refund.updated", obj))  # a later update of the same refund

    taken = Payment.objects.get(pledge__reference=reference, amount__lt=0)
    assert (taken.amount, taken.external_reference) == (Decimal("-30.00"), refund.id)
    assert StripeEvent.objects.filter(event_type="charge.refund.updated", status=StripeEventStatus.APPLIED).count() == 2
