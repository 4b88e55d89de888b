"""Redis stopped (a real redis-server of the test's own, by its PID): pledges
are still taken, public figures come from the database, staff payments are
answered for what they committed, and nothing is recorded twice."""

import os
import signal
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.cache import resilient_cache
from pledges.models import Payment, Pledge, PledgeStatus
from tests.conftest import pledge_body
from tests.factories import PledgeFactory
from tests.processes import RedisServer

# One xdist worker runs every test that starts servers on the spare ports.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("spare-ports"), pytest.mark.django_db]

REDIS_PORT = 6514


@pytest.fixture
def redis_server(settings):
    server = RedisServer(REDIS_PORT)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    settings.PLEDGE_THROTTLE_RATE = "1000/minute"
    resilient_cache.local.clear()
    resilient_cache._down_until = 0.0
    yield server
    server.stop()
    resilient_cache.local.clear()
    resilient_cache._down_until = 0.0


def totals(api) -> dict:
    response = api.get("/api/v1/public/totals/")
    assert response.status_code == 200, response.content
    return response.json()


def test_with_redis_stopped_pledges_are_taken_once_each_and_totals_come_from_the_database(api, redis_server):
    before = totals(api)
    redis_server.stop()

    responses = [
        api.post("/api/v1/pledges/", pledge_body(amount=f"{100 + n}.00", instalments=[]), format="json")
        for n in range(10)
    ]

    assert [response.status_code for response in responses] == [201] * 10
    references = [response.json()["reference"] for response in responses]
    assert Pledge.objects.filter(reference__in=references).count() == 10
    assert totals(api)["pledges"] == before["pledges"]  # submissions count only once verified


def test_with_redis_stopped_a_staff_payment_is_answered_201_and_recorded_once(client_for, reconciler, redis_server):
    now = timezone.now()
    pledge = PledgeFactory(
        status=PledgeStatus.CONFIRMED, verified_at=now, confirmed_at=now, confirmed_on=timezone.localdate()
    )
    staff = client_for(reconciler)
    redis_server.stop()

    body = {
        "pledge": pledge.reference,
        "amount": "100.00",
        "currency": pledge.currency,
        "received_on": str(timezone.localdate()),
        "method": "bank_transfer",
        "bank_reference": "CHASUS33-REDIS-DOWN",
    }
    response = staff.post("/api/v1/payments/", body, format="json")

    assert response.status_code == 201, response.content
    assert Payment.objects.filter(pledge=pledge).count() == 1
    assert Payment.objects.get(pledge=pledge).amount == Decimal("100.00")


def test_a_change_made_while_redis_hung_shows_once_it_answers_again(
    api, redis_server, django_capture_on_commit_callbacks
):
    now = timezone.now()
    pledge = PledgeFactory(
        status=PledgeStatus.CONFIRMED,
        verified_at=now,
        confirmed_at=now,
        confirmed_on=timezone.localdate(),
        amount=Decimal("1000.00"),
    )
    cached = totals(api)  # cached in Redis now
    assert totals(api) == cached
    os.kill(redis_server.process.pid, signal.SIGSTOP)  # hung, not gone: it keeps the cached document
    try:
        pledge.amount = pledge.amount_usd = Decimal("5000.00")
        with django_capture_on_commit_callbacks(execute=True):
            pledge.save()  # its invalidation, after commit, times out
        while_hung = totals(api)
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)

    assert while_hung["pledged"] == "5000.00"
    assert totals(api)["pledged"] == "5000.00" != cached["pledged"]


def test_the_throttle_still_limits_per_process_while_redis_is_away(api, redis_server, settings):
    settings.PLEDGE_THROTTLE_RATE = "3/minute"
    redis_server.stop()

    codes = [api.post("/api/v1/pledges/", pledge_body(), format="json").status_code for _ in range(5)]

    assert codes == [201, 201, 201, 429, 429]
