"""Donor records: merging duplicates, erasing a person's contact details.

Contact details never enter the audit trail (only which fields changed),
so that erasing them leaves no copy behind.
"""

from django.db import transaction
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.changes import change_save
from pledges.errors import InvalidInput, TransitionNotAllowed
from pledges.models import Donor, DonorType, Pledge, ReminderStep

CONTACT_FIELDS = ("email", "contact_name", "phone")


def donor_merge(*, keep: Donor, duplicates: list[Donor], actor: Actor, reason: str = "") -> Donor:
    """Move the duplicates' pledges to the kept donor and mark each
    duplicate as merged into it; every moved pledge and merged donor is
    audited. Contact details missing on the kept donor are taken from the
    duplicates. Raises InvalidInput for a donor merged into itself or an
    already merged one."""
    ids = [d.pk for d in duplicates]
    if not ids:
        raise InvalidInput({"duplicates": ["Name at least one duplicate donor."]})
    if keep.pk in ids:
        raise InvalidInput({"duplicates": ["A donor cannot be merged into itself."]})
    with transaction.atomic():
        # Lock in id order so two merges touching the same donors cannot deadlock.
        locked = {d.pk: d for d in Donor.objects.select_for_update().filter(pk__in=[keep.pk, *ids]).order_by("pk")}
        keep = locked[keep.pk]
        if keep.merged_into_id is not None:
            raise TransitionNotAllowed("The donor to keep was itself merged into another.")
        for donor_id in ids:
            duplicate = locked[donor_id]
            if duplicate.merged_into_id is not None:
                raise TransitionNotAllowed(f"Donor {donor_id} is already merged into donor {duplicate.merged_into_id}.")
            for pledge in Pledge.objects.select_for_update().filter(donor=duplicate):
                change_save(
                    pledge,
                    {"donor": keep, "updated_at": timezone.now()},
                    actor=actor,
                    action="pledge.donor.changed",
                    old={"donor_id": duplicate.pk},
                    new={"donor_id": keep.pk},
                    reason=reason or "duplicate donors merged",
                )
            filled = [name for name in CONTACT_FIELDS if not getattr(keep, name) and getattr(duplicate, name)]
            for name in filled:
                setattr(keep, name, getattr(duplicate, name))
            change_save(
                duplicate,
                {"merged_into": keep},
                actor=actor,
                action="donor.merged",
                old={"merged_into": None},
                new={"merged_into": keep.pk, "contact_fields_taken": filled},
                reason=reason,
            )
        keep.save()
    return keep


def donor_erase(*, donor: Donor, actor: Actor, reason: str) -> Donor:
    """Erase a person's contact details on request, keeping the financial
    record. An individual's name is personal data too: it becomes a
    pseudonym, and their pledges stop showing it. Already erased: returns
    quietly."""
    if not reason.strip():
        raise InvalidInput({"reason": ["Say on whose request and why the details are erased."]})
    with transaction.atomic():
        donor = Donor.objects.select_for_update().get(pk=donor.pk)
        if donor.erased_at is not None:
            return donor
        erased = [name for name in CONTACT_FIELDS if getattr(donor, name)]
        for name in CONTACT_FIELDS:
            setattr(donor, name, "")
        if donor.donor_type == DonorType.INDIVIDUAL:
            donor.name = f"Donor {donor.pk}"
            erased.append("name")
            Pledge.objects.filter(donor=donor).update(public_name=False, updated_at=timezone.now())
        donor.erased_at = timezone.now()
        donor.save()
        # The reminder history keeps where each reminder went: not any more.
        ReminderStep.objects.filter(pledge__donor=donor).update(recipient="")
        audit_record(
            actor=actor,
            action="donor.erased",
            obj=donor,
            old={"fields": erased},
            new={"erased_at": donor.erased_at},
            reason=reason,
        )
    return donor
