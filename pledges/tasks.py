"""Thin Celery wrappers: take ids, call a service.

Imports go one way: this module imports services, and services queue these
tasks by name (`pledges.outbox.task_enqueue`), never by importing them.
"""

from celery import shared_task

from backend.celery import DATABASE_ERRORS
from pledges import idempotency, outbox, services
from pledges.audit import Actor
from pledges.errors import StripeUnavailable
from pledges.models import BankStatement, Pledge
from pledges.payments import card
from pledges.reconciliation import imports, reminders
from pledges.reconciliation import services as reconciliation


@shared_task(autoretry_for=(OSError, *DATABASE_ERRORS), retry_backoff=30, retry_backoff_max=1200, max_retries=8)
def pledge_acknowledge(pledge_id: int) -> bool:
    return services.pledge_acknowledge_send(pledge_id=pledge_id)


@shared_task(autoretry_for=(OSError, *DATABASE_ERRORS), retry_backoff=30, retry_backoff_max=1200, max_retries=8)
def payment_thank(payment_id: int) -> bool:
    return services.payment_thank_send(payment_id=payment_id)


@shared_task
def idempotency_records_purge() -> int:
    return idempotency.idempotency_records_purge()


# Stripe may be briefly unreachable: retry with backoff, capped; the
# reconciliation job picks up whatever still failed after that.
@shared_task(
    autoretry_for=(StripeUnavailable, *DATABASE_ERRORS),
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def stripe_event_apply(event_pk: int) -> str:
    return card.stripe_event_apply(event_pk=event_pk)


@shared_task(
    autoretry_for=(StripeUnavailable, *DATABASE_ERRORS), retry_backoff=10, retry_backoff_max=600, max_retries=6
)
def card_payment_intents_cancel(pledge_id: int) -> list[str]:
    pledge = Pledge.objects.get(pk=pledge_id)
    if not pledge.card_payment_intents.exists():
        return []
    return card.card_payment_intents_cancel(pledge=pledge, actor=Actor.task("card_payment_intents_cancel"))


@shared_task
def stripe_reconcile() -> dict:
    return card.stripe_reconcile().report


@shared_task(acks_late=True)
def statement_match(statement_pk: int) -> dict:
    return reconciliation.statement_match(statement=BankStatement.objects.get(pk=statement_pk))


# Beat runs it daily; a second run (or a second worker) sends nothing twice.
@shared_task
def reminders_send() -> dict:
    return reminders.reminders_send()


# Statement imports too large for a request: a run taken again after a crash
# or a database error starts the job over (whole or nothing).
@shared_task(acks_late=True, autoretry_for=DATABASE_ERRORS, retry_backoff=10, retry_backoff_max=600, max_retries=6)
def statement_import_run(import_pk: int) -> str:
    return imports.statement_import_run(job_pk=import_pk)


# Beat's outbox sweep: sends what the after-commit relay could not.
@shared_task
def outbox_relay() -> int:
    return outbox.outbox_relay()


@shared_task
def outbox_purge() -> int:
    return outbox.outbox_purge()
