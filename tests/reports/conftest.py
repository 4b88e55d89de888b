"""Shared set-up for the reports tests: files go to a temporary media
folder; a mix of pledges covers every status and both consents."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.audit import Actor
from pledges.models import Campaign, DonorType, Payment, PledgeStatus
from reports.models import Report
from reports.services import ReportRequest, report_request
from tests.factories import DonorFactory, PaymentFactory, PledgeFactory

ACTOR = Actor.system("tests")


def period_report(campaign, *, days_ago=(6, 0), languages=("en",), **fields) -> Report:
    """The period report of `campaign` from `days_ago[0]` to `days_ago[1]`
    days before today (the last week by default), as requested by ACTOR."""
    today = timezone.localdate()
    first, last = days_ago
    request = ReportRequest(
        campaign=campaign,
        kind="period",
        period_start=today - timedelta(days=first),
        period_end=today - timedelta(days=last),
        languages=languages,
        **fields,
    )
    report, _ = report_request(request, actor=ACTOR)
    return report


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def campaign(db) -> Campaign:
    return Campaign.objects.get(slug="vtf-2012")


def paid(pledge, *amounts: str) -> None:
    """Record payments and keep the pledge's stored balance in step, as the
    payment services do."""
    for amount in amounts:
        PaymentFactory(pledge=pledge, amount=Decimal(amount))
    total = sum((p.amount_usd for p in Payment.objects.filter(pledge=pledge)), Decimal(0))
    pledge.amount_paid = total
    pledge.amount_received_usd = total
    pledge.save(update_fields=["amount_paid", "amount_received_usd"])


@pytest.fixture
def mixed_pledges(campaign):
    """announced 300; pledged 1000 + 500 + 2000 + 50 (what the lapsed one
    paid) = 3550; received 400 + 500 + 50 = 950; two not counted."""
    yesterday = timezone.localdate() - timedelta(days=1)
    earlier = timezone.now() - timedelta(hours=2)
    common = {"campaign": campaign, "pledged_on": yesterday, "created_at": earlier}

    def pledge(donor: dict, status, amount: str, *payments: str, public_name=True, public_amount=True):
        made = PledgeFactory(
            donor=DonorFactory(**donor),
            status=status,
            amount=Decimal(amount),
            public_name=public_name,
            public_amount=public_amount,
            **common,
        )
        if payments:
            paid(made, *payments)
        return made

    norway = pledge({"name": "Kingdom of Norway", "country": "NO"}, PledgeStatus.PARTIALLY_PAID, "1000.00", "400.00")
    qatar = pledge(
        {"name": "State of Qatar", "country": "QA"}, PledgeStatus.PAID, "500.00", "500.00", public_amount=False
    )
    secret = {"name": "Secret Donor Foundation", "country": "CH", "donor_type": DonorType.FOUNDATION}
    pledge(secret, PledgeStatus.CONFIRMED, "2000.00", public_name=False)
    holy_see = {"name": "Holy See", "country": "VA", "donor_type": DonorType.OBSERVER_STATE}
    pledge(holy_see, PledgeStatus.ANNOUNCED, "300.00")
    lapsed_ltd = {"name": "Lapsed Ltd", "country": "GB", "donor_type": DonorType.PRIVATE_SECTOR}
    lapsed = pledge(lapsed_ltd, PledgeStatus.LAPSED, "100.00", "50.00")
    PledgeFactory(
        donor=DonorFactory(name="Unverified Web Donor"), status=PledgeStatus.SUBMITTED, public_name=True, **common
    )
    PledgeFactory(donor=DonorFactory(name="Cancelled Co"), status=PledgeStatus.CANCELLED, public_name=True, **common)
    return {"norway": norway, "qatar": qatar, "lapsed": lapsed}


def squeeze(text: str) -> str:
    """Text without any kind of space, for comparing formatted amounts with
    text extracted from a PDF or HTML page."""
    return re.sub(r"[\s\u00a0\u202f\u2009\u200e\u200f]+", "", text)
