"""The donor's private status link: read-only, never cached by shared
caches, reachable only with the exact secret, and up to date with payments."""

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from stdnum import iso11649

from pledges.models import AuditEvent, Pledge, PledgeStatus
from tests.conftest import pledge_body
from tests.factories import PaymentFactory
from tests.helpers import PROBLEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def created(api) -> dict:
    """The create response of a USD 250,000 bank-transfer pledge in two instalments."""
    response = api.post("/api/v1/pledges/", pledge_body(), format="json")
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def status_path(created) -> str:
    return urlsplit(created["status_url"]).path


def record_payment(pledge: Pledge, amount: str, status: str) -> None:
    """What the payment services do, in short: a payment row, the paid total
    and the status that follows from it."""
    PaymentFactory(pledge=pledge, amount=Decimal(amount))
    pledge.amount_paid += Decimal(amount)
    pledge.amount_received_usd += Decimal(amount)
    pledge.status = status
    pledge.save()


def test_the_status_url_is_an_absolute_link_to_the_status_endpoint(created):
    url = urlsplit(created["status_url"])

    assert (url.scheme, url.netloc) == ("http", "testserver")
    assert url.path.startswith("/api/v1/pledges/status/")
    secret = url.path.removeprefix("/api/v1/pledges/status/").strip("/")
    assert secret == Pledge.objects.get(reference=created["reference"]).status_secret
    assert len(secret) >= 40


def test_the_status_page_shows_status_amounts_instalments_and_bank_instructions(api, created, status_path):
    response = api.get(status_path)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["reference"] == created["reference"]
    assert body["reference_printed"] == iso11649.format(created["reference"])
    assert body["status"] == "submitted"
    assert (body["campaign"], body["session"], body["currency"]) == ("vtf-2012", "panel-1", "USD")
    assert Decimal(body["amount"]) == Decimal("250000")
    assert Decimal(body["amount_paid"]) == 0
    assert Decimal(body["amount_outstanding"]) == Decimal("250000")
    assert body["overdue"] is False
    assert [(line["due_date"], Decimal(line["amount"]), Decimal(line["paid"])) for line in body["instalments"]] == [
        (instalment["due_date"], Decimal("125000"), 0) for instalment in pledge_body()["instalments"]
    ]
    assert body["payments"] == []
    instructions = body["bank_instructions"]
    assert instructions["reference"] == created["reference"]
    assert Decimal(instructions["amount"]) == Decimal("250000")
    assert instructions["currency"] == "USD"
    assert instructions["swift"] and instructions["account_number"]


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [("USD", "250000.00", "250000.00"), ("JPY", "5000000", "5000000"), ("KWD", "1500.125", "1500.125")],
)
def test_the_status_page_shows_amounts_in_the_currencys_minor_units(api, currency, amount, expected):
    """As the create response does: "250000.00" USD, "5000000" JPY; never
    the four storage decimals ("250000.0000")."""
    created = api.post(
        "/api/v1/pledges/", pledge_body(currency=currency, amount=amount, instalments=[]), format="json"
    ).json()
    assert created["amount"] == expected

    body = api.get(urlsplit(created["status_url"]).path).json()

    zero = "0" if currency == "JPY" else "0." + "0" * len(expected.split(".")[1])
    assert (body["amount"], body["amount_paid"], body["amount_outstanding"]) == (expected, zero, expected)
    assert body["bank_instructions"]["amount"] == expected


def test_the_status_page_is_private_and_never_stored_by_caches(api, status_path):
    response = api.get(status_path)

    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
    assert "public" not in directives
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]


def test_the_status_page_does_not_show_the_donors_contact_details(api, status_path):
    response = api.get(status_path)

    assert b"mission@example.org" not in response.content


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(lambda secret, reference: "unknown-secret", id="unknown"),
        pytest.param(lambda secret, reference: secret[:-1] + ("A" if secret[-1] != "A" else "B"), id="last-char"),
        pytest.param(lambda secret, reference: secret[:-1], id="truncated"),
        pytest.param(
            lambda secret, reference: secret.upper() if secret != secret.upper() else secret.lower(), id="case"
        ),
        pytest.param(lambda secret, reference: reference, id="the-reference"),
    ],
)
def test_an_unknown_or_altered_secret_is_not_found(api, created, secret):
    pledge = Pledge.objects.get(reference=created["reference"])

    response = api.get(f"/api/v1/pledges/status/{secret(pledge.status_secret, pledge.reference)}/")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 404
    assert created["reference"] not in response.content.decode()


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_status_page_refuses_to_change_anything(api, created, status_path, method):
    pledge = Pledge.objects.get(reference=created["reference"])
    audit_rows = AuditEvent.objects.count()

    response = getattr(api, method)(
        status_path, {"status": "cancelled", "amount": "1.00", "public_name": False}, format="json"
    )

    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 405
    assert "GET" in response["Allow"]
    after = Pledge.objects.get(pk=pledge.pk)
    assert (after.status, after.amount, after.public_name, after.version, after.updated_at) == (
        pledge.status,
        pledge.amount,
        pledge.public_name,
        pledge.version,
        pledge.updated_at,
    )
    assert AuditEvent.objects.count() == audit_rows


def test_the_status_page_reflects_a_payment(api, created, status_path):
    pledge = Pledge.objects.get(reference=created["reference"])
    record_payment(pledge, "125000.00", PledgeStatus.PARTIALLY_PAID)

    body = api.get(status_path).json()

    assert body["status"] == "partially_paid"
    assert Decimal(body["amount_paid"]) == Decimal("125000")
    assert Decimal(body["amount_outstanding"]) == Decimal("125000")
    first, second = body["instalments"]
    assert (Decimal(first["paid"]), Decimal(first["outstanding"])) == (Decimal("125000"), 0)
    assert (Decimal(second["paid"]), Decimal(second["outstanding"])) == (0, Decimal("125000"))
    assert [(Decimal(p["amount"]), p["currency"], p["method"]) for p in body["payments"]] == [
        (Decimal("125000"), "USD", "bank_transfer")
    ]
    assert Decimal(body["bank_instructions"]["amount"]) == Decimal("125000")


def test_a_pledge_paid_in_full_has_nothing_outstanding_and_no_bank_instructions(api, created, status_path):
    pledge = Pledge.objects.get(reference=created["reference"])
    record_payment(pledge, "250000.00", PledgeStatus.PAID)

    body = api.get(status_path).json()

    assert body["status"] == "paid"
    assert Decimal(body["amount_outstanding"]) == 0
    assert all(Decimal(line["outstanding"]) == 0 for line in body["instalments"])
    assert body["bank_instructions"] is None


def test_a_card_pledge_has_no_bank_instructions_on_its_status_page(api):
    created = api.post("/api/v1/pledges/", pledge_body(payment_method="card"), format="json").json()

    body = api.get(urlsplit(created["status_url"]).path).json()

    assert body["payment_method"] == "card"
    assert body["bank_instructions"] is None


def test_the_status_page_needs_no_login_and_ignores_a_staff_token(api, django_user_model, status_path):
    from knox.models import AuthToken

    staff = django_user_model.objects.create_user("officer", password="a-long-password-1", is_staff=True)
    _, token = AuthToken.objects.create(user=staff)

    anonymous = api.get(status_path)
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    with_bad_token = api.get(status_path)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with_good_token = api.get(status_path)

    assert anonymous.status_code == with_bad_token.status_code == with_good_token.status_code == 200
    assert anonymous.json() == with_bad_token.json() == with_good_token.json()
