"""Who may call which staff endpoint: anonymous requests are answered 401,
signed-in users without the role 403 (both as problem details, with nothing
changed), and each role includes the ones below it."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from pledges.models import AuditEvent, Donor, ExchangeRate, Payment, Pledge, PledgeStatus
from tests.conftest import pledge_body
from tests.factories import DonorFactory, PaymentFactory, PledgeFactory
from tests.helpers import PROBLEM

pytestmark = pytest.mark.django_db

RANK = {"viewer": 1, "reconciler": 2, "fund_admin": 3}
CAST = ("anonymous", "outsider", "viewer", "reconciler", "fund_admin")

# Every staff endpoint: method, URL (with placeholders filled from the
# `world` fixture) and the least role it needs.
ENDPOINTS = [
    ("GET", "/api/v1/pledges/", "viewer"),
    ("GET", "/api/v1/pledges/export/", "viewer"),
    ("GET", "/api/v1/pledges/{ref}/", "viewer"),
    ("POST", "/api/v1/pledges/announced/", "reconciler"),
    ("POST", "/api/v1/pledges/{ref}/verify/", "reconciler"),
    ("POST", "/api/v1/pledges/{ref}/confirm/", "reconciler"),
    ("POST", "/api/v1/pledges/{ref}/cancel/", "fund_admin"),
    ("POST", "/api/v1/pledges/{ref}/lapse/", "fund_admin"),
    ("POST", "/api/v1/pledges/{ref}/amount/", "fund_admin"),
    ("GET", "/api/v1/payments/", "viewer"),
    ("POST", "/api/v1/payments/", "reconciler"),
    ("GET", "/api/v1/payments/{payment}/", "viewer"),
    ("POST", "/api/v1/payments/{payment}/reverse/", "reconciler"),
    ("GET", "/api/v1/exchange-rates/", "viewer"),
    ("POST", "/api/v1/exchange-rates/", "fund_admin"),
    ("POST", "/api/v1/exchange-rates/import/", "fund_admin"),
    ("GET", "/api/v1/donors/", "viewer"),
    ("GET", "/api/v1/donors/{donor}/", "viewer"),
    ("POST", "/api/v1/donors/{donor}/merge/", "fund_admin"),
    ("POST", "/api/v1/donors/{donor}/erase/", "fund_admin"),
    ("GET", "/api/v1/audit/", "viewer"),
]


@pytest.fixture
def world(db) -> dict:
    """A submitted pledge (so verify and confirm have work to do), a paid
    one with its payment, and a donor with a duplicate."""
    submitted = PledgeFactory(status=PledgeStatus.SUBMITTED, source="web")
    paid = PledgeFactory(status=PledgeStatus.PARTIALLY_PAID, amount_paid=Decimal("100.00"))
    payment = PaymentFactory(pledge=paid, amount=Decimal("100.00"))
    donor = DonorFactory(name="Kept donor")
    DonorFactory(name="Its duplicate")
    return {"ref": submitted.reference, "payment": payment.pk, "donor": donor.pk}


@pytest.fixture
def cast(viewer, reconciler, fund_admin, outsider) -> dict:
    return {
        "anonymous": None,
        "outsider": outsider,
        "viewer": viewer,
        "reconciler": reconciler,
        "fund_admin": fund_admin,
    }


def call(client, method: str, url: str):
    if url.endswith("/exchange-rates/import/"):
        return client.post(url, {}, format="multipart")
    if method == "POST":
        return client.post(url, {}, format="json")
    return client.get(url)


def expected_status(role: str, needed: str) -> int | None:
    """401, 403, or None for "allowed"."""
    if role == "anonymous":
        return 401
    if role not in RANK or RANK[role] < RANK[needed]:
        return 403
    return None


def state() -> tuple:
    """Everything a refused request must leave as it was."""
    return (
        AuditEvent.objects.count(),
        sorted(Pledge.objects.values_list("reference", "status", "amount", "confirmed_at", "closed_at")),
        Payment.objects.count(),
        ExchangeRate.objects.count(),
        sorted(Donor.objects.values_list("pk", "name", "email", "merged_into", "erased_at")),
    )


@pytest.mark.parametrize("role", CAST)
@pytest.mark.parametrize(
    ("method", "url", "needed"), ENDPOINTS, ids=[f"{method} {url}" for method, url, _ in ENDPOINTS]
)
def test_each_staff_endpoint_answers_each_role_as_its_rank_allows(client_for, cast, world, role, method, url, needed):
    client = client_for(cast[role])
    before = state()

    response = call(client, method, url.format(**world))

    expected = expected_status(role, needed)
    if expected is None:
        # Allowed: served, though an empty body may be refused as invalid.
        assert response.status_code in (200, 201, 400), response.content
    else:
        assert response.status_code == expected, response.content
        assert response["Content-Type"] == PROBLEM
        body = response.json()
        assert body["status"] == expected
        assert body["detail"]
        assert state() == before


@pytest.mark.parametrize(("method", "url", "needed"), [e for e in ENDPOINTS if e[2] != "viewer"])
def test_a_refusal_for_the_wrong_role_names_the_role_needed(client_for, viewer, world, method, url, needed):
    response = call(client_for(viewer), method, url.format(**world))

    assert response.status_code == 403
    assert needed in response.json()["detail"]


def test_anonymous_requests_are_told_how_to_authenticate(client_for, world):
    response = client_for(None).get("/api/v1/pledges/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert response["Content-Type"] == PROBLEM


def test_anyone_may_make_a_pledge_but_not_list_them(client_for):
    anonymous = client_for(None)

    created = anonymous.post("/api/v1/pledges/", pledge_body(), format="json")
    listed = anonymous.get("/api/v1/pledges/")

    assert created.status_code == 201
    assert Pledge.objects.filter(reference=created.json()["reference"]).exists()
    assert listed.status_code == 401
    assert "results" not in listed.json()


def test_a_signed_in_outsider_may_still_make_a_public_pledge(client_for, outsider):
    response = client_for(outsider).post("/api/v1/pledges/", pledge_body(), format="json")

    assert response.status_code == 201


def test_an_anonymous_probe_of_an_unknown_pledge_learns_nothing(client_for):
    response = client_for(None).get("/api/v1/pledges/RF00NOSUCHPLEDGE/")

    assert response.status_code == 401


def test_a_wrong_token_is_refused_as_unauthenticated(world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert client.get("/api/v1/pledges/").status_code == 401


def test_a_deactivated_fund_admin_is_refused(client_for, fund_admin, world):
    client = client_for(fund_admin)
    fund_admin.is_active = False
    fund_admin.save()

    response = client.post(f"/api/v1/pledges/{world['ref']}/cancel/", {"reason": "withdrawn"}, format="json")

    assert response.status_code == 401
    assert Pledge.objects.get(reference=world["ref"]).status == PledgeStatus.SUBMITTED


def test_the_django_admin_staff_flag_alone_grants_no_role(client_for, make_user, world):
    staff_flag_only = make_user("sam.siteadmin", is_staff=True)
    client = client_for(staff_flag_only)

    assert client.get("/api/v1/pledges/").status_code == 403
    assert client.get("/api/v1/audit/").status_code == 403


def test_a_superuser_holds_every_role(client_for, make_user, world):
    root = make_user("root", is_staff=True, is_superuser=True)

    response = client_for(root).post(
        f"/api/v1/pledges/{world['ref']}/cancel/", {"reason": "withdrawn by the donor"}, format="json"
    )

    assert response.status_code == 200
    assert Pledge.objects.get(reference=world["ref"]).status == PledgeStatus.CANCELLED


def test_a_higher_role_can_do_what_a_lower_one_can(client_for, fund_admin, world):
    client = client_for(fund_admin)

    listed = client.get("/api/v1/pledges/")
    verified = client.post(f"/api/v1/pledges/{world['ref']}/verify/", {}, format="json")

    assert listed.status_code == 200
    assert verified.status_code == 200
    assert Pledge.objects.get(reference=world["ref"]).status == PledgeStatus.ANNOUNCED
    event = AuditEvent.objects.get(action="pledge.verified")
    assert event.actor_user == fund_admin


def test_a_reconciler_cannot_upload_rates(client_for, reconciler):
    upload = SimpleUploadedFile("rates.csv", f"currency,rate,valid_from\nEUR,0.8,{timezone.localdate()}\n".encode())

    response = client_for(reconciler).post("/api/v1/exchange-rates/import/", {"file": upload}, format="multipart")

    assert response.status_code == 403
    assert not ExchangeRate.objects.exists()
