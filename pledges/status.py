"""A pledge's status: the one writer of it, and the status its money gives.

`pledge_status_change` is the only code that changes `Pledge.status`, and
`pledge_status_begun` records the status a new pledge starts in. Both write
a `PledgeStatusChange` row next to the audit record, which is what the
reports read past statuses from. Neither queues work nor imports tasks.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Max
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import TransitionNotAllowed
from pledges.models import (
    PLEDGE_START_STATUSES,
    PLEDGE_TRANSITIONS,
    ActorKind,
    AuditEvent,
    Payment,
    Pledge,
    PledgeSource,
    PledgeStatus,
    PledgeStatusChange,
)


def _label(status: str) -> str:
    return PledgeStatus(status).label.lower() if status in PledgeStatus.values else repr(status)


def _history_row(
    pledge: Pledge, *, old_status: str, actor: Actor, reason: str, audit: AuditEvent | None, at=None
) -> PledgeStatusChange:
    user = actor.user_to_store
    since = None
    if old_status:
        # The caller holds the pledge's row lock: no change can slip in between.
        since = pledge.status_changes.order_by("-at", "-id").values_list("at", flat=True).first()
    return PledgeStatusChange.objects.create(
        pledge=pledge,
        old_status=old_status,
        new_status=pledge.status,
        at=at or timezone.now(),
        old_status_since=since,
        actor_kind=actor.kind,
        actor_user=user,
        actor_label=actor.label[:200],
        reason=reason,
        audit_event=audit,
    )


def pledge_status_begun(pledge: Pledge, *, actor: Actor, audit: AuditEvent) -> PledgeStatusChange:
    """Record the status a just-inserted pledge starts in: the first row of
    its history, from "" at its `created_at`, pointing at the audit record
    of its creation. Raises TransitionNotAllowed for a status no pledge
    starts in."""
    if pledge.status not in PLEDGE_START_STATUSES:
        raise TransitionNotAllowed(f"A pledge cannot start {_label(pledge.status)}.")
    return _history_row(pledge, old_status="", actor=actor, reason=audit.reason, audit=audit, at=pledge.created_at)


def status_transition_check(old_status: str, new_status: str, *, refusal: str = "") -> None:
    """Raise TransitionNotAllowed unless `PLEDGE_TRANSITIONS` lets a pledge
    go from `old_status` to `new_status` (the same status is no change)."""
    if new_status != old_status and new_status not in PLEDGE_TRANSITIONS.get(old_status, ()):
        raise TransitionNotAllowed(refusal or f"A {_label(old_status)} pledge cannot become {_label(new_status)}.")


def status_changes_bulk_record(
    changes: Sequence[tuple[Pledge, str, str, AuditEvent | None]], *, actor: Actor, at
) -> list[PledgeStatusChange]:
    """The history rows of status changes a batch made in memory and saved
    in bulk (statement matching): each `(pledge, old, new, audit)` in the
    order the batch made them, checked against `PLEDGE_TRANSITIONS` by the
    batch when it made them (`status_transition_check`). The caller holds
    the pledges' row locks and has stored the audit records. One query for
    the moments the pledges entered their status before the batch, one
    INSERT for the rows."""
    if not changes:
        return []
    pks = {pledge.pk for pledge, _, _, _ in changes}
    since = dict(
        PledgeStatusChange.objects.filter(pledge_id__in=pks)
        .order_by()
        .values("pledge_id")
        .annotate(last=Max("at"))
        .values_list("pledge_id", "last")
    )
    user = actor.user_to_store
    rows = []
    for pledge, old_status, new_status, audit in changes:
        rows.append(
            PledgeStatusChange(
                pledge=pledge,
                old_status=old_status,
                new_status=new_status,
                at=at,
                old_status_since=since.get(pledge.pk),
                actor_kind=actor.kind,
                actor_user=user,
                actor_label=actor.label[:200],
                reason=audit.reason if audit is not None else "",
                audit_event=audit,
            )
        )
        since[pledge.pk] = at
    return PledgeStatusChange.objects.bulk_create(rows)


def pledge_status_change(
    pledge: Pledge,
    new_status: str,
    *,
    actor: Actor,
    reason: str = "",
    action: str = "pledge.status.changed",
    fields: Sequence[str] = (),
    audit: AuditEvent | None = None,
    refusal: str = "",
) -> PledgeStatusChange | None:
    """Move a pledge the caller has locked to `new_status`.

    Checks `PLEDGE_TRANSITIONS` and raises TransitionNotAllowed (code
    `transition-not-allowed`, the message `refusal` when given) before
    anything changes. Saves `status`, `updated_at` and the caller's `fields`
    (set on the instance beforehand) in one UPDATE with `update_fields`,
    then writes the audit record (`action`, old and new status and fields)
    unless the caller passes the one it wrote for this change (`audit`), and
    the history row. The same status again is no change of status: the
    fields are saved and audited, no history row is written, and None is
    returned (verifying a pledge its money already made paid).
    """
    old_status = pledge.status
    status_transition_check(old_status, new_status, refusal=refusal)
    pledge.status = new_status
    pledge.updated_at = timezone.now()
    pledge.save(update_fields=["status", "updated_at", *fields])
    if audit is None:
        audit = audit_record(
            actor=actor,
            action=action,
            obj=pledge,
            old={"status": old_status},
            new={"status": new_status, **{name: getattr(pledge, name) for name in fields}},
            reason=reason,
        )
    if new_status == old_status:
        return None
    return _history_row(pledge, old_status=old_status, actor=actor, reason=reason, audit=audit)


def status_after_money(pledge: Pledge, *, money_arrived: bool) -> str:
    """The status that follows from the money applied to a pledge.

    Paid in full (or over) is `paid`, in part `partially_paid`; with no
    money left the pledge falls back to the commitment it rests on
    (confirmed, announced or submitted). A lapsed pledge stays lapsed when
    money goes out, and reopens when money arrives. Cancelled pledges take
    no money.
    """
    if pledge.status == PledgeStatus.CANCELLED:
        # Terminal: money that still arrives (a card paid on a form left
        # open) is recorded and flagged by the caller, never reopens it.
        return PledgeStatus.CANCELLED
    if pledge.status == PledgeStatus.LAPSED and not money_arrived:
        return PledgeStatus.LAPSED
    if pledge.amount_paid > 0:
        return PledgeStatus.PAID if pledge.amount_paid >= pledge.amount else PledgeStatus.PARTIALLY_PAID
    if pledge.status == PledgeStatus.LAPSED:
        return PledgeStatus.LAPSED
    if pledge.confirmed_at is not None:
        return PledgeStatus.CONFIRMED
    if pledge.verified_at is not None or pledge.source != PledgeSource.WEB:
        return PledgeStatus.ANNOUNCED
    return PledgeStatus.SUBMITTED


def status_history_implied(
    pledge: Pledge, payments: Sequence[Payment], *, actor_label: str
) -> list[PledgeStatusChange]:
    """The history rows (unsaved) the services would have written for a
    pledge whose rows are inserted in bulk, as the benches load theirs:
    "" to submitted (web) or announced at creation, verification,
    confirmation, each of its `payments` (in order) that changes the status,
    the close. Each at its moment, a second after the one before at least.
    Raises ValueError when the steps do not end at the pledge's status or
    one is not in PLEDGE_TRANSITIONS."""
    steps: list[tuple[str, datetime]] = [
        (PledgeStatus.SUBMITTED if pledge.source == PledgeSource.WEB else PledgeStatus.ANNOUNCED, pledge.created_at)
    ]
    if pledge.source == PledgeSource.WEB and pledge.verified_at is not None:
        steps.append((PledgeStatus.ANNOUNCED, pledge.verified_at))
    if pledge.confirmed_at is not None:
        steps.append((PledgeStatus.CONFIRMED, pledge.confirmed_at))
    paid = Decimal(0)
    for payment in payments:
        paid += payment.amount_applied
        steps.append((PledgeStatus.PAID if paid >= pledge.amount else PledgeStatus.PARTIALLY_PAID, payment.created_at))
    if pledge.status in (PledgeStatus.CANCELLED, PledgeStatus.LAPSED) and pledge.closed_at is not None:
        steps.append((pledge.status, pledge.closed_at))
    rows: list[PledgeStatusChange] = []
    old, at = "", None
    for status, moment in steps:
        if status == old:
            continue
        if old and status not in PLEDGE_TRANSITIONS[old]:
            raise ValueError(f"pledge {pledge.pk}: {old} cannot become {status}")
        since, at = at, moment if at is None else max(moment, at + timedelta(seconds=1))
        rows.append(
            PledgeStatusChange(
                pledge_id=pledge.pk,
                old_status=old,
                new_status=status,
                at=at,
                old_status_since=since,
                actor_kind=ActorKind.SYSTEM,
                actor_label=actor_label,
            )
        )
        old = status
    if old != pledge.status:
        raise ValueError(f"pledge {pledge.pk}: the steps end {old}, not {pledge.status}")
    return rows
