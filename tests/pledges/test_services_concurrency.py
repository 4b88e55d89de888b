"""Two staff acting on one pledge at the same moment: each request runs in
its own thread, with its own client and database connection, released
together by a barrier. The row lock on the pledge (and the unique bank
reference) must leave one consistent outcome."""

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from pledges.models import AuditEvent, Payment, Pledge, PledgeStatus
from tests.factories import PledgeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def today() -> date:
    return timezone.localdate()


def at_once(*requests: Callable[[], object]) -> list:
    """Run each request in its own thread, all released together; their
    responses in the order given. Each thread closes its own connection."""
    barrier = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)
    failures: list[BaseException] = []

    def run(index: int, request: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            responses[index] = request()
        except BaseException as error:  # reported in the main thread
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never finished (deadlock?)"
    assert not failures, failures
    return responses


def confirmed_pledge(**fields) -> Pledge:
    now = timezone.now()
    defaults = {
        "status": PledgeStatus.CONFIRMED,
        "verified_at": now,
        "confirmed_at": now,
        "confirmed_on": today(),
        "amount": Decimal("1000.00"),
    }
    return PledgeFactory(**(defaults | fields))


def payment(client: APIClient, pledge: Pledge, amount: str, bank_reference: str) -> Callable[[], object]:
    body = {
        "pledge": pledge.reference,
        "amount": amount,
        "currency": pledge.currency,
        "received_on": str(today()),
        "method": "bank_transfer",
        "bank_reference": bank_reference,
    }
    return lambda: client.post("/api/v1/payments/", body, format="json")


def test_two_staff_confirming_one_pledge_at_once_confirm_it_once(postgres_only, client_for, make_user):
    first, second = make_user("rita", "reconciler"), make_user("ravi", "reconciler")
    pledge = PledgeFactory(status=PledgeStatus.ANNOUNCED, verified_at=timezone.now())
    url = f"/api/v1/pledges/{pledge.reference}/confirm/"
    clients = [client_for(first), client_for(second)]

    responses = at_once(*[lambda c=c: c.post(url, {}, format="json") for c in clients])

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

    responses = at_once(
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

    responses = at_once(
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

    responses = at_once(
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

    cancelled, paid = at_once(
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
