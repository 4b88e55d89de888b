"""`Idempotency-Key` handling: the first response to a key is stored in the
same transaction as what it created, and given again for the same request.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
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


class _KeyTaken(Exception):
    """Another request with the key committed first: roll this one back."""


def idempotent(*, scope: str, key: str, fingerprint: str, run: Callable[[], tuple[int, dict]]) -> Outcome:
    """Run `run` once per (scope, key).

    `run` and the record of its response share one transaction, the record
    written last in one statement (INSERT ... ON CONFLICT DO NOTHING): a
    request whose key is new pays that one round trip. When the key is taken
    (a retry, or a concurrent request that blocks on the unique index until
    the first one's transaction ends) nothing is inserted, the transaction
    rolls back with all `run` wrote, and the committed record is replayed.
    If `run` fails, nothing is recorded and the key can be used again. The
    same key with another request (fingerprint) is refused with
    IdempotencyKeyReused. Checks on the request (`run`'s own refusals) come
    first, as without a key.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput({IDEMPOTENCY_HEADER: [f"1 to {MAX_KEY_LENGTH} printable ASCII characters."]})
    try:
        with transaction.atomic():
            status, body = run()
            if not _record_insert(scope=scope, key=key, fingerprint=fingerprint, status=status, body=body):
                raise _KeyTaken
    except _KeyTaken:
        record = IdempotencyRecord.objects.get(scope=scope, key=key)
        if record.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                f"The {IDEMPOTENCY_HEADER} {key!r} was used with a different request body; use a new key."
            ) from None
        # Stored with the record in the one INSERT, so never missing here
        # (the columns are nullable for rows of older releases only).
        assert record.response_status is not None and record.response_body is not None
        return Outcome(status=record.response_status, body=record.response_body, replayed=True)
    return Outcome(status=status, body=body, replayed=False)


def _record_insert(*, scope: str, key: str, fingerprint: str, status: int, body: dict) -> bool:
    """Store the response under the key unless the key is taken; whether it
    was stored. The ORM has no INSERT that both skips a conflict and says so,
    hence the statement, with each value prepared by its model field."""
    record = IdempotencyRecord(
        scope=scope, key=key, request_hash=fingerprint, response_status=status, response_body=body
    )
    # Concrete fields are those with a column: each with its column, named.
    fields = [
        (f, f.column) for f in IdempotencyRecord._meta.concrete_fields if not f.primary_key and f.column is not None
    ]
    quote = connection.ops.quote_name
    table, columns = quote(IdempotencyRecord._meta.db_table), ", ".join(quote(column) for _, column in fields)
    values = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT (scope, key) DO NOTHING"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(f.pre_save(record, add=True), connection) for f, _ in fields])
        return cursor.rowcount == 1


def idempotency_records_purge(*, now=None) -> int:
    """Forget keys older than IDEMPOTENCY_KEY_TTL_HOURS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
