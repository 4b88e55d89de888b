"""What staff enter for IATI: a donor's organisation identifier."""

import re

from django.db import transaction

from pledges.audit import Actor
from pledges.changes import change_save
from pledges.errors import InvalidInput
from pledges.models import Donor

# An IATI organisation identifier is an agency prefix from the
# Organisation Registration Agency codelist ("XM-DAC", "GB-COH", "US-EIN")
# and the organisation's number there, joined by a hyphen; the Standard
# forbids spaces and the characters / & | ? in identifiers.
IATI_ORG_REF = re.compile(r"[A-Z]{2}-[A-Z0-9]{2,}-[^\s/&|?]+")


def iati_org_ref_errors(value: str) -> list[str]:
    """Why `value` is not an IATI organisation identifier; [] when it is
    one or is empty (no identifier)."""
    if not value or IATI_ORG_REF.fullmatch(value):
        return []
    return [
        "An IATI organisation identifier is an agency prefix and the organisation's number, such as "
        '"XM-DAC-5-7" or "GB-GOV-1": capital letters and digits, no spaces and none of / & | ?.'
    ]


def donor_iati_org_ref_set(*, donor: Donor, value: str, actor: Actor) -> Donor:
    """Set (or clear, with "") the donor's IATI organisation identifier,
    exactly as typed. Raises InvalidInput when it is not one; the donor row
    is locked and the change audited; the same value again records nothing."""
    errors = iati_org_ref_errors(value)
    if errors:
        raise InvalidInput({"iati_org_ref": errors})
    with transaction.atomic():
        locked = Donor.objects.select_for_update().get(pk=donor.pk)
        if locked.iati_org_ref == value:
            return locked
        change_save(
            locked,
            {"iati_org_ref": value},
            actor=actor,
            action="donor.iati_org_ref.changed",
            old={"iati_org_ref": locked.iati_org_ref},
        )
    return locked
