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

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import F
from django.db.models.functions import Abs
from rapidfuzz import fuzz, process, utils

from pledges.models import Donor, Instalment, Pledge, PledgeStatus, StatementLine
from pledges.money import ZERO, format_amount
from pledges.payments.services import amount_in_pledge_currency
from pledges.reconciliation.parsing import find_references

OPEN_STATUSES = (PledgeStatus.SUBMITTED, PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED, PledgeStatus.PARTIALLY_PAID)
# Amounts within this share of the expected amount count as "the amount"
# for the donor rule (bank charges, rounding in conversion).
AMOUNT_TOLERANCE = Decimal("0.02")
NAME_THRESHOLD = 80
# Rule 2 looks at this many pledges by amount, and as many by instalment, a line.
MAX_CANDIDATES = 200


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


def _band(line: StatementLine) -> tuple[Decimal, Decimal, Decimal]:
    gross = line_gross(line)
    return gross, gross * (1 - AMOUNT_TOLERANCE), gross * (1 + AMOUNT_TOLERANCE)


def donor_candidates(
    line: StatementLine, *, paid: Collection[int] = (), closed: Collection[int] = ()
) -> dict[int, str]:
    """Pledge pk -> donor name: the open pledges in the line's currency whose
    amount (if nothing is paid on them yet) or an instalment is within the
    tolerance of the line, the closest amounts first, at most
    MAX_CANDIDATES of each. `paid` and `closed` name pledges to treat as paid
    or closed although the database does not say so yet (the money of the
    batch being matched)."""
    gross, low, high = _band(line)
    # Closest amounts first (an exact amount is never crowded out of the
    # band by newer pledges), and no default ordering, so PostgreSQL uses
    # the amount indexes instead of walking the newest rows.
    by_amount = (
        Pledge.objects.filter(
            currency=line.currency, status__in=OPEN_STATUSES, amount_paid=0, amount__range=(low, high)
        )
        .exclude(pk__in=list(paid))
        .annotate(distance=Abs(F("amount") - gross))
        .order_by("distance", "pk")
        .values_list("pk", "donor__name")[:MAX_CANDIDATES]
    )
    by_instalment = (
        Instalment.objects.filter(
            pledge__currency=line.currency, pledge__status__in=OPEN_STATUSES, amount__range=(low, high)
        )
        .exclude(pledge__in=list(closed))
        .annotate(distance=Abs(F("amount") - gross))
        .order_by("distance", "pk")
        .values("pledge")[:MAX_CANDIDATES]
    )
    names = dict(by_amount)
    names.update(Pledge.objects.filter(pk__in=by_instalment).order_by().values_list("pk", "donor__name"))
    return names


def best_donor(line: StatementLine, names: dict[int, str]) -> tuple[int, float] | None:
    """The candidate (pledge pk, score) whose donor is named most like the
    debtor, at NAME_THRESHOLD or above; ties go to the earlier candidate."""
    if not names:
        return None
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
    return pk, score


def donor_proposal(line: StatementLine, pledge: Pledge, donor_name: str, score: float) -> Proposal:
    """Rule 2's proposal of `pledge`, whose donor is named `donor_name`, for `line`."""
    gross = line_gross(line)
    confidence = (Decimal("0.5") + Decimal(str(score)) / 250).quantize(Decimal("0.001"))
    return Proposal(
        pledge,
        gross,
        "donor_amount",
        min(confidence, Decimal("0.900")),
        f"No reference; the debtor {line.debtor_name!r} is like the donor {donor_name!r} "
        f"({score:.0f}/100) and {format_amount(gross, line.currency)} {line.currency} is within "
        f"{AMOUNT_TOLERANCE:.0%} of what this pledge expects.",
        False,
    )


def propose_by_donor_and_amount(line: StatementLine) -> Proposal | None:
    """The best open pledge in the line's currency with an amount within
    the tolerance and a donor named like the debtor."""
    if not line.debtor_name.strip():
        return None
    names = donor_candidates(line)
    best = best_donor(line, names)
    if best is None:
        return None
    pk, score = best
    return donor_proposal(line, Pledge.objects.get(pk=pk), names[pk], score)


# --- Rule 2 for a batch of lines ------------------------------------------------------


@dataclass
class DonorCandidates:
    """What rule 2 found for one line of a batch, before the batch's own
    payments: (pledge pk, donor name) by the pledge's amount and by an
    instalment, closest first, a few more than MAX_CANDIDATES of each so
    that pledges the batch pays can drop out; whether there were more still;
    and (PostgreSQL) pledges in the band whose donor's name is
    trigram-similar to the debtor's, which a cut list may have left out."""

    by_amount: list[tuple[int, str]] = field(default_factory=list)
    by_instalment: list[tuple[int, str]] = field(default_factory=list)
    amount_more: bool = False
    instalment_more: bool = False
    named: dict[int, str] = field(default_factory=dict)


# Candidates read beyond MAX_CANDIDATES, to stand in for those the batch pays.
SPARE_CANDIDATES = 100
_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
_LINES = (
    "unnest(%s::bigint[], %s::text[], %s::numeric[], %s::numeric[], %s::numeric[], %s::text[])"
    " AS l(line_id, currency, low, high, gross, debtor)"
)
# The statuses are written out (not parameters) so that PostgreSQL can use
# the partial indexes of pledges.migration_data.matching_indexes_create,
# whose conditions name them.
_BY_AMOUNT = """
SELECT l.line_id, c.id, d.name
FROM {lines}
CROSS JOIN LATERAL (
    SELECT p.id, p.donor_id, abs(p.amount - l.gross) AS distance
    FROM {pledge} p
    WHERE p.currency = l.currency AND p.status IN ({open}) AND p.amount_paid = 0
      AND p.amount BETWEEN l.low AND l.high
    ORDER BY distance, p.id
    LIMIT %s
) c
JOIN {donor} d ON d.id = c.donor_id
ORDER BY l.line_id, c.distance, c.id
"""
_BY_INSTALMENT = """
SELECT l.line_id, c.pledge_id, d.name
FROM {lines}
CROSS JOIN LATERAL (
    SELECT i.pledge_id, abs(i.amount - l.gross) AS distance, i.id
    FROM {instalment} i JOIN {pledge} p ON p.id = i.pledge_id
    WHERE p.currency = l.currency AND p.status IN ({open}) AND i.amount BETWEEN l.low AND l.high
    ORDER BY distance, i.id
    LIMIT %s
) c
JOIN {pledge} p ON p.id = c.pledge_id
JOIN {donor} d ON d.id = p.donor_id
ORDER BY l.line_id, c.distance, c.id
"""
# Through the trigram index on the donor's name (made in pledges.migration_data).
_BY_NAME = """
SELECT l.line_id, p.id, d.name
FROM {lines}
JOIN {donor} d ON d.name %% l.debtor
JOIN {pledge} p ON p.donor_id = d.id
WHERE p.currency = l.currency AND p.status IN ({open})
  AND ((p.amount_paid = 0 AND p.amount BETWEEN l.low AND l.high)
       OR EXISTS (SELECT 1 FROM {instalment} i WHERE i.pledge_id = p.id AND i.amount BETWEEN l.low AND l.high))
ORDER BY l.line_id, p.id
"""


def _lines_params(lines: list[StatementLine]) -> list[list]:
    bands = [_band(line) for line in lines]
    return [
        [line.pk for line in lines],
        [line.currency for line in lines],
        [low for _, low, _ in bands],
        [high for _, _, high in bands],
        [gross for gross, _, _ in bands],
        [line.debtor_name for line in lines],
    ]


def _rows(sql: str, params: list) -> list[tuple]:
    tables = {
        "lines": _LINES,
        "pledge": Pledge._meta.db_table,
        "donor": Donor._meta.db_table,
        "instalment": Instalment._meta.db_table,
        "open": _OPEN,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**tables), params)
        return cursor.fetchall()


def donor_candidates_for(lines: list[StatementLine]) -> dict[int, DonorCandidates]:
    """Rule 2's candidates for many lines (those with a debtor's name), in
    two or three queries on PostgreSQL (a query or two a line elsewhere), as
    the database stands at the start of the batch."""
    lines = [line for line in lines if line.debtor_name.strip()]
    found = {line.pk: DonorCandidates() for line in lines}
    if not lines:
        return found
    if connection.vendor != "postgresql":
        for line in lines:
            found[line.pk].by_amount = list(donor_candidates(line).items())
        return found
    with connection.cursor() as cursor:
        # Compiling these short queries costs more than running them.
        cursor.execute("SET LOCAL jit = off")
    params, limit = _lines_params(lines), MAX_CANDIDATES + SPARE_CANDIDATES
    for line_pk, pledge_pk, name in _rows(_BY_AMOUNT, [*params, limit]):
        found[line_pk].by_amount.append((pledge_pk, name))
    for line_pk, pledge_pk, name in _rows(_BY_INSTALMENT, [*params, limit]):
        found[line_pk].by_instalment.append((pledge_pk, name))
    for candidates in found.values():
        candidates.amount_more = len(candidates.by_amount) >= limit
        candidates.instalment_more = len(candidates.by_instalment) >= limit
    cut = [
        line
        for line in lines
        if len(found[line.pk].by_amount) > MAX_CANDIDATES or len(found[line.pk].by_instalment) > MAX_CANDIDATES
    ]
    if cut:
        for line_pk, pledge_pk, name in _rows(_BY_NAME, _lines_params(cut)):
            found[line_pk].named[pledge_pk] = name
    return found


def donor_names(
    line: StatementLine, found: DonorCandidates, *, paid: Collection[int], closed: Collection[int]
) -> dict[int, str]:
    """The candidates of `line` once the batch's earlier payments count:
    `paid` pledges took money in this batch (so no longer match by their
    amount), `closed` ones are no longer open. The first MAX_CANDIDATES
    left of each list are what `donor_candidates` would read now; when the
    spares ran out, it is asked."""
    by_amount = [(pk, name) for pk, name in found.by_amount if pk not in paid]
    by_instalment = [(pk, name) for pk, name in found.by_instalment if pk not in closed]
    if (found.amount_more and len(by_amount) < MAX_CANDIDATES) or (
        found.instalment_more and len(by_instalment) < MAX_CANDIDATES
    ):
        names = donor_candidates(line, paid=paid, closed=closed)
    else:
        names = dict(by_amount[:MAX_CANDIDATES])
        names.update(by_instalment[:MAX_CANDIDATES])
    for pk, name in found.named.items():
        if pk not in names and pk not in paid:
            names[pk] = name
    return names
