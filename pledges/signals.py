"""Invalidate the public cache whenever something it shows changes, by any
path (services, the admin, a shell), once the change has committed.

The one change left out on purpose is a new web submission (and its new
donor): it is in no public figure until verified, so a flood of form posts
cannot churn the cache.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from pledges.models import Campaign, Donor, EventSession, ExchangeRate, Payment, Pledge, PledgeStatus
from pledges.public_cache import public_cache_invalidate

WATCHED = (Campaign, EventSession, Donor, Pledge, Payment, ExchangeRate)
# Saves that touch only these fields change nothing the public sees.
PRIVATE_FIELDS = frozenset({"acknowledged_at", "thanked_at"})


def _invalidate_after_commit(**kwargs) -> None:
    transaction.on_commit(public_cache_invalidate)


@receiver(post_save)
def public_data_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    if sender not in WATCHED:
        return
    if update_fields and frozenset(update_fields) <= PRIVATE_FIELDS:
        return
    if created and sender is Donor:
        return
    if created and sender is Pledge and instance.status == PledgeStatus.SUBMITTED:
        return
    _invalidate_after_commit()


@receiver(post_delete)
def public_data_deleted(sender, instance, **kwargs) -> None:
    if sender in WATCHED:
        _invalidate_after_commit()
