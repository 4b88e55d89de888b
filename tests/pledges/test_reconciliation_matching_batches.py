"""Matching a statement in batches: the lines of a batch are judged one
after the other (an earlier line's payment counts for the next), each line
is matched once even when two workers run the same statement, and a batch
that fails leaves nothing behind, so running again finishes the rest."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from stdnum import iso11649

from pledges.exchange import rate_in_force, rates_read_once
from pledges.models import (
    AuditEvent,
    BankStatement,
    LineMatch,
    LineStatus,
    MatchStatus,
    Payment,
    PledgeStatus,
    PledgeStatusChange,
    StatementLine,
)
from pledges.reconciliation import services
from tests.conftest import run_at_once
from tests.factories import DonorFactory, ExchangeRateFactory, PledgeFactory
from tests.helpers import days_ago
from tests.statements import FUND_IBAN, Entry, confirmed_pledge, imported, line_of

pytestmark = pytest.mark.django_db


def test_lines_of_one_batch_competing_for_one_pledge_are_judged_in_order(statement_upload):
    pledge = confirmed_pledge("1000.00", instalments=((days_ago(5), "400.00"), (days_ago(-60), "600.00")))
    first = Entry("400.00", reference=pledge.reference)
    second = Entry("600.00", text=f"rest of {pledge.reference.lower()}")
    third = Entry("1000.00", reference=pledge.reference)  # the whole pledge again: it is paid by now

    statement = imported(statement_upload, [first, second, third])

    assert [line_of(e).status for e in (first, second, third)] == [
        LineStatus.MATCHED,
        LineStatus.MATCHED,
        LineStatus.PROPOSED,
    ]
    assert "it is paid" in line_of(third).matches.get().explanation
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid, pledge.amount_received_usd) == (
        PledgeStatus.PAID,
        Decimal("1000.00"),
        Decimal("1000.00"),
    )
    assert sorted(Payment.objects.filter(pledge=pledge).values_list("amount", flat=True)) == [
        Decimal("400.00"),
        Decimal("600.00"),
    ]
    recorded = AuditEvent.objects.filter(action="pledge.payment.recorded").order_by("pk")
    assert [(e.old_values["amount_paid"], e.new_values["amount_paid"]) for e in recorded] == [
        ("0.00", "400.00"),
        ("400.00", "1000.00"),
    ]
    assert [e.new_values["status"] for e in recorded] == [PledgeStatus.PARTIALLY_PAID, PledgeStatus.PAID]
    assert {e.new_values["payment_id"] for e in recorded} == set(Payment.objects.values_list("pk", flat=True))
    assert (statement.report["applied"], statement.report["proposed"]) == (2, 1)


def test_the_status_changes_of_a_batch_are_in_the_status_history_beside_their_audit(statement_upload):
    pledge = confirmed_pledge("1000.00", instalments=((days_ago(5), "400.00"), (days_ago(-60), "600.00")))
    before = PledgeStatusChange.objects.filter(pledge=pledge).count()

    imported(
        statement_upload, [Entry("400.00", reference=pledge.reference), Entry("600.00", reference=pledge.reference)]
    )

    history = list(PledgeStatusChange.objects.filter(pledge=pledge).order_by("at", "id"))[before:]
    assert [(row.old_status, row.new_status) for row in history] == [
        (PledgeStatus.CONFIRMED, PledgeStatus.PARTIALLY_PAID),
        (PledgeStatus.PARTIALLY_PAID, PledgeStatus.PAID),
    ]
    assert [row.audit_event.new_values["status"] for row in history] == [PledgeStatus.PARTIALLY_PAID, PledgeStatus.PAID]
    assert all(row.audit_event.action == "pledge.payment.recorded" for row in history)
    assert history[1].old_status_since == history[0].at


def test_a_pledge_paid_earlier_in_the_batch_is_no_longer_offered_by_the_donor_rule(statement_upload):
    japan = DonorFactory(name="Ministry of Foreign Affairs of Japan")
    paid = confirmed_pledge("50000.00", donor=japan)
    other = confirmed_pledge("50500.00", donor=japan)
    by_reference = Entry("50000.00", reference=paid.reference)
    by_name = Entry("50000.00", debtor="MINISTRY OF FOREIGN AFFAIRS OF JAPAN")

    imported(statement_upload, [by_reference, by_name])

    assert line_of(by_reference).status == LineStatus.MATCHED
    match = line_of(by_name).matches.get()
    assert (match.rule, match.pledge, match.status) == ("donor_amount", other, MatchStatus.PROPOSED)


def test_references_in_other_cases_and_spacings_are_matched_in_one_batch(statement_upload):
    pledges = [confirmed_pledge("100.00") for _ in range(4)]
    written = [
        pledges[0].reference.lower(),
        iso11649.format(pledges[1].reference),
        pledges[2].reference.lower().replace("rf", "RF ", 1),
        f"ref: {iso11649.format(pledges[3].reference).replace(' ', '-')}",
    ]
    entries = [Entry("100.00", text=text) for text in written]

    statement = imported(statement_upload, entries)

    assert [line_of(e).status for e in entries] == [LineStatus.MATCHED] * 4
    assert [line_of(e).matches.get().pledge for e in entries] == pledges
    assert statement.report["applied"] == 4


@pytest.mark.postgres
def test_a_donor_named_alike_is_found_although_many_closer_amounts_crowd_the_band(statement_upload, postgres_only):
    crowd = DonorFactory(name="Kingdom of Norway")
    PledgeFactory.create_batch(210, donor=crowd, amount=Decimal("50000.00"), confirmed_at=timezone.now())
    japan = confirmed_pledge("50600.00", donor="Ministry of Foreign Affairs of Japan")
    entry = Entry("50000.00", debtor="MINISTRY OF FOREIGN AFFAIRS OF JAPAN")

    imported(statement_upload, [entry])

    match = line_of(entry).matches.get()
    assert (match.rule, match.pledge, match.status) == ("donor_amount", japan, MatchStatus.PROPOSED)
    assert "Ministry of Foreign Affairs of Japan" in match.explanation


def test_rates_read_once_for_a_batch_answer_as_the_database_does(django_assert_num_queries):
    for valid_from, rate in ((days_ago(60), "0.80"), (days_ago(30), "0.85"), (days_ago(10), "0.90")):
        ExchangeRateFactory(currency="EUR", rate=Decimal(rate), valid_from=valid_from)
    days = [days_ago(n) for n in (90, 60, 45, 30, 11, 10, 0)]
    expected = [rate_in_force("EUR", day) for day in days] + [rate_in_force("GBP", days_ago(5))]

    with rates_read_once(), django_assert_num_queries(2):  # EUR's rates, then GBP's (none)
        read = [rate_in_force("EUR", day) for day in days] + [rate_in_force("GBP", days_ago(5))]

    assert read == expected
    rates = ["0.80", "0.80", "0.85", "0.85", "0.90", "0.90"]
    assert [r.rate if r else None for r in read] == [None, *map(Decimal, rates), None]


# --- Lines claimed once ------------------------------------------------------------------


def _statement_of(pledges, *, nobody: int = 0) -> BankStatement:
    """A stored statement, not yet matched: one line paying each pledge by
    its reference, then `nobody` lines from unknown payers."""
    statement = BankStatement.objects.create(
        statement_id=f"S-{timezone.now():%H%M%S%f}", account=FUND_IBAN, file_format="camt053", file_sha256="0" * 64
    )
    lines = [(p.amount, p.reference, "") for p in pledges] + [(Decimal("12.00"), "", "Jane Doe")] * nobody
    StatementLine.objects.bulk_create(
        StatementLine(
            statement=statement,
            position=position,
            account=FUND_IBAN,
            bank_reference=f"{statement.statement_id}-{position}",
            direction="credit",
            amount=amount,
            currency="USD",
            value_date=timezone.localdate() - timedelta(days=3),
            creditor_reference=reference,
            debtor_name=debtor,
        )
        for position, (amount, reference, debtor) in enumerate(lines, 1)
    )
    statement.line_count = len(lines)
    statement.save(update_fields=["line_count"])
    return statement


def _each_line_matched_once(statement: BankStatement, pledges) -> None:
    lines = statement.lines.filter(creditor_reference__gt="")
    assert set(lines.values_list("status", flat=True)) == {LineStatus.MATCHED}
    for line in lines:
        assert line.matches.count() == 1
    assert Payment.objects.filter(pledge__in=pledges).count() == len(pledges)
    assert AuditEvent.objects.filter(action="statement.line.matched").count() == len(pledges)
    assert AuditEvent.objects.filter(action="pledge.payment.recorded").count() == len(pledges)
    for pledge in pledges:
        pledge.refresh_from_db()
        assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, pledge.amount)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_matching_one_statement_at_once_match_each_line_once(postgres_only, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 3)
    pledges = [confirmed_pledge(f"{100 + n}.00") for n in range(12)]
    statement = _statement_of(pledges, nobody=3)

    reports = run_at_once(*[lambda: services.statement_match(statement=statement)] * 2)

    _each_line_matched_once(statement, pledges)
    assert LineMatch.objects.count() == 12
    assert sum(report["done"] for report in reports) >= 15  # every line looked at by one worker or the other
    statement.refresh_from_db()
    assert (statement.report["matching"], statement.report["applied"], statement.report["unmatched"]) == (
        "done",
        12,
        3,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_dying_mid_statement_keeps_whole_batches_and_a_second_run_finishes(postgres_only, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 4)
    pledges = [confirmed_pledge(f"{200 + n}.00") for n in range(10)]
    statement = _statement_of(pledges)
    save, batches = services._BatchWrites.save, []

    def dies_in_the_second_batch(writes):
        batches.append(writes)
        save(writes)
        if len(batches) == 2:
            raise ConnectionError("the worker lost its database")  # after the batch's writes, before its commit

    monkeypatch.setattr(services._BatchWrites, "save", dies_in_the_second_batch)
    with pytest.raises(ConnectionError):
        services.statement_match(statement=statement)

    assert statement.lines.filter(status=LineStatus.MATCHED).count() == 4  # the first batch only
    assert Payment.objects.count() == 4
    assert connection.in_atomic_block is False

    monkeypatch.setattr(services._BatchWrites, "save", save)
    services.statement_match(statement=statement)

    _each_line_matched_once(statement, pledges)
