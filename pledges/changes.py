"""Changing a few fields of a row and auditing the change, as one step.

Services call `change_save` inside their own transaction (and after taking
the row lock), so the new values and their audit record commit or roll
back together.
"""

from typing import Any

from django.db import models

from pledges.audit import Actor, audit_record
from pledges.models import AuditEvent, Pledge


def change_save(
    obj: models.Model,
    fields: dict[str, Any],
    *,
    actor: Actor,
    action: str,
    pledge: Pledge | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Set `fields` on the row, save only those columns and append the
    audit record. The record's new values are the fields' own unless `new`
    says what to record instead (an id for a row, or more context)."""
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(fields))
    return audit_record(
        actor=actor, action=action, obj=obj, pledge=pledge, old=old, new=fields if new is None else new, reason=reason
    )
