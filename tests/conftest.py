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
