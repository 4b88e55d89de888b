"""Many messages of one task queued at once (the thanks for a matched
statement batch): one row each, all relayed after commit in one go."""

import pytest
from django.db import transaction

from backend.celery import app
from pledges.outbox import OutboxMessage, outbox_enqueue_many

pytestmark = pytest.mark.django_db

THANK = "pledges.tasks.payment_thank"


@pytest.fixture
def broker_in_memory():
    """Tasks published to Celery's in-memory transport, not run in-process."""
    saved = app.conf.broker_url
    app.conf.update(task_always_eager=False, broker_url="memory://localhost/")
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.update(task_always_eager=True, broker_url=saved)
    app._pool = None
    app.amqp._producer_pool = None


def test_messages_queued_together_are_sent_together_after_commit(broker_in_memory, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outbox_enqueue_many(THANK, [(11,), (12,), (13,)])
        assert not OutboxMessage.objects.filter(sent_at__isnull=False).exists()

    messages = OutboxMessage.objects.order_by("pk")
    assert [(m.task, m.args) for m in messages] == [(THANK, [11]), (THANK, [12]), (THANK, [13])]
    assert all(m.sent_at is not None and m.attempts == 1 for m in messages)


def test_messages_queued_together_by_a_change_that_rolls_back_are_never_written():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue_many(THANK, [(11,), (12,)])
        raise RuntimeError("the change failed")

    assert not OutboxMessage.objects.exists()
