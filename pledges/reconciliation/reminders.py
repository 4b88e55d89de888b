"""Reminders e-mailed to donors about their instalments, a set number of
days before and after each due date.

Overdue is derived, never stored: money pays the earliest instalments
first (`Pledge.instalment_schedule`), and an instalment is overdue while
some of it is unpaid after its due date. What is stored is each reminder
sent, as a `ReminderStep` row unique per (instalment, step): the row is
inserted before the e-mail goes, in the transaction that sends it, so a
second run of the job, or a second worker running it at the same time,
finds the row and sends nothing; an e-mail that fails rolls its row back
and the next run tries again.

The steps are `settings.REMINDER_DAYS` (days from the due date, negative
before it) and at most `settings.REMINDER_MAX_PER_INSTALMENT` reminders go
for one instalment. Only the latest step that has come is sent: an
instalment recorded (or a job run) late gets one reminder, not every step
it missed.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.utils import timezone

from pledges import cldr
from pledges.audit import Actor, audit_record
from pledges.emails import FALLBACK_LANGUAGE, donor_email_send, donor_language, pledge_email_context
from pledges.models import Instalment, PaymentMethod, Pledge, PledgeStatus
from pledges.money import format_amount
from pledges.reconciliation.models import ReminderStep

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

logger = logging.getLogger(__name__)

DEFAULT_REMINDER_DAYS = (-14, 7, 30)
DEFAULT_REMINDER_MAX_PER_INSTALMENT = 3
# Pledges whose donors are reminded: verified and not settled or closed. A
# web submission nobody has verified yet gets no reminder.
REMINDED_STATUSES = (PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED, PledgeStatus.PARTIALLY_PAID)
# Pledges counted as overdue, as the staff list's `overdue` flag counts them.
OVERDUE_COUNTED_STATUSES = (*REMINDED_STATUSES, PledgeStatus.SUBMITTED)


class SkipReason:
    NO_EMAIL = "no_email"
    DONOR_ERASED = "donor_erased"
    MAX_REACHED = "max_reached"
    ALREADY_SENT = "already_sent"
    LATER_STEP_SENT = "later_step_sent"
    PAID = "paid"
    NOT_OPEN = "pledge_not_open"
    INSTALMENT_CHANGED = "instalment_changed"
    SEND_FAILED = "send_failed"


@dataclass(frozen=True)
class ReminderPolicy:
    steps: tuple[int, ...]
    max_per_instalment: int

    def step_due(self, due_date: date, today: date) -> int | None:
        """The latest step whose day (due date + days) has come, or None."""
        come = [step for step in self.steps if due_date + timedelta(days=step) <= today]
        return come[-1] if come else None


def reminder_policy() -> ReminderPolicy:
    """The steps and the cap, from settings (with the defaults if absent)."""
    days = getattr(settings, "REMINDER_DAYS", DEFAULT_REMINDER_DAYS)
    cap = getattr(settings, "REMINDER_MAX_PER_INSTALMENT", DEFAULT_REMINDER_MAX_PER_INSTALMENT)
    return ReminderPolicy(steps=tuple(sorted({int(day) for day in days})), max_per_instalment=max(int(cap), 0))


def reminder_language(language: str) -> str:
    """The donor's language as one of settings.LANGUAGES ("fr-CA" is "fr",
    "zh-cn" is "zh-hans"), English when unknown or unsupported."""
    return donor_language(language)


# --- Queries -----------------------------------------------------------------


def _due_through_date() -> Subquery:
    """What the instalment's pledge has due up to and including this
    instalment. Money pays the earliest instalments first, so something of
    this instalment is unpaid exactly when this exceeds the amount paid."""
    return Subquery(
        Instalment.objects.filter(pledge=OuterRef("pledge"), due_date__lte=OuterRef("due_date"))
        .order_by()
        .values("pledge")
        .annotate(total=Sum("amount"))
        .values("total")
    )


def _unpaid(queryset: QuerySet[Instalment]) -> QuerySet[Instalment]:
    return queryset.annotate(due_through_date=_due_through_date()).filter(due_through_date__gt=F("pledge__amount_paid"))


def overdue_instalments(*, today: date) -> QuerySet[Instalment]:
    """Instalments with something unpaid after their due date, on pledges
    neither paid nor closed (as `pledges_for_staff` flags `overdue`)."""
    return _unpaid(Instalment.objects.filter(pledge__status__in=OVERDUE_COUNTED_STATUSES, due_date__lt=today))


class _Candidate(TypedDict):
    step: int  # the latest step that has come
    reminders_sent: int | None  # None when none was


def reminder_candidates(*, policy: ReminderPolicy, today: date) -> "QuerySet[WithAnnotations[Instalment, _Candidate]]":
    """Instalments of reminded pledges, not yet paid in full, whose latest
    step that has come (`step`) has not been sent (nor any later one), with
    the number of reminders already sent for them (`reminders_sent`).
    Narrowed in SQL: the due dates a step can have come for, and no row for
    that step or a later one."""
    if not policy.steps:  # none, with the same annotations
        return Instalment.objects.none().annotate(step=Value(0), reminders_sent=Value(0))
    steps = policy.steps
    # The step that has come for a due date D is the latest s with D + s <= today.
    step = Case(
        *(When(due_date__gt=today - timedelta(days=later), then=Value(earlier)) for earlier, later in pairwise(steps)),
        default=Value(steps[-1]),
        output_field=IntegerField(),
    )
    sent = (
        ReminderStep.objects.filter(instalment=OuterRef("pk"))
        .order_by()
        .values("instalment")
        .annotate(count=Count("pk"))
        .values("count")
    )
    candidates = Instalment.objects.filter(
        pledge__status__in=REMINDED_STATUSES, due_date__lte=today - timedelta(days=steps[0])
    )
    return (
        _unpaid(candidates)
        .annotate(step=step)
        # Sent already, or a later step was (the clock never runs back to an earlier one).
        .exclude(Exists(ReminderStep.objects.filter(instalment=OuterRef("pk"), days_from_due__gte=OuterRef("step"))))
        .annotate(reminders_sent=Subquery(sent, output_field=IntegerField()))
        .select_related("pledge__donor")
        .order_by("due_date", "pk")
    )


# --- The job -------------------------------------------------------------------


class _Report:
    def __init__(self, *, policy: ReminderPolicy, today: date):
        self.policy = policy
        self.today = today
        self.sent: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self.per_step: dict[int, Counter] = {step: Counter() for step in policy.steps}

    def add_sent(self, instalment: Instalment, step: int, language: str) -> None:
        self.sent.append(
            {
                "pledge": instalment.pledge.reference,
                "instalment": instalment.pk,
                "due_date": instalment.due_date.isoformat(),
                "days_from_due": step,
                "language": language,
            }
        )
        self.per_step[step]["sent"] += 1

    def add_skipped(self, instalment: Instalment, step: int, reason: str, detail: str = "") -> None:
        line = {
            "pledge": instalment.pledge.reference,
            "instalment": instalment.pk,
            "due_date": instalment.due_date.isoformat(),
            "days_from_due": step,
            "reason": reason,
        }
        if detail:
            line["detail"] = detail
        self.skipped.append(line)
        self.per_step[step][reason] += 1

    def as_dict(self, *, overdue: dict[str, int], candidates: int) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "steps": list(self.policy.steps),
            "max_per_instalment": self.policy.max_per_instalment,
            "overdue_instalments": overdue["instalments"],
            "overdue_pledges": overdue["pledges"],
            "candidates": candidates,
            "sent": self.sent,
            "skipped": self.skipped,
            "per_step": {
                str(step): {
                    "sent": counts["sent"],
                    "skipped": {reason: n for reason, n in sorted(counts.items()) if reason != "sent"},
                }
                for step, counts in self.per_step.items()
            },
        }


def reminders_send(*, today: date | None = None) -> dict:
    """Send the reminders that are due today, each at most once, and return
    a report: the overdue instalments found, the reminders sent, and those
    skipped with why (`no_email`, `donor_erased`, `max_reached`, ...), in
    total and per step.

    Safe to run twice, or on two workers at once: every reminder is sent in
    a transaction that first inserts its unique `ReminderStep` row under a
    lock on the pledge, and sends only when the row is new."""
    today = today or timezone.localdate()
    policy = reminder_policy()
    report = _Report(policy=policy, today=today)
    overdue = overdue_instalments(today=today).aggregate(
        instalments=Count("pk"), pledges=Count("pledge", distinct=True)
    )
    candidates = list(reminder_candidates(policy=policy, today=today))
    for instalment in candidates:
        donor = instalment.pledge.donor
        if donor.erased_at is not None:
            report.add_skipped(instalment, instalment.step, SkipReason.DONOR_ERASED)
        elif not donor.email:
            report.add_skipped(instalment, instalment.step, SkipReason.NO_EMAIL)
        elif (instalment.reminders_sent or 0) >= policy.max_per_instalment:
            report.add_skipped(instalment, instalment.step, SkipReason.MAX_REACHED)
        else:
            _remind(instalment, step=instalment.step, policy=policy, today=today, report=report)
    result = report.as_dict(overdue=overdue, candidates=len(candidates))
    logger.info(
        "Reminders for %s: %d sent, %d skipped, %d overdue instalments",
        today,
        len(result["sent"]),
        len(result["skipped"]),
        result["overdue_instalments"],
    )
    return result


def _remind(instalment: Instalment, *, step: int, policy: ReminderPolicy, today: date, report: _Report) -> None:
    """Check again under the pledge's lock, insert the step's row, send,
    audit: all in one transaction. A failed e-mail rolls the row back."""
    try:
        with transaction.atomic():
            # The pledge first, as the payment and pledge services lock it:
            # a payment recorded meanwhile is seen, and nothing deadlocks.
            pledge = Pledge.objects.select_for_update().get(pk=instalment.pledge_id)
            line = _why_not(pledge, instalment, step=step, policy=policy, today=today)
            if isinstance(line, str):  # the reason
                report.add_skipped(instalment, step, line)
                return
            donor = pledge.donor
            language = reminder_language(donor.language)
            try:
                with transaction.atomic():
                    reminder = ReminderStep.objects.create(
                        instalment=line["instalment"],
                        pledge=pledge,
                        due_date=line["instalment"].due_date,
                        amount=line["instalment"].amount,
                        days_from_due=step,
                        recipient=donor.email,
                        language=language,
                    )
            except IntegrityError:
                report.add_skipped(instalment, step, SkipReason.ALREADY_SENT)
                return
            _email(pledge, line, language=language, today=today)
            audit_record(
                actor=Actor.task("reminders_send"),
                action="pledge.reminder.sent",
                obj=reminder,
                pledge=pledge,
                new={
                    "instalment_id": instalment.pk,
                    "due_date": instalment.due_date.isoformat(),
                    "days_from_due": step,
                    "amount_outstanding": format_amount(line["outstanding"], pledge.currency),
                    "language": language,
                },
            )
    except OSError as error:  # smtplib's errors included; the row was rolled back, the next run retries
        logger.warning("Reminder for instalment %s at %+d days not sent: %r", instalment.pk, step, error)
        report.add_skipped(instalment, step, SkipReason.SEND_FAILED, detail=type(error).__name__)
        return
    report.add_sent(instalment, step, language)


def _why_not(pledge: Pledge, instalment: Instalment, *, step: int, policy: ReminderPolicy, today: date) -> str | dict:
    """Why this step must not be sent now (read under the pledge's lock),
    else the instalment's line of the schedule."""
    if pledge.status not in REMINDED_STATUSES:
        return SkipReason.NOT_OPEN
    line = next((line for line in pledge.instalment_schedule(today) if line["instalment"].pk == instalment.pk), None)
    if line is None or line["instalment"].due_date != instalment.due_date:
        return SkipReason.INSTALMENT_CHANGED
    if line["outstanding"] <= 0:
        return SkipReason.PAID
    donor = pledge.donor
    if donor.erased_at is not None:
        return SkipReason.DONOR_ERASED
    if not donor.email:
        return SkipReason.NO_EMAIL
    sent_steps = set(ReminderStep.objects.filter(instalment_id=instalment.pk).values_list("days_from_due", flat=True))
    if step in sent_steps:
        return SkipReason.ALREADY_SENT
    if any(sent > step for sent in sent_steps):
        return SkipReason.LATER_STEP_SENT
    if len(sent_steps) >= policy.max_per_instalment:
        return SkipReason.MAX_REACHED
    return line


def reminder_context(pledge: Pledge, line: dict, *, today: date, language: str = FALLBACK_LANGUAGE) -> dict[str, Any]:
    """What the reminder shows, money and dates formatted for `language`."""
    instalment = line["instalment"]
    return {
        **pledge_email_context(pledge, language),
        "due_date": instalment.due_date,
        "due": cldr.long_date(instalment.due_date, language),
        "overdue": instalment.due_date < today,
        "due_today": instalment.due_date == today,
        "instalment_amount": cldr.money_text(instalment.amount, pledge.currency, language),
        "amount_paid": cldr.money_text(line["paid"], pledge.currency, language),
        "part_paid": line["paid"] > Decimal(0),
        "amount_outstanding": cldr.money_text(line["outstanding"], pledge.currency, language),
        "bank": settings.FUND_BANK_ACCOUNT if pledge.payment_method == PaymentMethod.BANK_TRANSFER else None,
    }


def _email(pledge: Pledge, line: dict, *, language: str, today: date) -> None:
    context = reminder_context(pledge, line, today=today, language=language)
    donor_email_send(to=pledge.donor.email, template="reminder", context=context, language=language)
