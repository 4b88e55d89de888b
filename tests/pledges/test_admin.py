"""The admin serves daily work through the same services as the API."""

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from pledges.models import AuditEvent, PledgeStatus
from tests.factories import DonorFactory, PaymentFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def staff(role: str | None) -> User:
    user = User.objects.create_user(f"admin-{role}", password="pw", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def admin_client(client):
    def sign_in(role: str | None):
        client.force_login(staff(role))
        return client

    return sign_in


@pytest.mark.parametrize(
    "page",
    [
        "/admin/",
        "/admin/pledges/pledge/",
        "/admin/pledges/payment/",
        "/admin/pledges/auditevent/",
        "/admin/pledges/donor/",
        "/admin/pledges/exchangerate/",
    ],
)
def test_a_viewer_can_read_every_list(admin_client, page):
    PledgeFactory()

    assert admin_client("viewer").get(page).status_code == 200


def test_staff_without_a_role_see_nothing(admin_client):
    client = admin_client(None)

    assert client.get("/admin/pledges/pledge/").status_code == 403


def test_the_pledge_page_shows_payments_and_instalments(admin_client):
    payment = PaymentFactory()

    response = admin_client("viewer").get(f"/admin/pledges/pledge/{payment.pledge.pk}/change/")

    assert response.status_code == 200
    assert payment.external_reference in response.content.decode()


def test_confirming_from_the_admin_goes_through_the_service(admin_client):
    pledge = PledgeFactory(status=PledgeStatus.ANNOUNCED)

    admin_client("reconciler").post(
        "/admin/pledges/pledge/", {"action": "confirm", "_selected_action": [pledge.pk], "reason": "letter of 5 May"}
    )

    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.CONFIRMED
    event = AuditEvent.objects.get(action="pledge.confirmed")
    assert (event.actor_label, event.reason) == ("admin-reconciler", "letter of 5 May")


def test_a_viewer_is_not_offered_the_confirm_action(admin_client):
    pledge = PledgeFactory(status=PledgeStatus.ANNOUNCED)

    admin_client("viewer").post("/admin/pledges/pledge/", {"action": "confirm", "_selected_action": [pledge.pk]})

    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.ANNOUNCED
    assert not AuditEvent.objects.filter(action="pledge.confirmed").exists()


def test_cancelling_a_paid_pledge_from_the_admin_is_refused_like_in_the_api(admin_client):
    payment = PaymentFactory()

    response = admin_client("fund_admin").post(
        "/admin/pledges/pledge/",
        {"action": "cancel", "_selected_action": [payment.pledge.pk], "reason": "withdrawn"},
        follow=True,
    )

    payment.pledge.refresh_from_db()
    assert payment.pledge.status == PledgeStatus.CONFIRMED
    assert "lapse its remainder" in response.content.decode()


def test_the_audit_trail_cannot_be_edited_or_deleted_in_the_admin(admin_client):
    pledge = PledgeFactory(status=PledgeStatus.ANNOUNCED)
    client = admin_client("fund_admin")
    client.post("/admin/pledges/pledge/", {"action": "confirm", "_selected_action": [pledge.pk]})
    event = AuditEvent.objects.get()

    client.post(f"/admin/pledges/auditevent/{event.pk}/delete/", {"post": "yes"})
    client.post(f"/admin/pledges/auditevent/{event.pk}/change/", {"action": "tampered"})

    event.refresh_from_db()
    assert event.action == "pledge.confirmed"
    assert AuditEvent.objects.count() == 1


def test_an_exchange_rate_added_in_the_admin_goes_through_the_service(admin_client):
    response = admin_client("fund_admin").post(
        "/admin/pledges/exchangerate/add/", {"currency": "chf", "rate": "0.91", "valid_from": "2012-04-01"}
    )

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="exchange_rate.added", new_values__currency="CHF").exists()


def test_an_exchange_rate_for_usd_is_refused_in_the_admin_form(admin_client):
    response = admin_client("fund_admin").post(
        "/admin/pledges/exchangerate/add/", {"currency": "USD", "rate": "1", "valid_from": "2012-04-01"}
    )

    assert response.status_code == 200
    assert "unit of account" in response.content.decode()


@pytest.mark.parametrize(
    ("page", "action", "role", "make", "recorded"),
    [
        ("pledge", "verify", "reconciler", lambda: PledgeFactory(status=PledgeStatus.SUBMITTED), "pledge.verified"),
        ("pledge", "lapse", "fund_admin", PledgeFactory, "pledge.lapsed"),
        (
            "payment",
            "reverse",
            "reconciler",
            lambda: PaymentFactory(pledge=PledgeFactory(confirmed_at=timezone.now())),
            "pledge.payment.reversed",
        ),
        ("donor", "erase", "fund_admin", DonorFactory, "donor.erased"),
    ],
    ids=["verify", "lapse", "reverse", "erase"],
)
def test_each_reasoned_action_reaches_its_service_with_the_reason(admin_client, page, action, role, make, recorded):
    row = make()

    admin_client(role).post(
        f"/admin/pledges/{page}/", {"action": action, "_selected_action": [row.pk], "reason": "letter of 5 May"}
    )

    event = AuditEvent.objects.get(action=recorded)
    assert (event.actor_label, event.reason) == (f"admin-{role}", "letter of 5 May")
