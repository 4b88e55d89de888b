"""Celery tasks, run by a real worker on the Redis broker where Redis is
reachable, and directly otherwise."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken

from backend.celery import app
from pledges import tasks
from pledges.models import AuditEvent, IdempotencyRecord, Pledge
from tests.conftest import pledge_body
from tests.helpers import wait_for


@pytest.fixture
def celery_worker_on_redis(transactional_db):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis as the Celery broker")
    from celery.contrib.testing.worker import start_worker

    # Celery reads the Django setting's name before its own: switch both.
    app.conf.CELERY_TASK_ALWAYS_EAGER = app.conf.task_always_eager = False
    app.conf.broker_url = settings.REDIS_URL
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.CELERY_TASK_ALWAYS_EAGER = app.conf.task_always_eager = True


def test_a_worker_on_redis_emails_the_donor_after_the_pledge_commits(celery_worker_on_redis, api):
    reference = api.post("/api/v1/pledges/", pledge_body(), format="json").json()["reference"]

    assert wait_for(lambda: Pledge.objects.get(reference=reference).acknowledged_at is not None, seconds=15)
    assert [m.to for m in mail.outbox] == [["mission@example.org"]]
    assert AuditEvent.objects.filter(action="pledge.acknowledgement.sent", pledge__reference=reference).count() == 1


@pytest.mark.django_db
def test_the_acknowledgement_is_sent_once_even_when_the_task_runs_twice(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reference = api.post("/api/v1/pledges/", pledge_body(), format="json").json()["reference"]
    pledge = Pledge.objects.get(reference=reference)

    assert tasks.pledge_acknowledge(pledge.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_old_idempotency_keys_are_forgotten_and_recent_ones_kept(api):
    api.post("/api/v1/pledges/", pledge_body(), format="json", headers={"Idempotency-Key": "old"})
    api.post("/api/v1/pledges/", pledge_body(), format="json", headers={"Idempotency-Key": "new"})
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1)
    )

    assert tasks.idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_the_staff_user_command_creates_a_user_with_a_role_and_prints_a_token(capsys):
    call_command("staff_user_create", "ana", "--role", "reconciler")

    output = capsys.readouterr().out
    printed = output.split("token: ")[1].split()[0]
    token = AuthToken.objects.get(user__username="ana")
    assert token.token_key == printed[:15]
    assert printed not in token.digest  # only a digest of it is stored
    assert "password: " in output
    assert list(token.user.groups.values_list("name", flat=True)) == ["reconciler"]


@pytest.mark.django_db
def test_the_staff_user_command_changes_a_role_instead_of_adding_one(capsys):
    call_command("staff_user_create", "ana", "--role", "viewer")
    call_command("staff_user_create", "ana", "--role", "fund_admin")

    user = AuthToken.objects.filter(user__username="ana").first().user
    assert list(user.groups.values_list("name", flat=True)) == ["fund_admin"]
