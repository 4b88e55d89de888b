"""Services that write pledges: each does one thing inside a transaction,
checks the current state, writes the audit record and queues follow-up work
after commit."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pycountry
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pledges import cldr
from pledges.audit import Actor, audit_record
from pledges.changes import change_save
from pledges.emails import donor_email_send, donor_language, pledge_email_context
from pledges.errors import InvalidInput, Refusal, TransitionNotAllowed
from pledges.exchange import Conversion, convert_to_usd
from pledges.models import (
    DONOR_TYPES_WITHOUT_COUNTRY,
    Campaign,
    Donor,
    DonorType,
    Earmark,
    EventSession,
    Instalment,
    Payment,
    Pledge,
    PledgeSource,
    PledgeStatus,
    PledgeVersion,
)
from pledges.money import CurrencyError, check_amount, currency_minor_units, format_amount
from pledges.outbox import task_enqueue
from pledges.references import reference_new
from pledges.selectors import SLUG, campaign_get, session_get
from pledges.status import pledge_status_begun, pledge_status_change, status_after_money

# The most instalments one pledge may be split into (ten years, monthly).
MAX_INSTALMENTS = 120
# Any currency's amount above this is absurd, whatever its rate.
MAX_AMOUNT_UNITS = Decimal("1000000000000")


@dataclass(frozen=True)
class DonorDetails:
    name: str
    donor_type: str
    country: str = ""
    email: str = ""
    language: str = ""


def donor_create(details: DonorDetails) -> Donor:
    """Insert a new donor from details already checked
    (`donor_details_errors`)."""
    return Donor.objects.create(
        name=details.name,
        donor_type=details.donor_type,
        country=details.country,
        email=details.email,
        language=details.language,
    )


@dataclass(frozen=True)
class PledgeChoices:
    """What the donor decides about a pledge besides its terms: what the
    money is for, and what of the pledge the Fund may publish."""

    earmark: str = Earmark.UNRESTRICTED
    public_name: bool = False
    public_amount: bool = False
    statement: str = ""
    # The statement is published even when the name is not (anonymous donors).
    public_statement: bool = False

    def apply_to(self, pledge: Pledge) -> None:
        """Set (not save) these choices on a new pledge."""
        pledge.earmark = self.earmark
        pledge.public_name = self.public_name
        pledge.public_amount = self.public_amount
        pledge.statement = self.statement
        pledge.public_statement = self.public_statement


# The choices a pledge gets when its caller gives none: a donor's own
# pledge publishes nothing they did not ask for; one said from the floor
# was said in public, so its name and amount are published unless staff
# record otherwise.
SUBMITTED_CHOICES = PledgeChoices()
ANNOUNCED_CHOICES = PledgeChoices(public_name=True, public_amount=True)


@dataclass(frozen=True)
class InstalmentTerms:
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class PledgeTerms:
    """What a donor promises: checked by `pledge_terms_errors`."""

    amount: Decimal
    currency: str
    instalments: list[InstalmentTerms] = field(default_factory=list)


def donor_details_errors(donor: DonorDetails) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if donor.donor_type not in DonorType.values:
        errors["donor.type"] = [Refusal(f"Unknown donor type; one of {', '.join(DonorType.values)}.", "invalid-choice")]
    if donor.country:
        if pycountry.countries.get(alpha_2=donor.country) is None:
            errors["donor.country"] = [Refusal("Not an ISO 3166-1 alpha-2 country code.", "country-invalid")]
    elif donor.donor_type not in DONOR_TYPES_WITHOUT_COUNTRY:
        errors["donor.country"] = [Refusal("A country is required for this donor type.", "country-required")]
    return errors


def pledge_terms_errors(terms: PledgeTerms, *, today: date, future_instalments: bool = True) -> dict[str, list[str]]:
    """Every rule an amount, currency and instalment plan must meet, as
    field errors: the currency is ISO 4217 and the amounts respect its minor
    units, amounts are positive and sane, instalments add up to the amount
    and (for donors' own plans, `future_instalments`) all fall after today."""
    return _terms_checked(terms, today=today, future_instalments=future_instalments)[0]


def _terms_checked(
    terms: PledgeTerms, *, today: date, future_instalments: bool = True
) -> tuple[dict[str, list[str]], Conversion | None]:
    """`pledge_terms_errors`, and the USD conversion the amount's bounds
    were checked with (None when there is no rate, or it was not reached)."""
    errors: dict[str, list[str]] = {}
    conversion = None
    try:
        currency_minor_units(terms.currency)
    except CurrencyError as error:
        return {"currency": [Refusal(str(error), error.code)]}, None
    try:
        check_amount(terms.amount, terms.currency)
    except CurrencyError as error:
        errors["amount"] = [Refusal(str(error), error.code)]
    else:
        amount_errors, conversion = _amount_bounds_checked(terms, today=today)
        errors |= amount_errors
    errors |= _instalments_errors(terms, today=today if future_instalments else None)
    return errors, conversion


def _amount_bounds_checked(terms: PledgeTerms, *, today: date) -> tuple[dict[str, list[str]], Conversion | None]:
    if terms.amount <= 0:
        return {"amount": [Refusal("The amount must be more than zero.", "amount-not-positive")]}, None
    if terms.amount >= MAX_AMOUNT_UNITS:
        message = f"The amount must be less than {MAX_AMOUNT_UNITS:,} {terms.currency}."
        return {"amount": [Refusal(message, "amount-too-large")]}, None
    conversion = convert_to_usd(terms.amount, terms.currency, today)
    if conversion is not None and conversion.amount_usd > settings.PLEDGE_MAX_AMOUNT_USD:
        message = f"The amount is above the largest pledge accepted, USD {settings.PLEDGE_MAX_AMOUNT_USD:,}."
        return {"amount": [Refusal(message, "amount-too-large")]}, conversion
    return {}, conversion


def _instalments_errors(terms: PledgeTerms, *, today: date | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if len(terms.instalments) > MAX_INSTALMENTS:
        errors["instalments"] = [Refusal(f"At most {MAX_INSTALMENTS} instalments.", "instalments-too-many")]
        return errors
    seen_dates: set[date] = set()
    for index, instalment in enumerate(terms.instalments):
        if today is not None and instalment.due_date <= today:
            errors.setdefault(f"instalments.{index}.due_date", []).append(
                Refusal("The due date must be after today.", "due-date-not-future")
            )
        if instalment.due_date in seen_dates:
            errors.setdefault(f"instalments.{index}.due_date", []).append(
                Refusal("Two instalments fall on this date.", "due-date-repeated")
            )
        seen_dates.add(instalment.due_date)
        try:
            check_amount(instalment.amount, terms.currency)
        except CurrencyError as error:
            errors.setdefault(f"instalments.{index}.amount", []).append(Refusal(str(error), error.code))
            continue
        if instalment.amount <= 0:
            errors.setdefault(f"instalments.{index}.amount", []).append(
                Refusal("The amount must be more than zero.", "amount-not-positive")
            )
    if terms.instalments and not errors:
        total = sum((i.amount for i in terms.instalments), Decimal("0"))
        if total != terms.amount:
            errors["instalments"] = [
                Refusal(
                    f"The instalments add up to {total} {terms.currency}, "
                    f"not the pledged {terms.amount} {terms.currency}.",
                    "instalments-total",
                )
            ]
    return errors


def pledge_usd_value_set(pledge: Pledge, *, on: date) -> None:
    """Set (not save) the pledge's USD value at the rate in force on a date;
    a missing rate leaves it empty, which flags it."""
    _usd_value_apply(pledge, convert_to_usd(pledge.amount, pledge.currency, on))


def _usd_value_apply(pledge: Pledge, conversion: Conversion | None) -> None:
    if conversion is None:
        pledge.amount_usd = pledge.usd_rate = pledge.usd_rate_date = None
    else:
        pledge.amount_usd = conversion.amount_usd
        pledge.usd_rate = conversion.rate
        pledge.usd_rate_date = conversion.rate_date


def pledge_snapshot(pledge: Pledge, instalments: list[Instalment] | None = None) -> dict[str, Any]:
    """The audited fields of a pledge, as JSON-ready values; `instalments`,
    when the caller holds them (just written), saves reading them back."""
    if instalments is None:
        instalments = list(pledge.instalments.all())
    return {
        "reference": pledge.reference,
        "status": pledge.status,
        "amount": format_amount(pledge.amount, pledge.currency),
        "currency": pledge.currency,
        "amount_usd": None if pledge.amount_usd is None else str(pledge.amount_usd),
        "usd_rate": None if pledge.usd_rate is None else str(pledge.usd_rate),
        "donor_id": pledge.donor_id,
        "campaign": pledge.campaign.slug,
        "session": pledge.session.slug if pledge.session else None,
        "payment_method": pledge.payment_method,
        "earmark": pledge.earmark,
        "public_name": pledge.public_name,
        "public_amount": pledge.public_amount,
        "instalments": [{"due_date": i.due_date.isoformat(), "amount": str(i.amount)} for i in instalments],
    }


# Draws of a reference before giving up: a collision is about one in 10^13
# per pair of pledges, so a second draw is already a rarity.
REFERENCE_ATTEMPTS = 5


def _insert_under_new_reference(insert: Callable[[str], Pledge]) -> Pledge:
    """`insert(reference)` in a transaction of its own (a savepoint inside
    the caller's) under a freshly drawn reference. When the unique index
    refuses the reference (about one in 10^13 per pair), the insert is
    undone and tried again under another, up to REFERENCE_ATTEMPTS times;
    any other integrity error is raised."""
    for attempt in range(1, REFERENCE_ATTEMPTS + 1):
        reference = reference_new()
        try:
            with transaction.atomic():
                return insert(reference)
        except IntegrityError:
            if attempt == REFERENCE_ATTEMPTS or not Pledge.objects.filter(reference=reference).exists():
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


@dataclass(frozen=True)
class CheckedSubmission:
    """What `pledge_submission_check` looked up for a pledge it accepted."""

    campaign: Campaign
    session: EventSession | None
    conversion: Conversion | None  # today's USD value; None without a rate


def pledge_submission_check(
    *,
    donor: DonorDetails,
    terms: PledgeTerms,
    campaign: Campaign | str | None,
    session: EventSession | str | None = None,
    today: date | None = None,
) -> CheckedSubmission:
    """Every rule a donor's own pledge must meet, each checked here once: the
    campaign and session exist (named by slug, or given as rows), the donor's
    details and the terms are valid (`donor_details_errors`,
    `pledge_terms_errors`, instalments after today).

    Writes nothing; the web form's check step asks it before the donor
    confirms, and `pledge_submit` before it writes. Raises InvalidInput
    naming every field that breaks a rule, all at once.
    """
    errors: dict[str, list[str]] = {}
    found = None
    try:
        found = _campaign_and_session(campaign, session)
    except InvalidInput as error:
        errors |= error.errors
    terms_errors, conversion = _terms_checked(terms, today=today or timezone.localdate())
    errors |= donor_details_errors(donor) | terms_errors
    if found is not None and found[1] is not None and found[1].event.campaign_id != found[0].pk:
        errors["session"] = [Refusal("This session belongs to another campaign.", "session-unknown")]
    if errors or found is None:
        raise InvalidInput(errors)
    return CheckedSubmission(campaign=found[0], session=found[1], conversion=conversion)


def _campaign_and_session(
    campaign: Campaign | str | None, session: EventSession | str | None
) -> tuple[Campaign, EventSession | None]:
    """The campaign and session a pledge names: by slug in one query (the
    session with its event and campaign), or as given. A slug that names
    nothing, or several sessions, is reported as `campaign_get` and
    `session_get` report it."""
    if isinstance(campaign, Campaign):
        return campaign, session_get(campaign, session) if isinstance(session, str) else session
    if isinstance(session, str) and session:
        slug = campaign or settings.DEFAULT_CAMPAIGN_SLUG
        if SLUG.fullmatch(slug) and SLUG.fullmatch(session):
            rows = EventSession.objects.select_related("event__campaign").filter(
                slug=session, event__campaign__slug=slug
            )
            found = list(rows[:2])
            if len(found) == 1:
                return found[0].event.campaign, found[0]
        campaign_row = campaign_get(slug)
        return campaign_row, session_get(campaign_row, session)
    return campaign_get(campaign), None


def pledge_submit(
    *,
    donor: DonorDetails,
    terms: PledgeTerms,
    payment_method: str,
    campaign: Campaign | str | None,
    session: EventSession | str | None = None,
    choices: PledgeChoices = SUBMITTED_CHOICES,
    actor: Actor,
) -> Pledge:
    """Record a pledge sent through the web form or the public API.

    The pledge starts `submitted`: it counts in no public figure until staff
    verify it or its money arrives. Its USD value uses today's rate, or is
    left empty (flagged) when no rate is known. The campaign and session are
    slugs (the API's, the form's) or rows; the donor's `choices` publish
    nothing unless given.

    Raises InvalidInput naming each field that breaks a rule
    (`pledge_submission_check`). Queues the acknowledgement email after
    commit.
    """
    today = timezone.localdate()
    checked = pledge_submission_check(donor=donor, terms=terms, campaign=campaign, session=session, today=today)

    def insert(reference: str) -> Pledge:
        # The whole submission is the one transaction (no savepoint per
        # insert): a reference already taken rolls it all back, tried again.
        pledge = Pledge(
            reference=reference,
            donor=donor_create(donor),
            campaign=checked.campaign,
            session=checked.session,
            source=PledgeSource.WEB,
            status=PledgeStatus.SUBMITTED,
            payment_method=payment_method,
            amount=check_amount(terms.amount, terms.currency),
            currency=terms.currency,
            pledged_on=today,
        )
        choices.apply_to(pledge)
        _usd_value_apply(pledge, checked.conversion)
        pledge.save(force_insert=True)
        _pledge_submitted_record(pledge, terms=terms, actor=actor)
        return pledge

    return _insert_under_new_reference(insert)


def _pledge_submitted_record(pledge: Pledge, *, terms: PledgeTerms, actor: Actor) -> None:
    """The new pledge's instalments (one INSERT), its audit record and its
    acknowledgement, in its transaction."""
    instalments = Instalment.objects.bulk_create(
        Instalment(pledge=pledge, due_date=i.due_date, amount=i.amount)
        for i in sorted(terms.instalments, key=lambda i: i.due_date)
    )
    event = audit_record(actor=actor, action="pledge.submitted", obj=pledge, new=pledge_snapshot(pledge, instalments))
    pledge_status_begun(pledge, actor=actor, audit=event)
    # Robust: the pledge is made whatever happens to the e-mail (with
    # tasks run in-process, a mail server error would surface here).
    task_enqueue("pledges.tasks.pledge_acknowledge", pledge.pk)


def pledge_acknowledge_send(*, pledge_id: int) -> bool:
    """Email the donor their reference, private status link and, for bank
    transfers, the bank instructions. Sent once: a second run (a retried or
    duplicated task) finds `acknowledged_at` set under the row lock and
    does nothing. Returns whether it sent."""
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().select_related("donor", "campaign").get(pk=pledge_id)
        if pledge.acknowledged_at is not None or not pledge.donor.email:
            return False
        language = donor_language(pledge.donor.language)
        context = pledge_email_context(pledge, language)
        donor_email_send(to=pledge.donor.email, template="acknowledgement", context=context, language=language)
        change_save(
            pledge,
            {"acknowledged_at": timezone.now()},
            actor=Actor.task("pledge_acknowledge"),
            action="pledge.acknowledgement.sent",
        )
    return True


def payment_thank_send(*, payment_id: int) -> bool:
    """Thank the donor for money that arrived (any method), in their
    language, with what is paid and still to pay. Sent once per payment:
    `thanked_at` is set under the payment's row lock, so a retried or
    duplicated task sends nothing more. Returns whether it sent."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("pledge__donor", "pledge__campaign")
            .get(pk=payment_id)
        )
        pledge = payment.pledge
        if payment.thanked_at is not None or payment.amount <= 0 or not pledge.donor.email:
            return False
        language = donor_language(pledge.donor.language)
        context = {
            **pledge_email_context(pledge, language),
            "paid_now": cldr.money_text(payment.amount, payment.currency, language),
            "paid_on": cldr.long_date(payment.received_on, language),
        }
        donor_email_send(to=pledge.donor.email, template="thanks", context=context, language=language)
        thanked_at = timezone.now()
        change_save(
            payment,
            {"thanked_at": thanked_at},
            actor=Actor.task("payment_thank"),
            action="pledge.thanks.sent",
            pledge=pledge,
            new={"thanked_at": thanked_at, "language": language},
        )
    return True


# --- Staff: recording and moving pledges through their statuses -------------


def _locked(pledge_id: int) -> Pledge:
    """The pledge, locked for the rest of the transaction: two staff acting
    on one pledge at once are served one after the other, and the second
    sees the first's result."""
    return Pledge.objects.select_for_update().get(pk=pledge_id)


def pledge_record_announced(
    *,
    donor: Donor | DonorDetails,
    terms: PledgeTerms,
    campaign: Campaign | str | None = None,
    session: EventSession | str | None = None,
    announced_on: date | None = None,
    payment_method: str = "",
    choices: PledgeChoices = ANNOUNCED_CHOICES,
    actor: Actor,
) -> Pledge:
    """Record a pledge said from the floor at a session: `announced`,
    indicative until confirmed in writing. The donor is an existing row or
    new details. Instalments may fall on any date (they are recorded after
    the fact). The campaign and session are rows, or slugs (the staff
    API's; the default campaign when none is named). Without `choices`,
    the donor's name and amount are public. Raises InvalidInput
    naming each bad field, `campaign` or `session` among them when no
    campaign or session has the slug given."""
    campaign, session = _campaign_and_session(campaign, session)
    announced_on = announced_on or (session.starts_at.date() if session else timezone.localdate())
    errors = pledge_terms_errors(terms, today=announced_on, future_instalments=False)
    if isinstance(donor, DonorDetails):
        errors |= donor_details_errors(donor)
    if session is not None and session.event.campaign_id != campaign.pk:
        errors["session"] = [Refusal("This session belongs to another campaign.", "session-unknown")]
    if announced_on > timezone.localdate():
        errors["announced_on"] = ["A pledge cannot be announced in the future."]
    if errors:
        raise InvalidInput(errors)

    with transaction.atomic():
        if isinstance(donor, DonorDetails):
            donor = donor_create(donor)
        pledge = Pledge(
            donor=donor,
            campaign=campaign,
            session=session,
            source=PledgeSource.FLOOR,
            status=PledgeStatus.ANNOUNCED,
            payment_method=payment_method,
            amount=terms.amount,
            currency=terms.currency,
            pledged_on=announced_on,
            verified_at=timezone.now(),
        )
        choices.apply_to(pledge)
        pledge_usd_value_set(pledge, on=announced_on)

        def insert(reference: str) -> Pledge:
            pledge.reference = reference
            pledge.save(force_insert=True)
            return pledge

        _insert_under_new_reference(insert)
        Instalment.objects.bulk_create(
            Instalment(pledge=pledge, due_date=i.due_date, amount=i.amount) for i in terms.instalments
        )
        event = audit_record(actor=actor, action="pledge.announced", obj=pledge, new=pledge_snapshot(pledge))
        pledge_status_begun(pledge, actor=actor, audit=event)
    return pledge


def pledge_verify(*, pledge: Pledge, actor: Actor, reason: str = "") -> Pledge:
    """Staff checked a web submission is genuine: `submitted` becomes
    `announced` and the pledge enters the public figures. Already verified:
    returns quietly. Raises TransitionNotAllowed from other statuses."""
    with transaction.atomic():
        pledge = _locked(pledge.pk)
        if pledge.verified_at is not None:
            return pledge
        if pledge.status not in (PledgeStatus.SUBMITTED, PledgeStatus.PARTIALLY_PAID, PledgeStatus.PAID):
            raise TransitionNotAllowed(f"A {pledge.get_status_display().lower()} pledge cannot be verified.")
        pledge.verified_at = timezone.now()
        # Money already made it (partially) paid: it keeps that status.
        status = PledgeStatus.ANNOUNCED if pledge.status == PledgeStatus.SUBMITTED else pledge.status
        pledge_status_change(
            pledge, status, actor=actor, action="pledge.verified", reason=reason, fields=["verified_at"]
        )
    return pledge


def pledge_confirm(*, pledge: Pledge, actor: Actor, confirmed_on: date | None = None, reason: str = "") -> Pledge:
    """A firm written commitment: an announced pledge (or a web submission
    being verified) becomes `confirmed`, and its USD value is fixed at the
    rate in force on the confirmation date (left flagged if that rate is
    missing, and fixed when it arrives). A pledge already paid in part or
    whole keeps its payment status but is marked confirmed. Already
    confirmed: returns quietly. Raises TransitionNotAllowed for cancelled
    or lapsed pledges, InvalidInput for a future date."""
    confirmed_on = confirmed_on or timezone.localdate()
    if confirmed_on > timezone.localdate():
        raise InvalidInput({"confirmed_on": ["A pledge cannot be confirmed in the future."]})
    with transaction.atomic():
        pledge = _locked(pledge.pk)
        if pledge.status in (PledgeStatus.CANCELLED, PledgeStatus.LAPSED):
            raise TransitionNotAllowed(f"A {pledge.get_status_display().lower()} pledge cannot be confirmed.")
        if pledge.confirmed_at is not None:
            return pledge
        if confirmed_on < pledge.pledged_on:
            raise InvalidInput({"confirmed_on": ["A pledge cannot be confirmed before it was made."]})
        # Paid in part or whole: it keeps its payment status, marked confirmed.
        paying = pledge.status in (PledgeStatus.PARTIALLY_PAID, PledgeStatus.PAID)
        status = pledge.status if paying else PledgeStatus.CONFIRMED
        pledge.verified_at = pledge.verified_at or timezone.now()
        pledge.confirmed_at = timezone.now()
        pledge.confirmed_on = confirmed_on
        pledge_usd_value_set(pledge, on=confirmed_on)
        pledge.usd_rate_fixed = pledge.amount_usd is not None
        pledge_status_change(
            pledge,
            status,
            actor=actor,
            action="pledge.confirmed",
            reason=reason,
            fields=[
                "verified_at",
                "confirmed_at",
                "confirmed_on",
                "amount_usd",
                "usd_rate",
                "usd_rate_date",
                "usd_rate_fixed",
            ],
        )
    return pledge


def pledge_cancel(*, pledge: Pledge, actor: Actor, reason: str) -> Pledge:
    """Withdrawn before any money arrived: `cancelled`, terminal. A pledge
    with money applied is lapsed instead. Already cancelled: returns
    quietly."""
    if not reason.strip():
        raise InvalidInput({"reason": ["Say why the pledge is cancelled."]})
    with transaction.atomic():
        pledge = _locked(pledge.pk)
        if pledge.status == PledgeStatus.CANCELLED:
            return pledge
        if pledge.payments.exists():
            raise TransitionNotAllowed("This pledge has money applied: lapse its remainder instead of cancelling it.")
        _pledge_close(pledge, PledgeStatus.CANCELLED, actor=actor, action="pledge.cancelled", reason=reason)
        # A card payment form left open must not take money any more.
        task_enqueue("pledges.tasks.card_payment_intents_cancel", pledge.pk)
    return pledge


def pledge_lapse(*, pledge: Pledge, actor: Actor, reason: str) -> Pledge:
    """Staff give up the remainder: `lapsed`, with a reason. Money that
    arrives later reopens it. Already lapsed: returns quietly."""
    if not reason.strip():
        raise InvalidInput({"reason": ["A reason is required to lapse a pledge."]})
    with transaction.atomic():
        pledge = _locked(pledge.pk)
        if pledge.status == PledgeStatus.LAPSED:
            return pledge
        _pledge_close(pledge, PledgeStatus.LAPSED, actor=actor, action="pledge.lapsed", reason=reason)
    return pledge


def _pledge_close(pledge: Pledge, status: str, *, actor: Actor, action: str, reason: str) -> None:
    """Close a locked pledge (cancelled or lapsed): when, why, and the
    status change with its history row and audit record."""
    pledge.closed_at = timezone.now()
    pledge.close_reason = reason
    pledge_status_change(
        pledge, status, actor=actor, action=action, reason=reason, fields=["closed_at", "close_reason"]
    )


def pledge_amount_change(
    *,
    pledge: Pledge,
    amount: Decimal,
    instalments: list[InstalmentTerms] | None,
    actor: Actor,
    reason: str,
) -> Pledge:
    """Change what a pledge promises. The earlier amount is kept as a
    version (as FTS keeps versions); the USD value follows at the pledge's
    valuation rate; the status follows the money already applied (a paid
    pledge whose amount grows is partially paid again). A pledge with an
    instalment plan needs a new plan that adds up. Raises
    TransitionNotAllowed for cancelled and lapsed pledges."""
    if not reason.strip():
        raise InvalidInput({"reason": ["Say why the amount changes."]})
    with transaction.atomic():
        pledge = _locked(pledge.pk)
        if pledge.status in (PledgeStatus.CANCELLED, PledgeStatus.LAPSED):
            raise TransitionNotAllowed(f"The amount of a {pledge.get_status_display().lower()} pledge cannot change.")
        terms = PledgeTerms(amount=amount, currency=pledge.currency, instalments=instalments or [])
        errors = pledge_terms_errors(terms, today=pledge.pledged_on, future_instalments=False)
        if instalments is None and pledge.instalments.exists():
            errors["instalments"] = ["This pledge has an instalment plan: give the new plan for the new amount."]
        if errors:
            raise InvalidInput(errors)
        if amount == pledge.amount and instalments is None:
            return pledge

        now = timezone.now()
        previous = pledge.versions.order_by("-version").first()
        PledgeVersion.objects.create(
            pledge=pledge,
            version=pledge.version,
            amount=pledge.amount,
            currency=pledge.currency,
            amount_usd=pledge.amount_usd,
            valid_from=previous.valid_until if previous else pledge.created_at,
            valid_until=now,
            replaced_by=actor.user,
            reason=reason,
        )
        old = pledge_snapshot(pledge)
        pledge.amount = amount
        pledge.version += 1
        pledge_usd_value_set(pledge, on=pledge.valuation_date)
        if instalments is not None:
            pledge.instalments.all().delete()
            Instalment.objects.bulk_create(
                Instalment(pledge=pledge, due_date=i.due_date, amount=i.amount) for i in instalments
            )
        status = status_after_money(pledge, money_arrived=False)
        event = audit_record(
            actor=actor,
            action="pledge.amount.changed",
            obj=pledge,
            old=old,
            new={**pledge_snapshot(pledge), "status": status},
            reason=reason,
        )
        pledge_status_change(
            pledge,
            status,
            actor=actor,
            reason=reason,
            fields=["amount", "version", "amount_usd", "usd_rate", "usd_rate_date"],
            audit=event,
        )
    return pledge
