"""The reconciliation summary for staff, GET /api/v1/reconciliation/summary/:
per donor or per campaign and currency, what was pledged, received, is
outstanding and overdue, in the original currency and in USD; as JSON or
as a CSV download."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.models import PledgeStatus
from tests.factories import CampaignFactory, DonorFactory
from tests.helpers import days_ago
from tests.statements import Entry, camt053, confirmed_pledge

pytestmark = pytest.mark.django_db

SUMMARY = "/api/v1/reconciliation/summary/"


@pytest.fixture
def pledges(db):
    """Norway: three USD pledges (one part paid and overdue, one open, one
    lapsed), a EUR pledge and a cancelled one; Canada: a CAD pledge with no
    rate yet, and a paid USD pledge in another campaign."""
    today = timezone.localdate()
    norway = DonorFactory(name="Kingdom of Norway", country="NO")
    canada = DonorFactory(name="Government of Canada", country="CA")
    confirmed_pledge(
        "1000.00",
        donor=norway,
        instalments=((today - timedelta(days=10), "500.00"), (today + timedelta(days=30), "500.00")),
        status=PledgeStatus.PARTIALLY_PAID,
        amount_paid=Decimal("400.00"),
        amount_received_usd=Decimal("400.00"),
    )
    confirmed_pledge("2000.00", donor=norway)
    confirmed_pledge(
        "300.00",
        donor=norway,
        status=PledgeStatus.LAPSED,
        amount_paid=Decimal("100.00"),
        amount_received_usd=Decimal("100.00"),
        instalments=((today - timedelta(days=100), "300.00"),),
    )
    confirmed_pledge("800.00", "EUR", donor=norway, amount_usd=Decimal("1000.00"), usd_rate=Decimal("0.80"))
    confirmed_pledge("5000.00", donor=norway, status=PledgeStatus.CANCELLED)
    confirmed_pledge("1000.00", "CAD", donor=canada)
    confirmed_pledge(
        "700.00",
        donor=canada,
        campaign=CampaignFactory(slug="vtf-2024", title="VTF 2024 appeal"),
        status=PledgeStatus.PAID,
        amount_paid=Decimal("700.00"),
        amount_received_usd=Decimal("700.00"),
    )
    return {"norway": norway, "canada": canada}


def rows(client, **params) -> list[dict]:
    response = client.get(SUMMARY, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["by"] == params.get("by", "donor")
    return body["results"]


def keyed(results: list[dict], *names: str) -> dict:
    return {tuple(row[n] for n in names): row for row in results}


def test_the_summary_per_donor_gives_each_currency_its_row(client_for, viewer, pledges):
    results = keyed(rows(client_for(viewer)), "donor__name", "currency")

    assert set(results) == {
        ("Kingdom of Norway", "USD"),
        ("Kingdom of Norway", "EUR"),
        ("Government of Canada", "CAD"),
        ("Government of Canada", "USD"),
    }
    usd = results[("Kingdom of Norway", "USD")]
    assert usd["donor_id"] == pledges["norway"].pk
    assert (usd["donor__donor_type"], usd["donor__country"]) == ("member_state", "NO")
    assert usd["pledges"] == 3  # the cancelled pledge is left out
    assert (usd["pledged"], usd["paid"]) == ("3300.00", "500.00")
    # Open pledges owe 600.00 + 2000.00; the lapsed one owes nothing more.
    assert usd["outstanding"] == "2600.00"
    # 500.00 fell due ten days ago and 400.00 was paid.
    assert usd["overdue"] == "100.00"
    assert usd["awaiting_rate"] == 0
    eur = results[("Kingdom of Norway", "EUR")]
    assert (eur["pledged"], eur["paid"], eur["outstanding"], eur["overdue"]) == ("800.00", "0.00", "800.00", "0.00")


def test_the_usd_columns_are_money_strings_like_every_amount_in_the_api(client_for, viewer, pledges):
    results = keyed(rows(client_for(viewer)), "donor__name", "currency")

    usd = results[("Kingdom of Norway", "USD")]
    assert (usd["pledged_usd"], usd["received_usd"]) == ("3300.00", "500.00")
    assert results[("Kingdom of Norway", "EUR")]["pledged_usd"] == "1000.00"


def test_a_pledge_without_a_usd_rate_is_counted_as_awaiting_one(client_for, viewer, pledges):
    cad = keyed(rows(client_for(viewer)), "donor__name", "currency")[("Government of Canada", "CAD")]

    assert (cad["pledged"], cad["outstanding"]) == ("1000.00", "1000.00")
    assert cad["pledged_usd"] is None
    assert cad["awaiting_rate"] == 1


def test_the_summary_gives_outstanding_and_overdue_in_usd_too(client_for, viewer, pledges):
    usd = keyed(rows(client_for(viewer)), "donor__name", "currency")[("Kingdom of Norway", "USD")]

    assert usd["outstanding_usd"] == "2600.00"
    assert usd["overdue_usd"] == "100.00"


def test_the_summary_per_campaign(client_for, viewer, pledges):
    results = keyed(rows(client_for(viewer), by="campaign"), "campaign__slug", "currency")

    assert set(results) == {("vtf-2012", "USD"), ("vtf-2012", "EUR"), ("vtf-2012", "CAD"), ("vtf-2024", "USD")}
    appeal = results[("vtf-2024", "USD")]
    assert appeal["campaign__title"] == "VTF 2024 appeal"
    assert (appeal["pledges"], appeal["pledged"], appeal["paid"], appeal["outstanding"], appeal["overdue"]) == (
        1,
        "700.00",
        "700.00",
        "0.00",
        "0.00",
    )
    dialogue = results[("vtf-2012", "USD")]
    assert (dialogue["pledges"], dialogue["pledged"], dialogue["overdue"]) == (3, "3300.00", "100.00")


def test_the_summary_can_be_narrowed_to_one_campaign(client_for, viewer, pledges):
    results = rows(client_for(viewer), campaign="vtf-2024")

    assert [(row["donor__name"], row["currency"], row["pledged"]) for row in results] == [
        ("Government of Canada", "USD", "700.00")
    ]


def test_money_matched_from_a_statement_shows_in_the_summary(client_for, viewer, statement_upload):
    pledge = confirmed_pledge("1200.00", donor="Principality of Liechtenstein")
    response = statement_upload(camt053([Entry("1200.00", reference=pledge.reference, value_date=days_ago(3))]))
    assert response.status_code == 201

    (row,) = rows(client_for(viewer))

    assert (row["pledged"], row["paid"], row["outstanding"], row["overdue"]) == ("1200.00", "1200.00", "0.00", "0.00")
    assert Decimal(str(row["received_usd"])) == Decimal("1200.00")


def _download(client, **params):
    response = client.get(SUMMARY, {"format": "csv", **params})
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    return response, content


def test_the_summary_downloads_as_csv_with_a_bom_a_header_and_rows(client_for, viewer, pledges):
    response, content = _download(client_for(viewer))

    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="reconciliation-donor-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    assert content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    table = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert list(table[0]) == [
        "donor_id",
        "donor__name",
        "donor__donor_type",
        "donor__country",
        "currency",
        "pledges",
        "pledged",
        "paid",
        "outstanding",
        "overdue",
        "pledged_usd",
        "received_usd",
        "outstanding_usd",
        "overdue_usd",
        "awaiting_rate",
    ]
    assert len(table) == 4
    by_key = {(row["donor__name"], row["currency"]): row for row in table}
    usd = by_key[("Kingdom of Norway", "USD")]
    assert (usd["pledged"], usd["paid"], usd["outstanding"], usd["overdue"]) == (
        "3300.00",
        "500.00",
        "2600.00",
        "100.00",
    )
    assert (usd["pledged_usd"], usd["received_usd"]) == ("3300.00", "500.00")
    cad = by_key[("Government of Canada", "CAD")]
    assert (cad["pledged_usd"], cad["awaiting_rate"]) == ("", "1")


def test_the_campaign_summary_downloads_as_csv(client_for, viewer, pledges):
    response, content = _download(client_for(viewer), by="campaign")

    assert "reconciliation-campaign-" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert list(table[0])[:4] == ["campaign__slug", "campaign__title", "currency", "pledges"]
    assert {(row["campaign__slug"], row["currency"]) for row in table} == {
        ("vtf-2012", "USD"),
        ("vtf-2012", "EUR"),
        ("vtf-2012", "CAD"),
        ("vtf-2024", "USD"),
    }


def test_the_csv_can_be_asked_for_with_the_accept_header(client_for, viewer, pledges):
    response = client_for(viewer).get(SUMMARY, headers={"Accept": "text/csv"})

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbfdonor_id,")


def test_an_unknown_grouping_is_refused(client_for, viewer):
    response = client_for(viewer).get(SUMMARY, {"by": "country"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["by"]


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("outsider", 403), ("viewer", 200), ("reconciler", 200)])
def test_the_summary_is_for_staff(client_for, request, who, status):
    client = client_for(request.getfixturevalue(who) if who else None)

    assert client.get(SUMMARY).status_code == status
