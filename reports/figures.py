"""The figures of a report, computed from the data as it stood at the
report's `as_of` moment. Nothing here writes.

What "as it stood" means, row by row:

- a pledge counts if it was created at or before `as_of`;
- its status is the old status of the change that ended the status it
  had at `as_of` (`PledgeStatusChange`), or the current one when nothing
  changed it since;
- its USD value is the one of the version in force at `as_of` when its
  amount was changed since (`PledgeVersion`), else the current one (a rate
  fixed at confirmation after `as_of` is not undone: a documented
  simplification);
- the money received is the sum of its effective payments recorded at or
  before `as_of` (the stored balance when no payment was recorded since).

So for `as_of` = now every figure is the one `pledges.selectors.public_totals`
gives, and rebuilding a report for the same moment gives the same figures.
Only rows changed after `as_of` pay for the history lookups.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    FilteredRelation,
    Func,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest

from pledges.models import (
    PLEDGED_STATUSES,
    PUBLIC_STATUSES,
    DonorType,
    EventSession,
    Payment,
    Pledge,
    PledgeStatus,
)
from pledges.money import USD, ZERO, format_amount, usd_text
from pledges.payments.services import EFFECTIVE
from pledges.selectors import USD_FIELD, pledged_total, public_aggregates, sum_per_pledge, usd_sum
from pledges.translation import titles_by_language

# 2: rates of nothing are null (were 0.0); pledged_over_time; each named
# pledge's earmark.
SCHEMA_VERSION = 2


def ratio(part: Decimal, whole: Decimal, *, cap: bool = False, empty: float | None = None) -> float | None:
    """part / whole to four places; `empty` (None: "not applicable") when
    there is no whole, e.g. a fulfilment rate where nothing was pledged."""
    if not whole:
        return empty
    value = part / whole
    if cap:
        value = min(Decimal(1), value)
    return float(value.quantize(Decimal("0.0001")))


COUNTED = Q(status_at__in=PUBLIC_STATUSES)


class AsOf(TypedDict):
    """What `pledges_made_by` annotates a pledge with: its values at `as_of`."""

    status_at: str
    amount_usd_at: Decimal | None
    received_at: Decimal


if TYPE_CHECKING:
    # django-stubs-ext is a dev dependency (with django-stubs): the type
    # only exists for the checker.
    from django_stubs_ext import WithAnnotations

    PledgeAsOf = WithAnnotations[Pledge, AsOf]


def pledges_as_of(as_of: datetime) -> "QuerySet[PledgeAsOf]":
    """Pledges counted at `as_of` (by their status then), annotated with
    `status_at`, `amount_usd_at` and `received_at`: their values at that
    moment."""
    return pledges_made_by(as_of).filter(COUNTED)


def pledges_made_by(as_of: datetime) -> "QuerySet[PledgeAsOf]":
    """Pledges created by `as_of`, counted then or not, annotated as
    `pledges_as_of` does. The sums over them filter on COUNTED themselves:
    a filter on the status then, in the WHERE clause, would leave the
    planner guessing how many rows pass (it cannot see through COALESCE
    of a join) and choosing nested loops over the whole table.

    The status and the amount each come from at most one row joined to the
    pledge: the status change whose [old_status_since, at) holds `as_of`
    (its old status was the status then), and the version in force then.
    No row joined: nothing changed since, the stored value holds."""
    spanning = _spanning(as_of, "status_changes")
    in_force = Q(versions__valid_from__lte=as_of, versions__valid_until__gt=as_of)
    paid_since = Payment.objects.filter(created_at__gt=as_of).values("pledge_id")
    received_then = sum_per_pledge(Payment.objects.filter(status__in=EFFECTIVE, created_at__lte=as_of), "amount_usd")
    return (
        Pledge.objects.filter(created_at__lte=as_of)
        .annotate(
            change_then=FilteredRelation("status_changes", condition=spanning),
            version_then=FilteredRelation("versions", condition=in_force),
        )
        .annotate(
            status_at=Coalesce(F("change_then__old_status"), F("status"), output_field=CharField()),
            amount_usd_at=Coalesce(F("version_then__amount_usd"), F("amount_usd"), output_field=USD_FIELD),
            received_at=Case(
                When(pk__in=paid_since, then=Coalesce(received_then, Value(ZERO), output_field=USD_FIELD)),
                default=F("amount_received_usd"),
                output_field=USD_FIELD,
            ),
        )
    )


def _spanning(as_of: datetime, changes: str) -> Q:
    """The status change (through the relation `changes`) whose
    [old_status_since, at) holds `as_of`."""
    return Q(**{f"{changes}__at__gt": as_of}) & (
        Q(**{f"{changes}__old_status_since__lte": as_of}) | Q(**{f"{changes}__old_status_since__isnull": True})
    )


def _payments_counted(scope: Q, as_of: datetime) -> tuple[QuerySet[Payment], Q]:
    """The effective payments with a USD value recorded by `as_of` on the
    pledges in `scope` (conditions on the payment's pledge) made by then,
    and the condition that their pledge was counted then (for the sums'
    filters, as in `pledges_made_by`). The pledge's conditions go on the
    join the status needs anyway, not through a subquery of the pledges."""
    payments = (
        Payment.objects.filter(
            scope, pledge__created_at__lte=as_of, status__in=EFFECTIVE, created_at__lte=as_of, amount_usd__isnull=False
        )
        .annotate(
            pledge_change_then=FilteredRelation(
                "pledge__status_changes", condition=_spanning(as_of, "pledge__status_changes")
            )
        )
        .annotate(
            pledge_status_at=Coalesce(
                F("pledge_change_then__old_status"), F("pledge__status"), output_field=CharField()
            )
        )
    )
    return payments, Q(pledge_status_at__in=PUBLIC_STATUSES)


def _scope(report, prefix: str = "") -> Q:
    """The pledges a report covers (its campaign's, or its event's), as a
    condition on pledges (`prefix` "pledge__": on their payments)."""
    scope = Q(**{f"{prefix}campaign": report.campaign})
    if report.event_id:
        scope &= Q(**{f"{prefix}session__event": report.event})
    return scope


class RunningSum(Func):
    """SUM as a window function over the groups of a grouped query: Django
    refuses Sum() of an aggregate, but SUM(SUM(...)) OVER (ORDER BY ...) is
    what gives a cumulative series in the query that makes its groups."""

    function = "SUM"
    window_compatible = True


def _cumulative(total: str, by: str) -> Window:
    """The running sum of the grouped `total`, groups in `by` order: one
    group a value of `by`, so each row's frame ends with that row."""
    return Window(RunningSum(total), order_by=F(by).asc())


def _received_over_time(
    payments: QuerySet[Payment], counted: Q, period: tuple[date, date] | None
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The received series, a row for every day a payment on a counted
    pledge was received, and the receipts of the `period`'s days (first
    and last) in it: a day without a counted payment is not in the series,
    and would add nothing."""
    over_time = []
    receipts = {"count": 0, "amount": ZERO}
    for day, total, count, cumulative in _received_by_day(payments, counted):
        over_time.append({"date": day.isoformat(), "received": usd_text(total), "cumulative": usd_text(cumulative)})
        if period and period[0] <= day <= period[1]:
            receipts["count"] += count
            receipts["amount"] += total
    return over_time, receipts


def _received_by_day(payments: QuerySet[Payment], counted: Q) -> "QuerySet[Any]":
    """(day, received, receipts, cumulative) for every day a payment on a
    counted pledge was received, in order: receipts counts the payments of
    more than nothing."""
    return (
        payments.values("received_on")
        .annotate(
            total=Sum("amount_usd", filter=counted),
            receipts=Count("id", filter=counted & Q(amount__gt=0)),
        )
        .filter(total__isnull=False)
        .annotate(cumulative=_cumulative("total", "received_on"))
        .order_by("received_on")
        .values_list("received_on", "total", "receipts", "cumulative")
    )


def _pledged_by_day(made: "QuerySet[PledgeAsOf]") -> "QuerySet[Any]":
    """(day, pledged, cumulative) for every day a pledge made by `as_of`
    that was firm or lapsed then became firm, in order. Each pledge counts
    from its confirmation (its date of pledge when it was never confirmed),
    at what it counts for as pledged: its amount when firm, what it paid
    when lapsed. The status then filters the sums, not the rows (see
    `pledges_made_by`)."""
    firm = Q(status_at__in=(*PLEDGED_STATUSES, PledgeStatus.LAPSED))
    pledged_value = Case(
        When(status_at__in=PLEDGED_STATUSES, then=F("amount_usd_at")),
        When(status_at=PledgeStatus.LAPSED, then=F("received_at")),
        default=Value(ZERO),
        output_field=USD_FIELD,
    )
    return (
        made.annotate(firm_on=Coalesce("confirmed_on", "pledged_on"))
        .values("firm_on")
        .annotate(total=usd_sum(pledged_value, filter=firm), firm=Count("id", filter=firm))
        .filter(firm__gt=0)
        .annotate(cumulative=_cumulative("total", "firm_on"))
        .order_by("firm_on")
        .values_list("firm_on", "total", "cumulative")
    )


def _aggregates(where: Q | None = None) -> dict:
    """The public sums over the counted pledges' values at `as_of` (and
    `where`, when given), and what the firm pledges still owe then."""
    zero = Value(ZERO, output_field=USD_FIELD)
    owed = Greatest(F("amount_usd_at") - F("received_at"), zero, output_field=USD_FIELD)
    return {
        **public_aggregates(
            status="status_at", amount_usd="amount_usd_at", received_usd="received_at", where=COUNTED & (where or Q())
        ),
        "outstanding": usd_sum(owed, filter=Q(status_at__in=PLEDGED_STATUSES)),
    }


def _totals(row: Mapping[str, Any]) -> dict[str, Any]:
    pledged = pledged_total(row)
    return {
        "announced": usd_text(row["announced"]),
        "pledged": usd_text(pledged),
        "received": usd_text(row["received"]),
        "outstanding": usd_text(row["outstanding"]),
        "fulfilment_rate": ratio(row["received"], pledged),
        "donors": row["donors"],
        "pledges": row["pledges"],
    }


def report_figures(report) -> dict[str, Any]:
    """Everything a report shows, as JSON-ready values (amounts are USD
    string decimals), in a stable order."""
    as_of = report.as_of
    campaign = report.campaign
    made = pledges_made_by(as_of).filter(_scope(report))
    counted = made.filter(COUNTED)

    # The rows of `values(...).annotate(**sums)`: the type checker sees
    # the grouping keys only, not the sums' names.
    row: Mapping[str, Any]

    # One pass by donor type gives the headline too (every donor has one
    # type, so its donors add up) and, for a period report, the new pledges.
    in_period = None
    sums = {**_aggregates(), "awaiting_rate": Count("id", filter=COUNTED & Q(amount_usd_at__isnull=True))}
    if report.kind == "period":
        in_period = Q(pledged_on__gte=report.period_start, pledged_on__lte=report.period_end)
        new_sums = _aggregates(where=in_period)
        sums |= {f"new_{name}": new_sums[name] for name in ("announced", "pledged_firm", "pledged_lapsed", "pledges")}
    by_type_rows: dict[str, Mapping[str, Any]] = {
        row["donor__donor_type"]: row for row in made.values("donor__donor_type").annotate(**sums)
    }
    overall = {name: sum((row[name] for row in by_type_rows.values()), _zero(name)) for name in sums}
    headline = _totals(overall)
    headline["progress"] = ratio(pledged_total(overall), campaign.goal_usd, cap=True, empty=0.0)
    headline["awaiting_rate"] = overall["awaiting_rate"]
    by_donor_type = []
    for donor_type in DonorType.values:
        totals = _totals(by_type_rows.get(donor_type) or _empty())
        by_donor_type.append({"type": donor_type, **totals})

    country_shown = Case(When(public_name=True, then=F("donor__country")), default=Value(""), output_field=CharField())
    country_rows: Iterable[Mapping[str, Any]] = (
        made.annotate(country_shown=country_shown).values("country_shown").annotate(**_aggregates())
    )
    by_country = [{"country": row["country_shown"] or None, **_totals(row)} for row in country_rows if row["pledges"]]
    by_country.sort(key=lambda row: (row["country"] is None, -Decimal(row["pledged"]), row["country"] or ""))

    payments, paid_counted = _payments_counted(_scope(report, "pledge__"), as_of)
    period_days = (report.period_start, report.period_end) if in_period is not None else None
    over_time, receipts = _received_over_time(payments, paid_counted, period_days)
    pledged_over_time = [
        {"date": day.isoformat(), "pledged": usd_text(total), "cumulative": usd_text(cumulative)}
        for day, total, cumulative in _pledged_by_day(made)
    ]

    period = None
    listed = counted
    if in_period is not None:
        new = {**_empty(), **{name: overall[f"new_{name}"] for name in ("announced", "pledged_firm", "pledged_lapsed")}}
        new["pledges"] = overall["new_pledges"]
        period = {
            "start": report.period_start.isoformat(),
            "end": report.period_end.isoformat(),
            "new_pledges": {
                "count": new["pledges"],
                **{k: v for k, v in _totals(new).items() if k in ("announced", "pledged")},
            },
            "receipts": {"count": receipts["count"], "amount": usd_text(receipts["amount"])},
        }
        listed = counted.filter(in_period)

    sessions = []
    if report.event_id:
        session_rows = {
            row["session_id"]: row
            for row in counted.values("session_id").annotate(
                **_aggregates(),
                total_announced=Coalesce(Sum("amount_usd_at"), Value(ZERO, output_field=USD_FIELD)),
            )
        }
        for session in EventSession.objects.filter(event=report.event).order_by("starts_at", "pk"):
            row = session_rows.get(session.pk) or {**_empty(), "total_announced": ZERO}
            totals = _totals(row)
            sessions.append(
                {
                    "session": session.slug,
                    "title": session.title,
                    "titles": titles_by_language(session),  # i10: each language's, for render
                    "starts_at": session.starts_at.isoformat(),
                    "announced_then": usd_text(row["total_announced"]),
                    "still_announced": totals["announced"],
                    "pledged": totals["pledged"],
                    "received": totals["received"],
                    "pledges": totals["pledges"],
                    "turned_into_commitments": ratio(Decimal(totals["pledged"]), row["total_announced"]),
                }
            )

    named = [_named(row) for row in _named_rows(listed)]
    anonymous = listed.filter(public_name=False).aggregate(pledges=Count("id"), donors=Count("donor", distinct=True))

    return {
        "schema": SCHEMA_VERSION,
        "report": {
            "id": report.pk,
            "kind": report.kind,
            "campaign": campaign.slug,
            "campaign_title": campaign.title,
            "campaign_titles": titles_by_language(campaign),
            "event": report.event.slug if report.event_id else None,
            "event_title": report.event.title if report.event_id else None,
            "event_titles": titles_by_language(report.event) if report.event_id else None,
            "event_held_on": report.event.held_on.isoformat() if report.event_id else None,
            "period_start": report.period_start.isoformat() if report.period_start else None,
            "period_end": report.period_end.isoformat() if report.period_end else None,
            "as_of": as_of.isoformat(),
            "replaces": report.replaces_id,
            "currency": USD,
            "goal": usd_text(campaign.goal_usd),
        },
        "headline": headline,
        "period": period,
        "by_donor_type": by_donor_type,
        "by_country": by_country,
        "sessions": sessions,
        "donors": {"named": named, "anonymous_pledges": anonymous["pledges"], "anonymous_donors": anonymous["donors"]},
        "received_over_time": over_time,
        "pledged_over_time": pledged_over_time,
    }


def _named_rows(listed: "QuerySet[PledgeAsOf]") -> Iterable[Mapping[str, Any]]:
    """The named pledges listed, by donor name: only the columns a row of
    the list shows, not whole rows of the pledge, its donor and session."""
    return (
        listed.filter(public_name=True)
        .order_by("donor__name", "pledged_on", "reference")
        .values(
            "donor__name",
            "donor__donor_type",
            "donor__country",
            "status_at",
            "pledged_on",
            "session__slug",
            "earmark",
            "amount",
            "currency",
            "public_amount",
            "amount_usd_at",
            "received_at",
        )
        .iterator(chunk_size=2000)
    )


def _named(row: Mapping[str, Any]) -> dict[str, Any]:
    """A named pledge as the list shows it: its amounts only with consent."""
    shown = row["public_amount"]
    return {
        "donor": row["donor__name"],
        "donor_type": row["donor__donor_type"],
        "country": row["donor__country"] or None,
        "status": row["status_at"],
        "pledged_on": row["pledged_on"].isoformat(),
        "session": row["session__slug"],
        "earmark": row["earmark"],
        "amount": format_amount(row["amount"], row["currency"]) if shown else None,
        "currency": row["currency"] if shown else None,
        "amount_usd": usd_text(row["amount_usd_at"]) if shown and row["amount_usd_at"] is not None else None,
        "received_usd": usd_text(row["received_at"]) if shown else None,
    }


def _zero(name: str) -> Decimal | int:
    return 0 if name in ("donors", "pledges", "awaiting_rate", "new_pledges") else ZERO


def _empty() -> dict:
    return {
        "announced": ZERO,
        "pledged_firm": ZERO,
        "pledged_lapsed": ZERO,
        "received": ZERO,
        "outstanding": ZERO,
        "donors": 0,
        "pledges": 0,
    }
