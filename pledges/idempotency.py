"""`Idempotency-Key` handling: the first response to a key is stored in the
same transaction as what it created, and given again for the same request.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pledges.errors import IdempotencyKeyReused, InvalidInput
from pledges.models import IdempotencyRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool


def idempotent(*, scope: str, key: str, fingerprint: str, run: Callable[[], tuple[int, dict]]) -> Outcome:
    """Run `run` once per (scope, key).

    The record is inserted before `run` and in the same transaction: a
    concurrent request with the same key blocks on the unique index until
    this transaction ends, then finds the committed record and replays it;
    if `run` fails, the record rolls back with everything else and the key
    can be used again. The same key with another request (fingerprint) is
    refused with IdempotencyKeyReused.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput({IDEMPOTENCY_HEADER: [f"1 to {MAX_KEY_LENGTH} printable ASCII characters."]})
    with transaction.atomic():
        record, created = IdempotencyRecord.objects.get_or_create(
            scope=scope, key=key, defaults={"request_hash": fingerprint}
        )
        if not created:
            if record.request_hash != fingerprint:
                raise IdempotencyKeyReused(
                    f"The {IDEMPOTENCY_HEADER} {key!r} was used with a different request body; use a new key."
                )
            return Outcome(status=record.response_status, body=record.response_body, replayed=True)
        status, body = run()
        record.response_status = status
        record.response_body = body
        record.save(update_fields=["response_status", "response_body"])
    return Outcome(status=status, body=body, replayed=False)


def idempotency_records_purge(*, now=None) -> int:
    """Forget keys older than IDEMPOTENCY_KEY_TTL_HOURS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
