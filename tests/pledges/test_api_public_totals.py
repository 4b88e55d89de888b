"""GET /api/v1/public/totals/: the campaign's public figures in USD, what
counts where, caching with ETags and signal-driven invalidation, CORS for
the widget, and no personal data."""

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.cache import cache

from pledges.models import Campaign, DonorType, Pledge, PledgeStatus
from tests.conftest import pledge_body
from tests.factories import CampaignFactory, DonorFactory, PaymentFactory, PledgeFactory
from tests.helpers import PROBLEM

pytestmark = pytest.mark.django_db

URL = "/api/v1/public/totals/"
# The widget is on https://www.un.org/pga: its Origin header is the scheme and host.
WIDGET_ORIGIN = "https://www.un.org"


def pledge(status, amount, *, received="0", donor_type=DonorType.MEMBER_STATE, currency="USD", **kwargs) -> Pledge:
    amount = Decimal(amount)
    kwargs.setdefault("donor", DonorFactory(donor_type=donor_type))
    return PledgeFactory(
        status=status,
        amount=amount,
        currency=currency,
        amount_usd=amount if currency == "USD" else None,
        amount_received_usd=Decimal(received),
        **kwargs,
    )


@pytest.fixture
def mix() -> dict[str, Pledge]:
    """One pledge in every status, each with its own donor and an amount
    that shows where it was counted."""
    return {
        "submitted": pledge(PledgeStatus.SUBMITTED, "1000000.00", donor_type=DonorType.INDIVIDUAL),
        "announced": pledge(PledgeStatus.ANNOUNCED, "200000.00"),
        "confirmed": pledge(PledgeStatus.CONFIRMED, "300000.00"),
        "partially_paid": pledge(
            PledgeStatus.PARTIALLY_PAID, "400000.00", received="150000.00", donor_type=DonorType.PRIVATE_SECTOR
        ),
        "paid": pledge(PledgeStatus.PAID, "500000.00", received="500000.00", donor_type=DonorType.FOUNDATION),
        "lapsed": pledge(PledgeStatus.LAPSED, "600000.00", received="60000.00"),
        "cancelled": pledge(PledgeStatus.CANCELLED, "700000.00", donor_type=DonorType.CIVIL_SOCIETY),
        "awaiting_rate": pledge(PledgeStatus.CONFIRMED, "80000.00", currency="CHF"),
    }


def totals(api, campaign: str | None = None, *, if_none_match: str | None = None):
    headers = {"If-None-Match": if_none_match} if if_none_match else {}
    return api.get(URL, {"campaign": campaign} if campaign else {}, headers=headers)


def test_each_status_counts_where_the_brief_says(api, mix):
    body = totals(api).json()

    assert (body["campaign"], body["currency"], body["goal"]) == ("vtf-2012", "USD", "10000000.00")
    assert body["announced"] == "200000.00"
    # confirmed + partially paid + paid, and what the lapsed pledge paid.
    assert body["pledged"] == "1260000.00"
    assert body["received"] == "710000.00"
    assert body["progress"] == pytest.approx(0.126)
    # Submitted and cancelled count nowhere; the CHF pledge is counted but not converted.
    assert body["pledges"] == 6
    assert body["donors"] == 6
    assert body["awaiting_rate"] == {"pledges": 1, "currencies": ["CHF"]}


def test_submitted_and_cancelled_pledges_count_nowhere(api, mix):
    with_them = totals(api).json()
    Pledge.objects.filter(pk__in=[mix["submitted"].pk, mix["cancelled"].pk]).delete()
    cache.clear()

    without_them = totals(api).json()

    assert with_them == without_them


def test_announced_and_pledged_are_kept_apart(api):
    pledge(PledgeStatus.ANNOUNCED, "1000.00")
    announced_only = totals(api).json()
    assert (announced_only["announced"], announced_only["pledged"]) == ("1000.00", "0.00")
    assert announced_only["progress"] == 0

    confirmed = Pledge.objects.get()
    Pledge.objects.filter(pk=confirmed.pk).update(status=PledgeStatus.CONFIRMED)
    cache.clear()
    confirmed_only = totals(api).json()

    assert (confirmed_only["announced"], confirmed_only["pledged"]) == ("0.00", "1000.00")


def test_figures_are_broken_down_by_donor_type(api, mix):
    rows = {row["type"]: row for row in totals(api).json()["by_donor_type"]}

    assert set(rows) == set(DonorType.values)
    assert rows["member_state"] == {
        "type": "member_state",
        "announced": "200000.00",
        "pledged": "360000.00",
        "received": "60000.00",
        "donors": 4,
    }
    assert rows["private_sector"] == {
        "type": "private_sector",
        "announced": "0.00",
        "pledged": "400000.00",
        "received": "150000.00",
        "donors": 1,
    }
    assert rows["foundation"] == {
        "type": "foundation",
        "announced": "0.00",
        "pledged": "500000.00",
        "received": "500000.00",
        "donors": 1,
    }
    # The submitted individual and the cancelled civil-society pledge are in no row.
    for empty in ("individual", "civil_society", "observer_state", "intergovernmental", "un_entity"):
        assert rows[empty] == {
            "type": empty,
            "announced": "0.00",
            "pledged": "0.00",
            "received": "0.00",
            "donors": 0,
        }


def test_a_donor_with_several_pledges_is_one_donor(api):
    norway = DonorFactory()
    pledge(PledgeStatus.CONFIRMED, "1000.00", donor=norway)
    pledge(PledgeStatus.PAID, "2000.00", received="2000.00", donor=norway)

    body = totals(api).json()

    assert (body["pledges"], body["donors"]) == (2, 1)
    assert {row["type"]: row["donors"] for row in body["by_donor_type"]}["member_state"] == 1


def test_progress_is_pledged_over_the_goal_and_stops_at_one(api):
    campaign = CampaignFactory(goal_usd=Decimal("1000.00"))
    pledge(PledgeStatus.CONFIRMED, "250.00", campaign=campaign)
    assert totals(api, campaign.slug).json()["progress"] == pytest.approx(0.25)

    pledge(PledgeStatus.PAID, "5000.00", received="5000.00", campaign=campaign)
    cache.clear()

    assert totals(api, campaign.slug).json()["progress"] == 1


def test_a_pledge_without_a_usd_rate_is_reported_as_awaiting_rate_not_guessed(api):
    pledge(PledgeStatus.CONFIRMED, "1000.00", currency="CHF")
    pledge(PledgeStatus.ANNOUNCED, "5000", currency="JPY")
    pledge(PledgeStatus.SUBMITTED, "500.00", currency="GBP")

    body = totals(api).json()

    assert (body["announced"], body["pledged"]) == ("0.00", "0.00")
    assert body["awaiting_rate"] == {"pledges": 2, "currencies": ["CHF", "JPY"]}


def test_an_empty_campaign_has_zero_figures(api):
    body = totals(api).json()

    assert (body["announced"], body["pledged"], body["received"], body["fees"]) == ("0.00",) * 4
    assert (body["pledges"], body["donors"], body["progress"]) == (0, 0, 0)
    assert body["awaiting_rate"] == {"pledges": 0, "currencies": []}


# --- Caching --------------------------------------------------------------------------


def test_the_response_has_a_strong_etag_and_public_max_age(api, settings):
    settings.PUBLIC_CACHE_MAX_AGE = 10

    response = totals(api)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"public", "max-age=10"} <= directives


def test_if_none_match_with_the_current_etag_answers_304_without_a_body(api, mix):
    etag = totals(api)["ETag"]

    response = totals(api, if_none_match=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_if_none_match_among_several_etags_answers_304(api, mix):
    etag = totals(api)["ETag"]

    response = totals(api, if_none_match=f'"stale", {etag}')

    assert response.status_code == 304


def test_if_none_match_compares_weakly_so_a_weakened_etag_still_answers_304(api, mix):
    """RFC 9110 13.1.2: If-None-Match uses the weak comparison. A proxy that
    compresses the body (the response varies on Accept-Encoding) turns the
    ETag into W/"..."; the client sends that back and must still get 304."""
    etag = totals(api)["ETag"]

    response = totals(api, if_none_match=f"W/{etag}")

    assert response.status_code == 304


def test_a_stale_etag_gets_the_full_document(api, mix):
    response = totals(api, if_none_match='"not-the-current-etag"')

    assert response.status_code == 200
    assert response.json()["pledged"] == "1260000.00"


def test_a_status_change_gives_new_figures_and_a_new_etag_at_once(api, mix, django_capture_on_commit_callbacks):
    before = totals(api)
    announced = mix["announced"]

    with django_capture_on_commit_callbacks(execute=True):
        announced.status = PledgeStatus.CONFIRMED
        announced.save()
    after = totals(api, if_none_match=before["ETag"])

    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert (after.json()["announced"], after.json()["pledged"]) == ("0.00", "1460000.00")


def test_a_payment_gives_new_figures_and_a_new_etag_at_once(api, mix, django_capture_on_commit_callbacks):
    before = totals(api)
    confirmed = mix["confirmed"]

    with django_capture_on_commit_callbacks(execute=True):
        PaymentFactory(pledge=confirmed, amount=Decimal("100000.00"))
        confirmed.amount_paid = Decimal("100000.00")
        confirmed.amount_received_usd = Decimal("100000.00")
        confirmed.status = PledgeStatus.PARTIALLY_PAID
        confirmed.save(update_fields=["amount_paid", "amount_received_usd", "status"])
    after = totals(api)

    assert after["ETag"] != before["ETag"]
    assert after.json()["received"] == "810000.00"


def test_a_payment_alone_invalidates_the_cache(api, mix, django_capture_on_commit_callbacks):
    """A payment row is watched on its own: a stale document computed before
    a change that bypassed the signals is dropped when a payment is saved."""
    before = totals(api)
    Pledge.objects.filter(pk=mix["confirmed"].pk).update(amount_received_usd=Decimal("1.00"))
    assert totals(api)["ETag"] == before["ETag"], "queryset.update() sends no signal: still the cached document"

    with django_capture_on_commit_callbacks(execute=True):
        PaymentFactory(pledge=mix["confirmed"], amount=Decimal("1.00"))
    after = totals(api)

    assert after["ETag"] != before["ETag"]
    assert after.json()["received"] == "710001.00"


def test_a_change_is_not_shown_before_it_commits(api, mix, django_capture_on_commit_callbacks):
    before = totals(api)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        mix["announced"].status = PledgeStatus.CONFIRMED
        mix["announced"].save()
    during = totals(api)
    for callback in callbacks:
        callback()
    after = totals(api)

    assert during["ETag"] == before["ETag"]
    assert after["ETag"] != before["ETag"]


def test_a_new_web_submission_does_not_invalidate_the_cache(api, mix, django_capture_on_commit_callbacks):
    """A submission is in no figure, so a flood of them must not churn the
    cache. Seen through a stale document: a change made with
    queryset.update() (no signal) stays invisible across the submission."""
    before = totals(api)
    Pledge.objects.filter(pk=mix["confirmed"].pk).update(amount_usd=Decimal("300001.00"))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/pledges/", pledge_body(), format="json")
    assert response.status_code == 201
    after = totals(api, if_none_match=before["ETag"])

    assert after.status_code == 304
    assert after["ETag"] == before["ETag"]


def test_the_acknowledgement_email_does_not_invalidate_the_cache(api, mix, django_capture_on_commit_callbacks):
    """Sending the status link only stamps `acknowledged_at`, which no public
    document shows."""
    with django_capture_on_commit_callbacks(execute=False) as after_submission:
        api.post("/api/v1/pledges/", pledge_body(), format="json")
    before = totals(api)
    Pledge.objects.filter(pk=mix["confirmed"].pk).update(amount_usd=Decimal("300001.00"))

    with django_capture_on_commit_callbacks(execute=True):
        for callback in after_submission:
            callback()

    assert len(mail.outbox) == 1
    assert Pledge.objects.get(status=PledgeStatus.SUBMITTED, source="web").acknowledged_at is not None
    assert totals(api)["ETag"] == before["ETag"]


# --- CORS -----------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [WIDGET_ORIGIN, "https://www.un.org/pga", "https://example.net"])
@pytest.mark.parametrize("path", [URL, "/api/v1/public/pledges/"])
def test_the_public_endpoints_are_open_to_any_origin(api, path, origin):
    response = api.get(path, headers={"Origin": origin})

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert "etag" in response["Access-Control-Expose-Headers"].lower()


def test_a_preflight_to_a_public_endpoint_allows_get(api):
    response = api.options(URL, headers={"Origin": WIDGET_ORIGIN, "Access-Control-Request-Method": "GET"})

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert "POST" not in response["Access-Control-Allow-Methods"]


def test_the_pledge_intake_is_not_open_to_other_origins(api):
    response = api.post("/api/v1/pledges/", pledge_body(), format="json", headers={"Origin": WIDGET_ORIGIN})
    preflight = api.options(
        "/api/v1/pledges/", headers={"Origin": WIDGET_ORIGIN, "Access-Control-Request-Method": "POST"}
    )

    assert response.status_code == 201
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in preflight


def test_the_status_link_is_not_open_to_other_origins(api):
    created = api.post("/api/v1/pledges/", pledge_body(), format="json").json()

    response = api.get(urlsplit(created["status_url"]).path, headers={"Origin": WIDGET_ORIGIN})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


# --- Campaigns ---------------------------------------------------------------------------


def test_an_unknown_campaign_is_a_404_problem(api):
    response = totals(api, "vtf-1999")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 404
    assert "vtf-1999" in problem["detail"]


def test_the_campaign_defaults_to_the_2012_campaign(api, mix):
    assert totals(api).json() == totals(api, "vtf-2012").json()


def test_another_campaigns_pledges_do_not_leak_in(api, mix):
    other = CampaignFactory(goal_usd=Decimal("100000.00"))
    pledge(PledgeStatus.ANNOUNCED, "11.00", campaign=other)
    pledge(PledgeStatus.PAID, "22.00", received="22.00", campaign=other, currency="CHF")
    pledge(PledgeStatus.CONFIRMED, "33.00", campaign=other)

    ours = totals(api, "vtf-2012").json()
    theirs = totals(api, other.slug).json()

    assert (ours["announced"], ours["pledged"], ours["received"], ours["pledges"]) == (
        "200000.00",
        "1260000.00",
        "710000.00",
        6,
    )
    assert (theirs["campaign"], theirs["announced"], theirs["pledged"], theirs["received"]) == (
        other.slug,
        "11.00",
        "33.00",
        "22.00",
    )
    assert theirs["pledges"] == 3
    assert theirs["awaiting_rate"] == {"pledges": 1, "currencies": ["CHF"]}
    assert Campaign.objects.count() == 2


# --- Personal data -------------------------------------------------------------------------


def test_the_totals_contain_no_personal_data(api, mix):
    raw = totals(api).content.decode()

    for each in mix.values():
        assert each.donor.email not in raw
        assert each.donor.name not in raw
        assert each.reference not in raw
        assert each.status_secret not in raw
