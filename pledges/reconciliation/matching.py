"""Matching statement lines to pledges, automatically and explainably.

Rules, in order:

1. The ISO 11649 reference: in the structured creditor reference, or
   anywhere in the free text, whatever the bank did to its spacing and case.
   With the right amount (what is outstanding, or the next instalments
   exactly, after conversion at the value date and counting the charges
   the sender's bank deducted) the match is applied; with another amount
   it is proposed.
2. The donor and the amount: open pledges in the line's currency whose
   outstanding amount or an instalment is within a tolerance of the line,
   whose donor's name is close to the debtor's (rapidfuzz). Proposed only.
3. Otherwise the line waits for review.

Each match records its rule, a confidence between 0 and 1 and a sentence
saying why.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F
from django.db.models.functions import Abs
from rapidfuzz import fuzz, process, utils

from pledges.models import Instalment, Pledge, PledgeStatus, StatementLine
from pledges.money import ZERO, format_amount
from pledges.payments.services import amount_in_pledge_currency
from pledges.reconciliation.parsing import find_references

OPEN_STATUSES = (PledgeStatus.SUBMITTED, PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED, PledgeStatus.PARTIALLY_PAID)
# Amounts within this share of the expected amount count as "the amount"
# for the donor rule (bank charges, rounding in conversion).
AMOUNT_TOLERANCE = Decimal("0.02")
NAME_THRESHOLD = 80


@dataclass(frozen=True)
class Proposal:
    pledge: Pledge
    amount: Decimal  # in the line's currency
    rule: str
    confidence: Decimal
    explanation: str
    apply: bool


def line_gross(line: StatementLine) -> Decimal:
    """What the donor sent: the amount credited plus the charges deducted on the way."""
    return line.amount + line.charges


def right_amounts(pledge: Pledge) -> list[Decimal]:
    """The amounts that settle a pledge exactly: what is outstanding, and
    the running totals of its unpaid instalments (one line may pay several)."""
    amounts = [pledge.amount_outstanding]
    running = ZERO
    for line in pledge.instalment_schedule():
        if line["outstanding"] > 0:
            running += line["outstanding"]
            amounts.append(running)
    return [a for a in dict.fromkeys(amounts) if a > 0]


def propose_by_reference(line: StatementLine, pledges_by_reference: dict[str, Pledge]) -> Proposal | None:
    # The structured reference on its own first, so nothing the payer wrote
    # after it can be read as part of it.
    references = dict.fromkeys([*find_references(line.creditor_reference), *find_references(line.remittance)])
    for reference in references:
        pledge = pledges_by_reference.get(reference)
        if pledge is None:
            continue
        gross = line_gross(line)
        in_pledge_currency = amount_in_pledge_currency(
            gross, line.currency, pledge_currency=pledge.currency, on=line.settlement_date
        )
        shown = f"{format_amount(gross, line.currency)} {line.currency}"
        if pledge.status not in OPEN_STATUSES:
            return Proposal(
                pledge,
                gross,
                "reference",
                Decimal("0.700"),
                f"Reference {reference} names this pledge, but it is {pledge.get_status_display().lower()}.",
                False,
            )
        if in_pledge_currency is None:
            return Proposal(
                pledge,
                gross,
                "reference",
                Decimal("0.800"),
                f"Reference {reference} matches; no rate converts {line.currency} to {pledge.currency} "
                f"on {line.settlement_date}.",
                False,
            )
        if in_pledge_currency in right_amounts(pledge):
            return Proposal(
                pledge,
                gross,
                "reference",
                Decimal("1.000"),
                f"Reference {reference} and the amount {shown} match what is due.",
                True,
            )
        due = format_amount(pledge.amount_outstanding, pledge.currency)
        return Proposal(
            pledge,
            gross,
            "reference",
            Decimal("0.850"),
            f"Reference {reference} matches, but {shown} is not what is due ({due} {pledge.currency} outstanding).",
            False,
        )
    return None


def propose_by_donor_and_amount(line: StatementLine) -> Proposal | None:
    """The best open pledge in the line's currency with an amount within
    the tolerance and a donor named like the debtor."""
    if not line.debtor_name.strip():
        return None
    gross = line_gross(line)
    low, high = gross * (1 - AMOUNT_TOLERANCE), gross * (1 + AMOUNT_TOLERANCE)
    # Closest amounts first (an exact amount is never crowded out of the
    # band by newer pledges), and no default ordering, so PostgreSQL uses
    # the amount indexes instead of walking the newest rows.
    by_amount = (
        Pledge.objects.filter(
            currency=line.currency, status__in=OPEN_STATUSES, amount_paid=0, amount__range=(low, high)
        )
        .annotate(distance=Abs(F("amount") - gross))
        .order_by("distance", "pk")
    )
    by_instalment = Pledge.objects.filter(
        pk__in=Instalment.objects.filter(
            pledge__currency=line.currency, pledge__status__in=OPEN_STATUSES, amount__range=(low, high)
        )
        .annotate(distance=Abs(F("amount") - gross))
        .order_by("distance", "pk")
        .values("pledge")[:200]
    ).order_by()
    candidates = {p.pk: p for p in (by_amount.select_related("donor")[:200])}
    candidates.update({p.pk: p for p in by_instalment.select_related("donor")})
    if not candidates:
        return None
    names = {pk: pledge.donor.name for pk, pledge in candidates.items()}
    best = process.extractOne(
        line.debtor_name,
        names,
        scorer=fuzz.token_set_ratio,
        processor=utils.default_process,
        score_cutoff=NAME_THRESHOLD,
    )
    if best is None:
        return None
    _, score, pk = best
    pledge = candidates[pk]
    confidence = (Decimal("0.5") + Decimal(str(score)) / 250).quantize(Decimal("0.001"))
    return Proposal(
        pledge,
        gross,
        "donor_amount",
        min(confidence, Decimal("0.900")),
        f"No reference; the debtor {line.debtor_name!r} is like the donor {pledge.donor.name!r} "
        f"({score:.0f}/100) and {format_amount(gross, line.currency)} {line.currency} is within "
        f"{AMOUNT_TOLERANCE:.0%} of what this pledge expects.",
        False,
    )
