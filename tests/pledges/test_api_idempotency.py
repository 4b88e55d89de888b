"""Idempotency-Key on POST /api/v1/pledges/: a retried request gives the first
answer again and creates nothing new; a reused key with another body is
refused; a failed request does not burn its key; concurrent requests with
one key create one pledge."""

import json
import uuid

import pytest
from django.core import mail
from django.db import connection
from rest_framework.test import APIClient

import pledges.api
from pledges.errors import InvalidInput
from pledges.models import AuditEvent, Donor, IdempotencyRecord, Instalment, Pledge
from tests.conftest import pledge_body, run_at_once
from tests.helpers import PROBLEM

URL = "/api/v1/pledges/"


def post(api, body, key=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post(URL, body, format="json", headers=headers)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Pledge, Donor, Instalment, AuditEvent)}


@pytest.mark.django_db
def test_a_replay_gives_the_first_response_again_and_creates_nothing(api, django_capture_on_commit_callbacks):
    key = str(uuid.uuid4())

    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, pledge_body(), key)
    with django_capture_on_commit_callbacks(execute=True):
        second = post(api, pledge_body(), key)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Pledge.objects.get().reference == first.json()["reference"]
    assert row_counts() == {"Pledge": 1, "Donor": 1, "Instalment": 2, "AuditEvent": 2}
    assert AuditEvent.objects.filter(action="pledge.submitted").count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_replay_keeps_the_first_status_url_and_bank_instructions(api):
    key = str(uuid.uuid4())
    first = post(api, pledge_body(), key).json()

    second = post(api, pledge_body(), key).json()

    pledge = Pledge.objects.get()
    assert second["status_url"] == first["status_url"]
    assert second["status_url"].endswith(f"/status/{pledge.status_secret}/")
    assert second["bank_instructions"] == first["bank_instructions"]


@pytest.mark.django_db
def test_the_same_body_with_its_keys_in_another_order_is_the_same_request(api):
    key = str(uuid.uuid4())
    body = pledge_body()
    first = api.post(URL, json.dumps(body), content_type="application/json", headers={"Idempotency-Key": key})

    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    second = api.post(URL, reordered, content_type="application/json", headers={"Idempotency-Key": key})

    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["reference"] == first.json()["reference"]
    assert Pledge.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"amount": "250000.01", "instalments": []}, id="another-amount"),
        pytest.param({"public_amount": False}, id="another-consent"),
        pytest.param({"payment_method": "card"}, id="another-payment-method"),
    ],
)
def test_the_same_key_with_another_body_is_refused_with_422_and_creates_nothing(api, other):
    key = str(uuid.uuid4())
    first = post(api, pledge_body(), key)
    before = row_counts()

    response = post(api, pledge_body(**other), key)

    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert problem["type"].endswith("idempotency-key-reused")
    assert key in problem["detail"]
    assert "Idempotent-Replayed" not in response
    assert row_counts() == before
    pledge = Pledge.objects.get()
    assert pledge.reference == first.json()["reference"]
    assert (str(pledge.amount_usd), pledge.public_amount, pledge.payment_method) == ("250000.00", True, "bank_transfer")


@pytest.mark.django_db
def test_a_refused_reuse_does_not_spoil_the_replay_of_the_first_request(api):
    key = str(uuid.uuid4())
    first = post(api, pledge_body(), key)
    post(api, pledge_body(amount="1.00", instalments=[]), key)

    again = post(api, pledge_body(), key)

    assert again.status_code == 201
    assert again.json() == first.json()


@pytest.mark.django_db
def test_a_key_can_be_used_again_after_a_request_refused_as_invalid(api):
    key = str(uuid.uuid4())
    refused = post(api, pledge_body(currency="XAU", instalments=[]), key)
    assert refused.status_code == 400

    response = post(api, pledge_body(), key)

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Pledge.objects.get().reference == response.json()["reference"]
    assert IdempotencyRecord.objects.get(key=key).response_status == 201


@pytest.mark.django_db
def test_a_failure_while_creating_rolls_back_the_pledge_and_frees_the_key(api, monkeypatch):
    """The record is written in the transaction of the pledge: if creating
    fails after the pledge was inserted, both roll back together."""
    real_submit = pledges.api.pledge_submit

    def submit_then_fail(**kwargs):
        real_submit(**kwargs)
        raise InvalidInput({"amount": ["Refused after the pledge was written."]})

    monkeypatch.setattr(pledges.api, "pledge_submit", submit_then_fail)
    key = str(uuid.uuid4())

    failed = post(api, pledge_body(), key)

    assert failed.status_code == 400
    assert failed["Content-Type"] == PROBLEM
    assert row_counts() == {"Pledge": 0, "Donor": 0, "Instalment": 0, "AuditEvent": 0}
    assert not IdempotencyRecord.objects.filter(key=key).exists()

    monkeypatch.setattr(pledges.api, "pledge_submit", real_submit)
    retried = post(api, pledge_body(), key)

    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Pledge.objects.count() == 1


@pytest.mark.django_db
def test_two_keys_with_one_body_are_two_pledges(api):
    first = post(api, pledge_body(), str(uuid.uuid4()))
    second = post(api, pledge_body(), str(uuid.uuid4()))

    assert first.json()["reference"] != second.json()["reference"]
    assert Pledge.objects.count() == 2


@pytest.mark.django_db
def test_without_a_key_every_request_is_a_new_pledge(api):
    post(api, pledge_body())
    post(api, pledge_body())

    assert Pledge.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


THREADS = 8


@pytest.fixture(scope="class")
def migrated_data_restored_afterwards(django_db_blocker):
    """A transactional test ends by emptying every table, the data the
    migrations wrote (the 2012 campaign, the staff roles) included. Put it
    back once the class is done, so that later transactional tests start from
    the migrated database as usual (class scope: this runs after the flush)."""
    yield
    serialized = getattr(connection, "_test_serialized_contents", None)
    if serialized:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(serialized)


@pytest.mark.usefixtures("migrated_data_restored_afterwards")
class TestConcurrentRequests:
    @pytest.mark.postgres
    @pytest.mark.django_db(transaction=True)
    def test_concurrent_requests_with_one_key_create_exactly_one_pledge(self, postgres_only):
        key = str(uuid.uuid4())
        body = pledge_body()

        def submit() -> tuple[int, dict, str | None]:
            response = APIClient().post(URL, body, format="json", headers={"Idempotency-Key": key})
            return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")

        answers = run_at_once(*[submit] * THREADS)

        assert len(answers) == THREADS
        assert [status for status, _, _ in answers] == [201] * THREADS
        assert len({body["reference"] for _, body, _ in answers}) == 1
        assert sorted(replayed or "" for _, _, replayed in answers) == [""] + ["true"] * (THREADS - 1)
        assert Pledge.objects.get().reference == answers[0][1]["reference"]
        assert Donor.objects.count() == 1
        assert Instalment.objects.count() == 2
        assert AuditEvent.objects.filter(action="pledge.submitted").count() == 1
        assert IdempotencyRecord.objects.filter(key=key).count() == 1
