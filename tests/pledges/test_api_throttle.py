"""Pledge submissions are throttled per client at PLEDGE_THROTTLE_RATE; a
throttled request is a 429 problem that creates nothing."""

import uuid

import pytest
from rest_framework.test import APIClient

from pledges.models import AuditEvent, Donor, IdempotencyRecord, Instalment, Pledge
from tests.conftest import pledge_body
from tests.helpers import PROBLEM

pytestmark = pytest.mark.django_db

URL = "/api/v1/pledges/"


@pytest.fixture(autouse=True)
def three_a_minute(settings):
    settings.PLEDGE_THROTTLE_RATE = "3/minute"


def post(client, body=None, **headers):
    return client.post(URL, body or pledge_body(), format="json", headers=headers)


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count() for model in (Pledge, Donor, Instalment, AuditEvent, IdempotencyRecord)
    }


def test_the_fourth_pledge_in_a_minute_is_a_429_problem_with_retry_after(api):
    first_three = [post(api).status_code for _ in range(3)]

    response = post(api)

    assert first_three == [201, 201, 201]
    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 429
    assert {"type", "title", "detail"} <= set(problem)
    assert 0 < int(response["Retry-After"]) <= 60


def test_a_throttled_request_creates_nothing(api):
    for _ in range(3):
        post(api)
    before = row_counts()

    responses = [
        post(api),
        post(api, pledge_body(payment_method="card")),
        post(api, **{"Idempotency-Key": str(uuid.uuid4())}),
    ]

    assert [response.status_code for response in responses] == [429, 429, 429]
    assert row_counts() == before
    assert Pledge.objects.count() == 3


def test_another_client_is_not_held_back(api):
    for _ in range(4):
        post(api)
    other = APIClient(REMOTE_ADDR="203.0.113.9")

    response = post(other)

    assert response.status_code == 201
    assert Pledge.objects.count() == 4


def test_a_forged_x_forwarded_for_does_not_escape_the_throttle(api, settings):
    """With no trusted proxy in front, the client's own address counts, not
    whatever it writes in X-Forwarded-For."""
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    for n in range(3):
        post(api, **{"X-Forwarded-For": f"198.51.100.{n}"})

    response = post(api, **{"X-Forwarded-For": "198.51.100.99"})

    assert response.status_code == 429
    assert Pledge.objects.count() == 3


def test_invalid_submissions_count_against_the_limit_too(api):
    for _ in range(3):
        assert post(api, pledge_body(currency="XAU", instalments=[])).status_code == 400

    response = post(api)

    assert response.status_code == 429
    assert not Pledge.objects.exists()


def test_the_rate_is_read_from_the_setting_at_each_request(api, settings):
    for _ in range(3):
        post(api)
    assert post(api).status_code == 429

    settings.PLEDGE_THROTTLE_RATE = "10/minute"

    assert post(api).status_code == 201


def test_reading_the_public_figures_is_not_limited_by_the_pledge_throttle(api):
    for _ in range(3):
        post(api)

    responses = [api.get("/api/v1/public/totals/").status_code for _ in range(5)]

    assert responses == [200] * 5
