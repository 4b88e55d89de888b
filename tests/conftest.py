"""The fixed cast and the plumbing every test shares."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (public documents, throttles)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks and concurrent transactions)")


def pledge_body(**overrides) -> dict:
    """A valid public pledge request; override any top-level field."""
    body = {
        "donor": {"name": "Kingdom of Norway", "type": "member_state", "country": "NO", "email": "mission@example.org"},
        "amount": "250000.00",
        "currency": "USD",
        "payment_method": "bank_transfer",
        "session": "panel-1",
        "earmark": "children",
        "instalments": [
            {"due_date": str(timezone.localdate() + timedelta(days=30)), "amount": "125000.00"},
            {"due_date": str(timezone.localdate() + timedelta(days=365)), "amount": "125000.00"},
        ],
        "public_name": True,
        "public_amount": True,
        "statement": "Norway stands with the survivors of trafficking.",
    }
    body.update(overrides)
    return body


@pytest.fixture
def eur_rate(db):
    from tests.factories import ExchangeRateFactory

    return ExchangeRateFactory(
        currency="EUR", rate=Decimal("0.80"), valid_from=timezone.localdate() - timedelta(days=60)
    )


# --- The staff cast: one user per role, and clients signed in with a token ---


@pytest.fixture
def make_user(db, django_user_model):
    """A user holding `role` (a group made by the roles migration), or none."""

    def make(username: str, role: str | None = None, **extra):
        from django.contrib.auth.models import Group

        user = django_user_model.objects.create_user(username=username, password="not-used-in-tests", **extra)
        if role is not None:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def viewer(make_user):
    return make_user("vera.viewer", "viewer")


@pytest.fixture
def reconciler(make_user):
    return make_user("rico.reconciler", "reconciler")


@pytest.fixture
def fund_admin(make_user):
    return make_user("ada.fundadmin", "fund_admin")


@pytest.fixture
def outsider(make_user):
    """Signed in, but holding no staff role."""
    return make_user("otto.outsider")


@pytest.fixture
def admin(client_for, fund_admin) -> APIClient:
    """A client signed in as the fund admin."""
    return client_for(fund_admin)


@pytest.fixture
def reader(client_for, viewer) -> APIClient:
    """A client signed in as the viewer (reads, never writes)."""
    return client_for(viewer)


@pytest.fixture
def client_for(db):
    """A new APIClient signed in as `user` with an API token (knox); anonymous for None."""

    def make(user=None) -> APIClient:
        from knox.models import AuthToken

        client = APIClient()
        if user is not None:
            _, token = AuthToken.objects.create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


@pytest.fixture
def eur_rates(db):
    """Two EUR rates: 0.80 from 60 days ago, then 0.90 from 20 days ago."""
    from tests.factories import ExchangeRateFactory

    today = timezone.localdate()
    return (
        ExchangeRateFactory(currency="EUR", rate=Decimal("0.80"), valid_from=today - timedelta(days=60)),
        ExchangeRateFactory(currency="EUR", rate=Decimal("0.90"), valid_from=today - timedelta(days=20)),
    )


def _uses_database(request) -> str | None:
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    ):
        return "transactional_db"
    if marker or "db" in request.fixturenames:
        return "db"
    return None


@pytest.fixture(autouse=True)
def _reference_data(request):
    """The rows data migrations create (the 2012 campaign and dialogue, the
    staff roles) are wiped when a transactional test flushes the tables;
    put them back so every test starts from a migrated database."""
    fixture = _uses_database(request)
    if fixture is None:
        return
    request.getfixturevalue(fixture)
    from django.apps import apps
    from django.contrib.auth.models import Group

    from pledges.migration_data import reference_data_create
    from pledges.models import Campaign

    if Campaign.objects.filter(slug="vtf-2012").exists() and Group.objects.count() >= 3:
        return
    reference_data_create(apps)


# --- Stripe: one localstripe per test process, and the app pointed at it ---

STRIPE_WEBHOOK_SECRET = "whsec_test"
STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
STRIPE_WEBHOOK_PATH = "/api/v1/payments/stripe/webhook/"


@pytest.fixture(scope="session")
def localstripe_server():
    """localstripe on 127.0.0.1 for the whole run (see tests/stripe_harness.py)."""
    from tests import stripe_harness

    yield from stripe_harness.localstripe_server()


@pytest.fixture
def localstripe(localstripe_server):
    """The session's localstripe, emptied: no objects, events or webhooks."""
    localstripe_server.reset()
    return localstripe_server


@pytest.fixture
def stripe_on(settings, localstripe):
    """Card payments configured, against localstripe; webhooks signed with
    STRIPE_WEBHOOK_SECRET."""
    settings.STRIPE_API_BASE = localstripe.base_url
    settings.STRIPE_SECRET_KEY = localstripe.api_key
    settings.STRIPE_PUBLISHABLE_KEY = STRIPE_PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    return localstripe


@pytest.fixture
def stripe_client(localstripe):
    """The SDK client tests use to play Stripe's other side (the donor's
    browser, the Dashboard): confirm, refund, create on their own."""
    return localstripe.client()


def card_pledge_body(**overrides) -> dict:
    """A valid card pledge of 100.00 USD paid at once; override any field."""
    return pledge_body(**{"payment_method": "card", "amount": "100.00", "instalments": [], **overrides})


def stripe_card_pay(client, payment_intent_id: str, card: str | None = None):
    """What Stripe.js does in the donor's browser: attach a card to the
    PaymentIntent and confirm it. Returns the PaymentIntent (raises the
    SDK's CardError for a declined card)."""
    from tests import stripe_harness

    payment_method = client.v1.payment_methods.create(params=stripe_harness.card_params(card or stripe_harness.CARD_OK))
    client.v1.payment_intents.update(payment_intent_id, params={"payment_method": payment_method.id})
    return client.v1.payment_intents.confirm(payment_intent_id)


def stripe_webhook_post(client, payload: bytes, signature: str | None):
    """POST a webhook body as Stripe does; no Stripe-Signature header when None."""
    headers = {} if signature is None else {"Stripe-Signature": signature}
    return client.post(STRIPE_WEBHOOK_PATH, data=payload, content_type="application/json", headers=headers)


def stripe_signed(event_type: str, obj: dict, **kwargs) -> tuple[bytes, str]:
    """A webhook body around `obj` and its Stripe-Signature, signed with the
    secret `stripe_on` configures (at the event's time unless `timestamp`)."""
    from tests import stripe_harness

    return stripe_harness.signed_event(event_type, obj, STRIPE_WEBHOOK_SECRET, **kwargs)


def stripe_intent_object(intent, **overrides) -> dict:
    """A payment_intent event object in Stripe's shape for a real
    PaymentIntent on localstripe."""
    from tests import stripe_harness

    fields = {
        "id": intent.id,
        "amount": int(intent.amount),
        "currency": intent.currency,
        "status": intent.status,
        "metadata": dict(intent.metadata or {}),
        "latest_charge": intent.latest_charge,
        "amount_received": int(intent.get("amount_received") or 0),
        "created": intent.created,
    }
    return stripe_harness.payment_intent_object(**{**fields, **overrides})


def card_pledge_paid_on_stripe(api, stripe_client, **overrides) -> tuple[dict, object]:
    """A card pledge made through the API (100.00 USD unless overridden) whose
    PaymentIntent the donor then paid on localstripe with the test card. No
    webhook has reached the app yet. Returns the API's body and the
    succeeded PaymentIntent."""
    response = api.post("/api/v1/pledges/", card_pledge_body(**overrides), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["payment"] is not None, body.get("payment_error")
    intent = stripe_card_pay(stripe_client, body["payment"]["payment_intent"])
    assert intent.status == "succeeded"
    return body, intent


@pytest.fixture
def stripe_deliver(api, django_capture_on_commit_callbacks):
    """POST a signed webhook and run what it queued after commit (applying
    the event), as the request and then the Celery task would."""

    def deliver(payload: bytes, signature: str | None):
        with django_capture_on_commit_callbacks(execute=True):
            return stripe_webhook_post(api, payload, signature)

    return deliver


def run_at_once(*calls) -> list:
    """Run each call in its own thread, all released together by a barrier;
    their results in the order given. Each thread closes its own database
    connection. For transactional tests on PostgreSQL."""
    import threading

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as error:  # reported in the calling thread
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a call never finished (deadlock?)"
    assert not failures, failures
    return results


# --- Bank statements: uploaded through the API ---


@pytest.fixture
def statement_upload(client_for, reconciler, django_capture_on_commit_callbacks):
    """POST a statement file to /api/v1/statements/ (as the reconciler, or
    as `client`) and run what the import queued after commit (the
    matching), as the Celery worker would. Returns the response."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    default_client = client_for(reconciler)

    def upload(content: bytes, filename: str = "statement.xml", *, client=None, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or default_client).post(
                "/api/v1/statements/", {"file": SimpleUploadedFile(filename, content), **fields}, format="multipart"
            )

    return upload
