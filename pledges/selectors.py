"""Reads and aggregates. Nothing here writes."""

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from pledges.errors import InvalidInput, NotFound, Refusal
from pledges.models import (
    ANNOUNCED_STATUSES,
    PLEDGED_STATUSES,
    PUBLIC_STATUSES,
    USD_MONEY,
    Campaign,
    DonorType,
    EventSession,
    Instalment,
    Pledge,
    PledgeStatus,
)
from pledges.money import USD, ZERO, format_amount, usd_text
from pledges.references import reference_normal

ANONYMOUS_DONOR = "Anonymous donor"


SLUG = re.compile(r"[-\w]+")


def campaign_get(slug: str | None, *, field: str = "campaign") -> Campaign:
    """The campaign named by slug, or the default one; an unknown slug is
    the caller's mistake, named by `field`."""
    slug = slug or settings.DEFAULT_CAMPAIGN_SLUG
    # What cannot be a slug (a NUL character, which PostgreSQL refuses in any
    # query) names no campaign, and costs no query.
    campaign = Campaign.objects.filter(slug=slug).first() if SLUG.fullmatch(slug) else None
    if campaign is None:
        if field:
            raise InvalidInput({field: [Refusal(f"No campaign has the slug {slug!r}.", "campaign-unknown")]})
        raise NotFound(f"No campaign has the slug {slug!r}.")
    return campaign


def session_get(campaign: Campaign, slug: str) -> EventSession:
    """A session of one of the campaign's events, by slug."""
    sessions = list(EventSession.objects.filter(event__campaign=campaign, slug=slug).select_related("event")[:2])
    if not sessions:
        raise InvalidInput(
            {"session": [Refusal(f"The campaign {campaign.slug} has no session {slug!r}.", "session-unknown")]}
        )
    if len(sessions) > 1:
        raise InvalidInput(
            {"session": [Refusal(f"Several events of {campaign.slug} have a session {slug!r}.", "session-ambiguous")]}
        )
    return sessions[0]


USD_FIELD = DecimalField(**USD_MONEY)


def usd_sum(expression: Any, *, filter: Q | None = None) -> Coalesce:
    """The sum of a USD amount (a field's name or an expression) over the
    rows `filter` keeps: zero, not null, when there are none."""
    return Coalesce(Sum(expression, filter=filter), Value(ZERO, output_field=USD_FIELD))


def sum_per_pledge(rows: QuerySet, field: str) -> Subquery:
    """The sum of `field` over those of `rows` that belong to the pledge
    being annotated (null when none does): for `annotate` over pledges."""
    return Subquery(rows.filter(pledge=OuterRef("pk")).values("pledge").annotate(total=Sum(field)).values("total"))


def public_aggregates(
    *,
    status: str = "status",
    amount_usd: str = "amount_usd",
    received_usd: str = "amount_received_usd",
    where: Q | None = None,
) -> dict[str, Any]:
    """The sums every public figure is made of, for `QuerySet.aggregate` or
    `annotate` over pledges: their stored values by default, or the names
    of annotations holding their values at a moment (the reports).

    `announced` sums the indicative pledges, `pledged_firm` the firm ones
    (confirmed, partially paid, paid) and `pledged_lapsed` what lapsed
    pledges actually paid, so the two are never mixed; `received` sums the
    money of every pledge counted. Add them with `pledged_total`. `where`
    narrows every sum to some of the pledges (those made in a period).
    """
    where = where or Q()
    return {
        "announced": usd_sum(amount_usd, filter=where & Q(**{f"{status}__in": ANNOUNCED_STATUSES})),
        "pledged_firm": usd_sum(amount_usd, filter=where & Q(**{f"{status}__in": PLEDGED_STATUSES})),
        "pledged_lapsed": usd_sum(received_usd, filter=where & Q(**{status: PledgeStatus.LAPSED})),
        "received": usd_sum(received_usd, filter=where or None),
        "donors": Count("donor", distinct=True, filter=where or None),
        "pledges": Count("id", filter=where or None),
    }


def pledged_total(row: Mapping[str, Any]) -> Decimal:
    """What is pledged: the firm pledges and what lapsed ones paid."""
    return row["pledged_firm"] + row["pledged_lapsed"]


def public_totals(campaign: Campaign) -> dict[str, Any]:
    """The public figures of a campaign in USD. No personal data.

    `announced` counts indicative pledges said from the floor; `pledged` the
    firm ones (confirmed, partially paid, paid) plus what lapsed pledges
    actually paid, so the two are never mixed, as FTS keeps pledges apart
    from commitments. Unverified web submissions and cancelled pledges
    count nowhere. Pledges whose currency has no rate yet are counted in
    `awaiting_rate`, not converted at a guess.
    """
    counted = Pledge.objects.filter(campaign=campaign, status__in=PUBLIC_STATUSES)
    aggregates = {**public_aggregates(), "fees": usd_sum("fees_usd")}
    overall = counted.aggregate(
        **aggregates,
        updated_at=Max("updated_at"),
        awaiting_rate=Count("id", filter=Q(amount_usd__isnull=True)),
    )
    by_type: dict[str, Mapping[str, Any]] = {
        row["donor__donor_type"]: row for row in counted.values("donor__donor_type").annotate(**aggregates)
    }
    awaiting_currencies = sorted(counted.filter(amount_usd__isnull=True).values_list("currency", flat=True).distinct())

    pledged = pledged_total(overall)
    progress = min(Decimal(1), pledged / campaign.goal_usd) if campaign.goal_usd else Decimal(0)
    return {
        "campaign": campaign.slug,
        "title": campaign.title,
        "currency": USD,
        "goal": usd_text(campaign.goal_usd),
        "announced": usd_text(overall["announced"]),
        "pledged": usd_text(pledged),
        "received": usd_text(overall["received"]),
        "fees": usd_text(overall["fees"]),
        "donors": overall["donors"],
        "pledges": overall["pledges"],
        "progress": float(progress.quantize(Decimal("0.0001"))),
        "by_donor_type": [
            {
                "type": donor_type,
                "announced": usd_text(by_type.get(donor_type, {}).get("announced")),
                "pledged": usd_text(pledged_total(by_type[donor_type]) if donor_type in by_type else ZERO),
                "received": usd_text(by_type.get(donor_type, {}).get("received")),
                "donors": by_type.get(donor_type, {}).get("donors", 0),
            }
            for donor_type in DonorType.values
        ],
        "awaiting_rate": {"pledges": overall["awaiting_rate"], "currencies": awaiting_currencies},
        "updated_at": overall["updated_at"] or campaign.created_at,
    }


def public_pledges(campaign: Campaign, *, limit: int) -> list[dict[str, Any]]:
    """Recent counted pledges as their donors consented to show them: the
    name only with consent ("Anonymous donor" otherwise, and then no
    country either), the amount only with consent. Never contact details."""
    pledges = (
        Pledge.objects.filter(campaign=campaign, status__in=PUBLIC_STATUSES)
        .select_related("donor", "session")
        .only(
            "status",
            "amount",
            "currency",
            "amount_usd",
            "pledged_on",
            "created_at",
            "public_name",
            "public_amount",
            "statement",
            "public_statement",
            "donor__name",
            "donor__donor_type",
            "donor__country",
            "session__slug",
            "session__title",
        )
        .order_by("-pledged_on", "-created_at")[:limit]
    )
    return [
        {
            "donor": pledge.donor.name if pledge.public_name else ANONYMOUS_DONOR,
            "donor_type": pledge.donor.donor_type,
            "country": pledge.donor.country or None if pledge.public_name else None,
            "amount": format_amount(pledge.amount, pledge.currency) if pledge.public_amount else None,
            "currency": pledge.currency if pledge.public_amount else None,
            "amount_usd": (str(pledge.amount_usd) if pledge.public_amount and pledge.amount_usd is not None else None),
            "status": pledge.status,
            "session": pledge.session.slug if pledge.session else None,
            "pledged_on": pledge.pledged_on,
            "statement": pledge.statement if pledge.public_name or pledge.public_statement else "",
        }
        for pledge in pledges
    ]


# --- Staff reads ------------------------------------------------------------


def pledges_for_staff(*, today: date | None = None) -> QuerySet[Pledge]:
    """Pledges with their donor, campaign and session, annotated with what
    was due by today (`amount_due_to_date`) and whether any of it is unpaid
    (`overdue`). Money pays the earliest instalments first, so a pledge is
    overdue exactly when more fell due before today than has been paid."""
    today = today or timezone.localdate()
    due_to_date = sum_per_pledge(Instalment.objects.filter(due_date__lt=today), "amount")
    return (
        Pledge.objects.select_related("donor", "campaign", "session")
        .annotate(amount_due_to_date=Coalesce(due_to_date, Value(ZERO)))
        .annotate(
            overdue=Case(
                When(
                    Q(amount_due_to_date__gt=F("amount_paid"))
                    & ~Q(status__in=[PledgeStatus.CANCELLED, PledgeStatus.LAPSED, PledgeStatus.PAID]),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    )


def pledge_by_reference(text: str, *, queryset: QuerySet[Pledge] | None = None) -> Pledge | None:
    """The pledge `text` names, its reference written as people write it
    (spaces, hyphens, any case); None when there is none."""
    return (Pledge.objects.all() if queryset is None else queryset).filter(reference=reference_normal(text)).first()


def pledge_for_staff(reference: str) -> Pledge:
    pledge = pledge_by_reference(
        reference, queryset=pledges_for_staff().prefetch_related("instalments", "versions", "payments__recorded_by")
    )
    if pledge is None:
        raise NotFound(f"No pledge has the reference {reference!r}.")
    return pledge
