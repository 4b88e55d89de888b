"""Load demonstration data for a local run: exchange rates, pledges in each
status announced at the 2012 dialogue's sessions, payments, a web
submission, and a demo fund admin whose new password is printed.

Everything goes through the services, as staff would do it, so the audit
trail is as real as the rest. Loading twice adds nothing the second time.
"""

import secrets
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from pledges.audit import Actor
from pledges.exchange_rates import exchange_rate_set
from pledges.models import Campaign, EventSession, Pledge, PledgeSource
from pledges.payments.services import PaymentDetails, payment_record
from pledges.services import (
    DonorDetails,
    InstalmentTerms,
    PledgeTerms,
    pledge_confirm,
    pledge_lapse,
    pledge_record_announced,
    pledge_submit,
    pledge_verify,
)

DEMO_USER = "demo-admin"

# Currency units per USD (illustrative, for the demo only).
RATES = [
    ("EUR", "0.757", date(2012, 4, 1)),
    ("GBP", "0.627", date(2012, 4, 1)),
    ("JPY", "82.4", date(2012, 4, 1)),
    ("NOK", "5.71", date(2012, 4, 1)),
    ("KWD", "0.278", date(2012, 4, 1)),
    ("EUR", "0.862", date(2026, 1, 1)),
    ("GBP", "0.741", date(2026, 1, 1)),
    ("JPY", "151.2", date(2026, 1, 1)),
]

# (donor, type, country, amount, currency, session, then what happens)
FLOOR_PLEDGES = [
    ("Demo Member State: Norway", "member_state", "NO", "1500000", "NOK", "opening", "paid"),
    ("Demo Member State: Belarus", "member_state", "BY", "50000.00", "USD", "opening", "confirmed"),
    ("Demo Member State: Qatar", "member_state", "QA", "100000.00", "USD", "panel-1", "partially_paid"),
    ("Demo Member State: Japan", "member_state", "JP", "8000000", "JPY", "panel-1", "announced"),
    ("Demo Member State: Kuwait", "member_state", "KW", "14000.000", "KWD", "panel-2", "confirmed"),
    ("Demo Observer State: Holy See", "observer_state", "VA", "10000.00", "EUR", "panel-2", "announced"),
    ("Demo private donor: a foundation", "foundation", "GB", "25000.00", "GBP", "closing", "lapsed"),
]


class Command(BaseCommand):
    help = "Load demonstration pledges and a demo fund admin (prints the password)."

    def handle(self, *args, **options) -> None:
        actor = Actor.system("demo_data")
        self.stdout.write("Exchange rates...")
        for currency, rate, valid_from in RATES:
            exchange_rate_set(currency=currency, rate=Decimal(rate), valid_from=valid_from, actor=actor)

        campaign = Campaign.objects.get(slug="vtf-2012")
        if Pledge.objects.filter(campaign=campaign, source=PledgeSource.FLOOR).exists():
            self.stdout.write("Demo pledges are already loaded.")
        else:
            self._load_pledges(campaign, actor)
        self._demo_user()

    @transaction.atomic
    def _load_pledges(self, campaign: Campaign, actor: Actor) -> None:
        sessions = {s.slug: s for s in EventSession.objects.filter(event__campaign=campaign)}
        for index, (name, donor_type, country, amount, currency, session, outcome) in enumerate(FLOOR_PLEDGES, 1):
            self.stdout.write(f"Pledge {index}/{len(FLOOR_PLEDGES)}: {name}, {amount} {currency} ({outcome})")
            pledge = pledge_record_announced(
                donor=DonorDetails(name=name, donor_type=donor_type, country=country),
                terms=PledgeTerms(amount=Decimal(amount), currency=currency),
                campaign=campaign,
                session=sessions[session],
                actor=actor,
            )
            if outcome == "announced":
                continue
            pledge_confirm(pledge=pledge, confirmed_on=date(2012, 5, 15), actor=actor)
            if outcome in ("paid", "partially_paid", "lapsed"):
                share = Decimal(1) if outcome == "paid" else Decimal("0.4")
                payment_record(
                    pledge=pledge,
                    details=PaymentDetails(
                        amount=(pledge.amount * share).quantize(pledge.amount),
                        currency=currency,
                        received_on=date(2012, 9, 28),
                        method="bank_transfer",
                        bank_reference=f"DEMO-2012-{index:04d}",
                        note="Demo transfer",
                    ),
                    actor=actor,
                )
            if outcome == "lapsed":
                pledge_lapse(pledge=pledge, reason="Demo: the donor withdrew the remainder.", actor=actor)

        self.stdout.write("A web submission, verified, with instalments...")
        today = timezone.localdate()
        web = pledge_submit(
            donor=DonorDetails(name="Demo NGO: Survivors First", donor_type="civil_society", country="FR"),
            terms=PledgeTerms(
                amount=Decimal("12000.00"),
                currency="EUR",
                instalments=[
                    InstalmentTerms(due_date=today + timedelta(days=30), amount=Decimal("6000.00")),
                    InstalmentTerms(due_date=today + timedelta(days=210), amount=Decimal("6000.00")),
                ],
            ),
            payment_method="bank_transfer",
            campaign=campaign,
            earmark="children",
            public_name=True,
            public_amount=True,
            statement="Every survivor deserves a way home.",
            actor=Actor.donor(),
        )
        pledge_verify(pledge=web, actor=actor)
        pledge_submit(
            donor=DonorDetails(
                name="Unverified web donor", donor_type="individual", country="CA", email="d@example.org"
            ),
            terms=PledgeTerms(amount=Decimal("250.00"), currency="USD"),
            payment_method="bank_transfer",
            campaign=campaign,
            actor=Actor.donor(),
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
