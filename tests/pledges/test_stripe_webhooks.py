"""Stripe's webhooks, with bodies built and signed here: the signature and
its timestamp are checked before anything is stored, each event is applied
once however often (or however concurrently) it arrives, and what a
payment_intent event claims is re-read from Stripe (localstripe) rather
than believed."""

import json
import time
from decimal import Decimal

import pytest
import stripe
from rest_framework.test import APIClient

from pledges.models import (
    AuditEvent,
    CardPaymentIntent,
    Payment,
    Pledge,
    PledgeStatus,
    StripeEvent,
    StripeEventStatus,
)
from tests import stripe_harness as sh
from tests.conftest import (
    STRIPE_WEBHOOK_SECRET,
    card_pledge_body,
    card_pledge_paid_on_stripe,
    run_at_once,
    stripe_card_pay,
    stripe_intent_object,
    stripe_signed,
    stripe_webhook_post,
)

pytestmark = pytest.mark.django_db


def succeeded(intent, **kwargs) -> tuple[bytes, str]:
    return stripe_signed("payment_intent.succeeded", stripe_intent_object(intent), **kwargs)


# --- A payment arrives -------------------------------------------------------------


def test_a_signed_payment_intent_succeeded_records_the_card_payment(api, stripe_on, stripe_client, stripe_deliver):
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)

    response = stripe_deliver(*succeeded(intent))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    payment = Payment.objects.get()
    assert payment.pledge.reference == body["reference"]
    assert (payment.method, payment.status) == ("card", "succeeded")
    assert (payment.amount, payment.currency, payment.amount_applied) == (Decimal("100.00"), "USD", Decimal("100.00"))
    assert (payment.bank_account, payment.external_reference) == ("stripe", intent.id)
    assert payment.amount_usd == Decimal("100.00")
    assert payment.fee == Decimal("3.20")  # 2.9 % + 0.30 from the charge's balance transaction
    assert payment.fee_usd == Decimal("3.20")
    assert payment.review_reason == ""


def test_the_payment_pays_the_pledge_and_is_audited_as_the_webhooks_doing(
    api, stripe_on, stripe_client, stripe_deliver
):
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)
    payload, signature = succeeded(intent)

    stripe_deliver(payload, signature)

    pledge = Pledge.objects.get(reference=body["reference"])
    assert pledge.status == PledgeStatus.PAID
    assert (pledge.amount_paid, pledge.amount_received_usd, pledge.fees_usd) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("3.20"),
    )
    event = StripeEvent.objects.get()
    assert (event.event_id, event.event_type) == (json.loads(payload)["id"], "payment_intent.succeeded")
    assert (event.status, event.source, event.attempts) == (StripeEventStatus.APPLIED, "webhook", 1)
    assert event.applied_at is not None
    assert event.payload == payload.decode()
    recorded = AuditEvent.objects.get(action="pledge.payment.recorded")
    assert (recorded.actor_kind, recorded.actor_label) == ("webhook", event.event_id)
    assert recorded.pledge == pledge
    assert (recorded.old_values["status"], recorded.new_values["status"]) == ("submitted", "paid")
    assert recorded.new_values["external_reference"] == intent.id
    assert CardPaymentIntent.objects.get(payment_intent_id=intent.id).status == "succeeded"


def test_what_the_event_claims_is_re_read_from_stripe(api, stripe_on, stripe_client, stripe_deliver):
    """A signed event whose object says 9,999.99 records what Stripe says
    the PaymentIntent received, 100.00."""
    _, intent = card_pledge_paid_on_stripe(api, stripe_client)
    claimed = stripe_intent_object(intent, amount=999999, amount_received=999999)

    stripe_deliver(*stripe_signed("payment_intent.succeeded", claimed))

    assert Payment.objects.get().amount == Decimal("100.00")


def test_a_succeeded_event_for_an_intent_not_paid_on_stripe_records_nothing(
    api, stripe_on, stripe_client, stripe_deliver
):
    body = api.post("/api/v1/pledges/", card_pledge_body(), format="json").json()
    unpaid = stripe_client.v1.payment_intents.retrieve(body["payment"]["payment_intent"])
    claimed = stripe_intent_object(unpaid, status="succeeded", amount_received=10000, latest_charge="ch_forged")

    response = stripe_deliver(*stripe_signed("payment_intent.succeeded", claimed))

    assert response.status_code == 200
    assert not Payment.objects.exists()
    assert Pledge.objects.get(reference=body["reference"]).status == PledgeStatus.SUBMITTED
    event = StripeEvent.objects.get()
    assert event.status == StripeEventStatus.APPLIED
    assert "requires_payment_method" in event.outcome


def test_a_payment_intent_naming_no_pledge_of_ours_records_nothing(stripe_on, stripe_client, stripe_deliver):
    foreign = stripe_client.v1.payment_intents.create(
        params={"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )

    response = stripe_deliver(*succeeded(foreign))

    assert response.status_code == 200
    assert not Payment.objects.exists()
    event = StripeEvent.objects.get()
    assert (event.status, event.attempts) == (StripeEventStatus.IGNORED, 1)
    assert event.outcome.startswith(f"Not ours: PaymentIntent {foreign.id} was not created by this service")


# --- Exactly once --------------------------------------------------------------------


def test_a_replayed_event_is_applied_once(api, stripe_on, stripe_client, stripe_deliver):
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)
    payload, signature = succeeded(intent)

    first = stripe_deliver(payload, signature)
    second = stripe_deliver(payload, signature)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["duplicate"] is False
    assert second.json() == {"received": True, "duplicate": True}
    assert Payment.objects.count() == 1
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1
    assert AuditEvent.objects.filter(action="pledge.payment.recorded").count() == 1
    assert Pledge.objects.get(reference=body["reference"]).amount_paid == Decimal("100.00")


def test_two_events_for_one_payment_intent_record_one_payment(api, stripe_on, stripe_client, stripe_deliver):
    """Stripe may send the same change as two events (a retry after a
    timeout has the same id, but a resend from the Dashboard does not)."""
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)

    stripe_deliver(*succeeded(intent))
    stripe_deliver(*succeeded(intent))

    assert StripeEvent.objects.count() == 2
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {StripeEventStatus.APPLIED}
    assert Payment.objects.count() == 1
    assert AuditEvent.objects.filter(action="pledge.payment.recorded").count() == 1
    assert Pledge.objects.get(reference=body["reference"]).amount_paid == Decimal("100.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_event_delivered_six_times_at_once_is_applied_once(postgres_only, stripe_on, stripe_client):
    body, intent = card_pledge_paid_on_stripe(APIClient(), stripe_client)
    payload, signature = succeeded(intent)
    clients = [APIClient() for _ in range(6)]

    responses = run_at_once(*(lambda c=c: stripe_webhook_post(c, payload, signature) for c in clients))

    assert [r.status_code for r in responses] == [200] * 6
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 5
    event = StripeEvent.objects.get()
    assert event.status == StripeEventStatus.APPLIED
    assert Payment.objects.count() == 1
    assert AuditEvent.objects.filter(action="pledge.payment.recorded").count() == 1
    pledge = Pledge.objects.get(reference=body["reference"])
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, Decimal("100.00"))


# --- The signature ---------------------------------------------------------------------


def _signed_now(**kwargs) -> tuple[bytes, str]:
    obj = sh.payment_intent_object(amount=10000, metadata={"pledge": "RF00NOTAPLEDGE"})
    return stripe_signed("payment_intent.succeeded", obj, **kwargs)


def _wrong_secret():
    payload, _ = _signed_now()
    return payload, sh.sign_payload(payload, "whsec_someone_else")


def _tampered_body():
    payload, signature = _signed_now()
    tampered = payload.replace(b'"amount": 10000', b'"amount": 99')
    assert tampered != payload
    return tampered, signature


def _stale():
    return _signed_now(timestamp=int(time.time()) - 301)


def _ten_minutes_ahead():
    return _signed_now(timestamp=int(time.time()) + 600)


def _no_v1():
    payload, signature = _signed_now()
    return payload, signature.replace("v1=", "v0=")


def _garbage_header():
    payload, _ = _signed_now()
    return payload, "nonsense"


def _no_timestamp():
    payload, signature = _signed_now()
    return payload, signature.split(",", 1)[1]


@pytest.mark.parametrize(
    "bad",
    [_wrong_secret, _tampered_body, _stale, _ten_minutes_ahead, _no_v1, _garbage_header, _no_timestamp],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(api, stripe_on, bad):
    payload, signature = bad()

    response = stripe_webhook_post(api, payload, signature)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400
    assert problem["type"].endswith("signature-invalid")
    assert not StripeEvent.objects.exists()


def test_a_missing_signature_header_is_refused(api, stripe_on):
    payload, _ = _signed_now()

    response = stripe_webhook_post(api, payload, None)

    assert response.status_code == 400
    assert response.json()["type"].endswith("signature-invalid")
    assert not StripeEvent.objects.exists()


def test_webhooks_are_refused_while_no_webhook_secret_is_configured(api, settings, stripe_on):
    payload, signature = _signed_now()
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = stripe_webhook_post(api, payload, signature)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("offset", [-240, 0, 60], ids=["four-minutes-old", "now", "a-minute-ahead"])
def test_timestamps_within_five_minutes_either_way_are_accepted(api, stripe_on, offset):
    payload, signature = _signed_now(timestamp=int(time.time()) + offset)

    response = stripe_webhook_post(api, payload, signature)

    assert response.status_code == 200
    assert StripeEvent.objects.count() == 1


def test_the_signature_is_checked_against_the_exact_bytes_received(api, stripe_on):
    """Re-serialising the JSON (as a framework's parser would) breaks the
    signature; the raw body must be what is verified and stored."""
    payload, signature = _signed_now()
    compact = json.dumps(json.loads(payload), separators=(",", ":")).encode()

    assert stripe_webhook_post(api, compact, signature).status_code == 400
    assert stripe_webhook_post(api, payload, signature).status_code == 200
    assert StripeEvent.objects.get().payload == payload.decode()


# --- What is stored ----------------------------------------------------------------------


def test_an_event_type_we_do_not_handle_is_acknowledged_and_stored_as_ignored(stripe_on, stripe_deliver):
    customer = {"id": "cus_" + "x" * 14, "object": "customer", "email": "someone@example.org"}
    payload, signature = stripe_signed("customer.created", customer)

    response = stripe_deliver(payload, signature)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = StripeEvent.objects.get()
    assert (event.event_type, event.status) == ("customer.created", StripeEventStatus.IGNORED)
    assert event.applied_at is None
    assert not Payment.objects.exists()


def _sign(payload: bytes) -> tuple[bytes, str]:
    return payload, sh.sign_payload(payload, STRIPE_WEBHOOK_SECRET)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json at all",
        b"[]",
        b'{"id": "evt_1", "type": "payment_intent.succeeded"}',
        b'{"id": "cus_1", "type": "customer.created", "created": 1, "data": {"object": {"id": "cus_1"}}}',
        b'{"id": "evt_1", "type": "customer.created", "created": "soon", "data": {"object": {"id": "cus_1"}}}',
        b'{"id": "evt_1", "type": "customer.created", "created": 1, "data": {"object": null}}',
        b'{"id": 7, "type": "customer.created", "created": 1, "data": {"object": {"id": "cus_1"}}}',
        b"\xff\xfe not utf-8",
    ],
    ids=["not-json", "a-list", "no-data", "not-an-event-id", "bad-created", "no-object", "numeric-id", "not-utf8"],
)
def test_a_malformed_but_correctly_signed_body_is_refused_and_nothing_is_stored(api, stripe_on, payload):
    response = stripe_webhook_post(api, *_sign(payload))

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert not StripeEvent.objects.exists()


# --- A declined card -----------------------------------------------------------------


def test_a_declined_card_marks_the_payment_intent_failed_and_leaves_the_pledge(
    api, stripe_on, stripe_client, stripe_deliver
):
    body = api.post("/api/v1/pledges/", card_pledge_body(), format="json").json()
    intent_id = body["payment"]["payment_intent"]
    with pytest.raises(stripe.CardError):
        stripe_card_pay(stripe_client, intent_id, sh.CARD_DECLINED)
    declined = stripe_client.v1.payment_intents.retrieve(intent_id)
    assert declined.status == "requires_payment_method"
    obj = stripe_intent_object(declined, last_payment_error=json.loads(json.dumps(declined.last_payment_error)))

    response = stripe_deliver(*stripe_signed("payment_intent.payment_failed", obj))

    assert response.status_code == 200
    known = CardPaymentIntent.objects.get(payment_intent_id=intent_id)
    assert known.status == "requires_payment_method"
    assert known.last_error == "Your card was declined."
    failed = AuditEvent.objects.get(action="pledge.card_payment.failed")
    assert (failed.actor_kind, failed.pledge.reference) == ("webhook", body["reference"])
    assert failed.new_values == {"payment_intent": intent_id, "status": "requires_payment_method"}
    assert failed.reason == "Your card was declined."
    pledge = Pledge.objects.get(reference=body["reference"])
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.SUBMITTED, Decimal("0"))
    assert not Payment.objects.exists()
    assert StripeEvent.objects.get().status == StripeEventStatus.APPLIED


# --- Money for a pledge that was closed meanwhile ------------------------------------------


def test_card_money_arriving_after_the_pledge_was_cancelled_is_recorded_flagged_and_does_not_reopen_it(
    api, stripe_on, stripe_client, stripe_deliver, fund_admin, client_for
):
    """The donor had the payment form open when staff cancelled the pledge,
    then paid: the money is real, so it is recorded, but a cancelled pledge
    is terminal and takes no money; staff must decide (refund it)."""
    body = api.post("/api/v1/pledges/", card_pledge_body(), format="json").json()
    cancelled = client_for(fund_admin).post(
        f"/api/v1/pledges/{body['reference']}/cancel/", {"reason": "Withdrawn by the donor"}, format="json"
    )
    assert cancelled.status_code == 200, cancelled.content
    intent = stripe_card_pay(stripe_client, body["payment"]["payment_intent"])

    response = stripe_deliver(*stripe_signed("payment_intent.succeeded", stripe_intent_object(intent)))

    assert response.status_code == 200
    payment = Payment.objects.get()
    assert payment.amount == Decimal("100.00")
    pledge = Pledge.objects.get(reference=body["reference"])
    assert (pledge.status, pledge.closed_at is not None) == (PledgeStatus.CANCELLED, True)
    assert payment.review_reason, "money on a cancelled pledge must be flagged for staff"
