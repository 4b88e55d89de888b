"""The repair job: what a webhook that never arrived (or failed) left
undone is found on Stripe (localstripe) and applied, once, with a report of
what was fixed; running it again finds nothing new."""

import json
import socket
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges import tasks
from pledges.models import AuditEvent, Payment, Pledge, PledgeStatus, StripeEvent, StripeEventStatus, StripeSyncRun
from pledges.payments import card
from tests.conftest import card_pledge_body, card_pledge_paid_on_stripe, stripe_intent_object, stripe_signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def reconcile(django_capture_on_commit_callbacks):
    """Run the job as Celery beat would (the task, eagerly), and whatever it
    queued after commit; returns the run it recorded."""

    def run() -> StripeSyncRun:
        before = set(StripeSyncRun.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            report = tasks.stripe_reconcile()
        [new] = StripeSyncRun.objects.exclude(pk__in=before)
        assert new.report == json.loads(json.dumps(report))
        return new

    return run


def test_a_payment_whose_webhook_never_arrived_is_recorded_by_the_job(api, stripe_on, stripe_client, reconcile):
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)
    assert not Payment.objects.exists()

    run = reconcile()

    assert run.status == "done"
    assert run.finished_at is not None
    payment = Payment.objects.get()
    assert (payment.pledge.reference, payment.amount, payment.method) == (body["reference"], Decimal("100.00"), "card")
    assert payment.external_reference == intent.id
    assert payment.fee == Decimal("3.20")
    assert Pledge.objects.get(reference=body["reference"]).status == PledgeStatus.PAID
    assert any(body["reference"] in line for line in run.report["payments_recovered"])
    assert run.report["errors"] == []


def test_the_job_records_the_payment_once_and_a_second_run_recovers_nothing(api, stripe_on, stripe_client, reconcile):
    body, _ = card_pledge_paid_on_stripe(api, stripe_client)

    first = reconcile()
    second = reconcile()

    assert Payment.objects.count() == 1
    assert AuditEvent.objects.filter(action="pledge.payment.recorded").count() == 1
    assert len(first.report["payments_recovered"]) == 1
    assert second.status == "done"
    assert second.report["payments_recovered"] == []
    assert second.report["events_recovered"] == []
    assert Pledge.objects.get(reference=body["reference"]).amount_paid == Decimal("100.00")


def test_the_job_stores_the_events_it_missed(api, stripe_on, stripe_client, reconcile):
    _, intent = card_pledge_paid_on_stripe(api, stripe_client)
    [missed] = stripe_client.v1.events.list(params={"type": "payment_intent.succeeded"}).data

    run = reconcile()

    stored = StripeEvent.objects.get(event_id=missed.id)
    assert (stored.source, stored.event_type) == ("sync", "payment_intent.succeeded")
    assert stored.status == StripeEventStatus.APPLIED
    assert f"{missed.id} payment_intent.succeeded" in run.report["events_recovered"]
    assert Payment.objects.filter(external_reference=intent.id).count() == 1


def test_the_audit_names_the_job(api, stripe_on, stripe_client, reconcile):
    body, _ = card_pledge_paid_on_stripe(api, stripe_client)

    reconcile()

    recorded = AuditEvent.objects.get(action="pledge.payment.recorded", pledge__reference=body["reference"])
    assert (recorded.actor_kind, recorded.actor_label) == ("task", "stripe_reconcile")


def test_a_payment_already_recorded_by_its_webhook_is_not_recorded_again(
    api, stripe_on, stripe_client, stripe_deliver, reconcile
):
    _, intent = card_pledge_paid_on_stripe(api, stripe_client)
    stripe_deliver(*stripe_signed("payment_intent.succeeded", stripe_intent_object(intent)))

    run = reconcile()

    assert Payment.objects.count() == 1
    assert run.report["payments_recovered"] == []


def test_an_event_that_failed_is_retried_after_five_minutes(api, stripe_on, stripe_client, reconcile):
    body, intent = card_pledge_paid_on_stripe(api, stripe_client)
    [event] = stripe_client.v1.events.list(params={"type": "payment_intent.succeeded"}).data
    stored, _ = card.stripe_event_store(payload=json.dumps(event).encode(), source="webhook")  # not applied
    StripeEvent.objects.filter(pk=stored.pk).update(
        status=StripeEventStatus.FAILED,
        outcome="StripeUnavailable: Stripe cannot be reached",
        received_at=timezone.now() - timedelta(minutes=10),
    )

    run = reconcile()

    stored.refresh_from_db()
    assert stored.status == StripeEventStatus.APPLIED
    assert any(line.startswith(event.id) for line in run.report["events_retried"])
    assert Payment.objects.filter(external_reference=intent.id).count() == 1
    assert Pledge.objects.get(reference=body["reference"]).status == PledgeStatus.PAID


def test_a_payment_still_open_on_stripe_is_left_alone(api, stripe_on, reconcile):
    body = api.post("/api/v1/pledges/", card_pledge_body(), format="json").json()
    assert body["payment"] is not None

    run = reconcile()

    assert run.status == "done"
    assert run.report["payments_recovered"] == []
    assert not Payment.objects.exists()


def test_the_job_reports_stripe_being_unreachable_instead_of_crashing(settings, stripe_on):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed}"

    run = card.stripe_reconcile()

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.finished_at is not None
    assert run.report["errors"] and "reached" in run.report["errors"][0]


def test_the_job_reads_every_page_of_recent_events_not_only_the_first_hundred(api, stripe_on, stripe_client, reconcile):
    """A busy pledging day has more than 100 events: a refund whose webhook
    was lost must still be found when 100 newer events follow it."""
    _, intent = card_pledge_paid_on_stripe(api, stripe_client)
    stripe_client.v1.refunds.create(params={"charge": intent.latest_charge, "amount": 1000})
    [lost] = stripe_client.v1.events.list(params={"type": "charge.refunded"}).data
    for _ in range(100):
        stripe_client.v1.customers.create()  # each sends customer.created

    run = reconcile()

    assert StripeEvent.objects.filter(event_id=lost.id).exists(), "the job stopped at the first page of events"
    assert f"{lost.id} charge.refunded" in run.report["events_recovered"]
