"""The staff pledge list (filters, ordering, pages), one pledge in detail,
and the filtered list exported as a streamed CSV file."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.models import Campaign, EventSession, Instalment, Pledge, PledgeSource, PledgeStatus
from tests.factories import CampaignFactory, DonorFactory, PledgeFactory
from tests.helpers import PROBLEM, bank_payment_body, days_ago, today

pytestmark = pytest.mark.django_db

LIST = "/api/v1/pledges/"
EXPORT = "/api/v1/pledges/export/"


def session(slug: str) -> EventSession:
    return EventSession.objects.get(event__campaign__slug="vtf-2012", slug=slug)


@pytest.fixture
def book() -> dict[str, Pledge]:
    """Five pledges that differ in every way the list filters on."""
    now = timezone.now()
    return {
        "norway": PledgeFactory(
            donor=DonorFactory(name="Kingdom of Norway", donor_type="member_state", country="NO"),
            status=PledgeStatus.CONFIRMED,
            confirmed_at=now,
            confirmed_on=days_ago(90),
            amount=Decimal("250000.00"),
            pledged_on=days_ago(100),
            session=session("panel-1"),
        ),
        "eu": PledgeFactory(
            donor=DonorFactory(name="European Union", donor_type="intergovernmental", country=""),
            status=PledgeStatus.ANNOUNCED,
            amount=Decimal("100000.00"),
            currency="EUR",
            amount_usd=Decimal("125000.00"),
            usd_rate=Decimal("0.80"),
            pledged_on=days_ago(50),
            session=session("panel-2"),
        ),
        "foundation": PledgeFactory(
            donor=DonorFactory(name="Fondation Genevoise", donor_type="foundation", country="CH"),
            status=PledgeStatus.SUBMITTED,
            source=PledgeSource.WEB,
            amount=Decimal("5000.00"),
            currency="CHF",
            pledged_on=days_ago(10),
        ),
        "japan": PledgeFactory(
            donor=DonorFactory(name="Japan", donor_type="member_state", country="JP"),
            status=PledgeStatus.PAID,
            amount=Decimal("5000000"),
            currency="JPY",
            amount_paid=Decimal("5000000"),
            amount_usd=Decimal("33333.33"),
            amount_received_usd=Decimal("33333.33"),
            usd_rate=Decimal("150"),
            pledged_on=days_ago(30),
        ),
        "elsewhere": PledgeFactory(
            donor=DonorFactory(name="Acme Corporation", donor_type="private_sector", country="US"),
            campaign=CampaignFactory(slug="vtf-2013"),
            status=PledgeStatus.CANCELLED,
            amount=Decimal("1000.00"),
            pledged_on=days_ago(5),
        ),
    }


def references(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {p["reference"] for p in response.json()["results"]}


def refs(book: dict[str, Pledge], *names: str) -> set[str]:
    return {book[name].reference for name in names}


# --- filters ----------------------------------------------------------------------------


def test_without_filters_every_pledge_is_listed(reader, book):
    assert references(reader.get(LIST)) == refs(book, *book)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=confirmed&status=paid", ("norway", "japan")),
        ("status=submitted", ("foundation",)),
        ("donor_type=intergovernmental", ("eu",)),
        ("donor_type=foundation&donor_type=private_sector", ("foundation", "elsewhere")),
        ("country=jp", ("japan",)),
        ("currency=eur", ("eu",)),
        ("campaign=vtf-2013", ("elsewhere",)),
        ("campaign=vtf-2012", ("norway", "eu", "foundation", "japan")),
        ("session=panel-2", ("eu",)),
        ("usd_rate_missing=true", ("foundation",)),
        ("q=norw", ("norway",)),
        ("q=japan", ("japan",)),
        ("status=confirmed&donor_type=foundation", ()),
    ],
)
def test_the_list_can_be_filtered(reader, book, query, expected):
    assert references(reader.get(f"{LIST}?{query}")) == refs(book, *expected)


def test_the_list_can_be_filtered_by_the_date_pledged(reader, book):
    response = reader.get(LIST, {"pledged_from": str(days_ago(60)), "pledged_until": str(days_ago(30))})

    assert references(response) == refs(book, "eu", "japan")


def test_a_pledge_can_be_found_by_the_start_of_its_reference_as_printed(reader, book):
    reference = book["japan"].reference
    printed_start = f"{reference[:4]} {reference[4:8]} {reference[8:11]}".lower()

    assert references(reader.get(LIST, {"q": printed_start})) == refs(book, "japan")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("donor_type=pirate", "donor_type"),
        ("pledged_from=yesterday", "pledged_from"),
        ("ordering=secret_field", "ordering"),
        ("created_from=not-a-time", "created_from"),
    ],
)
def test_a_bad_filter_value_is_refused_by_name(reader, book, query, field):
    response = reader.get(f"{LIST}?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:vtf-pledges:problem:invalid-input"
    assert field in body["errors"]


# --- overdue ------------------------------------------------------------------------------


def pledge_with_plan(status: str, paid: str, plan: list[tuple[int, str]]) -> Pledge:
    """A USD pledge with instalments due `days` from today (negative: past)."""
    amount = sum((Decimal(a) for _, a in plan), Decimal("0"))
    pledge = PledgeFactory(
        status=status, amount=amount, amount_paid=Decimal(paid), confirmed_at=timezone.now(), confirmed_on=today()
    )
    for days, instalment in plan:
        Instalment.objects.create(pledge=pledge, due_date=today() + timedelta(days=days), amount=Decimal(instalment))
    return pledge


@pytest.fixture
def due() -> dict[str, Pledge]:
    return {
        "late": pledge_with_plan(PledgeStatus.CONFIRMED, "0", [(-5, "500.00"), (30, "500.00")]),
        "late_in_part": pledge_with_plan(
            PledgeStatus.PARTIALLY_PAID, "500.00", [(-20, "300.00"), (-10, "300.00"), (30, "400.00")]
        ),
        "on_time": pledge_with_plan(PledgeStatus.PARTIALLY_PAID, "500.00", [(-5, "500.00"), (30, "500.00")]),
        "paid": pledge_with_plan(PledgeStatus.PAID, "1000.00", [(-5, "500.00"), (-1, "500.00")]),
        "not_yet": pledge_with_plan(PledgeStatus.CONFIRMED, "0", [(30, "500.00")]),
        "cancelled": pledge_with_plan(PledgeStatus.CANCELLED, "0", [(-5, "500.00")]),
        "lapsed": pledge_with_plan(PledgeStatus.LAPSED, "0", [(-5, "500.00")]),
        "due_today": pledge_with_plan(PledgeStatus.CONFIRMED, "0", [(0, "500.00")]),
    }


def test_a_pledge_with_an_unpaid_instalment_due_in_the_past_is_overdue(reader, due):
    assert references(reader.get(LIST, {"overdue": "true"})) == refs(due, "late", "late_in_part")


def test_a_pledge_paid_up_to_date_is_not_overdue(reader, due):
    assert references(reader.get(LIST, {"overdue": "false"})) == refs(
        due, "on_time", "paid", "not_yet", "cancelled", "lapsed", "due_today"
    )


def test_the_list_and_the_detail_agree_on_what_is_overdue(reader, due):
    listed = {p["reference"]: p["overdue"] for p in reader.get(LIST).json()["results"]}

    for name, pledge in due.items():
        detail = reader.get(f"{LIST}{pledge.reference}/").json()
        assert detail["overdue"] == listed[pledge.reference] == pledge.is_overdue(), name
        assert detail["overdue"] == any(line["overdue"] for line in detail["instalments"]), name


# --- ordering and pages ---------------------------------------------------------------------


def test_the_list_can_be_ordered_by_usd_value_largest_first(reader, book):
    response = reader.get(LIST, {"ordering": "-amount_usd", "usd_rate_missing": "false"})

    assert [p["reference"] for p in response.json()["results"]] == [
        book[name].reference for name in ("norway", "eu", "japan", "elsewhere")
    ]
    assert [p["amount_usd"] for p in response.json()["results"]] == ["250000.00", "125000.00", "33333.33", "1000.00"]


@pytest.mark.parametrize("ordering", ["amount_usd", "-amount_usd"])
def test_pledges_awaiting_a_rate_come_last_whichever_way_the_usd_value_is_sorted(reader, book, ordering):
    """The same request gives the same order on both supported databases
    (SQLite sorts NULL lowest, PostgreSQL highest); a pledge whose value is
    unknown does not head a "largest first" list."""
    results = reader.get(LIST, {"ordering": ordering}).json()["results"]

    assert results[-1]["reference"] == book["foundation"].reference
    assert results[-1]["usd_rate_missing"] is True


def test_the_list_comes_in_pages_of_the_size_asked_for(reader, book):
    first = reader.get(LIST, {"page_size": 2, "ordering": "pledged_on"}).json()
    last = reader.get(LIST, {"page_size": 2, "ordering": "pledged_on", "page": 3}).json()

    assert first["count"] == 5
    assert [p["reference"] for p in first["results"]] == [book["norway"].reference, book["eu"].reference]
    assert "page=2" in first["next"] and first["previous"] is None
    assert [p["reference"] for p in last["results"]] == [book["elsewhere"].reference]
    assert last["next"] is None


def test_a_page_past_the_end_is_not_found(reader, book):
    response = reader.get(LIST, {"page_size": 2, "page": 9})

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_the_list_shows_amounts_in_each_currencys_minor_units(reader, book):
    results = {p["reference"]: p for p in reader.get(LIST).json()["results"]}

    japan = results[book["japan"].reference]
    assert (japan["amount"], japan["amount_paid"], japan["amount_outstanding"], japan["currency"]) == (
        "5000000",
        "5000000",
        "0",
        "JPY",
    )
    assert results[book["norway"].reference]["amount"] == "250000.00"
    assert results[book["foundation"].reference]["amount_usd"] is None


# --- detail -----------------------------------------------------------------------------------


def test_the_detail_shows_payments_instalments_versions_and_audit(client_for, reader, reconciler, fund_admin):
    pledge = pledge_with_plan(PledgeStatus.CONFIRMED, "0", [(-5, "500.00"), (30, "500.00")])
    body = bank_payment_body(pledge, "300.00", "CHASUS33-DETAIL")
    paid = client_for(reconciler).post("/api/v1/payments/", body, format="json")
    assert paid.status_code == 201
    plan = [
        {"due_date": str(days_ago(5)), "amount": "600.00"},
        {"due_date": str(today() + timedelta(30)), "amount": "600.00"},
    ]
    changed = client_for(fund_admin).post(
        f"{LIST}{pledge.reference}/amount/",
        {"amount": "1200.00", "instalments": plan, "reason": "raised"},
        format="json",
    )
    assert changed.status_code == 200

    response = reader.get(f"{LIST}{pledge.reference.lower()}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["reference"], body["status"], body["amount"], body["amount_paid"], body["amount_outstanding"]) == (
        pledge.reference,
        "partially_paid",
        "1200.00",
        "300.00",
        "900.00",
    )
    assert body["overdue"] is True
    assert body["instalments"] == [
        {"due_date": str(days_ago(5)), "amount": "600.00", "paid": "300.00", "outstanding": "300.00", "overdue": True},
        {
            "due_date": str(today() + timedelta(30)),
            "amount": "600.00",
            "paid": "0.00",
            "outstanding": "600.00",
            "overdue": False,
        },
    ]
    assert [(p["amount"], p["bank_reference"], p["recorded_by"]) for p in body["payments"]] == [
        ("300.00", "CHASUS33-DETAIL", "rico.reconciler")
    ]
    assert [(v["version"], v["amount"], v["reason"]) for v in body["versions"]] == [(1, "1000.00", "raised")]
    assert [(e["action"], e["actor"]) for e in body["audit"]] == [
        ("pledge.amount.changed", "ada.fundadmin"),
        ("pledge.payment.recorded", "rico.reconciler"),
    ]
    assert body["donor"]["email"] == pledge.donor.email


def test_an_unknown_reference_is_not_found(reader, book):
    response = reader.get(f"{LIST}RF00NOSUCHPLEDGE/")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 404


# --- CSV export ---------------------------------------------------------------------------------


def exported(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_export_is_streamed_as_a_csv_attachment(reader, book):
    response = reader.get(EXPORT)

    assert response.streaming is True
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="pledges-')


def test_the_export_has_usd_and_original_currency_columns(reader, book):
    response = reader.get(EXPORT)
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    header = next(csv.reader(io.StringIO(text)))

    assert {"reference", "amount", "currency", "amount_paid", "amount_usd", "amount_received_usd"} <= set(header)
    assert len(exported(reader.get(EXPORT))) == 5


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=paid", ("japan",)),
        ("status=confirmed&status=announced", ("norway", "eu")),
        ("currency=jpy", ("japan",)),
        ("q=kingdom", ("norway",)),
        ("campaign=vtf-2013", ("elsewhere",)),
    ],
)
def test_the_export_holds_the_filtered_rows(reader, book, query, expected):
    rows = exported(reader.get(f"{EXPORT}?{query}"))

    assert {row["reference"] for row in rows} == refs(book, *expected)


def test_the_exported_row_carries_the_pledge(reader, book):
    row = exported(reader.get(EXPORT, {"currency": "EUR"}))[0]

    assert (row["donor"], row["donor_type"], row["campaign"], row["session"], row["currency"]) == (
        "European Union",
        "intergovernmental",
        "vtf-2012",
        "panel-2",
        "EUR",
    )
    assert Decimal(row["amount"]) == Decimal("100000.00")
    assert Decimal(row["amount_usd"]) == Decimal("125000.00")
    assert row["pledged_on"] == str(days_ago(50))


def test_a_pledge_awaiting_its_rate_exports_an_empty_usd_value(reader, book):
    row = exported(reader.get(EXPORT, {"currency": "CHF"}))[0]

    assert row["amount_usd"] == ""


@pytest.mark.parametrize(
    ("name", "amount", "amount_paid"),
    [("japan", "5000000", "5000000"), ("norway", "250000.00", "0.00"), ("eu", "100000.00", "0.00")],
)
def test_exported_amounts_have_their_currencys_minor_units(reader, book, name, amount, amount_paid):
    rows = {row["reference"]: row for row in exported(reader.get(EXPORT))}

    row = rows[book[name].reference]
    assert (row["amount"], row["amount_paid"]) == (amount, amount_paid)


def test_an_export_with_a_bad_filter_is_refused(reader, book):
    response = reader.get(EXPORT, {"status": "bogus"})

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert "status" in response.json()["errors"]


def test_the_export_reaches_past_one_page_of_the_list(reader):
    campaign = Campaign.objects.get(slug="vtf-2012")
    PledgeFactory.create_batch(60, campaign=campaign)

    assert len(exported(reader.get(EXPORT))) == 60
