"""Two staff acting on one pledge at the same moment: each request runs in
its own thread, with its own client and database connection, released
together by a barrier. The row lock on the pledge (and the unique bank
reference) must leave one consistent outcome."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from pledges.models import AuditEvent, Payment, Pledge, PledgeStatus
from tests.conftest import run_at_once
from tests.factories import PledgeFactory
from tests.helpers import bank_payment_body, confirmed_pledge

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def payment(client: APIClient, pledge: Pledge, amount: str, bank_reference: str) -> Callable[[], object]:
    body = bank_payment_body(pledge, amount, bank_reference)
    return lambda: client.post("/api/v1/payments/", body, format="json")


def test_two_staff_confirming_one_pledge_at_once_confirm_it_once(postgres_only, client_for, make_user):
    first, second = make_user("rita", "reconciler"), make_user("ravi", "reconciler")
    pledge = PledgeFactory(status=PledgeStatus.ANNOUNCED, verified_at=timezone.now())
    url = f"/api/v1/pledges/{pledge.reference}/confirm/"
    clients = [client_for(first), client_for(second)]

    responses = run_at_once(*[lambda c=c: c.post(url, {}, format="json") for c in clients])

    assert [r.status_code for r in responses] == [200, 200]
    assert [r.json()["status"] for r in responses] == ["confirmed", "confirmed"]
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.CONFIRMED
    events = AuditEvent.objects.filter(action="pledge.confirmed")
    assert events.count() == 1
    assert events.get().actor_label in {"rita", "ravi"}


def test_two_payments_at_once_are_both_counted(postgres_only, client_for, make_user):
    first, second = make_user("rita", "reconciler"), make_user("ravi", "reconciler")
    pledge = confirmed_pledge(amount=Decimal("1000.01"))

    responses = run_at_once(
        payment(client_for(first), pledge, "500.00", "CHASUS33-A"),
        payment(client_for(second), pledge, "500.01", "CHASUS33-B"),
    )

    assert [r.status_code for r in responses] == [201, 201]
    assert Payment.objects.filter(pledge=pledge).count() == 2
    pledge.refresh_from_db()
    assert pledge.amount_paid == Decimal("1000.01")
    assert pledge.amount_received_usd == Decimal("1000.01")
    assert pledge.status == PledgeStatus.PAID
    recorded = AuditEvent.objects.filter(action="pledge.payment.recorded")
    assert sorted(e.new_values["status"] for e in recorded) == ["paid", "partially_paid"]


def test_one_bank_reference_posted_twice_at_once_is_stored_once(postgres_only, client_for, make_user):
    first, second = make_user("rita", "reconciler"), make_user("ravi", "reconciler")
    pledge = confirmed_pledge()

    responses = run_at_once(
        payment(client_for(first), pledge, "400.00", "CHASUS33-SAME"),
        payment(client_for(second), pledge, "400.00", "CHASUS33-SAME"),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert refused.json()["type"] == "urn:vtf-pledges:problem:duplicate-payment"
    assert Payment.objects.filter(external_reference="CHASUS33-SAME").count() == 1
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.status) == (Decimal("400.00"), PledgeStatus.PARTIALLY_PAID)
    assert AuditEvent.objects.filter(action="pledge.payment.recorded").count() == 1


def test_one_bank_reference_posted_at_once_against_two_pledges_is_stored_once(postgres_only, client_for, make_user):
    """No shared pledge lock here: only the unique index stands between them."""
    first, second = make_user("rita", "reconciler"), make_user("ravi", "reconciler")
    one, other = confirmed_pledge(), confirmed_pledge()

    responses = run_at_once(
        payment(client_for(first), one, "400.00", "CHASUS33-SAME"),
        payment(client_for(second), other, "400.00", "CHASUS33-SAME"),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert Payment.objects.filter(external_reference="CHASUS33-SAME").count() == 1
    paid = sorted(Pledge.objects.filter(pk__in=[one.pk, other.pk]).values_list("amount_paid", flat=True))
    assert paid == [Decimal("0"), Decimal("400.00")]


@pytest.mark.parametrize("attempt", range(3))
def test_a_payment_and_a_cancellation_at_once_leave_one_consistent_outcome(
    postgres_only, client_for, make_user, attempt
):
    admin, clerk = make_user("ada", "fund_admin"), make_user("rita", "reconciler")
    pledge = confirmed_pledge()
    cancel_client = client_for(admin)

    cancelled, paid = run_at_once(
        lambda: cancel_client.post(
            f"/api/v1/pledges/{pledge.reference}/cancel/", {"reason": "withdrawn"}, format="json"
        ),
        payment(client_for(clerk), pledge, "400.00", "CHASUS33-RACE"),
    )

    pledge.refresh_from_db()
    payments = Payment.objects.filter(pledge=pledge)
    if cancelled.status_code == 200:
        assert paid.status_code == 409
        assert paid.json()["type"] == "urn:vtf-pledges:problem:transition-not-allowed"
        assert pledge.status == PledgeStatus.CANCELLED
        assert not payments.exists()
        assert pledge.amount_paid == Decimal("0")
        assert not AuditEvent.objects.filter(action="pledge.payment.recorded").exists()
    else:
        assert (cancelled.status_code, paid.status_code) == (409, 201)
        assert pledge.status == PledgeStatus.PARTIALLY_PAID
        assert payments.count() == 1
        assert pledge.amount_paid == Decimal("400.00")
        assert not AuditEvent.objects.filter(action="pledge.cancelled").exists()
