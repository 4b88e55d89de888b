"""The reconciliation summary: per donor or per campaign, what was pledged,
received, is outstanding and overdue, in USD and in the original currency."""

from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When

from pledges.models import PledgeStatus
from pledges.selectors import pledges_for_staff

OPEN = [PledgeStatus.SUBMITTED, PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED, PledgeStatus.PARTIALLY_PAID]
ZERO = Value(Decimal(0))
GROUPS = {
    "donor": ("donor_id", "donor__name", "donor__donor_type", "donor__country"),
    "campaign": ("campaign__slug", "campaign__title"),
}


def reconciliation_summary(*, by: str, campaign: str = "") -> QuerySet:
    """One row per donor (or campaign) and currency: `pledged` and `paid`
    in that currency, `outstanding` (what open pledges still owe),
    `overdue` (what fell due and is unpaid), and the USD columns. Cancelled
    pledges are left out; lapsed ones count what they paid."""
    money = DecimalField(max_digits=19, decimal_places=4)
    rows = pledges_for_staff().exclude(status=PledgeStatus.CANCELLED)
    if campaign:
        rows = rows.filter(campaign__slug=campaign)
    is_open = Q(status__in=OPEN)
    return (
        rows.values(*GROUPS[by], "currency")
        .annotate(
            # First, while `overdue` still names each pledge's flag and not
            # the group's sum below.
            # Each pledge's share, converted at its own rate (amount_usd / amount).
            outstanding_usd=Sum(
                Case(
                    When(is_open, then=(F("amount") - F("amount_paid")) * F("amount_usd") / F("amount")),
                    default=ZERO,
                    output_field=money,
                )
            ),
            overdue_usd=Sum(
                Case(
                    When(
                        is_open & Q(overdue=True),
                        then=(F("amount_due_to_date") - F("amount_paid")) * F("amount_usd") / F("amount"),
                    ),
                    default=ZERO,
                    output_field=money,
                )
            ),
            pledges=Count("id"),
            pledged=Sum("amount"),
            paid=Sum("amount_paid"),
            outstanding=Sum(Case(When(is_open, then=F("amount") - F("amount_paid")), default=ZERO, output_field=money)),
            overdue=Sum(
                Case(
                    When(is_open & Q(overdue=True), then=F("amount_due_to_date") - F("amount_paid")),
                    default=ZERO,
                    output_field=money,
                )
            ),
            pledged_usd=Sum("amount_usd"),
            received_usd=Sum("amount_received_usd"),
            awaiting_rate=Count("id", filter=Q(amount_usd__isnull=True)),
        )
        .order_by(*GROUPS[by][1:2], "currency")
    )
