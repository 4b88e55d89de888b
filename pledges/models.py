"""The domain of the brief: campaigns, events and their sessions, donors,
pledges with instalments, payments, exchange rates, and the audit trail.

Models compute what follows from their own row; everything that writes
lives in `pledges.services`.
"""

import secrets
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pledges.append_only import AppendOnlyModel
from pledges.model_fields import MONEY, RATE, USD_MONEY
from pledges.money import ZERO


class Campaign(models.Model):
    """A fund-raising drive for the Fund, with a goal in USD."""

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    goal_usd = models.DecimalField(**USD_MONEY)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The live board (issue 16): which session staff say is under way now,
    # set and cleared by `pledges.board.services.campaign_session_under_way_set`.
    session_under_way = models.ForeignKey(
        "EventSession", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    session_under_way_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.title


class Event(models.Model):
    """A meeting where pledges are announced, such as the 2012 dialogue."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="events")
    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=300)
    venue = models.CharField(max_length=200, blank=True)
    held_on = models.DateField()
    convened_by = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["held_on"]

    def __str__(self) -> str:
        return self.title


class EventSession(models.Model):
    """One part of an event's programme (opening, a panel, closing)."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="sessions")
    slug = models.SlugField(max_length=64)
    title = models.CharField(max_length=300)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["event", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "slug"], name="session_slug_unique_per_event"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.event.title}: {self.title}"


class DonorType(models.TextChoices):
    MEMBER_STATE = "member_state", "Member State"
    OBSERVER_STATE = "observer_state", "Observer State"
    INTERGOVERNMENTAL = "intergovernmental", "Intergovernmental organization"
    UN_ENTITY = "un_entity", "United Nations entity"
    PRIVATE_SECTOR = "private_sector", "Private sector"
    FOUNDATION = "foundation", "Foundation"
    CIVIL_SOCIETY = "civil_society", "Civil society"
    INDIVIDUAL = "individual", "Individual"


# Donor types that are not based in one country (the EU, UNODC).
DONOR_TYPES_WITHOUT_COUNTRY = {DonorType.INTERGOVERNMENTAL, DonorType.UN_ENTITY}


class Donor(models.Model):
    """Who pledges. Name, type and country may be published with consent;
    contact details never are."""

    name = models.CharField(max_length=200)
    donor_type = models.CharField(max_length=32, choices=DonorType.choices)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    # Private contact details.
    email = models.EmailField(max_length=254, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="Preferred language for messages")
    erased_at = models.DateTimeField(null=True, blank=True)
    # IATI (issue 16): the donor's IATI organisation identifier, published
    # as the provider of its money only when its name is public.
    iati_org_ref = models.CharField(
        "IATI organisation identifier",
        max_length=100,
        blank=True,
        help_text='As in the IATI Organisation Registry, for example "XM-DAC-5-7" or "GB-GOV-1"',
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_donors"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["donor_type"]), models.Index(fields=["country"])]

    def __str__(self) -> str:
        return self.name


class PledgeStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted (web, not yet verified)"
    ANNOUNCED = "announced", "Announced"
    CONFIRMED = "confirmed", "Confirmed"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"
    LAPSED = "lapsed", "Lapsed"


# The allowed transitions, written down once. Services enforce them.
PLEDGE_TRANSITIONS: dict[str, frozenset[str]] = {
    PledgeStatus.SUBMITTED: frozenset(
        {
            PledgeStatus.ANNOUNCED,
            PledgeStatus.CONFIRMED,
            PledgeStatus.PARTIALLY_PAID,
            PledgeStatus.PAID,
            PledgeStatus.CANCELLED,
        }
    ),
    PledgeStatus.ANNOUNCED: frozenset(
        {
            PledgeStatus.CONFIRMED,
            PledgeStatus.PARTIALLY_PAID,
            PledgeStatus.PAID,
            PledgeStatus.CANCELLED,
            PledgeStatus.LAPSED,
        }
    ),
    PledgeStatus.CONFIRMED: frozenset(
        {PledgeStatus.PARTIALLY_PAID, PledgeStatus.PAID, PledgeStatus.CANCELLED, PledgeStatus.LAPSED}
    ),
    # A reversal or refund can take money back out, so paid statuses can step
    # back to the commitment they rest on.
    PledgeStatus.PARTIALLY_PAID: frozenset(
        {PledgeStatus.PAID, PledgeStatus.LAPSED, PledgeStatus.SUBMITTED, PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED}
    ),
    PledgeStatus.PAID: frozenset(
        {PledgeStatus.PARTIALLY_PAID, PledgeStatus.SUBMITTED, PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED}
    ),
    # Money arriving after a lapse reopens the pledge.
    PledgeStatus.LAPSED: frozenset({PledgeStatus.PARTIALLY_PAID, PledgeStatus.PAID}),
    PledgeStatus.CANCELLED: frozenset(),
}

# A pledge begins in one of these: a web submission, or an announcement
# (from the floor or recorded by staff). The history's first row goes from ""
# to it.
PLEDGE_START_STATUSES = frozenset({PledgeStatus.SUBMITTED, PledgeStatus.ANNOUNCED})

# Statuses that count in the public figures, and how.
ANNOUNCED_STATUSES = (PledgeStatus.ANNOUNCED,)
PLEDGED_STATUSES = (PledgeStatus.CONFIRMED, PledgeStatus.PARTIALLY_PAID, PledgeStatus.PAID)
PUBLIC_STATUSES = (*ANNOUNCED_STATUSES, *PLEDGED_STATUSES, PledgeStatus.LAPSED)


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card (Stripe)"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    OTHER = "other", "Other"


class Earmark(models.TextChoices):
    UNRESTRICTED = "unrestricted", "Unrestricted"
    CHILDREN = "children", "Assistance to trafficked children"
    WOMEN_AND_GIRLS = "women_and_girls", "Assistance to trafficked women and girls"
    DIRECT_ASSISTANCE = "direct_assistance", "Direct assistance to victims through grants to NGOs"


class PledgeSource(models.TextChoices):
    WEB = "web", "Web form or API"
    FLOOR = "floor", "Announced from the floor"
    STAFF = "staff", "Recorded by staff"


def new_status_secret() -> str:
    return secrets.token_urlsafe(32)


class Pledge(models.Model):
    """A promise of money to the Fund, from announcement to money in the bank."""

    reference = models.CharField(max_length=25, unique=True, help_text="ISO 11649 creditor reference, compact")
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="pledges")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="pledges")
    session = models.ForeignKey(EventSession, on_delete=models.PROTECT, null=True, blank=True, related_name="pledges")
    source = models.CharField(max_length=16, choices=PledgeSource.choices)
    status = models.CharField(max_length=16, choices=PledgeStatus.choices)
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices, blank=True)

    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    pledged_on = models.DateField(
        help_text="When the pledge was made; its USD value uses this date's rate until confirmed"
    )
    # The USD value at the rate in force on `usd_rate_date`; null while the
    # rate is missing (flagged, never assumed).
    amount_usd = models.DecimalField(**USD_MONEY, null=True, blank=True)
    usd_rate = models.DecimalField(**RATE, null=True, blank=True)
    usd_rate_date = models.DateField(null=True, blank=True)
    usd_rate_fixed = models.BooleanField(default=False, help_text="Fixed at confirmation")

    # Kept up to date by the payment services, under a lock on this row.
    amount_paid = models.DecimalField(**MONEY, default=ZERO, help_text="In the pledge's currency")
    amount_received_usd = models.DecimalField(**USD_MONEY, default=ZERO)
    fees_usd = models.DecimalField(**USD_MONEY, default=ZERO)

    earmark = models.CharField(max_length=32, choices=Earmark.choices, default=Earmark.UNRESTRICTED)
    public_name = models.BooleanField(default=False)
    public_amount = models.BooleanField(default=False)
    statement = models.TextField(max_length=1000, blank=True)
    # An anonymous donor's statement is published only with this consent too.
    public_statement = models.BooleanField(default=False)

    status_secret = models.CharField(max_length=64, unique=True, default=new_status_secret, editable=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_on = models.DateField(null=True, blank=True, help_text="The date of the written commitment")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When cancelled or lapsed")
    acknowledged_at = models.DateTimeField(
        null=True, blank=True, help_text="When the donor was emailed the status link"
    )
    close_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["campaign", "-created_at"]),
            models.Index(fields=["campaign", "-pledged_on", "-created_at"]),
            models.Index(fields=["-created_at"]),
            models.Index(fields=["status"]),
            # Statement matching looks for open pledges by currency and amount.
            models.Index(fields=["currency", "amount"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="pledge_amount_positive"),
            models.CheckConstraint(condition=Q(amount_paid__gte=0), name="pledge_amount_paid_not_negative"),
            models.CheckConstraint(condition=Q(status__in=PledgeStatus.values), name="pledge_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency}"

    @property
    def amount_outstanding(self) -> Decimal:
        """What is still owed; zero once paid in full or closed."""
        if self.status in (PledgeStatus.CANCELLED, PledgeStatus.LAPSED):
            return ZERO
        return max(self.amount - self.amount_paid, ZERO)

    @property
    def amount_overpaid(self) -> Decimal:
        return max(self.amount_paid - self.amount, ZERO)

    @property
    def valuation_date(self) -> date:
        """The date whose rate gives the USD value: the confirmation date
        once confirmed (fixed), else the date the pledge was made."""
        return self.confirmed_on or self.pledged_on

    @property
    def usd_rate_missing(self) -> bool:
        return self.amount_usd is None

    def can_become(self, status: str) -> bool:
        return status in PLEDGE_TRANSITIONS[self.status]

    def instalment_schedule(self, today: date | None = None) -> list[dict]:
        """Each instalment with what of it is paid, the money applied to the
        earliest instalments first, and whether it is overdue."""
        today = today or timezone.localdate()
        remaining = self.amount_paid
        schedule = []
        for instalment in self.instalments.all():
            paid = min(remaining, instalment.amount)
            remaining -= paid
            schedule.append(
                {
                    "instalment": instalment,
                    "paid": paid,
                    "outstanding": instalment.amount - paid,
                    "overdue": paid < instalment.amount
                    and instalment.due_date < today
                    and self.status not in (PledgeStatus.CANCELLED, PledgeStatus.LAPSED),
                }
            )
        return schedule

    def is_overdue(self, today: date | None = None) -> bool:
        return any(line["overdue"] for line in self.instalment_schedule(today))


class Instalment(models.Model):
    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="instalments")
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["due_date"]
        # Statement matching looks instalments up by amount; reminders by date.
        indexes = [models.Index(fields=["amount"]), models.Index(fields=["due_date"])]
        constraints = [
            models.UniqueConstraint(fields=["pledge", "due_date"], name="instalment_due_date_unique_per_pledge"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} due {self.due_date}"


class PledgeVersion(models.Model):
    """An earlier amount of a pledge, kept when the amount changes (as FTS keeps versions)."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    amount_usd = models.DecimalField(**USD_MONEY, null=True, blank=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    replaced_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["pledge", "version"]
        constraints = [models.UniqueConstraint(fields=["pledge", "version"], name="pledge_version_unique")]

    def __str__(self) -> str:
        return f"v{self.version}: {self.amount} {self.currency}"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REVERSED = "reversed", "Reversed"


class Payment(models.Model):
    """Money received against a pledge. A wrong entry is never deleted: a
    reversing entry (negative amount, `reverses` set) cancels it."""

    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    # What this payment settles of the pledge, in the pledge's currency.
    amount_applied = models.DecimalField(**MONEY)
    amount_usd = models.DecimalField(**USD_MONEY, null=True, blank=True)
    usd_rate = models.DecimalField(**RATE, null=True, blank=True)
    fee = models.DecimalField(**MONEY, default=ZERO, help_text="In the payment's currency")
    fee_usd = models.DecimalField(**USD_MONEY, null=True, blank=True)
    received_on = models.DateField()
    bank_account = models.CharField(max_length=64, blank=True)
    external_reference = models.CharField(max_length=255, blank=True, help_text="Bank reference or Stripe id")
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")
    # A refund or a lost dispute takes money back out of this payment.
    taken_back_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="taken_back"
    )
    note = models.TextField(max_length=2000, blank=True)
    # Set when something about the money needs a person: an amount or
    # currency that does not match what was asked for, a dispute.
    review_reason = models.TextField(blank=True)
    dispute_status = models.CharField(max_length=32, blank=True, help_text="Stripe's dispute status, if disputed")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    thanked_at = models.DateTimeField(null=True, blank=True, help_text="When the donor was thanked for this money")

    class Meta:
        ordering = ["-received_on", "-created_at"]
        # Reports look up the money recorded after their moment.
        indexes = [models.Index(fields=["created_at"])]
        constraints = [
            # One bank transfer cannot be posted twice: its reference is
            # unique per account. Reversing entries reuse it, and a reversed
            # entry frees it for the corrected posting.
            models.UniqueConstraint(
                fields=["bank_account", "external_reference"],
                condition=Q(reverses__isnull=True) & ~Q(external_reference="") & ~Q(status="reversed"),
                name="payment_external_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.received_on}"

    @property
    def pledge_currency(self) -> str:
        return self.pledge.currency


class ExchangeRate(models.Model):
    """A UN operational rate of exchange: currency units per one USD, in
    force from `valid_from` until the next rate for the currency."""

    currency = models.CharField(max_length=3)
    rate = models.DecimalField(**RATE)
    valid_from = models.DateField()
    source = models.CharField(max_length=100, blank=True, default="UN operational rates of exchange")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_unique_per_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.rate} {self.currency}/USD from {self.valid_from}"


class ActorKind(models.TextChoices):
    STAFF = "staff", "Staff"
    DONOR = "donor", "Donor"
    WEBHOOK = "webhook", "Webhook"
    TASK = "task", "Task"
    SYSTEM = "system", "System"


class AuditEvent(AppendOnlyModel):
    """One change by anyone: who, when, what (old and new values), why.

    Append-only: the model refuses updates and deletes, and on PostgreSQL a
    trigger refuses them in the database too.
    """

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events")
    old_values = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    new_values = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)

    append_only_message = "The audit trail is append-only."

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class PledgeStatusChange(AppendOnlyModel):
    """One change of a pledge's status, from its first ("" to its starting
    status) on: old, new, who, why, when (healthchecks' `Flip`). Written only
    by `pledges.status`, in the transaction of the change and next to its
    audit record; the reports read past statuses from these rows.

    Append-only like the audit trail: the model refuses updates and deletes,
    and on PostgreSQL a trigger refuses them in the database too.
    """

    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="status_changes")
    old_status = models.CharField(max_length=16, choices=PledgeStatus.choices, blank=True)
    new_status = models.CharField(max_length=16, choices=PledgeStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    # When the pledge entered `old_status` (the previous row's `at`; null on
    # the first row), so the one row whose [old_status_since, at) holds a
    # moment says the status then, without looking at other rows.
    old_status_since = models.DateTimeField(null=True, blank=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    audit_event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    append_only_message = "The status history is append-only."

    class Meta:
        ordering = ["pledge", "at", "id"]
        indexes = [
            # A pledge's history in order; its status at a moment.
            models.Index(fields=["pledge", "at"]),
            # The pledges changed since a moment.
            models.Index(fields=["at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(old_status=models.F("new_status")), name="status_change_changes"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.old_status or '-'} -> {self.new_status}"


class IdempotencyRecord(models.Model):
    """The first response to a request made with an `Idempotency-Key`.

    The unique (scope, key) row is inserted in the same transaction as the
    pledge, so concurrent requests with one key wait on each other and only
    the first creates anything.
    """

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique_per_scope")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class CardPaymentIntent(models.Model):
    """A Stripe PaymentIntent we created for a card pledge: what we asked
    Stripe to charge, so that what arrives can be checked against it."""

    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="card_payment_intents")
    payment_intent_id = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="In Stripe's minor units for the currency")
    status = models.CharField(max_length=32)
    last_error = models.TextField(blank=True)
    charge_id = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="Its charge, so a dispute naming only the charge is known"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.payment_intent_id


class StripeEventStatus(models.TextChoices):
    RECEIVED = "received", "Received, waiting to be applied"
    APPLIED = "applied", "Applied"
    IGNORED = "ignored", "Ignored: not a type we handle, or not about a payment of ours"
    FAILED = "failed", "Failed; will be retried"


class StripeEvent(models.Model):
    """A Stripe event, stored by its `evt_` id with its raw body before it
    is applied, so that a replay or a concurrent delivery is a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100, db_index=True)
    payload = models.TextField(help_text="The raw body as Stripe sent it")
    stripe_created_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, default="webhook", help_text="webhook, or the reconciliation job")
    status = models.CharField(max_length=16, choices=StripeEventStatus.choices, default=StripeEventStatus.RECEIVED)
    applied_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["-stripe_created_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.event_type}"


class StripeSyncRun(models.Model):
    """One run of the job that repairs what missed webhooks left behind."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, default="running")
    report = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Stripe sync {self.started_at:%Y-%m-%d %H:%M} {self.status}"


# Reconciliation models live with their code; importing them here registers
# them with the pledges app.
# The transactional outbox (issue 13): rows for tasks queued with a change.
from pledges.outbox import OutboxMessage  # noqa: E402, F401
from pledges.reconciliation.models import (  # noqa: E402, F401
    BankStatement,
    CsvProfile,
    ImportStatus,
    LineMatch,
    LineStatus,
    MatchRule,
    MatchStatus,
    ReminderStep,
    StatementFormat,
    StatementImport,
    StatementKind,
    StatementLine,
)


class ChoiceLabel(models.Model):
    """What people read for a donor type or an earmark code, in the six
    languages (django-modeltranslation: text_en, text_ar...). Staff edit them
    in the admin; a code without a row reads as the gettext catalogue's."""

    class Kind(models.TextChoices):
        DONOR_TYPE = "donor_type", "Donor type"
        EARMARK = "earmark", "Earmark"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=32, help_text="The code the data holds (member_state, children...)")
    text = models.CharField(max_length=200)

    class Meta:
        ordering = ["kind", "value"]
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="choice_label_unique")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"
