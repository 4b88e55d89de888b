"""Who did what: the actor of a change and the append-only audit record."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from pledges.models import ActorKind, AuditEvent, Pledge


@dataclass(frozen=True)
class Actor:
    kind: str
    user: User | None = None
    label: str = ""

    @property
    def user_to_store(self) -> User | None:
        """The user to record as the one who did it: a signed-in user, else
        none (a donor, a task, a webhook)."""
        user = self.user
        return user if user is not None and user.is_authenticated else None

    @classmethod
    def staff(cls, user: User | AnonymousUser | None) -> "Actor":
        # Staff views let only signed-in staff through; a request's user is
        # typed as possibly anonymous all the same, and is then kept as none.
        return cls(
            kind=ActorKind.STAFF,
            user=user if isinstance(user, User) else None,
            label=user.get_username() if user is not None else "",
        )

    @classmethod
    def donor(cls, label: str = "web form") -> "Actor":
        return cls(kind=ActorKind.DONOR, label=label)

    @classmethod
    def task(cls, name: str) -> "Actor":
        return cls(kind=ActorKind.TASK, label=name)

    @classmethod
    def webhook(cls, label: str) -> "Actor":
        return cls(kind=ActorKind.WEBHOOK, label=label)

    @classmethod
    def system(cls, label: str) -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)


def audit_event(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    pledge_id: int | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """The audit row of a change, not stored yet: `audit_record` stores one;
    statement matching stores a batch of them at once."""
    return AuditEvent(
        actor_kind=actor.kind,
        actor_user=actor.user_to_store,
        actor_label=actor.label[:200],
        action=action,
        object_type=obj._meta.model_name or "",
        object_id="" if obj.pk is None else str(obj.pk),
        pledge_id=pledge_id,
        old_values=old or {},
        new_values=new or {},
        reason=reason,
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    pledge: Pledge | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one audit row. Call it inside the transaction that makes the
    change, so the change and its record commit or roll back together."""
    if pledge is None and isinstance(obj, Pledge):
        pledge = obj
    event = audit_event(actor=actor, action=action, obj=obj, old=old, new=new, reason=reason)
    event.pledge = pledge
    event.save(force_insert=True)
    return event
