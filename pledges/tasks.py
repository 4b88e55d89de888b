"""Thin Celery wrappers: take ids, call a service."""

from celery import shared_task

from pledges import idempotency, services


@shared_task(autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def pledge_acknowledge(pledge_id: int) -> bool:
    return services.pledge_acknowledge_send(pledge_id=pledge_id)


@shared_task
def idempotency_records_purge() -> int:
    return idempotency.idempotency_records_purge()
