"""A pledge's status changes in one place: every pair of statuses is either
an allowed transition, which writes one history row next to one audit
record, or a refusal with a stable code that changes nothing. The history
is append-only, begins at creation, follows the money, and is filled from
the audit trail for pledges that existed before it."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import Error, connection, transaction
from django.utils import timezone

from pledges import migration_data
from pledges.audit import Actor, audit_record
from pledges.errors import TransitionNotAllowed
from pledges.models import PLEDGE_TRANSITIONS, AuditEvent, Payment, Pledge, PledgeStatus, PledgeStatusChange
from pledges.payments.services import PaymentDetails, payment_record, payment_reverse
from pledges.services import PledgeTerms, pledge_confirm, pledge_record_announced
from pledges.status import pledge_status_change, status_history_implied
from tests.factories import CampaignFactory, DonorFactory, PledgeFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")
PAIRS = list(itertools.product(PledgeStatus.values, PledgeStatus.values))
ALLOWED = [(old, new) for old, new in PAIRS if new in PLEDGE_TRANSITIONS[old]]
REFUSED = [(old, new) for old, new in PAIRS if old != new and new not in PLEDGE_TRANSITIONS[old]]


def test_the_table_names_every_status():
    assert set(PLEDGE_TRANSITIONS) == set(PledgeStatus.values)
    assert ALLOWED and REFUSED and len(ALLOWED) + len(REFUSED) + len(PledgeStatus.values) == len(PAIRS)


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_an_allowed_transition_writes_one_history_row_and_one_audit_record(old, new):
    pledge = PledgeFactory(status=old)

    with transaction.atomic():
        change = pledge_status_change(pledge, new, actor=ACTOR, reason="Letter of 5 April 2012")

    pledge.refresh_from_db()
    assert pledge.status == new
    row = PledgeStatusChange.objects.get(pledge=pledge)
    assert row == change
    assert (row.old_status, row.new_status, row.actor_kind, row.actor_label, row.reason) == (
        old,
        new,
        "system",
        "test",
        "Letter of 5 April 2012",
    )
    event = AuditEvent.objects.get(pledge=pledge)
    assert row.audit_event == event
    assert (event.old_values, event.new_values["status"]) == ({"status": old}, new)


@pytest.mark.parametrize(("old", "new"), REFUSED)
def test_a_refused_transition_raises_its_stable_code_and_changes_nothing(old, new):
    pledge = PledgeFactory(status=old)
    updated_at = Pledge.objects.get(pk=pledge.pk).updated_at

    with pytest.raises(TransitionNotAllowed) as refusal, transaction.atomic():
        pledge_status_change(pledge, new, actor=ACTOR, reason="no")

    assert refusal.value.code == "transition-not-allowed"
    stored = Pledge.objects.get(pk=pledge.pk)
    assert (stored.status, stored.updated_at) == (old, updated_at)
    assert not PledgeStatusChange.objects.filter(pledge=pledge).exists()
    assert not AuditEvent.objects.filter(pledge=pledge).exists()


@pytest.mark.parametrize("status", PledgeStatus.values)
def test_the_same_status_again_writes_no_history_row(status):
    pledge = PledgeFactory(status=status)

    with transaction.atomic():
        assert pledge_status_change(pledge, status, actor=ACTOR) is None

    assert Pledge.objects.get(pk=pledge.pk).status == status
    assert not PledgeStatusChange.objects.filter(pledge=pledge).exists()


def announced(amount: str = "1000.00") -> Pledge:
    campaign = CampaignFactory()
    return pledge_record_announced(
        donor=DonorFactory(),
        terms=PledgeTerms(amount=Decimal(amount), currency="USD"),
        campaign=campaign,
        session=None,
        actor=ACTOR,
    )


def history(pledge: Pledge) -> list[tuple[str, str, str]]:
    return [
        (row.old_status, row.new_status, row.audit_event.action)
        for row in PledgeStatusChange.objects.filter(pledge=pledge).select_related("audit_event")
    ]


def bank_transfer(amount: str, reference: str) -> PaymentDetails:
    return PaymentDetails(
        amount=Decimal(amount),
        currency="USD",
        received_on=timezone.localdate(),
        method="bank_transfer",
        bank_reference=reference,
    )


def test_the_history_begins_at_creation_and_follows_confirmation_and_money(reconciler):
    pledge = announced()
    staff = Actor.staff(reconciler)

    pledge_confirm(pledge=pledge, actor=staff)
    half = payment_record(pledge=pledge, details=bank_transfer("500.00", "T-1"), actor=staff)
    payment_record(pledge=pledge, details=bank_transfer("500.00", "T-2"), actor=staff)
    payment_record(pledge=pledge, details=bank_transfer("10.00", "T-3"), actor=staff)  # over-paid: still paid
    payment_reverse(payment=half, actor=staff, reason="Posted twice")

    assert history(pledge) == [
        ("", "announced", "pledge.announced"),
        ("announced", "confirmed", "pledge.confirmed"),
        ("confirmed", "partially_paid", "pledge.payment.recorded"),
        ("partially_paid", "paid", "pledge.payment.recorded"),
        ("paid", "partially_paid", "pledge.payment.reversed"),
    ]
    rows = list(PledgeStatusChange.objects.filter(pledge=pledge))
    assert rows[0].at == Pledge.objects.get(pk=pledge.pk).created_at
    assert [row.old_status_since for row in rows] == [None, *(row.at for row in rows[:-1])]
    last = PledgeStatusChange.objects.filter(pledge=pledge).last()
    assert (last.actor_kind, last.actor_user, last.reason) == ("staff", reconciler, "Posted twice")


@pytest.fixture
def change() -> PledgeStatusChange:
    pledge = PledgeFactory(status=PledgeStatus.ANNOUNCED)
    with transaction.atomic():
        return pledge_status_change(pledge, PledgeStatus.CONFIRMED, actor=ACTOR)


def test_the_model_refuses_to_change_or_remove_a_row(change):
    change.new_status = PledgeStatus.PAID
    with pytest.raises(ValidationError, match="append-only"):
        change.save()
    with pytest.raises(ValidationError, match="append-only"):
        change.delete()
    with pytest.raises(ValidationError, match="append-only"):
        PledgeStatusChange.objects.filter(pk=change.pk).update(new_status=PledgeStatus.PAID)
    with pytest.raises(ValidationError, match="append-only"):
        PledgeStatusChange.objects.filter(pk=change.pk).delete()

    assert PledgeStatusChange.objects.get(pk=change.pk).new_status == PledgeStatus.CONFIRMED


def test_the_database_refuses_to_change_or_remove_a_row(postgres_only, change):
    for statement in (
        "UPDATE pledges_pledgestatuschange SET new_status = 'paid'",
        "DELETE FROM pledges_pledgestatuschange",
    ):
        with pytest.raises(Error, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)

    assert PledgeStatusChange.objects.get(pk=change.pk).new_status == PledgeStatus.CONFIRMED


def test_the_migration_fills_the_history_from_the_audit_trail_and_going_back_empties_it():
    pledge = PledgeFactory(status=PledgeStatus.PAID)
    before = timezone.now() - timedelta(days=3)
    trail = [
        ("pledge", "pledge.announced", {}, {"status": "announced"}),
        ("pledge", "pledge.acknowledgement.sent", {}, {"acknowledged_at": "2012-04-03"}),
        ("pledge", "pledge.confirmed", {"status": "announced"}, {"status": "confirmed"}),
        ("payment", "pledge.payment.recorded", {"status": "confirmed"}, {"status": "confirmed"}),
        ("payment", "pledge.payment.recorded", {"status": "confirmed"}, {"status": "paid"}),
    ]
    events = [
        AuditEvent.objects.create(
            occurred_at=before + timedelta(hours=index),
            actor_kind="staff",
            actor_label="rico",
            action=action,
            object_type=object_type,
            object_id=str(pledge.pk),
            pledge=pledge,
            old_values=old,
            new_values=new,
            reason=f"step {index}",
        )
        for index, (object_type, action, old, new) in enumerate(trail)
    ]
    audit_record(actor=ACTOR, action="donor.erased", obj=pledge.donor, new={"status": "paid"})  # not the pledge's

    migration_data.status_history_from_audit(apps, None)

    rows = list(PledgeStatusChange.objects.all())
    assert [(r.old_status, r.new_status, r.audit_event, r.at, r.old_status_since, r.reason) for r in rows] == [
        ("", "announced", events[0], events[0].occurred_at, None, "step 0"),
        ("announced", "confirmed", events[2], events[2].occurred_at, events[0].occurred_at, "step 2"),
        ("confirmed", "paid", events[4], events[4].occurred_at, events[2].occurred_at, "step 4"),
    ]
    assert {(r.pledge_id, r.actor_kind, r.actor_label) for r in rows} == {(pledge.pk, "staff", "rico")}

    # As after the forward migration's own transaction: the foreign keys of
    # the new rows checked (PostgreSQL truncates no table with checks pending).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor() as schema_editor:
        migration_data.status_history_empty(apps, schema_editor)

    assert not PledgeStatusChange.objects.exists()
    assert AuditEvent.objects.count() == len(events) + 1


def test_bulk_loaders_get_the_history_the_services_would_have_written():
    now = timezone.now()
    pledge = PledgeFactory.build(
        pk=7,
        source="web",
        status=PledgeStatus.PAID,
        amount=Decimal("100.00"),
        created_at=now - timedelta(days=10),
        verified_at=now - timedelta(days=9),
        confirmed_at=now - timedelta(days=8),
    )
    payments = [
        Payment(amount_applied=Decimal("40.00"), created_at=now - timedelta(days=5)),
        Payment(amount_applied=Decimal("60.00"), created_at=now - timedelta(days=8)),  # before the one above
    ]

    rows = status_history_implied(pledge, payments, actor_label="bench")

    assert [(r.old_status, r.new_status) for r in rows] == [
        ("", "submitted"),
        ("submitted", "announced"),
        ("announced", "confirmed"),
        ("confirmed", "partially_paid"),
        ("partially_paid", "paid"),
    ]
    assert rows[-1].at == now - timedelta(days=5, seconds=-1)  # a second after the one before
    assert [r.old_status_since for r in rows] == [None, *(r.at for r in rows[:-1])]
    with pytest.raises(ValueError, match="cannot become"):
        status_history_implied(
            PledgeFactory.build(pk=8, status=PledgeStatus.CANCELLED, closed_at=now, amount=Decimal("10.00")),
            [Payment(amount_applied=Decimal("10.00"), created_at=now - timedelta(days=1))],
            actor_label="bench",
        )
