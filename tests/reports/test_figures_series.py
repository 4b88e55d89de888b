"""The cumulative series of a report (pledged and received over time) and
the period's receipts, against figures worked out by hand: pledges in
several currencies, statuses changed after the report's moment, payments
recorded after it, and days with nothing counted on them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.models import PledgeStatus, PledgeStatusChange
from reports.figures import report_figures
from tests.factories import DonorFactory, PaymentFactory, PledgeFactory
from tests.reports.conftest import period_report

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
AS_OF_AGO = timedelta(hours=3)


def day(days_ago: int):
    return TODAY() - timedelta(days=days_ago)


def pledge(name: str, currency: str, amount: str, amount_usd: str, status: str, pledged: int, **fields):
    """A pledge made before the report's moment, worth `amount_usd` then."""
    return PledgeFactory(
        donor=DonorFactory(name=name),
        currency=currency,
        amount=Decimal(amount),
        amount_usd=Decimal(amount_usd),
        status=status,
        pledged_on=day(pledged),
        created_at=timezone.now() - 2 * AS_OF_AGO,
        public_name=True,
        **fields,
    )


def payment(on_pledge, amount: str, amount_usd: str, received: int, **fields):
    payment = PaymentFactory(
        pledge=on_pledge,
        currency=on_pledge.currency,
        amount=Decimal(amount),
        amount_usd=Decimal(amount_usd),
        received_on=day(received),
        **{"created_at": timezone.now() - 2 * AS_OF_AGO, **fields},
    )
    on_pledge.amount_received_usd += payment.amount_usd
    on_pledge.save(update_fields=["amount_received_usd"])


def changed_after(as_of, on_pledge, old: str, new: str, **fields) -> None:
    """The status of `on_pledge` was `old` at `as_of`; it became `new` since."""
    PledgeStatusChange.objects.create(
        at=as_of + timedelta(minutes=30),
        old_status_since=as_of - AS_OF_AGO,
        actor_kind="system",
        pledge=on_pledge,
        old_status=old,
        new_status=new,
    )
    on_pledge.status = new
    for name, value in fields.items():
        setattr(on_pledge, name, value)
    on_pledge.save(update_fields=["status", *fields])


@pytest.fixture
def figures(campaign):
    """Pledged on three days ago and yesterday (none two days ago); received
    on three days ago and yesterday (two days ago only on a pledge that does
    not count)."""
    as_of = timezone.now() - AS_OF_AGO
    norway = pledge("Norway", "USD", "1000.00", "1000.00", PledgeStatus.CONFIRMED, pledged=3)
    euro = pledge("Euro Bank", "EUR", "500.00", "580.05", PledgeStatus.PAID, pledged=3, confirmed_on=day(1))
    yen = pledge("Yen Trust", "JPY", "15000", "99.21", PledgeStatus.PARTIALLY_PAID, pledged=1)
    lapsed = pledge("Pound Ltd", "GBP", "100.00", "134.95", PledgeStatus.LAPSED, pledged=3)
    francs = pledge("Franc AG", "CHF", "1000.00", "1265.82", PledgeStatus.CONFIRMED, pledged=1)
    announced = pledge("Kuwait Fund", "KWD", "30.000", "97.72", PledgeStatus.ANNOUNCED, pledged=3)
    pledge("Holy See", "USD", "300.00", "300.00", PledgeStatus.ANNOUNCED, pledged=1)
    unverified = pledge("Web Donor", "USD", "40.00", "40.00", PledgeStatus.SUBMITTED, pledged=2)

    payment(euro, "500.00", "580.05", received=1)
    payment(yen, "5000", "33.07", received=3)
    payment(lapsed, "20.00", "26.99", received=3)
    payment(francs, "100.00", "126.58", received=1)
    payment(unverified, "40.00", "40.00", received=2)
    report = period_report(campaign, as_of=as_of)

    # After the report's moment: Franc AG cancels, the Kuwait Fund confirms
    # (today), Norway pays: none of it is in the figures of that moment.
    changed_after(as_of, francs, PledgeStatus.CONFIRMED, PledgeStatus.CANCELLED)
    changed_after(as_of, announced, PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED, confirmed_on=TODAY())
    payment(norway, "250.00", "250.00", received=1, created_at=as_of + timedelta(minutes=30))
    return report_figures(report)


def test_pledged_over_time_adds_up_each_firm_pledge_from_its_day_at_its_value_then(figures):
    # Three days ago: Norway 1000.00 and what Pound Ltd paid before it lapsed,
    # 26.99. Yesterday: Euro Bank confirmed (pledged three days ago) 580.05,
    # Yen Trust 99.21 and Franc AG 1265.82 (cancelled since).
    assert figures["pledged_over_time"] == [
        {"date": day(3).isoformat(), "pledged": "1026.99", "cumulative": "1026.99"},
        {"date": day(1).isoformat(), "pledged": "1945.08", "cumulative": "2972.07"},
    ]
    assert figures["pledged_over_time"][-1]["cumulative"] == figures["headline"]["pledged"]


def test_received_over_time_adds_up_the_counted_pledges_payments_recorded_by_then(figures):
    # Three days ago: Yen Trust 33.07 and Pound Ltd 26.99. Two days ago only
    # the unverified web donor paid: no day in the series. Yesterday: Euro
    # Bank 580.05 and Franc AG 126.58; Norway's 250.00 was recorded later.
    assert figures["received_over_time"] == [
        {"date": day(3).isoformat(), "received": "60.06", "cumulative": "60.06"},
        {"date": day(1).isoformat(), "received": "706.63", "cumulative": "766.69"},
    ]
    assert figures["received_over_time"][-1]["cumulative"] == figures["headline"]["received"]


def test_the_periods_receipts_are_the_days_of_the_received_series_in_it(figures):
    assert figures["period"]["receipts"] == {"count": 4, "amount": "766.69"}


def test_a_report_of_the_days_since_sees_what_changed_after_the_first_ones_moment(campaign, figures):
    figures = report_figures(period_report(campaign, days_ago=(2, 0)))

    # Franc AG no longer counts; the Kuwait Fund counts from today; Norway's
    # 250.00 is in, and the period leaves out three days ago.
    assert figures["pledged_over_time"] == [
        {"date": day(3).isoformat(), "pledged": "1026.99", "cumulative": "1026.99"},
        {"date": day(1).isoformat(), "pledged": "679.26", "cumulative": "1706.25"},
        {"date": day(0).isoformat(), "pledged": "97.72", "cumulative": "1803.97"},
    ]
    assert figures["received_over_time"] == [
        {"date": day(3).isoformat(), "received": "60.06", "cumulative": "60.06"},
        {"date": day(1).isoformat(), "received": "830.05", "cumulative": "890.11"},
    ]
    assert figures["period"]["receipts"] == {"count": 2, "amount": "830.05"}
