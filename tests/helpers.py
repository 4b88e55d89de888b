"""Small helpers the test modules share: dates relative to today, the
problem response type, a pledge as `pledge_confirm` leaves it, and the body
a reconciler posts for a bank transfer."""

from datetime import date, timedelta

from django.utils import timezone

from pledges.models import Pledge, PledgeStatus
from tests.factories import PledgeFactory

PROBLEM = "application/problem+json"


def today() -> date:
    return timezone.localdate()


def days_ago(days: int) -> date:
    return today() - timedelta(days=days)


def confirmed_pledge(**fields) -> Pledge:
    """A pledge as `pledge_confirm` leaves it (factories skip services):
    confirmed today, USD 1,000.00 unless `fields` say otherwise."""
    now = timezone.now()
    defaults = {"status": PledgeStatus.CONFIRMED, "verified_at": now, "confirmed_at": now, "confirmed_on": today()}
    return PledgeFactory(**(defaults | fields))


def bank_payment_body(pledge: Pledge, amount: str, bank_reference: str, **fields) -> dict:
    """POST /api/v1/payments/: a bank transfer for `pledge`, in its
    currency, received today; override any field."""
    body = {
        "pledge": pledge.reference,
        "amount": amount,
        "currency": pledge.currency,
        "received_on": str(today()),
        "method": "bank_transfer",
        "bank_reference": bank_reference,
    }
    return body | fields
