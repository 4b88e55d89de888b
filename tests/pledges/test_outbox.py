"""The transactional outbox: what a change queues is a row of that change,
sent after commit, and sent later by beat's sweep when the broker was away."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from backend.celery import app
from pledges import outbox
from pledges.models import Pledge
from pledges.outbox import OutboxMessage, outbox_enqueue, outbox_relay
from tests.conftest import pledge_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the code does after commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


ACKNOWLEDGE = "pledges.tasks.pledge_acknowledge"


@pytest.fixture
def broker_away():
    """Celery sends to a real broker address where nothing listens (a spare
    port), as when Redis is down; tasks are not run in-process meanwhile."""
    dead = "redis://127.0.0.1:6519/0"
    saved = app.conf.broker_url
    app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False, broker_url=dead, CELERY_BROKER_URL=dead)
    app._pool = None
    app.amqp._producer_pool = None
    yield
    outbox._broker_down_until = 0.0
    app.conf.update(task_always_eager=True, CELERY_TASK_ALWAYS_EAGER=True, broker_url=saved, CELERY_BROKER_URL=saved)
    app._pool = None
    app.amqp._producer_pool = None


def test_a_submitted_pledge_queues_its_acknowledgement_once_and_it_is_sent_after_commit(api, committed):
    with committed():
        response = api.post("/api/v1/pledges/", pledge_body(), format="json")

    assert response.status_code == 201
    pledge = Pledge.objects.get(reference=response.json()["reference"])
    message = OutboxMessage.objects.get()
    assert (message.task, message.args) == (ACKNOWLEDGE, [pledge.pk])
    assert message.sent_at is not None and message.done_at is not None
    assert message.attempts == 1
    assert len(mail.outbox) == 1


def test_a_change_that_rolls_back_queues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(ACKNOWLEDGE, 1)
        raise RuntimeError("the change failed")

    assert not OutboxMessage.objects.exists()
    assert len(mail.outbox) == 0


def test_with_the_broker_away_the_pledge_is_taken_and_the_sweep_sends_its_acknowledgement_later(
    api, broker_away, committed
):
    with committed():
        response = api.post("/api/v1/pledges/", pledge_body(), format="json")

    assert response.status_code == 201
    message = OutboxMessage.objects.get()
    assert message.sent_at is None
    assert message.last_error
    assert len(mail.outbox) == 0

    app.conf.update(task_always_eager=True, CELERY_TASK_ALWAYS_EAGER=True)  # the broker is back
    with committed():
        assert outbox_relay(older_than_seconds=0) == 1
    assert outbox_relay(older_than_seconds=0) == 0  # sent once, not again

    message.refresh_from_db()
    assert message.sent_at is not None and message.done_at is not None
    assert len(mail.outbox) == 1


def test_the_sweep_leaves_a_fresh_unsent_message_to_the_after_commit_relay(settings):
    settings.OUTBOX_RELAY_AFTER_SECONDS = 30
    OutboxMessage.objects.create(task=ACKNOWLEDGE, args=[1])

    assert outbox_relay() == 0


def test_a_message_sent_long_ago_whose_task_never_finished_is_sent_again(api, settings, committed):
    with committed():
        response = api.post("/api/v1/pledges/", pledge_body(), format="json")
    assert response.status_code == 201
    message = OutboxMessage.objects.get()
    # As if the broker had lost it (a Redis restarted empty) before any worker ran it.
    long_ago = timezone.now() - timedelta(seconds=settings.OUTBOX_RESEND_AFTER_SECONDS + 1)
    OutboxMessage.objects.filter(pk=message.pk).update(done_at=None, sent_at=long_ago)
    Pledge.objects.update(acknowledged_at=None)
    mail.outbox.clear()

    assert outbox_relay() == 1

    message.refresh_from_db()
    assert message.done_at is not None and message.attempts == 2
    assert len(mail.outbox) == 1
