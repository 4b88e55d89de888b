"""The audit trail is append-only: the model and its queryset refuse to
change or remove a row, and on PostgreSQL so does the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import Error, connection, transaction

from pledges.audit import Actor, audit_record
from pledges.models import AuditEvent
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> AuditEvent:
    pledge = PledgeFactory()
    return audit_record(
        actor=Actor.system("test"),
        action="pledge.confirmed",
        obj=pledge,
        old={"status": "announced"},
        new={"status": "confirmed"},
        reason="Letter of 5 April 2012",
    )


def assert_unchanged(event: AuditEvent) -> None:
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.old_values, stored.new_values, stored.reason) == (
        "pledge.confirmed",
        {"status": "announced"},
        {"status": "confirmed"},
        "Letter of 5 April 2012",
    )


def test_a_new_event_can_be_written(event):
    stored = AuditEvent.objects.get(pk=event.pk)

    assert (stored.actor_kind, stored.actor_label, stored.object_type) == ("system", "test", "pledge")
    assert stored.object_id == str(event.pledge_id)


def test_saving_an_event_again_is_refused(event):
    event.reason = "rewritten"

    with pytest.raises(ValidationError, match="append-only"):
        event.save()

    assert_unchanged(event)


def test_saving_a_fetched_event_with_update_fields_is_refused(event):
    fetched = AuditEvent.objects.get(pk=event.pk)
    fetched.action = "pledge.cancelled"

    with pytest.raises(ValidationError):
        fetched.save(update_fields=["action"])

    assert_unchanged(event)


def test_deleting_an_event_is_refused(event):
    with pytest.raises(ValidationError, match="append-only"):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_updating_events_through_the_queryset_is_refused(event):
    with pytest.raises(ValidationError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(ValidationError):
        AuditEvent.objects.all().update(action="pledge.cancelled")

    assert_unchanged(event)


def test_deleting_events_through_the_queryset_is_refused(event):
    with pytest.raises(ValidationError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(ValidationError):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_bulk_update_is_refused(event):
    event.reason = "rewritten"

    # bulk_update runs in atomic(savepoint=False): its own savepoint here
    # keeps the refusal from poisoning the test's transaction.
    with pytest.raises(ValidationError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["reason"])

    assert_unchanged(event)


def test_update_or_create_of_an_existing_event_is_refused(event):
    with pytest.raises(ValidationError):
        AuditEvent.objects.update_or_create(pk=event.pk, defaults={"reason": "rewritten"})

    assert_unchanged(event)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("UPDATE pledges_auditevent SET reason = 'rewritten' WHERE id = %s", id="update"),
        pytest.param("DELETE FROM pledges_auditevent WHERE id = %s", id="delete"),
    ],
)
def test_the_database_refuses_raw_sql_that_rewrites_the_trail(postgres_only, event, sql):
    with pytest.raises(Error, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])

    assert_unchanged(event)


@pytest.mark.postgres
def test_the_database_still_accepts_new_rows(postgres_only, event):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pledges_auditevent"
            " (occurred_at, actor_kind, actor_label, action, object_type, object_id, old_values, new_values, reason)"
            " VALUES (now(), 'system', 'sql', 'note', 'pledge', '0', '{}', '{}', '')"
        )

    assert AuditEvent.objects.count() == 2
