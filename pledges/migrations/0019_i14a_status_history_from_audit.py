"""The status history of the pledges that exist, read from the audit trail:
each audit record of a pledge or of its money whose new values name a
status different from the one before it becomes one `PledgeStatusChange`
(the first from "", or from the status its old values name), with the
record's moment, actor and reason, pointing at it.

Reversible: going back empties the history (TRUNCATE on PostgreSQL, which
the append-only trigger does not refuse). Rows written since were written
next to an audit record, so going forward again rebuilds them all.
"""

from django.db import migrations

BATCH = 2000
STATUSES = {"submitted", "announced", "confirmed", "partially_paid", "paid", "cancelled", "lapsed"}


def _status(values) -> str:
    status = values.get("status") if isinstance(values, dict) else None
    return status if status in STATUSES else ""


def forward(apps, schema_editor):
    AuditEvent = apps.get_model("pledges", "AuditEvent")
    PledgeStatusChange = apps.get_model("pledges", "PledgeStatusChange")
    events = (
        AuditEvent.objects.filter(pledge__isnull=False, object_type__in=("pledge", "payment"))
        .order_by("pledge_id", "occurred_at", "id")
        .values_list(
            "id",
            "pledge_id",
            "occurred_at",
            "actor_kind",
            "actor_user_id",
            "actor_label",
            "reason",
            "old_values",
            "new_values",
        )
    )
    rows, pledge_id, previous, since = [], None, "", None
    for event_id, event_pledge, occurred_at, kind, user_id, label, reason, old_values, new_values in events.iterator(
        BATCH
    ):
        new_status = _status(new_values)
        if event_pledge != pledge_id:
            pledge_id, previous, since = event_pledge, "", None
        if not new_status:
            continue
        old_status = previous or _status(old_values)
        previous = new_status
        if new_status == old_status:
            continue
        since, old_status_since = occurred_at, since
        rows.append(
            PledgeStatusChange(
                pledge_id=pledge_id,
                old_status=old_status,
                new_status=new_status,
                at=occurred_at,
                old_status_since=old_status_since,
                actor_kind=kind,
                actor_user_id=user_id,
                actor_label=label,
                reason=reason,
                audit_event_id=event_id,
            )
        )
        if len(rows) >= BATCH:
            PledgeStatusChange.objects.bulk_create(rows)
            rows = []
    PledgeStatusChange.objects.bulk_create(rows)


def backward(apps, schema_editor):
    PledgeStatusChange = apps.get_model("pledges", "PledgeStatusChange")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"TRUNCATE {PledgeStatusChange._meta.db_table}", params=None)
    else:
        PledgeStatusChange.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("pledges", "0018_i14a_status_history")]

    operations = [migrations.RunPython(forward, backward)]
