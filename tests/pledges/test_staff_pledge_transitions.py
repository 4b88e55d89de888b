"""Staff move pledges through their statuses: each allowed transition gives
the new status, its timestamps and one audit row naming who, from what, to
what and why; each refused one answers 409 (or 400) and changes nothing."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.models import AuditEvent, Donor, Instalment, Payment, Pledge, PledgeSource, PledgeStatus, PledgeVersion
from tests.conftest import pledge_body
from tests.factories import DonorFactory, PledgeFactory
from tests.helpers import PROBLEM, bank_payment_body, confirmed_pledge, pick, today

pytestmark = pytest.mark.django_db

TRANSITION_NOT_ALLOWED = "urn:vtf-pledges:problem:transition-not-allowed"
INVALID_INPUT = "urn:vtf-pledges:problem:invalid-input"


def submitted_pledge(client_for, **overrides) -> Pledge:
    response = client_for(None).post("/api/v1/pledges/", pledge_body(**overrides), format="json")
    assert response.status_code == 201, response.content
    return Pledge.objects.get(reference=response.json()["reference"])


def act(client, pledge: Pledge, action: str, body: dict | None = None):
    return client.post(f"/api/v1/pledges/{pledge.reference}/{action}/", body or {}, format="json")


def pay(client, pledge: Pledge, amount: str, bank_reference: str, **fields):
    return client.post("/api/v1/payments/", bank_payment_body(pledge, amount, bank_reference, **fields), format="json")


def snapshot(pledge: Pledge) -> dict:
    pledge.refresh_from_db()
    return {
        name: getattr(pledge, name)
        for name in (
            "status",
            "amount",
            "amount_usd",
            "amount_paid",
            "verified_at",
            "confirmed_at",
            "confirmed_on",
            "closed_at",
            "close_reason",
            "version",
            "updated_at",
        )
    }


def done(response, pledge: Pledge) -> dict:
    """The body of a transition that went through; `pledge` is refreshed to what it saved."""
    assert response.status_code == 200, response.content
    pledge.refresh_from_db()
    return response.json()


def assert_refused(response, status: int, problem_type: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == problem_type
    assert body["status"] == status
    return body


# --- verify -----------------------------------------------------------------------


def test_verifying_a_web_submission_announces_it_and_audits_who_did_it(client_for, reconciler):
    pledge = submitted_pledge(client_for)
    before = timezone.now()

    response = act(client_for(reconciler), pledge, "verify", {"reason": "called the mission"})

    assert done(response, pledge)["status"] == "announced"
    assert pledge.status == PledgeStatus.ANNOUNCED
    assert pledge.verified_at >= before
    assert pledge.confirmed_at is None
    event = AuditEvent.objects.get(action="pledge.verified")
    assert event.pledge == pledge
    assert (event.actor_kind, event.actor_user, event.actor_label) == ("staff", reconciler, "rico.reconciler")
    assert event.old_values == {"status": "submitted"}
    assert event.new_values["status"] == "announced"
    assert event.reason == "called the mission"


def test_verifying_twice_returns_quietly_with_one_audit_row(client_for, reconciler):
    pledge = submitted_pledge(client_for)
    client = client_for(reconciler)
    act(client, pledge, "verify")
    first = snapshot(pledge)

    response = act(client, pledge, "verify")

    assert response.status_code == 200
    assert snapshot(pledge) == first
    assert AuditEvent.objects.filter(action="pledge.verified").count() == 1


def test_a_cancelled_pledge_cannot_be_verified(client_for, reconciler):
    pledge = PledgeFactory(status=PledgeStatus.CANCELLED, source=PledgeSource.WEB, closed_at=timezone.now())
    before = snapshot(pledge)

    response = act(client_for(reconciler), pledge, "verify")

    assert_refused(response, 409, TRANSITION_NOT_ALLOWED)
    assert snapshot(pledge) == before
    assert not AuditEvent.objects.exists()


# --- confirm ----------------------------------------------------------------------


@pytest.fixture
def announced_eur(eur_rates) -> Pledge:
    """EUR 1,800 announced 50 days ago, valued at the 0.80 rate then in force."""
    return PledgeFactory(
        status=PledgeStatus.ANNOUNCED,
        verified_at=timezone.now(),
        amount=Decimal("1800.00"),
        currency="EUR",
        pledged_on=today() - timedelta(days=50),
        amount_usd=Decimal("2250.00"),
        usd_rate=Decimal("0.80"),
        usd_rate_date=today() - timedelta(days=60),
    )


@pytest.mark.parametrize(
    ("days_ago", "rate", "rate_from_days_ago", "usd"),
    [(40, "0.80", 60, "2250.00"), (10, "0.90", 20, "2000.00")],
    ids=["confirmed-in-the-first-rate-period", "confirmed-in-the-second-rate-period"],
)
def test_confirming_fixes_the_usd_value_at_the_confirmation_dates_rate(
    client_for, reconciler, announced_eur, days_ago, rate, rate_from_days_ago, usd
):
    confirmed_on = today() - timedelta(days=days_ago)
    before = timezone.now()

    response = act(client_for(reconciler), announced_eur, "confirm", {"confirmed_on": str(confirmed_on)})

    assert response.status_code == 200
    assert response.json()["amount_usd"] == usd
    pledge = Pledge.objects.get(pk=announced_eur.pk)
    assert pledge.status == PledgeStatus.CONFIRMED
    assert pledge.confirmed_on == confirmed_on
    assert pledge.confirmed_at >= before
    assert pledge.amount_usd == Decimal(usd)
    assert pledge.usd_rate == Decimal(rate)
    assert pledge.usd_rate_date == today() - timedelta(days=rate_from_days_ago)
    assert pledge.usd_rate_fixed is True
    event = AuditEvent.objects.get(action="pledge.confirmed")
    assert (event.actor_user, event.pledge) == (reconciler, pledge)
    assert event.old_values == {"status": "announced"}
    assert event.new_values["status"] == "confirmed"
    assert Decimal(event.new_values["amount_usd"]) == Decimal(usd)


def test_a_web_submission_can_be_confirmed_directly(client_for, reconciler):
    pledge = submitted_pledge(client_for)

    response = act(client_for(reconciler), pledge, "confirm", {"reason": "letter of 5 April"})

    done(response, pledge)
    assert pledge.status == PledgeStatus.CONFIRMED
    assert pledge.verified_at is not None and pledge.confirmed_at is not None
    assert pledge.confirmed_on == today()
    event = AuditEvent.objects.get(action="pledge.confirmed")
    assert event.old_values == {"status": "submitted"}
    assert event.reason == "letter of 5 April"


def test_confirming_twice_returns_quietly_and_keeps_the_first_confirmation(client_for, reconciler, announced_eur):
    client = client_for(reconciler)
    act(client, announced_eur, "confirm", {"confirmed_on": str(today() - timedelta(days=40))})
    first = snapshot(announced_eur)

    response = act(client, announced_eur, "confirm", {"confirmed_on": str(today() - timedelta(days=10))})

    assert response.status_code == 200
    assert snapshot(announced_eur) == first
    assert first["amount_usd"] == Decimal("2250.00")
    assert AuditEvent.objects.filter(action="pledge.confirmed").count() == 1


@pytest.mark.parametrize(
    ("confirmed_on", "why"),
    [(lambda: today() + timedelta(days=1), "future"), (lambda: today() - timedelta(days=55), "before the pledge")],
    ids=["in-the-future", "before-the-pledge-was-made"],
)
def test_a_confirmation_date_that_cannot_be_is_refused(client_for, reconciler, announced_eur, confirmed_on, why):
    before = snapshot(announced_eur)

    response = act(client_for(reconciler), announced_eur, "confirm", {"confirmed_on": str(confirmed_on())})

    body = assert_refused(response, 400, INVALID_INPUT)
    assert "confirmed_on" in body["errors"]
    assert snapshot(announced_eur) == before
    assert not AuditEvent.objects.exists()


# --- cancel -----------------------------------------------------------------------


def test_cancelling_a_pledge_without_money_closes_it_with_the_reason(client_for, fund_admin):
    pledge = confirmed_pledge()
    before = timezone.now()

    response = act(client_for(fund_admin), pledge, "cancel", {"reason": "withdrawn by letter"})

    assert done(response, pledge)["close_reason"] == "withdrawn by letter"
    assert pledge.status == PledgeStatus.CANCELLED
    assert pledge.closed_at >= before
    assert pledge.close_reason == "withdrawn by letter"
    event = AuditEvent.objects.get(action="pledge.cancelled")
    assert (event.actor_user, event.actor_label) == (fund_admin, "ada.fundadmin")
    assert event.old_values == {"status": "confirmed"}
    assert event.new_values["status"] == "cancelled"
    assert event.reason == "withdrawn by letter"


def test_cancelling_needs_a_reason(client_for, fund_admin):
    pledge = confirmed_pledge()
    before = snapshot(pledge)

    response = act(client_for(fund_admin), pledge, "cancel", {"reason": "  "})

    body = assert_refused(response, 400, INVALID_INPUT)
    assert "reason" in body["errors"]
    assert snapshot(pledge) == before


def test_a_pledge_with_money_applied_cannot_be_cancelled(client_for, reconciler, fund_admin):
    pledge = confirmed_pledge(amount=Decimal("1000.00"))
    assert pay(client_for(reconciler), pledge, "400.00", "REF-CANCEL-1").status_code == 201
    before = snapshot(pledge)

    response = act(client_for(fund_admin), pledge, "cancel", {"reason": "withdrawn"})

    body = assert_refused(response, 409, TRANSITION_NOT_ALLOWED)
    assert "lapse" in body["detail"]
    assert snapshot(pledge) == before
    assert before["status"] == PledgeStatus.PARTIALLY_PAID
    assert not AuditEvent.objects.filter(action="pledge.cancelled").exists()


@pytest.fixture
def cancelled(client_for, fund_admin) -> Pledge:
    """Announced, then cancelled before any confirmation."""
    pledge = PledgeFactory(status=PledgeStatus.ANNOUNCED, verified_at=timezone.now())
    assert act(client_for(fund_admin), pledge, "cancel", {"reason": "withdrawn"}).status_code == 200
    pledge.refresh_from_db()
    return pledge


@pytest.mark.parametrize(
    ("action", "body"),
    [("confirm", {}), ("lapse", {"reason": "no word"}), ("amount", {"amount": "2000.00", "reason": "raised"})],
)
def test_a_cancelled_pledge_stays_cancelled(client_for, fund_admin, cancelled, action, body):
    events = AuditEvent.objects.count()
    before = snapshot(cancelled)

    response = act(client_for(fund_admin), cancelled, action, body)

    assert_refused(response, 409, TRANSITION_NOT_ALLOWED)
    assert snapshot(cancelled) == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("closing", ["cancel", "lapse"])
def test_a_pledge_confirmed_then_closed_cannot_be_confirmed_again(client_for, fund_admin, closing):
    """The service's own rule: "Raises TransitionNotAllowed for cancelled or
    lapsed pledges" - also when the pledge was confirmed before it closed."""
    pledge = confirmed_pledge(confirmed_on=today() - timedelta(days=5))
    client = client_for(fund_admin)
    assert act(client, pledge, closing, {"reason": "withdrawn"}).status_code == 200
    events = AuditEvent.objects.count()
    before = snapshot(pledge)

    response = act(client, pledge, "confirm", {"confirmed_on": str(today())})

    assert snapshot(pledge) == before
    assert AuditEvent.objects.count() == events
    assert_refused(response, 409, TRANSITION_NOT_ALLOWED)


def test_a_cancelled_pledge_takes_no_money(client_for, reconciler, cancelled):
    events = AuditEvent.objects.count()

    response = pay(client_for(reconciler), cancelled, "1000.00", "REF-AFTER-CANCEL")

    assert_refused(response, 409, TRANSITION_NOT_ALLOWED)
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.amount_paid) == (PledgeStatus.CANCELLED, Decimal("0"))
    assert not Payment.objects.exists()
    assert AuditEvent.objects.count() == events


# --- lapse ------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}], ids=["missing", "empty", "blank"])
def test_lapsing_requires_a_reason(client_for, fund_admin, body):
    pledge = confirmed_pledge()
    before = snapshot(pledge)

    response = act(client_for(fund_admin), pledge, "lapse", body)

    problem = assert_refused(response, 400, INVALID_INPUT)
    assert "reason" in problem["errors"]
    assert snapshot(pledge) == before
    assert not AuditEvent.objects.exists()


def test_a_lapsed_pledge_reopens_when_money_arrives_and_is_paid_when_it_all_has(client_for, reconciler, fund_admin):
    pledge = confirmed_pledge(amount=Decimal("1000.00"))

    lapsed = act(client_for(fund_admin), pledge, "lapse", {"reason": "no reply in two years"})

    assert lapsed.status_code == 200
    assert lapsed.json()["amount_outstanding"] == "0.00"
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.LAPSED
    assert pledge.closed_at is not None and pledge.close_reason == "no reply in two years"
    event = AuditEvent.objects.get(action="pledge.lapsed")
    assert event.old_values == {"status": "confirmed"}
    assert (event.new_values["status"], event.reason, event.actor_user) == (
        "lapsed",
        "no reply in two years",
        fund_admin,
    )

    assert pay(client_for(reconciler), pledge, "400.00", "REF-LATE-1").status_code == 201
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PARTIALLY_PAID, Decimal("400.00"))
    assert pledge.amount_outstanding == Decimal("600.00")

    assert pay(client_for(reconciler), pledge, "600.00", "REF-LATE-2").status_code == 201
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, Decimal("1000.00"))
    statuses = [
        (e.old_values["status"], e.new_values["status"])
        for e in AuditEvent.objects.filter(action="pledge.payment.recorded").order_by("id")
    ]
    assert statuses == [("lapsed", "partially_paid"), ("partially_paid", "paid")]


def test_a_web_submission_cannot_lapse(client_for, fund_admin):
    pledge = submitted_pledge(client_for)
    before = snapshot(pledge)

    response = act(client_for(fund_admin), pledge, "lapse", {"reason": "never heard back"})

    assert_refused(response, 409, TRANSITION_NOT_ALLOWED)
    assert snapshot(pledge) == before
    assert not AuditEvent.objects.filter(action="pledge.lapsed").exists()


# --- amount -----------------------------------------------------------------------


def test_changing_the_amount_keeps_the_earlier_version(client_for, fund_admin, viewer):
    pledge = confirmed_pledge(amount=Decimal("1000.00"))

    response = act(client_for(fund_admin), pledge, "amount", {"amount": "1500.00", "reason": "letter of 2 May"})

    done(response, pledge)
    assert (pledge.amount, pledge.amount_usd, pledge.version) == (Decimal("1500.00"), Decimal("1500.00"), 2)
    version = PledgeVersion.objects.get(pledge=pledge)
    assert (version.version, version.amount, version.replaced_by) == (1, Decimal("1000.00"), fund_admin)
    detail = client_for(viewer).get(f"/api/v1/pledges/{pledge.reference}/").json()
    assert detail["amount"] == "1500.00"
    assert [(v["version"], v["amount"], v["currency"], v["reason"]) for v in detail["versions"]] == [
        (1, "1000.00", "USD", "letter of 2 May")
    ]
    event = AuditEvent.objects.get(action="pledge.amount.changed")
    assert (event.old_values["amount"], event.new_values["amount"]) == ("1000.00", "1500.00")
    assert (event.actor_user, event.reason) == (fund_admin, "letter of 2 May")


def test_each_change_adds_a_version(client_for, fund_admin):
    pledge = confirmed_pledge(amount=Decimal("1000.00"))
    client = client_for(fund_admin)

    act(client, pledge, "amount", {"amount": "1500.00", "reason": "raised"})
    act(client, pledge, "amount", {"amount": "1200.00", "reason": "lowered"})

    pledge.refresh_from_db()
    assert (pledge.amount, pledge.version) == (Decimal("1200.00"), 3)
    versions = list(pledge.versions.order_by("version"))
    assert [(v.version, v.amount) for v in versions] == [(1, Decimal("1000.00")), (2, Decimal("1500.00"))]
    assert versions[0].valid_until == versions[1].valid_from


def test_a_paid_pledge_whose_amount_grows_is_partially_paid_again(client_for, reconciler, fund_admin):
    pledge = confirmed_pledge(amount=Decimal("1000.00"))
    pay(client_for(reconciler), pledge, "1000.00", "REF-FULL")
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID

    response = act(client_for(fund_admin), pledge, "amount", {"amount": "1250.00", "reason": "top-up announced"})

    assert done(response, pledge)["amount_outstanding"] == "250.00"
    assert pledge.status == PledgeStatus.PARTIALLY_PAID
    event = AuditEvent.objects.get(action="pledge.amount.changed")
    assert (event.old_values["status"], event.new_values["status"]) == ("paid", "partially_paid")


@pytest.fixture
def with_instalments() -> Pledge:
    pledge = confirmed_pledge(amount=Decimal("1000.00"))
    Instalment.objects.create(pledge=pledge, due_date=today() + timedelta(days=30), amount=Decimal("500.00"))
    Instalment.objects.create(pledge=pledge, due_date=today() + timedelta(days=60), amount=Decimal("500.00"))
    return pledge


def test_a_pledge_with_instalments_needs_a_new_plan_for_a_new_amount(client_for, fund_admin, with_instalments):
    before = snapshot(with_instalments)

    response = act(client_for(fund_admin), with_instalments, "amount", {"amount": "1200.00", "reason": "raised"})

    body = assert_refused(response, 400, INVALID_INPUT)
    assert "instalments" in body["errors"]
    assert snapshot(with_instalments) == before
    assert not PledgeVersion.objects.exists()
    assert with_instalments.instalments.count() == 2


def test_a_new_plan_that_does_not_add_up_is_refused(client_for, fund_admin, with_instalments):
    plan = [{"due_date": str(today() + timedelta(days=30)), "amount": "500.00"}]

    response = act(
        client_for(fund_admin), with_instalments, "amount", {"amount": "1200.00", "instalments": plan, "reason": "x"}
    )

    body = assert_refused(response, 400, INVALID_INPUT)
    assert "instalments" in body["errors"]
    assert with_instalments.instalments.count() == 2


def test_a_new_plan_replaces_the_old_one(client_for, fund_admin, with_instalments):
    plan = [
        {"due_date": str(today() + timedelta(days=30)), "amount": "600.00"},
        {"due_date": str(today() + timedelta(days=90)), "amount": "600.00"},
    ]

    response = act(
        client_for(fund_admin), with_instalments, "amount", {"amount": "1200.00", "instalments": plan, "reason": "x"}
    )

    assert response.status_code == 200
    assert [(i["due_date"], i["amount"]) for i in response.json()["instalments"]] == [
        (str(today() + timedelta(days=30)), "600.00"),
        (str(today() + timedelta(days=90)), "600.00"),
    ]
    assert sum(i.amount for i in with_instalments.instalments.all()) == Decimal("1200.00")


def test_an_amount_with_too_many_decimals_for_the_currency_is_refused(client_for, fund_admin):
    pledge = confirmed_pledge(amount=Decimal("5000000"), currency="JPY", amount_usd=None)

    response = act(client_for(fund_admin), pledge, "amount", {"amount": "5000000.5", "reason": "typo"})

    body = assert_refused(response, 400, INVALID_INPUT)
    assert "amount" in body["errors"]
    pledge.refresh_from_db()
    assert pledge.amount == Decimal("5000000")


# --- recording pledges announced from the floor ---------------------------------------


def announced_body(**overrides) -> dict:
    body = {
        "donor": {"name": "Republic of Belarus", "type": "member_state", "country": "BY"},
        "amount": "50000.00",
        "currency": "USD",
        "session": "panel-1",
    }
    return body | overrides


def test_a_pledge_from_the_floor_with_a_new_donor_is_recorded_announced(client_for, reconciler):
    response = client_for(reconciler).post("/api/v1/pledges/announced/", announced_body(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert pick(body, "status", "source", "session", "amount") == ("announced", "floor", "panel-1", "50000.00")
    pledge = Pledge.objects.get(reference=body["reference"])
    assert pledge.donor.name == "Republic of Belarus"
    assert pledge.pledged_on == date(2012, 4, 3)
    assert pledge.verified_at is not None
    event = AuditEvent.objects.get(action="pledge.announced")
    assert (event.pledge, event.actor_user) == (pledge, reconciler)
    assert event.new_values["status"] == "announced"


def test_a_pledge_from_the_floor_can_name_an_existing_donor(client_for, reconciler):
    donor = DonorFactory(name="Kingdom of Norway")
    donors = Donor.objects.count()

    response = client_for(reconciler).post(
        "/api/v1/pledges/announced/", announced_body(donor={"id": donor.pk}), format="json"
    )

    assert response.status_code == 201
    assert response.json()["donor"]["id"] == donor.pk
    assert Pledge.objects.get(reference=response.json()["reference"]).donor == donor
    assert Donor.objects.count() == donors


def test_a_merged_donor_cannot_be_named(client_for, reconciler):
    kept = DonorFactory()
    merged = DonorFactory(merged_into=kept)

    response = client_for(reconciler).post(
        "/api/v1/pledges/announced/", announced_body(donor={"id": merged.pk}), format="json"
    )

    body = assert_refused(response, 400, INVALID_INPUT)
    assert "donor.id" in body["errors"]
    assert not Pledge.objects.exists()


def test_an_unknown_session_is_refused_by_name(client_for, reconciler):
    response = client_for(reconciler).post(
        "/api/v1/pledges/announced/", announced_body(session="panel-9"), format="json"
    )

    body = assert_refused(response, 400, INVALID_INPUT)
    assert "session" in body["errors"]
    assert not Pledge.objects.exists()
    assert not Donor.objects.filter(name="Republic of Belarus").exists()
    assert not AuditEvent.objects.exists()


def test_a_new_donor_needs_a_name_and_type(client_for, reconciler):
    response = client_for(reconciler).post(
        "/api/v1/pledges/announced/", announced_body(donor={"country": "BY"}), format="json"
    )

    body = assert_refused(response, 400, INVALID_INPUT)
    assert {"donor.name", "donor.type"} <= set(body["errors"])
    assert not Pledge.objects.exists()
