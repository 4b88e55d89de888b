"""Load demonstration data on the real timeline of the 2012 campaign, and a
demo fund admin whose new password is printed.

The story: pledges announced from the floor at the four sessions of the
General Assembly's dialogue of 3 April 2012, and a few through the web form
afterwards; confirmed in writing over 2012; paid in instalments from 2012 to
2014 in several currencies at the UN operational rates of each month; one
duplicate transfer refunded, one pledge lapsed, one still only announced,
one web submission never verified. Named and anonymous donors of every
type (the observer States aside: there are two, both named). The figures
are illustrative, not the Fund's.

Every step goes through the services, as staff would have done it, at the
moment it happened (the clock is moved with time-machine), so the audit
trail dates every status, payment and rate: the event report, the quarterly
and yearly reports of 2012-2014 and the public totals then tell one story.
Loading twice adds nothing the second time.
"""

import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from knox.models import AuthToken

from pledges.audit import Actor
from pledges.exchange_rates import exchange_rate_set
from pledges.models import Campaign, EventSession, Payment, PaymentMethod, Pledge, PledgeSource
from pledges.payments.services import PaymentDetails, payment_apply, payment_record
from pledges.services import (
    DonorDetails,
    InstalmentTerms,
    PledgeChoices,
    PledgeTerms,
    pledge_confirm,
    pledge_lapse,
    pledge_record_announced,
    pledge_submit,
    pledge_verify,
)

DEMO_USER = "demo-admin"
CAMPAIGN = "vtf-2012"

# Currency units per US dollar, as the UN operational rates of exchange
# of these months (rounded; illustrative).
RATES = {
    date(2012, 4, 1): {"EUR": "0.750", "GBP": "0.627", "JPY": "82.40", "NOK": "5.710", "KWD": "0.2780"},
    date(2012, 7, 1): {"EUR": "0.790", "GBP": "0.637", "JPY": "79.60", "NOK": "5.950", "KWD": "0.2810"},
    date(2012, 10, 1): {"EUR": "0.776", "GBP": "0.619", "JPY": "78.20", "NOK": "5.730", "KWD": "0.2810"},
    date(2013, 1, 1): {"EUR": "0.758", "GBP": "0.615", "JPY": "86.50", "NOK": "5.570", "KWD": "0.2820"},
    date(2013, 4, 1): {"EUR": "0.780", "GBP": "0.659", "JPY": "94.00", "NOK": "5.840", "KWD": "0.2850"},
    date(2013, 10, 1): {"EUR": "0.740", "GBP": "0.620", "JPY": "98.00", "NOK": "6.020", "KWD": "0.2830"},
    date(2014, 4, 1): {"EUR": "0.726", "GBP": "0.600", "JPY": "103.0", "NOK": "5.990", "KWD": "0.2820"},
    date(2014, 10, 1): {"EUR": "0.790", "GBP": "0.620", "JPY": "109.0", "NOK": "6.450", "KWD": "0.2870"},
}


@dataclass(frozen=True)
class Demo:
    """One donor's pledge and what became of it."""

    donor: str
    donor_type: str
    country: str
    amount: str
    currency: str
    session: str = ""  # "" for a pledge made through the web form
    named: bool = True
    amount_shown: bool = True
    earmark: str = "unrestricted"
    confirmed_on: date | None = None
    paid: list[tuple[date, str]] = field(default_factory=list)  # (received on, amount in the pledge's currency)
    lapsed_on: date | None = None
    refund: tuple[date, date] | None = None  # a duplicate of the last transfer: (received on, refunded on)
    instalments: list[tuple[date, str]] = field(default_factory=list)
    submitted_on: date | None = None  # web pledges
    verified: bool = True
    statement: str = ""

    @classmethod
    def from_row(cls, row: dict) -> "Demo":
        """A pledge of the data file; a key that is not a field fails loudly.
        TOML has arrays only, the fields hold (date, amount) pairs."""
        pairs = {name: [tuple(pair) for pair in row[name]] for name in ("paid", "instalments") if name in row}
        refund = {"refund": tuple(row["refund"])} if "refund" in row else {}
        return cls(**{**row, **pairs, **refund})


# The story's pledges, one [[pledge]] table each: the fields of `Demo`,
# dates as TOML dates and amounts as strings (exact decimals).
PLEDGES_FILE = Path(__file__).with_name("demo_data.toml")


def load_pledges(path: Path = PLEDGES_FILE) -> list[Demo]:
    with path.open("rb") as file:
        return [Demo.from_row(row) for row in tomllib.load(file)["pledge"]]


PLEDGES = load_pledges()


def at(day: date, clock: time = time(15, 0)) -> datetime:
    """A moment of a working day in New York (15:00 UTC is 10:00 or 11:00 there)."""
    return datetime.combine(day, clock, tzinfo=UTC)


class Command(BaseCommand):
    help = "Load the 2012-2014 demonstration pledges and a demo fund admin (prints the password)."

    def handle(self, *args, **options) -> None:
        campaign = Campaign.objects.get(slug=CAMPAIGN)
        if Pledge.objects.filter(campaign=campaign, source=PledgeSource.FLOOR).exists():
            self.stdout.write("Demo pledges are already loaded.")
        else:
            steps = self._timeline(campaign)
            self.stdout.write(f"Replaying {len(steps)} steps, April 2012 to December 2014...")
            with transaction.atomic():
                for moment, step in sorted(steps, key=lambda item: item[0]):
                    with time_machine.travel(moment, tick=False):
                        step()
        self._demo_user()

    def _timeline(self, campaign: Campaign) -> list[tuple[datetime, Callable[[], object]]]:
        actor = Actor.system("demo_data")
        steps: list[tuple[datetime, Callable[[], object]]] = []
        for valid_from, rates in RATES.items():
            for currency, rate in rates.items():
                steps.append((at(valid_from, time(9, 0)), self._rate_step(currency, rate, valid_from, actor)))
        sessions = {s.slug: s for s in EventSession.objects.filter(event__campaign=campaign)}
        for index, demo in enumerate(PLEDGES, 1):
            steps.extend(self._pledge_steps(index, demo, campaign, sessions, actor))
        return steps

    @staticmethod
    def _rate_step(currency: str, rate: str, valid_from: date, actor: Actor) -> Callable[[], object]:
        return lambda: exchange_rate_set(currency=currency, rate=Decimal(rate), valid_from=valid_from, actor=actor)

    def _pledge_steps(self, index: int, demo: Demo, campaign: Campaign, sessions: dict, actor: Actor) -> list:
        """The steps of one pledge's life, each with its moment. Later steps
        find the pledge in `made`, filled by the first."""
        made: dict[str, Pledge] = {}
        donor = DonorDetails(name=demo.donor, donor_type=demo.donor_type, country=demo.country)
        terms = PledgeTerms(
            amount=Decimal(demo.amount),
            currency=demo.currency,
            instalments=[InstalmentTerms(due_date=due, amount=Decimal(amount)) for due, amount in demo.instalments],
        )

        # What the pledge says, whether announced from the floor or submitted.
        said: dict[str, Any] = {
            "terms": terms,
            "campaign": campaign,
            "choices": PledgeChoices(
                earmark=demo.earmark,
                statement=demo.statement,
                public_name=demo.named,
                public_amount=demo.amount_shown,
            ),
        }

        def announce() -> None:
            made["pledge"] = pledge_record_announced(donor=donor, session=sessions[demo.session], actor=actor, **said)

        def submit() -> None:
            made["pledge"] = pledge_submit(
                donor=DonorDetails(**{**donor.__dict__, "email": f"donor{index}@example.org"}),
                payment_method="bank_transfer",
                actor=Actor.donor(),
                **said,
            )

        if demo.session:
            session = sessions[demo.session]
            # Pledges follow one another through the session, a few minutes apart.
            steps: list[tuple[datetime, Callable[[], object]]] = [
                (session.starts_at.astimezone(UTC).replace(second=index), announce)
            ]
        elif demo.submitted_on is None:
            raise ValueError(f"{demo.donor}: a pledge made through the web form needs submitted_on")
        else:
            steps = [(at(demo.submitted_on, time(14, 0, index)), submit)]
            if demo.verified:
                steps.append(
                    (
                        at(demo.submitted_on, time(16, 0, index)),
                        lambda: pledge_verify(pledge=made["pledge"], actor=actor),
                    )
                )
        if demo.confirmed_on:
            steps.append(
                (
                    at(demo.confirmed_on),
                    lambda: pledge_confirm(pledge=made["pledge"], confirmed_on=demo.confirmed_on, actor=actor),
                )
            )
        for number, (received_on, amount) in enumerate(demo.paid, 1):
            steps.append(
                (
                    at(received_on, time(17, 0, index)),
                    self._payment_step(made, index, number, received_on, amount, actor),
                )
            )
        if demo.refund:
            received_on, refunded_on = demo.refund
            steps.append(
                (
                    at(received_on, time(17, 0, index)),
                    self._payment_step(made, index, 99, received_on, demo.paid[-1][1], actor),
                )
            )
            steps.append((at(refunded_on), lambda: self._refund_duplicate(made["pledge"], refunded_on, actor)))
        if demo.lapsed_on:
            reason = "The donor confirmed in writing that the remainder will not be paid."
            steps.append((at(demo.lapsed_on), lambda: pledge_lapse(pledge=made["pledge"], reason=reason, actor=actor)))
        return steps

    @staticmethod
    def _payment_step(made: dict, index: int, number: int, received_on: date, amount: str, actor: Actor):
        def pay() -> None:
            pledge = made["pledge"]
            payment_record(
                pledge=pledge,
                details=PaymentDetails(
                    amount=Decimal(amount),
                    currency=pledge.currency,
                    received_on=received_on,
                    method=PaymentMethod.BANK_TRANSFER,
                    bank_reference=f"DEMO-{received_on:%Y%m%d}-{index:02d}{number:02d}",
                    note="Transfer received",
                ),
                actor=actor,
            )

        return pay

    @staticmethod
    def _refund_duplicate(pledge: Pledge, refunded_on: date, actor: Actor) -> None:
        """The donor's bank sent the same transfer twice; the Fund sent the
        second one back. A refund is a negative entry taken back from that
        payment, as for a card refund."""
        with transaction.atomic():
            pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
            duplicate = pledge.payments.filter(amount__gt=0).order_by("-received_on", "-pk")[0]
            payment_apply(
                pledge=pledge,
                entry=Payment(
                    method=PaymentMethod.BANK_TRANSFER,
                    amount=-duplicate.amount,
                    currency=duplicate.currency,
                    amount_applied=-duplicate.amount_applied,
                    received_on=refunded_on,
                    bank_account=duplicate.bank_account,
                    external_reference=f"{duplicate.external_reference}-REFUND",
                    taken_back_from=duplicate,
                    note="Duplicate transfer returned to the donor",
                ),
                actor=actor,
                action="pledge.payment.refunded",
            )

    def _demo_user(self) -> None:
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER, defaults={"is_staff": True})
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name="fund_admin"))
        _, token = AuthToken.objects.create(user=user)
        self.stdout.write(self.style.SUCCESS(f"Demo fund admin: {DEMO_USER} / {password} (API token {token})"))
