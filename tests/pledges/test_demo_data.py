"""The demo data tells one story on the real timeline: the event report,
the quarterly and yearly reports of 2012-2014 and the public totals agree."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from pledges.audit import Actor
from pledges.models import AuditEvent, DonorType, Event, Payment, Pledge, PledgeSource, PledgeStatus
from pledges.selectors import public_totals
from reports.figures import report_figures
from reports.services import ReportRequest, report_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("demo_data", stdout=StringIO())
    return Event.objects.get(slug="ga-dialogue-2012")


def figures_for(dialogue, **kind) -> dict:
    report, _ = report_request(ReportRequest(campaign=dialogue.campaign, **kind), actor=Actor.system("tests"))
    return report_figures(report)


def period(event, start: date, end: date) -> dict:
    return figures_for(event, kind="period", period_start=start, period_end=end)


def quarters(year: int):
    ends = [date(year, 3, 31), date(year, 6, 30), date(year, 9, 30), date(year, 12, 31)]
    starts = [date(year, 1, 1), date(year, 4, 1), date(year, 7, 1), date(year, 10, 1)]
    return list(zip(starts, ends, strict=True))


def test_it_loads_once_however_often_it_runs(demo):
    counts = (Pledge.objects.count(), Payment.objects.count(), AuditEvent.objects.count())
    output = StringIO()

    call_command("demo_data", stdout=output)

    assert (Pledge.objects.count(), Payment.objects.count()) == counts[:2]
    assert "already loaded" in output.getvalue()


def test_floor_pledges_were_announced_at_the_four_sessions_of_3_april_2012(demo):
    floor = Pledge.objects.filter(source=PledgeSource.FLOOR)
    assert set(floor.values_list("session__slug", flat=True)) == {"opening", "panel-1", "panel-2", "closing"}
    assert set(floor.values_list("pledged_on", flat=True)) == {date(2012, 4, 3)}
    for pledge in floor:
        assert pledge.session.starts_at <= pledge.created_at <= pledge.session.ends_at
    announced = AuditEvent.objects.filter(action="pledge.announced")
    assert {event.occurred_at.date() for event in announced} == {date(2012, 4, 3)}


def test_money_arrives_in_instalments_from_2012_to_2014_in_several_currencies(demo):
    payments = Payment.objects.filter(amount__gt=0)
    assert {p.received_on.year for p in payments} == {2012, 2013, 2014}
    assert {p.currency for p in payments} >= {"NOK", "JPY", "KWD", "GBP", "EUR", "USD"}
    assert all(p.usd_rate for p in payments)
    assert all(p.created_at.date() == p.received_on for p in payments)
    norway = Pledge.objects.get(donor__name="Norway")
    assert norway.instalments.count() == 3
    assert norway.status == PledgeStatus.PAID


def test_one_refund_one_lapse_one_pledge_still_announced_and_one_never_verified(demo):
    refund = Payment.objects.get(taken_back_from__isnull=False)
    assert refund.amount < 0 and refund.taken_back_from.amount == -refund.amount
    assert AuditEvent.objects.filter(action="pledge.payment.refunded").count() == 1
    assert Pledge.objects.filter(status=PledgeStatus.LAPSED).count() == 1
    assert Pledge.objects.filter(status=PledgeStatus.ANNOUNCED, source=PledgeSource.FLOOR).exists()
    assert Pledge.objects.filter(status=PledgeStatus.SUBMITTED).count() == 1


def test_every_donor_type_has_named_donors_and_all_but_the_two_observers_anonymous_ones(demo):
    for donor_type in DonorType.values:
        pledges = Pledge.objects.filter(donor__donor_type=donor_type).exclude(status=PledgeStatus.SUBMITTED)
        assert pledges.filter(public_name=True).exists(), donor_type
        if donor_type != DonorType.OBSERVER_STATE:
            assert pledges.filter(public_name=False).exists(), donor_type


def test_the_reports_of_2012_to_2014_and_the_public_totals_tell_one_story(demo):
    totals = public_totals(demo.campaign)
    received_by_year = Decimal(0)
    for year in (2012, 2013, 2014):
        yearly = period(demo, date(year, 1, 1), date(year, 12, 31))
        by_quarter = [period(demo, start, end) for start, end in quarters(year)]
        # The last quarter ends where the year ends: the same figures.
        assert by_quarter[-1]["headline"] == yearly["headline"]
        assert sum(Decimal(q["period"]["receipts"]["amount"]) for q in by_quarter) == Decimal(
            yearly["period"]["receipts"]["amount"]
        )
        received_by_year += Decimal(yearly["period"]["receipts"]["amount"])
        assert Decimal(yearly["period"]["receipts"]["amount"]) > 0, year
    # Nothing happened after 2014: the end of 2014 is today's picture.
    for name in ("announced", "pledged", "received", "donors", "pledges"):
        assert yearly["headline"][name] == totals[name], name
    assert received_by_year == Decimal(totals["received"])

    second_quarter_2012 = period(demo, date(2012, 4, 1), date(2012, 6, 30))
    assert second_quarter_2012["period"]["new_pledges"]["count"] >= 17  # the dialogue's
    assert Decimal(second_quarter_2012["headline"]["announced"]) > 0
    assert Decimal(second_quarter_2012["headline"]["pledged"]) > 0


def test_the_event_report_counts_the_floor_pledges_within_the_public_totals(demo):
    event = figures_for(demo, kind="event", event=demo)
    totals = public_totals(demo.campaign)

    assert event["headline"]["pledges"] == Pledge.objects.filter(session__event=demo).count()
    assert sum(row["pledges"] for row in event["sessions"]) == event["headline"]["pledges"]
    assert Decimal(event["headline"]["received"]) <= Decimal(totals["received"])
    assert Decimal(event["headline"]["pledged"]) <= Decimal(totals["pledged"])
    assert all(row["pledges"] for row in event["sessions"])
