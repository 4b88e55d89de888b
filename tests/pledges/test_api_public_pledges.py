"""GET /api/v1/public/pledges/: recent pledges as their donors consented to
show them, newest first, never a contact detail."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.models import DonorType, Pledge, PledgeStatus
from tests.factories import CampaignFactory, DonorFactory, PledgeFactory
from tests.helpers import PROBLEM, pick

pytestmark = pytest.mark.django_db

URL = "/api/v1/public/pledges/"
ANONYMOUS = "Anonymous donor"


def pledge(name: str, *, status=PledgeStatus.CONFIRMED, public_name=True, public_amount=True, days_ago=0, **kwargs):
    donor = DonorFactory(
        name=name, country=kwargs.pop("country", "NO"), donor_type=kwargs.pop("donor_type", "member_state")
    )
    return PledgeFactory(
        donor=donor,
        status=status,
        public_name=public_name,
        public_amount=public_amount,
        pledged_on=timezone.localdate() - timedelta(days=days_ago),
        amount=Decimal(kwargs.pop("amount", "1000.00")),
        **kwargs,
    )


def results(api, **params) -> list[dict]:
    response = api.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def by_statement(rows: list[dict]) -> dict[str, dict]:
    return {row["statement"]: row for row in rows}


def test_the_consent_matrix_decides_what_is_shown(api):
    # One pledge a cell of the matrix; its statement says which.
    matrix = [
        # donor, country, donor type, public name, public amount, amount, statement, publish statement
        ("Kingdom of Norway", "NO", "member_state", True, True, "250000.00", "both", False),
        ("Republic of Austria", "AT", "member_state", True, False, "100000.00", "name", False),
        ("Jane Roe", "FR", "individual", False, True, "500.00", "amount", True),
        ("John Doe", "DE", "individual", False, False, "900.00", "none", True),
    ]
    for donor, country, donor_type, public_name, public_amount, pledged, statement, public_statement in matrix:
        pledge(
            donor,
            country=country,
            donor_type=donor_type,
            public_name=public_name,
            public_amount=public_amount,
            amount=pledged,
            statement=statement,
            public_statement=public_statement,
        )

    rows = by_statement(results(api))

    both, name, amount, none = rows["both"], rows["name"], rows["amount"], rows["none"]
    assert (both["donor"], both["country"], both["currency"]) == ("Kingdom of Norway", "NO", "USD")
    assert (Decimal(both["amount"]), Decimal(both["amount_usd"])) == (Decimal("250000"), Decimal("250000"))
    assert (name["donor"], name["country"]) == ("Republic of Austria", "AT")
    assert (name["amount"], name["currency"], name["amount_usd"]) == (None, None, None)
    assert (amount["donor"], amount["country"]) == (ANONYMOUS, None)
    assert Decimal(amount["amount"]) == Decimal("500")
    assert pick(none, "donor", "country", "amount", "currency", "amount_usd") == (ANONYMOUS, None, None, None, None)


def test_the_raw_body_has_no_anonymous_name_or_country_nor_undisclosed_amount(api):
    pledge("Jane Roe", public_name=False, public_amount=False, amount="98765.43", country="FR", donor_type="individual")

    raw = api.get(URL).content.decode()

    assert "Jane Roe" not in raw
    assert '"FR"' not in raw
    assert "98765" not in raw


def test_no_email_appears_anywhere(api):
    pledges = [
        pledge("Kingdom of Norway"),
        pledge("Jane Roe", public_name=False),
        pledge("Republic of Austria", public_amount=False),
    ]

    raw = api.get(URL).content.decode()

    assert "@" not in raw
    for each in pledges:
        assert each.donor.email not in raw
        assert each.status_secret not in raw


def test_amounts_are_shown_in_the_currencys_minor_units(api):
    pledge("Kingdom of Norway", amount="250000.00", statement="usd")
    pledge("Japan", amount="5000000", currency="JPY", statement="jpy", amount_usd=Decimal("45000.00"))

    rows = by_statement(results(api))

    assert (rows["usd"]["amount"], rows["usd"]["amount_usd"]) == ("250000.00", "250000.00")
    assert (rows["jpy"]["amount"], rows["jpy"]["amount_usd"]) == ("5000000", "45000.00")


@pytest.mark.parametrize("status", [PledgeStatus.SUBMITTED, PledgeStatus.CANCELLED])
def test_submitted_and_cancelled_pledges_are_not_listed(api, status):
    pledge("Kingdom of Norway", statement="counted")
    pledge("Unverified Web Donor", status=status, statement="hidden")

    rows = results(api)

    assert [row["statement"] for row in rows] == ["counted"]
    assert "Unverified Web Donor" not in api.get(URL).content.decode()


@pytest.mark.parametrize(
    "status",
    [
        PledgeStatus.ANNOUNCED,
        PledgeStatus.CONFIRMED,
        PledgeStatus.PARTIALLY_PAID,
        PledgeStatus.PAID,
        PledgeStatus.LAPSED,
    ],
)
def test_counted_pledges_are_listed_with_their_status(api, status):
    pledge("Kingdom of Norway", status=status)

    assert [row["status"] for row in results(api)] == [status]


def test_the_newest_pledges_come_first(api):
    pledge("Old", days_ago=30, statement="30 days ago")
    pledge("Newest", days_ago=0, statement="today, later", created_at=timezone.now())
    pledge("Middle", days_ago=2, statement="2 days ago")
    pledge("Today", days_ago=0, statement="today, earlier", created_at=timezone.now() - timedelta(hours=3))

    rows = results(api)

    assert [row["statement"] for row in rows] == ["today, later", "today, earlier", "2 days ago", "30 days ago"]


def test_limit_caps_the_list_to_the_newest(api):
    for days_ago in range(5):
        pledge(f"Donor {days_ago}", days_ago=days_ago, statement=str(days_ago))

    assert [row["statement"] for row in results(api, limit=2)] == ["0", "1"]
    assert len(results(api, limit=100)) == 5
    assert len(results(api)) == 5


def test_the_default_limit_is_20(api):
    for n in range(25):
        pledge(f"Donor {n}", days_ago=n)

    assert len(results(api)) == 20


@pytest.mark.parametrize(
    "limit",
    [
        "0",
        "101",
        "abc",
        "-1",
        "1.5",
        "",
        "20 ",
        "1e2",
        pytest.param("²", id="superscript-two-is-a-digit-but-not-a-number"),
    ],
)
def test_a_bad_limit_is_a_400_problem_naming_limit(api, limit):
    response = api.get(URL, {"limit": limit})

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 400
    assert set(problem["errors"]) == {"limit"}


def test_only_the_campaigns_own_pledges_are_listed(api):
    other = CampaignFactory()
    pledge("Kingdom of Norway", statement="ours")
    pledge("Elsewhere", campaign=other, statement="theirs")

    assert [row["statement"] for row in results(api)] == ["ours"]
    assert [row["statement"] for row in results(api, campaign=other.slug)] == ["theirs"]


def test_an_unknown_campaign_is_a_404_problem(api):
    response = api.get(URL, {"campaign": "vtf-1999"})

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_the_list_has_an_etag_and_answers_304_to_it(api):
    pledge("Kingdom of Norway")
    first = api.get(URL)

    again = api.get(URL, headers={"If-None-Match": first["ETag"]})

    assert again.status_code == 304
    assert "public" in first["Cache-Control"]


def test_a_consent_change_is_shown_at_once(api, django_capture_on_commit_callbacks):
    norway = pledge("Kingdom of Norway", public_name=True)
    assert results(api)[0]["donor"] == "Kingdom of Norway"

    with django_capture_on_commit_callbacks(execute=True):
        norway.public_name = False
        norway.save()

    assert results(api)[0]["donor"] == ANONYMOUS


def test_a_donor_rename_is_shown_at_once(api, django_capture_on_commit_callbacks):
    norway = pledge("Norway")
    assert results(api)[0]["donor"] == "Norway"

    with django_capture_on_commit_callbacks(execute=True):
        norway.donor.name = "Kingdom of Norway"
        norway.donor.save()

    assert results(api)[0]["donor"] == "Kingdom of Norway"


def test_a_public_pledge_shows_its_donor_type_and_session(api):
    from pledges.models import EventSession

    pledge("UNODC", donor_type=DonorType.UN_ENTITY, country="", session=EventSession.objects.get(slug="panel-2"))

    row = results(api)[0]

    assert (row["donor"], row["donor_type"], row["country"], row["session"]) == ("UNODC", "un_entity", None, "panel-2")
    assert Pledge.objects.count() == 1


def test_an_anonymous_donors_statement_stays_private_unless_they_allowed_it(api):
    pledge("Jane Roe", public_name=False, statement="I was trafficked through Vienna in 2009.")
    pledge(
        "John Doe", public_name=False, statement="Our family foundation stands with survivors.", public_statement=True
    )
    pledge("Kingdom of Norway", public_name=True, statement="Norway stands with the survivors of trafficking.")

    statements = sorted(row["statement"] for row in results(api))

    assert statements == [
        "",
        "Norway stands with the survivors of trafficking.",
        "Our family foundation stands with survivors.",
    ]
    assert "Vienna" not in api.get(URL).content.decode()
