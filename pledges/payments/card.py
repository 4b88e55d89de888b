"""Card payments through Stripe: starting a PaymentIntent for a pledge,
receiving signed webhooks, applying each event exactly once, and repairing
what missed webhooks left behind.

Stripe is only reached through `pledges.payments.stripe`. The amount
charged is always computed here from the pledge, never taken from a
browser; what arrives is checked against what we asked for.
"""

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import DomainError, EventMalformed, TransitionNotAllowed
from pledges.models import (
    CardPaymentIntent,
    Payment,
    PaymentMethod,
    Pledge,
    PledgeStatus,
    StripeEvent,
    StripeEventStatus,
    StripeSyncRun,
)
from pledges.money import CENT, ZERO, format_amount, round_to_currency
from pledges.outbox import task_enqueue
from pledges.payments import stripe as stripe_api
from pledges.payments.services import amount_in_pledge_currency, payment_apply

logger = logging.getLogger(__name__)

STRIPE_ACCOUNT = "stripe"
OPEN_INTENT_STATUSES = frozenset({"requires_payment_method", "requires_confirmation", "requires_action", "processing"})


class EventNotOurs(Exception):
    """The event is about a Stripe object this service did not create (the
    account may serve other integrations too). Raised by a handler before
    it calls Stripe; the event is acknowledged and recorded as ignored."""


# --- Starting a payment ----------------------------------------------------------


def card_amount_due(pledge: Pledge) -> Decimal:
    """What a card payment should take now: the next unpaid instalment when
    the pledge has a plan, else everything outstanding."""
    for line in pledge.instalment_schedule():
        if line["outstanding"] > 0:
            return line["outstanding"]
    return pledge.amount_outstanding


def card_payment_start(*, pledge: Pledge, actor: Actor) -> dict[str, Any]:
    """A PaymentIntent for what the pledge owes now, and what Stripe's
    Payment Element needs in the browser. An open PaymentIntent for the same
    amount is reused, not duplicated; a new one is created with an
    idempotency key derived from the pledge's state, so a retry after a
    timeout returns the same PaymentIntent rather than a second charge.

    Raises TransitionNotAllowed when nothing can be paid,
    CurrencyNotChargeable when Stripe cannot charge the amount exactly,
    StripeUnavailable when Stripe cannot be reached (the pledge stays as
    it is; the payment can be started again later).
    """
    if pledge.status in (PledgeStatus.CANCELLED, PledgeStatus.LAPSED, PledgeStatus.PAID):
        raise TransitionNotAllowed(f"A {pledge.get_status_display().lower()} pledge takes no card payment.")
    amount = card_amount_due(pledge)
    if amount <= 0:
        raise TransitionNotAllowed("Nothing is outstanding on this pledge.")
    amount_minor = stripe_api.minor_units(amount, pledge.currency)

    # Counted before the open intents are looked up: a request racing this one
    # either committed its intent before the count (and the lookup below
    # finds it) or counted the same tries and so sends Stripe the same key.
    # Counted after, a request could miss the other's intent in the lookup
    # yet count it, and create a second PaymentIntent under a new key.
    tries = CardPaymentIntent.objects.filter(pledge=pledge).count()
    for known in CardPaymentIntent.objects.filter(
        pledge=pledge, amount_minor=amount_minor, currency=pledge.currency, status__in=OPEN_INTENT_STATUSES
    ):
        intent = stripe_api.payment_intent_retrieve(known.payment_intent_id)
        _intent_status_update(known, intent)
        if intent.status in OPEN_INTENT_STATUSES:
            return _payment_block(intent, amount, pledge.currency)

    key = f"vtf-pledge-{pledge.pk}-{amount_minor}{pledge.currency}-paid{pledge.amount_paid}-try{tries}"
    intent = stripe_api.payment_intent_create(
        amount_minor=amount_minor, currency=pledge.currency, reference=pledge.reference, idempotency_key=key
    )
    with transaction.atomic():
        _, created = CardPaymentIntent.objects.get_or_create(
            payment_intent_id=intent.id,
            defaults={
                "pledge": pledge,
                "amount": amount,
                "currency": pledge.currency,
                "amount_minor": amount_minor,
                "status": intent.status,
            },
        )
        if created:
            audit_record(
                actor=actor,
                action="pledge.card_payment.started",
                obj=pledge,
                new={"payment_intent": intent.id, "amount": format_amount(amount, pledge.currency)},
            )
    return _payment_block(intent, amount, pledge.currency)


def _payment_block(intent: Any, amount: Decimal, currency: str) -> dict[str, Any]:
    return {
        "provider": "stripe",
        "payment_intent": intent.id,
        "client_secret": intent.client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "amount": format_amount(amount, currency),
        "currency": currency,
    }


def _intent_status_update(known: CardPaymentIntent, intent: Any, *, error: str = "") -> None:
    if known.status != intent.status or error:
        known.status = intent.status
        known.last_error = error or known.last_error
        known.updated_at = timezone.now()
        known.save(update_fields=["status", "last_error", "updated_at"])


def card_payment_intents_cancel(*, pledge: Pledge, actor: Actor) -> list[str]:
    """Cancel the pledge's open PaymentIntents on Stripe (after the pledge
    is cancelled), so a payment form left open cannot take money."""
    cancelled = []
    for known in CardPaymentIntent.objects.filter(pledge=pledge, status__in=OPEN_INTENT_STATUSES):
        intent = stripe_api.payment_intent_cancel(known.payment_intent_id)
        _intent_status_update(known, intent)
        cancelled.append(known.payment_intent_id)
    if cancelled:
        audit_record(
            actor=actor, action="pledge.card_payment.cancelled", obj=pledge, new={"payment_intents": cancelled}
        )
    return cancelled


# --- Receiving events ----------------------------------------------------------------


def stripe_event_receive(*, payload: bytes, signature: str, source: str = "webhook") -> tuple[StripeEvent, bool]:
    """Verify a webhook and store the event by its `evt_` id with its raw
    body, before anything is applied. Returns the event and whether it is
    new. Applying it is queued after commit; a replayed or concurrently
    delivered event finds the stored row and changes nothing.

    Raises SignatureInvalid (nothing stored) or EventMalformed."""
    stripe_api.webhook_verify(payload, signature)
    return stripe_event_store(payload=payload, source=source)


def stripe_event_store(*, payload: bytes, source: str) -> tuple[StripeEvent, bool]:
    try:
        data = json.loads(payload)
        event_id, event_type, created = data["id"], data["type"], int(data["created"])
        if not (isinstance(event_id, str) and event_id.startswith("evt_") and isinstance(event_type, str)):
            raise ValueError
        data["data"]["object"]["id"]
    except (ValueError, KeyError, TypeError):
        raise EventMalformed("The body is not a Stripe event (id, type, created, data.object).") from None
    with transaction.atomic():
        event, created_now = StripeEvent.objects.get_or_create(
            event_id=event_id,
            defaults={
                "event_type": event_type[:100],
                "payload": payload.decode("utf-8"),
                "stripe_created_at": datetime.fromtimestamp(created, tz=UTC),
                "source": source,
            },
        )
        if event.status in (StripeEventStatus.RECEIVED, StripeEventStatus.FAILED):
            # Robust: the event is stored and Stripe gets its 2xx even if
            # applying fails now (with tasks run in-process); the failure is
            # recorded on the event and the repair job retries it.
            task_enqueue("pledges.tasks.stripe_event_apply", event.pk)
    return event, created_now


def stripe_event_apply(*, event_pk: int) -> str:
    """Apply a stored event exactly once: the event row is locked, and an
    event already applied (or ignored) returns at once. Event types we do
    not handle are marked ignored. Raises what the handler raises (the
    task retries); the failure is recorded on the event."""
    try:
        with transaction.atomic():
            event = StripeEvent.objects.select_for_update().get(pk=event_pk)
            if event.status in (StripeEventStatus.APPLIED, StripeEventStatus.IGNORED):
                return event.status
            handler = EVENT_HANDLERS.get(event.event_type)
            if handler is None:
                event.status = StripeEventStatus.IGNORED
                event.outcome = "Not a type this service handles."
            else:
                try:
                    event.outcome = handler(json.loads(event.payload)["data"]["object"], Actor.webhook(event.event_id))
                    event.status = StripeEventStatus.APPLIED
                    event.applied_at = timezone.now()
                except EventNotOurs as not_ours:
                    event.status = StripeEventStatus.IGNORED
                    event.outcome = f"Not ours: {not_ours}"
            event.attempts += 1
            event.save(update_fields=["status", "outcome", "applied_at", "attempts"])
            return event.status
    except Exception as error:
        # Outside the rolled-back transaction: the attempt and its reason
        # stay visible to staff (admin: Stripe events) while the task retries.
        StripeEvent.objects.filter(pk=event_pk).exclude(status=StripeEventStatus.APPLIED).update(
            status=StripeEventStatus.FAILED,
            outcome=f"{type(error).__name__}: {error}"[:2000],
            attempts=F("attempts") + 1,
        )
        raise


# --- Whose object is it? Decided from our own rows, before calling Stripe -------


def _charge_id(intent: Any) -> str:
    """The PaymentIntent's (latest) charge, in either API shape: `latest_charge`
    (2022-11-15 on, an id or an expanded object) or the embedded `charges` list
    of older versions (newest first)."""
    latest = intent.get("latest_charge")
    if latest:
        return latest if isinstance(latest, str) else latest.get("id", "")
    charges = (intent.get("charges") or {}).get("data") or []
    return charges[0].get("id", "") if charges else ""


def _metadata_pledge(obj: Any) -> str:
    metadata = obj.get("metadata") or {}
    return metadata.get("pledge", "") if isinstance(metadata, dict) else ""


def _intent_is_ours(intent_id: str, metadata_pledge: str = "") -> bool:
    if not intent_id:
        return False
    if CardPaymentIntent.objects.filter(payment_intent_id=intent_id).exists() or _card_payment(intent_id):
        return True
    # A PaymentIntent whose creation answer was lost on the way back: its
    # metadata names one of our pledges.
    return bool(metadata_pledge) and Pledge.objects.filter(reference=metadata_pledge).exists()


def _intent_of_payment_intent(obj: dict) -> str:
    if not _intent_is_ours(obj["id"], _metadata_pledge(obj)):
        raise EventNotOurs(f"PaymentIntent {obj['id']} was not created by this service and names no pledge of ours.")
    return obj["id"]


def _intent_of_charge(*, charge_id: str, intent_id: str, metadata_pledge: str = "", what: str) -> str:
    """The PaymentIntent (ours) behind a charge, a refund or a dispute.
    Older API versions name only the charge: we know our charges."""
    if intent_id and _intent_is_ours(intent_id, metadata_pledge):
        return intent_id
    if charge_id:
        known = CardPaymentIntent.objects.filter(charge_id=charge_id).values_list("payment_intent_id", flat=True)
        if known:
            return known[0]
    if intent_id:
        raise EventNotOurs(f"{what}: PaymentIntent {intent_id} was not created by this service.")
    raise EventNotOurs(
        f"{what}: charge {charge_id or '(none)'} is not a charge of a PaymentIntent this service created."
    )


# --- Handlers: each reads what it needs from Stripe and locks the pledge ------


def _pledge_for_intent(intent: Any) -> Pledge | None:
    known = CardPaymentIntent.objects.filter(payment_intent_id=intent.id).select_related("pledge").first()
    if known is not None:
        return known.pledge
    reference = (intent.metadata or {}).get("pledge", "")
    return Pledge.objects.filter(reference=reference).first() if reference else None


def _card_payment(intent_id: str) -> Payment | None:
    return Payment.objects.filter(
        bank_account=STRIPE_ACCOUNT, external_reference=intent_id, method=PaymentMethod.CARD, reverses__isnull=True
    ).first()


def _charge_id_record(known: CardPaymentIntent, intent: Any) -> None:
    charge_id = _charge_id(intent)
    if charge_id and known.charge_id != charge_id:
        known.charge_id = charge_id
        known.save(update_fields=["charge_id"])


def card_payment_record(intent: Any, actor: Actor) -> str:
    """Record a succeeded PaymentIntent as a card payment, once. What
    arrived is what is recorded: an amount or currency that differs from
    what we asked for is applied as received and flagged for staff, never
    counted as full payment."""
    pledge = _pledge_for_intent(intent)
    if pledge is None:
        logger.info("PaymentIntent %s names no pledge of ours", intent.id)
        return f"{intent.id} names no pledge of ours; nothing recorded."
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
        if _card_payment(intent.id) is not None:
            return f"{intent.id} is already recorded."
        currency = intent.currency.upper()
        amount = stripe_api.from_minor_units(intent.amount_received, currency)
        received_on = datetime.fromtimestamp(intent.created, tz=UTC).date()
        review = _review_reasons(intent, pledge, amount, currency)
        applied = amount_in_pledge_currency(amount, currency, pledge_currency=pledge.currency, on=received_on)
        if applied is None:
            review.append(
                f"no exchange rate converts {currency} to {pledge.currency}: nothing applied until staff decide"
            )
            applied = ZERO
        fee, fee_usd = _stripe_fee(intent, currency)
        payment = payment_apply(
            pledge=pledge,
            entry=Payment(
                method=PaymentMethod.CARD,
                amount=amount,
                currency=currency,
                amount_applied=applied,
                fee=fee,
                fee_usd=fee_usd,
                received_on=received_on,
                bank_account=STRIPE_ACCOUNT,
                external_reference=intent.id,
                review_reason="; ".join(review),
                note="Card payment through Stripe",
            ),
            actor=actor,
        )
        known = CardPaymentIntent.objects.filter(payment_intent_id=intent.id).first()
        if known is not None:
            _intent_status_update(known, intent)
            _charge_id_record(known, intent)
    flagged = f", flagged: {payment.review_reason}" if payment.review_reason else ""
    return f"Recorded {format_amount(amount, currency)} {currency} on {pledge.reference}{flagged}."


def _review_reasons(intent: Any, pledge: Pledge, amount: Decimal, currency: str) -> list[str]:
    reasons = []
    if pledge.status == PledgeStatus.CANCELLED:
        reasons.append("money received on a cancelled pledge: refund it or record a new pledge")
    known = CardPaymentIntent.objects.filter(payment_intent_id=intent.id).first()
    if known is None:
        return [*reasons, f"Stripe PaymentIntent {intent.id} was not created by this service"]
    if (known.amount_minor, known.currency) != (intent.amount_received, currency):
        reasons.append(
            f"asked for {format_amount(known.amount, known.currency)} {known.currency}, "
            f"received {format_amount(amount, currency)} {currency}"
        )
    if (intent.metadata or {}).get("pledge") not in (None, "", pledge.reference):
        reasons.append(f"metadata names pledge {intent.metadata.get('pledge')}")
    return reasons


def _stripe_fee(intent: Any, currency: str) -> tuple[Decimal, Decimal | None]:
    """Stripe's fee from the charge's balance transaction, where available:
    in the payment's currency, and in USD when Stripe settles in USD."""
    charge_id = _charge_id(intent)
    if not charge_id:
        return ZERO, None
    charge = stripe_api.charge_retrieve(charge_id)
    if not charge.balance_transaction:
        return ZERO, None
    bt = stripe_api.balance_transaction_retrieve(charge.balance_transaction)
    if bt is None or not bt.fee:
        return ZERO, None
    settled = bt.currency.upper()
    fee_settled = stripe_api.from_minor_units(bt.fee, settled)
    if settled == currency:
        return fee_settled, fee_settled if settled == "USD" else None
    rate = Decimal(str(bt.exchange_rate or 0))
    fee = round_to_currency(fee_settled / rate, currency) if rate else ZERO
    return fee, fee_settled if settled == "USD" else None


def on_payment_intent_succeeded(obj: dict, actor: Actor) -> str:
    # Read the current object: the event may be old or out of order.
    intent = stripe_api.payment_intent_retrieve(_intent_of_payment_intent(obj))
    if intent.status != "succeeded":
        return f"{intent.id} is {intent.status} on Stripe now; nothing recorded."
    return card_payment_record(intent, actor)


def _intent_unpaid_record(obj: dict, actor: Actor, *, action: str, reason: str, error: str = "") -> Any:
    """A PaymentIntent of ours that failed or was canceled: its status as
    Stripe has it now (fetched, not taken from the event) and the
    pledge's audit record, in one transaction. Returns the PaymentIntent."""
    known = CardPaymentIntent.objects.filter(payment_intent_id=obj["id"]).select_related("pledge").first()
    if known is None:
        raise EventNotOurs(f"PaymentIntent {obj['id']} was not created by this service.")
    intent = stripe_api.payment_intent_retrieve(obj["id"])
    with transaction.atomic():
        _intent_status_update(known, intent, error=error)
        audit_record(
            actor=actor,
            action=action,
            obj=known.pledge,
            new={"payment_intent": intent.id, "status": intent.status},
            reason=reason,
        )
    return intent


def on_payment_intent_failed(obj: dict, actor: Actor) -> str:
    error = _failure_message(obj)
    intent = _intent_unpaid_record(obj, actor, action="pledge.card_payment.failed", reason=error, error=error)
    return f"{intent.id} failed: {error}."


def _failure_message(obj: dict) -> str:
    """Why a payment failed, from `last_payment_error` or (older API
    versions) the failure message of its embedded charge."""
    message = (obj.get("last_payment_error") or {}).get("message")
    if not message:
        charges = (obj.get("charges") or {}).get("data") or []
        message = charges[0].get("failure_message") if charges else None
    return message or "declined"


def on_payment_intent_canceled(obj: dict, actor: Actor) -> str:
    reason = obj.get("cancellation_reason") or "no reason given"
    intent = _intent_unpaid_record(obj, actor, action="pledge.card_payment.canceled", reason=reason)
    return f"{intent.id} canceled ({reason}); it is {intent.status} on Stripe."


def _payment_for_charge(charge: dict, actor: Actor) -> Payment | None:
    """The recorded card payment of a charge (its PaymentIntent found by
    `_intent_of_charge`), recording it first if its `payment_intent.succeeded`
    has not arrived yet (refunds and disputes can overtake it)."""
    intent_id = charge.get("payment_intent")
    if not intent_id:
        return None
    if _card_payment(intent_id) is None:
        intent = stripe_api.payment_intent_retrieve(intent_id)
        if intent.status == "succeeded":
            card_payment_record(intent, actor)
    return _card_payment(intent_id)


def on_charge_refunded(obj: dict, actor: Actor) -> str:
    """Record each refund of the charge once, fetched from the API (newer
    API versions do not embed them). Partial and repeated refunds add up
    and never exceed what was captured."""
    intent_id = _intent_of_charge(
        charge_id=obj["id"],
        intent_id=obj.get("payment_intent") or "",
        metadata_pledge=_metadata_pledge(obj),
        what="The charge",
    )
    payment = _payment_for_charge({"id": obj["id"], "payment_intent": intent_id}, actor)
    if payment is None:
        return f"Charge {obj['id']} has no card payment of ours."
    recorded = []
    for refund in sorted(stripe_api.refunds_list(obj["id"]), key=lambda r: r.created):
        if refund.status != "succeeded":
            continue
        outcome = _money_out(
            payment,
            reference=refund.id,
            amount=stripe_api.from_minor_units(refund.amount, refund.currency.upper()),
            action="pledge.payment.refunded",
            note="Card refund through Stripe",
            actor=actor,
        )
        if outcome:
            recorded.append(outcome)
    return "; ".join(recorded) or "No new refunds."


def _money_out(payment: Payment, *, reference: str, amount: Decimal, action: str, note: str, actor: Actor) -> str:
    """Take money back out of a card payment (a refund, a lost dispute) as
    a negative entry, once per Stripe object, capped at what remains."""
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().get(pk=payment.pledge_id)
        if Payment.objects.filter(bank_account=STRIPE_ACCOUNT, external_reference=reference).exists():
            return ""
        taken = payment.taken_back.aggregate(total=Sum("amount", default=ZERO))["total"]
        remaining = payment.amount + taken
        amount = min(amount, remaining)
        if amount <= 0:
            return f"{reference}: nothing left to take back."
        share = amount / payment.amount
        payment_apply(
            pledge=pledge,
            entry=Payment(
                method=PaymentMethod.CARD,
                amount=-amount,
                currency=payment.currency,
                amount_applied=-round_to_currency(payment.amount_applied * share, pledge.currency),
                amount_usd=None if payment.amount_usd is None else -(payment.amount_usd * share).quantize(CENT),
                fee=ZERO,
                received_on=timezone.localdate(),
                bank_account=STRIPE_ACCOUNT,
                external_reference=reference,
                taken_back_from=payment,
                note=note,
            ),
            actor=actor,
            action=action,
        )
    return f"{reference}: {format_amount(amount, payment.currency)} {payment.currency} taken back."


def on_charge_refund_updated(obj: dict, actor: Actor) -> str:
    """A refund changed (it succeeded later, or failed): the charge's refunds
    are read again, each recorded once."""
    charge_id = obj.get("charge") or ""
    if isinstance(charge_id, dict):
        charge_id = charge_id.get("id", "")
    intent_id = _intent_of_charge(
        charge_id=charge_id, intent_id=obj.get("payment_intent") or "", what=f"Refund {obj['id']}"
    )
    return on_charge_refunded({"id": charge_id, "payment_intent": intent_id}, actor)


# Every status Stripe defines for a dispute (https://docs.stripe.com/api/disputes/object).
# `warning_*` are inquiries (no money withdrawn); `prevented` was stopped
# before it became a dispute. A final status is never overwritten.
DISPUTE_OPEN = frozenset({"warning_needs_response", "warning_under_review", "needs_response", "under_review"})
DISPUTE_FINAL = frozenset({"won", "lost", "warning_closed", "prevented"})
DISPUTE_STATUSES = DISPUTE_OPEN | DISPUTE_FINAL


def on_charge_dispute(obj: dict, actor: Actor) -> str:
    """Flag the payment (and so its pledge) while a dispute is open; a lost
    dispute takes the money back out of the totals. A dispute's final
    status is never overwritten by an older event. A status Stripe does not
    define is refused (the event fails, visible to staff) rather than guessed."""
    status = obj.get("status", "")
    charge_id = obj.get("charge") or ""
    if isinstance(charge_id, dict):
        charge_id = charge_id.get("id", "")
    intent_id = _intent_of_charge(
        charge_id=charge_id, intent_id=obj.get("payment_intent") or "", what=f"Dispute {obj['id']}"
    )
    if status not in DISPUTE_STATUSES:
        raise ValueError(f"Dispute {obj['id']} has the status {status!r}, which Stripe does not define.")
    payment = _payment_for_charge({"id": charge_id, "payment_intent": intent_id}, actor)
    if payment is None:
        return f"Dispute {obj['id']}: PaymentIntent {intent_id} has not succeeded; nothing to flag."
    with transaction.atomic():
        Pledge.objects.select_for_update().get(pk=payment.pledge_id)
        payment = Payment.objects.get(pk=payment.pk)
        if payment.dispute_status in DISPUTE_FINAL:
            return f"Dispute {obj['id']} already closed ({payment.dispute_status})."
        old = payment.dispute_status
        payment.dispute_status = status
        note = f"dispute {obj['id']} ({obj.get('reason', 'unknown reason')}): {status}"
        payment.review_reason = "; ".join(filter(None, [payment.review_reason, note]))
        payment.save(update_fields=["dispute_status", "review_reason"])
        step = "closed" if status in DISPUTE_FINAL else "updated" if old else "opened"
        audit_record(
            actor=actor,
            action=f"pledge.payment.dispute.{step}",
            obj=payment,
            pledge=payment.pledge,
            old={"dispute_status": old},
            new={"dispute_status": status},
            reason=note,
        )
    if status == "lost":
        amount = stripe_api.from_minor_units(obj["amount"], obj["currency"].upper())
        _money_out(
            payment,
            reference=obj["id"],
            amount=amount,
            action="pledge.payment.dispute_lost",
            note="Card dispute lost",
            actor=actor,
        )
    return note


EVENT_HANDLERS: dict[str, Callable[[dict, Actor], str]] = {
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "payment_intent.payment_failed": on_payment_intent_failed,
    "payment_intent.canceled": on_payment_intent_canceled,
    "charge.refunded": on_charge_refunded,
    "charge.refund.updated": on_charge_refund_updated,
    "charge.dispute.created": on_charge_dispute,
    "charge.dispute.updated": on_charge_dispute,
    "charge.dispute.closed": on_charge_dispute,
    "charge.dispute.funds_withdrawn": on_charge_dispute,
    "charge.dispute.funds_reinstated": on_charge_dispute,
}


# --- Repairing what missed webhooks left behind ---------------------------------------


def stripe_reconcile(*, since: timedelta = timedelta(days=3)) -> StripeSyncRun:
    """List Stripe's recent events and our open PaymentIntents, and apply
    whatever a missed or failed webhook left undone. Records a run with a
    report of what it fixed."""
    run = StripeSyncRun.objects.create()
    report: dict[str, list] = {"events_recovered": [], "events_retried": [], "payments_recovered": [], "errors": []}
    actor = Actor.task("stripe_reconcile")
    created_since = int((timezone.now() - since).timestamp())
    try:
        for payload in stripe_api.events_list(created_since=created_since):
            stored, new = stripe_event_store(payload=payload, source="sync")
            if new:
                report["events_recovered"].append(f"{stored.event_id} {stored.event_type}")
        for stored in StripeEvent.objects.filter(
            status__in=[StripeEventStatus.RECEIVED, StripeEventStatus.FAILED],
            received_at__lte=timezone.now() - timedelta(minutes=5),
        ):
            report["events_retried"].append(f"{stored.event_id}: {stripe_event_apply(event_pk=stored.pk)}")
        # Stripe's own list, so a PaymentIntent we have no row for (its
        # creation answer lost on the way back) is found too.
        known = {
            k.payment_intent_id: k for k in CardPaymentIntent.objects.filter(created_at__gte=timezone.now() - since)
        }
        for intent in stripe_api.payment_intents_list(created_since=created_since):
            if intent.id in known:
                _intent_status_update(known[intent.id], intent)
            unrecorded = intent.status == "succeeded" and _card_payment(intent.id) is None
            if unrecorded and _pledge_for_intent(intent) is not None:
                report["payments_recovered"].append(card_payment_record(intent, actor))
        run.status = "done"
    except DomainError as error:
        report["errors"].append(error.detail)
        run.status = "failed"
    run.finished_at = timezone.now()
    run.report = report
    run.save(update_fields=["status", "finished_at", "report"])
    return run
