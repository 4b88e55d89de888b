"""What one public pledge costs the database and Redis: each row written once
in one transaction, nothing read back, the idempotency record one statement,
the throttle one Redis call; and a reference drawn twice is drawn again."""

import uuid

import pytest
import redis
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

import pledges.services
from pledges.models import AuditEvent, IdempotencyRecord, Pledge
from tests.conftest import pledge_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/pledges/"
# The session (with its event and campaign), the donor, the pledge, its
# instalments, its audit record, its first status-history row, its outbox
# message.
STATEMENTS_PER_PLEDGE = 7


def statements_of(api, body, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.post(URL, body, format="json", headers=headers)
    assert response.status_code == 201, response.content
    transaction_control = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(transaction_control)]


def test_a_pledge_writes_each_of_its_rows_once_and_reads_nothing_back(api):
    statements = statements_of(api, pledge_body())

    assert len(statements) == STATEMENTS_PER_PLEDGE, statements
    assert sum(sql.startswith("SELECT") for sql in statements) == 1
    assert AuditEvent.objects.get(action="pledge.submitted").new_values["instalments"] == [
        {"due_date": i["due_date"], "amount": i["amount"]} for i in pledge_body()["instalments"]
    ]


def test_an_idempotency_key_adds_one_statement(api):
    key = str(uuid.uuid4())

    statements = statements_of(api, pledge_body(), **{"Idempotency-Key": key})

    assert len(statements) == STATEMENTS_PER_PLEDGE + 1, statements
    assert IdempotencyRecord.objects.get(key=key).response_status == 201


def test_a_reference_already_taken_is_drawn_again(api, monkeypatch):
    taken = api.post(URL, pledge_body(), format="json").json()["reference"]
    draws = iter([taken, "RF98VTF000000001"])
    monkeypatch.setattr(pledges.services, "reference_new", lambda: next(draws))

    response = api.post(URL, pledge_body(), format="json")

    assert response.status_code == 201
    assert response.json()["reference"] == "RF98VTF000000001"
    assert sorted(Pledge.objects.values_list("reference", flat=True)) == sorted([taken, "RF98VTF000000001"])
    assert AuditEvent.objects.filter(action="pledge.submitted").count() == 2


def test_the_throttle_costs_one_redis_call(api, monkeypatch):
    if getattr(getattr(cache, "client", None), "get_client", None) is None:
        pytest.skip("the cache is not Redis here")
    api.post(URL, {}, format="json")  # the first call loads the script into a fresh Redis
    commands: list[str] = []
    send = redis.Redis.execute_command

    def counted(self, *args, **options):
        commands.append(str(args[0]).upper())
        return send(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)

    for _ in range(3):
        assert api.post(URL, {}, format="json").status_code == 400

    assert commands == ["EVALSHA"] * 3
