"""The fixed cast and the plumbing every test shares."""

import importlib
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
def client_for(db):
    """A new APIClient signed in as `user` with a DRF token; anonymous for None."""

    def make(user=None) -> APIClient:
        from rest_framework.authtoken.models import Token

        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
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

    from pledges.models import Campaign

    if Campaign.objects.filter(slug="vtf-2012").exists() and Group.objects.count() >= 3:
        return
    for migration in ("0002_the_2012_dialogue", "0004_staff_roles"):
        importlib.import_module(f"pledges.migrations.{migration}").create(apps, None)
