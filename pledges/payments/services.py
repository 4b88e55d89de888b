"""Money in and out of pledges: recording payments and reversing wrong
entries. A pledge's balances and payment status always follow from its
payments, recomputed under a lock on the pledge row."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import DuplicatePayment, InvalidInput, TransitionNotAllowed
from pledges.exchange import convert, convert_to_usd
from pledges.models import AuditEvent, Payment, PaymentMethod, PaymentStatus, Pledge, PledgeStatus
from pledges.money import ZERO, CurrencyError, check_amount, currency_minor_units, format_amount
from pledges.outbox import task_enqueue
from pledges.status import pledge_status_change, status_after_money

# Payments whose money counts: a reversed entry still counts, its reversing
# entry (negative) takes it back out.
EFFECTIVE = (PaymentStatus.SUCCEEDED, PaymentStatus.REVERSED)


@dataclass(frozen=True)
class PaymentDetails:
    amount: Decimal
    currency: str
    received_on: date
    method: str
    bank_reference: str = ""
    bank_account: str = ""
    fee: Decimal = ZERO
    amount_applied: Decimal | None = None
    note: str = ""


def payment_details_errors(details: PaymentDetails, *, pledge_currency: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        currency_minor_units(details.currency)
    except CurrencyError as error:
        return {"currency": [str(error)]}
    for name in ("amount", "fee"):
        try:
            check_amount(getattr(details, name), details.currency)
        except CurrencyError as error:
            errors[name] = [str(error)]
    if "amount" not in errors and details.amount <= 0:
        errors["amount"] = ["The amount must be more than zero."]
    if "fee" not in errors and not ZERO <= details.fee <= details.amount:
        errors["fee"] = ["The fee must be between zero and the amount."]
    if details.amount_applied is not None:
        try:
            check_amount(details.amount_applied, pledge_currency)
        except CurrencyError as error:
            errors["amount_applied"] = [str(error)]
        else:
            if details.amount_applied <= 0:
                errors["amount_applied"] = ["The amount applied must be more than zero."]
    if details.received_on > timezone.localdate():
        errors["received_on"] = ["Money cannot be received in the future."]
    if details.method == PaymentMethod.BANK_TRANSFER and not details.bank_reference.strip():
        errors["bank_reference"] = ["A bank transfer needs the bank's reference, so it cannot be posted twice."]
    return errors


def amount_in_pledge_currency(amount: Decimal, currency: str, *, pledge_currency: str, on: date) -> Decimal | None:
    """What an amount settles of a pledge in the pledge's currency, at the
    rates in force on a date (`pledges.exchange.convert`); None when a rate
    is missing."""
    if currency == pledge_currency:
        return amount
    conversion = convert(amount, currency, pledge_currency, on)
    return None if conversion is None else conversion.amount


BALANCE_FIELDS = ("amount_paid", "amount_received_usd", "fees_usd")


def _balances_set(pledge: Pledge, *, money_arrived: bool) -> str:
    """Recompute (not save) a locked pledge's balances from its payments;
    returns the status they give."""
    sums = pledge.payments.filter(status__in=EFFECTIVE).aggregate(
        paid=Sum("amount_applied", default=ZERO),
        received_usd=Sum("amount_usd", default=ZERO),
        fees_usd=Sum("fee_usd", default=ZERO),
    )
    pledge.amount_paid = sums["paid"]
    pledge.amount_received_usd = sums["received_usd"]
    pledge.fees_usd = sums["fees_usd"]
    return status_after_money(pledge, money_arrived=money_arrived)


def _balances_save(pledge: Pledge, status: str, *, actor: Actor, audit: AuditEvent | None = None) -> None:
    """Save the balances in one UPDATE, through the status writer when the
    status they give is a new one (its history row points at `audit`)."""
    if status == pledge.status:
        pledge.updated_at = timezone.now()
        pledge.save(update_fields=[*BALANCE_FIELDS, "updated_at"])
    else:
        reason = audit.reason if audit is not None else ""
        pledge_status_change(pledge, status, actor=actor, reason=reason, fields=BALANCE_FIELDS, audit=audit)


def pledge_money_refresh(pledge: Pledge, *, money_arrived: bool, actor: Actor) -> None:
    """Recompute and save a locked pledge's balances from its payments, and
    the payment status that follows."""
    _balances_save(pledge, _balances_set(pledge, money_arrived=money_arrived), actor=actor)


def _money_snapshot(pledge: Pledge, status: str | None = None) -> dict:
    return {
        "status": status or pledge.status,
        "amount_paid": format_amount(pledge.amount_paid, pledge.currency),
        "amount_received_usd": str(pledge.amount_received_usd),
    }


def payment_record(*, pledge: Pledge, details: PaymentDetails, actor: Actor) -> Payment:
    """Record money received against a pledge (bank transfer, other).

    The payment may be in another currency than the pledge: what it
    settles of the pledge (`amount_applied`) is then converted through USD
    at the rates of the receipt date, unless staff give it. Its USD value
    uses the receipt date's rate (left empty, flagged, when missing).
    Over-payment is kept and shown, not trimmed.

    Raises InvalidInput for bad fields, TransitionNotAllowed for a
    cancelled pledge, DuplicatePayment when the bank reference is already
    posted on that account. Locks the pledge row.
    """
    bank_account = details.bank_account or (
        settings.FUND_BANK_ACCOUNT["account_number"] if details.method == PaymentMethod.BANK_TRANSFER else ""
    )
    errors = payment_details_errors(details, pledge_currency=pledge.currency)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
        if pledge.status == PledgeStatus.CANCELLED:
            raise TransitionNotAllowed("A cancelled pledge takes no money.")
        applied = details.amount_applied or amount_in_pledge_currency(
            details.amount, details.currency, pledge_currency=pledge.currency, on=details.received_on
        )
        if applied is None:
            raise InvalidInput(
                {
                    "amount_applied": [
                        f"No exchange rate converts {details.currency} to {pledge.currency} on {details.received_on}: "
                        f"give the amount this payment settles in {pledge.currency}, or add the rate first."
                    ]
                }
            )
        payment = payment_apply(
            pledge=pledge,
            entry=Payment(
                method=details.method,
                amount=details.amount,
                currency=details.currency,
                amount_applied=applied,
                fee=details.fee,
                received_on=details.received_on,
                bank_account=bank_account,
                external_reference=details.bank_reference.strip(),
                note=details.note,
            ),
            actor=actor,
        )
    return payment


def payment_apply(
    *, pledge: Pledge, entry: Payment, actor: Actor, action: str = "pledge.payment.recorded", reason: str = ""
) -> Payment:
    """Store a money entry (a payment, a refund, a reversal) on a pledge
    that the caller has locked: its USD value and fee at the rates of its
    date, then the pledge's balances and status, then the audit record.
    Raises DuplicatePayment when its external reference is already posted
    on that account (the unique constraint decides, also under a race)."""
    usd = convert_to_usd(entry.amount, entry.currency, entry.received_on)
    fee_usd = convert_to_usd(entry.fee, entry.currency, entry.received_on)
    entry.pledge = pledge
    entry.amount_usd = entry.amount_usd if entry.amount_usd is not None else (usd.amount_usd if usd else None)
    entry.usd_rate = usd.rate if usd else None
    entry.fee_usd = entry.fee_usd if entry.fee_usd is not None else (fee_usd.amount_usd if fee_usd else None)
    entry.recorded_by = actor.user_to_store
    old = _money_snapshot(pledge)
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
    except IntegrityError:
        raise DuplicatePayment(
            f"The reference {entry.external_reference!r} is already posted on account {entry.bank_account or '-'}."
        ) from None
    status = _balances_set(pledge, money_arrived=entry.amount > 0)
    event = audit_record(
        actor=actor,
        action=action,
        obj=entry,
        pledge=pledge,
        old=old,
        new={
            **_money_snapshot(pledge, status),
            "payment_id": entry.pk,
            "method": entry.method,
            "amount": format_amount(entry.amount, entry.currency),
            "currency": entry.currency,
            "amount_applied": format_amount(entry.amount_applied, pledge.currency),
            "fee": format_amount(entry.fee, entry.currency),
            "received_on": entry.received_on,
            "external_reference": entry.external_reference,
            "review_reason": entry.review_reason,
        },
        reason=reason or entry.note,
    )
    _balances_save(pledge, status, actor=actor, audit=event)
    if entry.amount > 0:
        # The donor is thanked once the money is committed, never for a rollback.
        task_enqueue("pledges.tasks.payment_thank", entry.pk)
    return entry


def payment_reverse(*, payment: Payment, actor: Actor, reason: str) -> Payment:
    """Take a wrong entry back out with a reversing entry (negative amounts,
    pointing at the original), never a deletion. The pledge's balances and
    status follow; a lapsed pledge stays lapsed. Raises
    TransitionNotAllowed when the payment is already reversed or is itself
    a reversal. Locks the pledge row."""
    if not reason.strip():
        raise InvalidInput({"reason": ["Say why the payment is reversed."]})
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().get(pk=payment.pledge_id)
        payment = Payment.objects.get(pk=payment.pk)
        if payment.reverses_id is not None:
            raise TransitionNotAllowed("This entry is itself a reversal; record the payment again instead.")
        if payment.status != PaymentStatus.SUCCEEDED:
            raise TransitionNotAllowed(f"A {payment.get_status_display().lower()} payment cannot be reversed.")
        old = _money_snapshot(pledge)
        reversal = Payment.objects.create(
            pledge=pledge,
            method=payment.method,
            amount=-payment.amount,
            currency=payment.currency,
            amount_applied=-payment.amount_applied,
            amount_usd=None if payment.amount_usd is None else -payment.amount_usd,
            usd_rate=payment.usd_rate,
            fee=-payment.fee,
            fee_usd=None if payment.fee_usd is None else -payment.fee_usd,
            received_on=timezone.localdate(),
            bank_account=payment.bank_account,
            external_reference=payment.external_reference,
            reverses=payment,
            note=reason,
            recorded_by=actor.user,
        )
        payment.status = PaymentStatus.REVERSED
        payment.save(update_fields=["status"])
        status = _balances_set(pledge, money_arrived=False)
        event = audit_record(
            actor=actor,
            action="pledge.payment.reversed",
            obj=payment,
            pledge=pledge,
            old=old,
            new={**_money_snapshot(pledge, status), "payment_id": payment.pk, "reversal_id": reversal.pk},
            reason=reason,
        )
        _balances_save(pledge, status, actor=actor, audit=event)
    return reversal
