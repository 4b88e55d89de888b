"""The transactional outbox: every task a change queues is first a row.

A change that must be followed by background work (an acknowledgement, a
Stripe event to apply, a statement to match, a report to build) writes an
`OutboxMessage` in its own transaction. Only when that commits is the
message relayed to Celery. The row is written already marked sent (the
after-commit publish is its one attempt), so that the request pays one
INSERT and one broker call and no second transaction; a publish that fails
marks it unsent again, and beat's `outbox_relay` sends it later. A process
that dies between the commit and the publish leaves a message marked sent
that never was: the sweep sends it again as lost, after
OUTBOX_RESEND_AFTER_SECONDS. So nothing a committed change queued is lost,
and nothing a rolled-back change queued is ever sent.

A message may be delivered twice (a relay that dies after sending and before
marking); every task is idempotent, which the tasks' docstrings state.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# After a failed send, requests leave their messages to beat's sweep for this
# long rather than each waiting on a broker that is away.
BROKER_RETRY_AFTER_SECONDS = 10.0
_broker_down_until = 0.0


class OutboxMessage(models.Model):
    """One task to send to Celery once the transaction that wrote it commits."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When its task finished for good; a message sent long ago and never
    # done was lost with the broker (a Redis restarted empty) and is re-sent.
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        app_label = "pledges"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["created_at"], name="outbox_undone_idx", condition=models.Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        state = "done" if self.done_at else "sent" if self.sent_at else "unsent"
        return f"{self.task}{tuple(self.args)} {state}"


def outbox_enqueue(task_name: str, *args) -> OutboxMessage:
    """Queue `task_name(*args)` with the current transaction.

    The row is written now, in the caller's transaction; the relay runs after
    that transaction commits (at once outside one). Call sites use the task's
    `delay_durable(*args)`, which calls this.
    """
    if _is_eager() or time.monotonic() < _broker_down_until:
        # Run in this process (eager), or left to the sweep while the broker is away.
        message = OutboxMessage.objects.create(task=task_name, args=list(args))
        transaction.on_commit(lambda: _relay_after_commit(message.pk), robust=True)
    else:
        message = OutboxMessage.objects.create(task=task_name, args=list(args), sent_at=timezone.now(), attempts=1)
        transaction.on_commit(lambda: _publish_after_commit(message), robust=True)
    return message


def task_enqueue(task_name: str, *args) -> OutboxMessage:
    """Queue the Celery task registered as `task_name` (its full name,
    "pledges.tasks.pledge_acknowledge") with the current transaction, through
    the outbox as `outbox_enqueue` does.

    Services queue their follow-up work by name, so that they never import a
    task module: only `tasks.py` imports services, never the other way round.
    A name no task has is refused here, at the call, not later at the relay.
    """
    task_registered(task_name)
    return outbox_enqueue(task_name, *args)


def task_registered(task_name: str):
    """The task registered as `task_name`. A web process imports no task
    module of its own accord (a worker imports them all at start): the first
    time a name is missing, every installed app's `tasks.py` is imported
    (Celery's autodiscovery). The relay finds its tasks here too, so a message
    queued by name is sent from any process. LookupError when there is still
    no such task."""
    from celery import current_app

    if task_name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    try:
        return current_app.tasks[task_name]
    except KeyError:
        raise LookupError(f"No Celery task is registered as {task_name!r}") from None


def _relay_after_commit(message_pk: int) -> None:
    if _is_eager() or time.monotonic() >= _broker_down_until:
        outbox_relay_one(message_pk)


def _publish_after_commit(message: OutboxMessage) -> None:
    """Send a message written as sent; if the broker refuses it, mark it
    unsent (with the error) for the sweep. No lock is needed: the sweep
    leaves messages marked sent alone until they are long overdue."""
    global _broker_down_until

    try:
        task_registered(message.task).apply_async(args=message.args, task_id=f"outbox-{message.pk}")
    except Exception as error:
        _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
        OutboxMessage.objects.filter(pk=message.pk, done_at__isnull=True).update(
            sent_at=None, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        logger.warning("outbox.send_failed", extra={"task": message.task, "outbox_id": message.pk})


def outbox_relay_one(message_pk: int, *, resend: bool = False) -> bool:
    """Send one message and mark it sent, under its row lock so the beat
    sweep and this relay never both send it. False when it could not be sent
    now (it stays for the sweep) or was already sent (unless `resend`: the
    sweep re-sending a message whose task never finished)."""
    global _broker_down_until

    if _is_eager():
        return _run_in_process(message_pk, resend=resend)
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_pk).first()
        if message is None or message.done_at is not None or (message.sent_at is not None and not resend):
            return False
        message.attempts += 1
        try:
            task_registered(message.task).apply_async(args=message.args, task_id=f"outbox-{message.pk}")
        except Exception as error:
            _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            message.save(update_fields=["attempts", "last_error"])
            logger.warning("outbox.send_failed", extra={"task": message.task, "outbox_id": message.pk})
            return False
        message.sent_at = timezone.now()
        message.save(update_fields=["attempts", "last_error", "sent_at"])
    return True


def _run_in_process(message_pk: int, *, resend: bool) -> bool:
    """Eager mode (tests, the embedded local mode): mark the message sent
    under its lock, then run the task here, outside that transaction, so
    that what a failing task records about its failure (a Stripe event's
    attempts and reason) is not rolled back with it. A failure counts as
    delivered: the task's own retries and repair jobs take it from there,
    as with a worker."""

    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_pk).first()
        if message is None or message.done_at is not None or (message.sent_at is not None and not resend):
            return False
        message.attempts += 1
        message.sent_at = timezone.now()
        message.save(update_fields=["attempts", "sent_at"])
    try:
        task_registered(message.task).apply_async(args=message.args, task_id=f"outbox-{message.pk}")
    except Exception as error:
        logger.exception("outbox.eager_task_failed", extra={"task": message.task, "outbox_id": message.pk})
        OutboxMessage.objects.filter(pk=message.pk).update(last_error=f"{type(error).__name__}: {error}"[:2000])
    return True


def outbox_relay(*, older_than_seconds: int | None = None, batch: int = 500) -> int:
    """Beat's sweep: send every message still unsent a little after it was
    written (the after-commit relay normally sends it at once), and again
    every message sent so long ago that its task must have been lost with
    the broker (longer than the broker's visibility timeout plus the longest
    retry wait). Returns how many were sent."""
    now = timezone.now()
    age = settings.OUTBOX_RELAY_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    unsent = OutboxMessage.objects.filter(
        done_at__isnull=True, sent_at__isnull=True, created_at__lte=now - timedelta(seconds=age)
    )
    lost = OutboxMessage.objects.filter(
        done_at__isnull=True, sent_at__lte=now - timedelta(seconds=settings.OUTBOX_RESEND_AFTER_SECONDS)
    )
    sent = sum(outbox_relay_one(pk) for pk in unsent.order_by("id").values_list("pk", flat=True)[:batch])
    sent += sum(outbox_relay_one(pk, resend=True) for pk in lost.order_by("id").values_list("pk", flat=True)[:batch])
    return sent


def outbox_mark_done(message_pk: int) -> None:
    OutboxMessage.objects.filter(pk=message_pk, done_at__isnull=True).update(done_at=timezone.now())


def outbox_purge(*, days: int = 30) -> int:
    """Messages done more than `days` ago go; the others are kept whatever their age."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = OutboxMessage.objects.filter(done_at__lt=cutoff).delete()
    return deleted


def _is_eager() -> bool:
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def outbox_enqueue_many(task_name: str, args_list: list[tuple]) -> list[OutboxMessage]:
    """`outbox_enqueue` for many messages of one task (a batch of payments
    to thank for): one INSERT now, and after commit one relay that sends
    them all in one transaction."""
    messages = OutboxMessage.objects.bulk_create(OutboxMessage(task=task_name, args=list(args)) for args in args_list)
    pks = [message.pk for message in messages]
    transaction.on_commit(lambda: _relay_many_after_commit(pks), robust=True)
    return messages


def _relay_many_after_commit(message_pks: list[int]) -> None:
    if _is_eager():
        for pk in message_pks:
            outbox_relay_one(pk)
    elif time.monotonic() >= _broker_down_until:
        outbox_relay_many(message_pks)


def outbox_relay_many(message_pks: list[int]) -> int:
    """`outbox_relay_one` for many messages, under their row locks in one
    transaction; a failed send leaves that message and the rest for the
    sweep. Returns how many were sent."""
    global _broker_down_until

    with transaction.atomic():
        messages = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk__in=message_pks, done_at__isnull=True, sent_at__isnull=True)
            .order_by("pk")
        )
        sent = []
        for message in messages:
            try:
                task_registered(message.task).apply_async(args=message.args, task_id=f"outbox-{message.pk}")
            except Exception as error:
                _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
                message.attempts += 1
                message.last_error = f"{type(error).__name__}: {error}"[:2000]
                message.save(update_fields=["attempts", "last_error"])
                logger.warning("outbox.send_failed", extra={"task": message.task, "outbox_id": message.pk})
                break
            sent.append(message.pk)
        OutboxMessage.objects.filter(pk__in=sent).update(attempts=models.F("attempts") + 1, sent_at=timezone.now())
    return len(sent)
