"""What staff change for the board: which session is under way."""

from django.db import transaction
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import InvalidInput
from pledges.models import Campaign, EventSession


def campaign_session_under_way_set(*, campaign: Campaign, session: EventSession | None, actor: Actor) -> Campaign:
    """Say which session of the campaign is under way now (None: none is).

    The campaign row is locked, so two staff marking different sessions at
    once leave one of them under way, each change audited in order. Marking
    the session already under way changes nothing and records nothing.
    Raises InvalidInput when the session belongs to another campaign. The
    public documents are refreshed by the post_save signal after commit.
    """
    if session is not None and session.event.campaign_id != campaign.pk:
        raise InvalidInput({"session": [f"{session} is not a session of {campaign.slug}."]})
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        new_id = session.pk if session is not None else None
        if locked.session_under_way_id == new_id:
            return locked
        old = {"session_under_way": locked.session_under_way_id, "since": locked.session_under_way_since}
        locked.session_under_way_id = new_id
        locked.session_under_way_since = timezone.now() if session is not None else None
        locked.save(update_fields=["session_under_way", "session_under_way_since"])
        audit_record(
            actor=actor,
            action="campaign.session_under_way.changed",
            obj=locked,
            old=old,
            new={"session_under_way": new_id, "since": locked.session_under_way_since},
        )
    return locked
