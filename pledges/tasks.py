"""Thin Celery wrappers: take ids, call a service."""

from celery import shared_task

from pledges import idempotency, services
from pledges.payments import card
from pledges.payments.stripe import StripeUnavailable


@shared_task(autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def pledge_acknowledge(pledge_id: int) -> bool:
    return services.pledge_acknowledge_send(pledge_id=pledge_id)


@shared_task
def idempotency_records_purge() -> int:
    return idempotency.idempotency_records_purge()


# Stripe may be briefly unreachable: retry with backoff, capped; the
# reconciliation job picks up whatever still failed after that.
@shared_task(
    autoretry_for=(StripeUnavailable,), retry_backoff=10, retry_backoff_max=600, retry_jitter=True, max_retries=6
)
def stripe_event_apply(event_pk: int) -> str:
    return card.stripe_event_apply(event_pk=event_pk)


@shared_task
def stripe_reconcile() -> dict:
    return card.stripe_reconcile().report
