"""The review queue, GET /api/v1/statement-lines/, and the actions a
reconciler takes on a line: accept, reject, match by hand or split,
unmatch (reversing entries), exclude. Each is audited and moves the
pledge's status and balances in the same transaction."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from pledges.models import (
    AuditEvent,
    LineMatch,
    LineStatus,
    MatchStatus,
    Payment,
    Pledge,
    PledgeStatus,
    StatementLine,
)
from tests.conftest import run_at_once
from tests.helpers import days_ago, problem
from tests.statements import LINES, Entry, camt053, confirmed_pledge, imported, line_of

pytestmark = pytest.mark.django_db

ACTIONS = ("accept", "reject", "match", "unmatch", "exclude")


@pytest.fixture
def reviewer(client_for, reconciler) -> APIClient:
    return client_for(reconciler)


def split(*parts: tuple[Pledge, str], **fields) -> dict:
    """The body of a match by hand: each (pledge, amount) one part of the line."""
    return {"allocations": [{"pledge": pledge.reference, "amount": amount} for pledge, amount in parts], **fields}


def act(client: APIClient, line: StatementLine, action: str, body: dict | None = None):
    return client.post(f"{LINES}{line.pk}/{action}/", body or {}, format="json")


def proposed_line(upload, amount: str = "990.00", pledge_amount: str = "1000.00", **entry) -> tuple:
    """A line naming a pledge by its reference, with an amount that is not
    what is due: proposed, waiting for a reconciler."""
    pledge = confirmed_pledge(pledge_amount)
    e = Entry(amount, debtor="Government of Canada", reference=pledge.reference, **entry)
    imported(upload, [e])
    line = line_of(e)
    assert line.status == LineStatus.PROPOSED
    return line, pledge


def matched_line(upload, amount: str = "1000.00") -> tuple:
    pledge = confirmed_pledge(amount)
    e = Entry(amount, text=f"pledge {pledge.reference}")
    imported(upload, [e])
    line = line_of(e)
    assert line.status == LineStatus.MATCHED
    return line, pledge


def unmatched_line(upload, amount: str = "1500.00", charges: str = "") -> StatementLine:
    e = Entry(amount, debtor="Fondation Pour les Survivants", text="don annuel", charges=charges)
    imported(upload, [e])
    line = line_of(e)
    assert line.status == LineStatus.UNMATCHED
    return line


def money(pledge: Pledge) -> tuple:
    pledge.refresh_from_db()
    return pledge.status, pledge.amount_paid, pledge.amount_received_usd


# --- Accept --------------------------------------------------------------------------


def test_accepting_a_proposal_records_the_payment_and_updates_the_pledge(statement_upload, reviewer, reconciler):
    line, pledge = proposed_line(statement_upload, "990.00", value_date=days_ago(4))

    response = act(reviewer, line, "accept")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "matched"
    (match,) = body["matches"]
    assert (match["status"], match["rule"], match["pledge"], match["amount"]) == (
        "applied",
        "reference",
        pledge.reference,
        "990.00",
    )
    payment = Payment.objects.get(pledge=pledge)
    assert match["payment"] == payment.pk
    assert (payment.amount, payment.amount_applied, payment.fee) == (Decimal("990.00"), Decimal("990.00"), 0)
    assert payment.received_on == days_ago(4)
    assert payment.external_reference == line.bank_reference
    assert payment.recorded_by == reconciler
    assert money(pledge) == (PledgeStatus.PARTIALLY_PAID, Decimal("990.00"), Decimal("990.00"))
    decided = LineMatch.objects.get(line=line)
    assert (decided.status, decided.decided_by) == (MatchStatus.APPLIED, reconciler)
    assert decided.decided_at is not None
    event = AuditEvent.objects.get(action="statement.line.matched")
    assert (event.actor_kind, event.actor_user, event.pledge) == ("staff", reconciler, pledge)
    assert event.object_id == str(line.pk)
    recorded = AuditEvent.objects.get(action="pledge.payment.recorded")
    assert recorded.actor_user == reconciler
    assert recorded.old_values["status"] == "confirmed"
    assert recorded.new_values["status"] == "partially_paid"


def test_accepting_with_settle_net_records_the_undeclared_charges_as_a_fee(statement_upload, reviewer):
    line, pledge = proposed_line(statement_upload, "990.00")

    response = act(reviewer, line, "accept", {"settle_net": True})

    assert response.status_code == 200, response.content
    payment = Payment.objects.get(pledge=pledge)
    assert (payment.amount, payment.fee, payment.amount_applied) == (
        Decimal("1000.00"),
        Decimal("10.00"),
        Decimal("1000.00"),
    )
    assert money(pledge) == (PledgeStatus.PAID, Decimal("1000.00"), Decimal("1000.00"))
    assert pledge.fees_usd == Decimal("10.00")
    assert pledge.amount_outstanding == 0


def test_settle_net_in_another_currency_converts_the_shortfall(statement_upload, reviewer, eur_rates):
    pledge = confirmed_pledge("1000.00", "USD")
    # 792 EUR at 0.80 is 990.00 USD: 10.00 USD (8.00 EUR) kept by a bank on the way.
    entry = Entry("792.00", "EUR", reference=pledge.reference, value_date=days_ago(30))
    imported(statement_upload, [entry])
    line = line_of(entry)
    assert line.status == LineStatus.PROPOSED

    response = act(reviewer, line, "accept", {"settle_net": True})

    assert response.status_code == 200, response.content
    payment = Payment.objects.get(pledge=pledge)
    assert (payment.amount, payment.currency, payment.fee) == (Decimal("800.00"), "EUR", Decimal("8.00"))
    assert (payment.amount_applied, payment.amount_usd, payment.fee_usd) == (
        Decimal("1000.00"),
        Decimal("1000.00"),
        Decimal("10.00"),
    )
    assert money(pledge)[:2] == (PledgeStatus.PAID, Decimal("1000.00"))


def test_accepting_a_proposal_for_a_cancelled_pledge_is_refused(statement_upload, reviewer):
    pledge = confirmed_pledge("1000.00", status=PledgeStatus.CANCELLED)
    entry = Entry("1000.00", reference=pledge.reference)
    imported(statement_upload, [entry])
    line = line_of(entry)

    response = act(reviewer, line, "accept")

    problem(response, 409, "transition-not-allowed")
    line.refresh_from_db()
    assert line.status == LineStatus.PROPOSED
    assert line.matches.get().status == MatchStatus.PROPOSED
    assert not Payment.objects.exists()


# --- Reject --------------------------------------------------------------------------


def test_rejecting_a_proposal_puts_the_line_back_for_review(statement_upload, reviewer, reconciler):
    line, pledge = proposed_line(statement_upload)

    response = act(reviewer, line, "reject", {"reason": "Canada's second pledge, not this one"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "unmatched"
    line.refresh_from_db()
    assert (line.status, line.note) == (LineStatus.UNMATCHED, "Canada's second pledge, not this one")
    match = line.matches.get()
    assert (match.status, match.decided_by, match.payment) == (MatchStatus.REJECTED, reconciler, None)
    event = AuditEvent.objects.get(action="statement.line.rejected")
    assert (event.actor_user, event.object_id, event.reason) == (
        reconciler,
        str(line.pk),
        "Canada's second pledge, not this one",
    )
    assert money(pledge) == (PledgeStatus.CONFIRMED, 0, 0)
    assert not Payment.objects.exists()


# --- Match by hand, split --------------------------------------------------------------


def test_matching_a_line_by_hand_to_one_pledge_applies_all_of_it(statement_upload, reviewer, reconciler):
    line = unmatched_line(statement_upload, "1500.00")
    pledge = confirmed_pledge("1500.00", donor="Fondation Pour les Survivants (Genève)")

    response = act(
        reviewer, line, "match", {"allocations": [{"pledge": pledge.reference}], "reason": "Letter of 3 June"}
    )

    assert response.status_code == 200, response.content
    (match,) = response.json()["matches"]
    assert (match["rule"], match["confidence"], match["status"], match["amount"]) == (
        "manual",
        "1.000",
        "applied",
        "1500.00",
    )
    assert match["explanation"] == "Letter of 3 June"
    payment = Payment.objects.get(pledge=pledge)
    assert (payment.amount, payment.external_reference) == (Decimal("1500.00"), line.bank_reference)
    assert money(pledge) == (PledgeStatus.PAID, Decimal("1500.00"), Decimal("1500.00"))
    event = AuditEvent.objects.get(action="statement.line.matched")
    assert (event.actor_user, event.pledge, event.reason) == (reconciler, pledge, "Letter of 3 June")
    assert event.new_values["rule"] == "manual"


def test_a_pledge_named_by_its_printed_reference_in_lower_case_is_found(statement_upload, reviewer):
    line = unmatched_line(statement_upload, "1500.00")
    pledge = confirmed_pledge("1500.00")
    printed = " ".join(pledge.reference[i : i + 4] for i in range(0, len(pledge.reference), 4)).lower()

    response = act(reviewer, line, "match", {"allocations": [{"pledge": printed}]})

    assert response.status_code == 200, response.content
    assert money(pledge)[0] == PledgeStatus.PAID


def test_matching_a_proposed_line_by_hand_to_another_pledge_rejects_the_proposal(statement_upload, reviewer):
    line, proposed_pledge = proposed_line(statement_upload, "990.00")
    other = confirmed_pledge("990.00", donor="Government of Canada")

    response = act(reviewer, line, "match", {"allocations": [{"pledge": other.reference}]})

    assert response.status_code == 200, response.content
    statuses = dict(line.matches.values_list("pledge__reference", "status"))
    assert statuses == {proposed_pledge.reference: MatchStatus.REJECTED, other.reference: MatchStatus.APPLIED}
    assert money(other)[:2] == (PledgeStatus.PAID, Decimal("990.00"))
    assert money(proposed_pledge) == (PledgeStatus.CONFIRMED, 0, 0)


def test_splitting_a_line_across_two_pledges_pays_each_its_part(statement_upload, reviewer):
    line = unmatched_line(statement_upload, "1485.00", charges="15.00")  # 1500.00 sent
    first = confirmed_pledge("1000.00", donor="Fondation Pour les Survivants")
    second = confirmed_pledge("800.00", donor="Fondation Pour les Survivants")

    body = split((first, "1000.00"), (second, "500.00"), reason="Two pledges paid in one transfer")
    response = act(reviewer, line, "match", body)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "matched"
    assert sorted(m["amount"] for m in response.json()["matches"]) == ["1000.00", "500.00"]
    one, two = Payment.objects.get(pledge=first), Payment.objects.get(pledge=second)
    assert one.external_reference == f"{line.bank_reference} [1/2]"
    assert two.external_reference == f"{line.bank_reference} [2/2]"
    assert (one.amount, one.fee) == (Decimal("1000.00"), Decimal("10.00"))  # the charges shared pro rata
    assert (two.amount, two.fee) == (Decimal("500.00"), Decimal("5.00"))
    assert money(first)[:2] == (PledgeStatus.PAID, Decimal("1000.00"))
    assert money(second)[:2] == (PledgeStatus.PARTIALLY_PAID, Decimal("500.00"))
    assert AuditEvent.objects.filter(action="statement.line.matched").count() == 2


@pytest.mark.parametrize(
    ("allocations", "field"),
    [
        ([("A", "1000.00"), ("B", "400.00")], "allocations"),  # 1400 of 1500
        ([("A", "1000.00"), ("B", "600.00")], "allocations"),  # 1600 of 1500
        ([("A", "1485.00")], "allocations"),  # the amount credited, not what was sent (charges)
        ([("A", "1500.00"), ("B", "0.00")], "allocations"),
        ([("A", "1600.00"), ("B", "-100.00")], "allocations"),
        ([("A", "1000.00"), ("B", None)], "allocations.1.amount"),  # a split names each part
        ([("A", "1000.00"), ("NOPE", "500.00")], "allocations.1.pledge"),
        ([], "allocations"),
    ],
)
def test_a_split_that_does_not_add_up_is_refused_and_changes_nothing(statement_upload, reviewer, allocations, field):
    line = unmatched_line(statement_upload, "1485.00", charges="15.00")
    pledges = {"A": confirmed_pledge("1000.00"), "B": confirmed_pledge("800.00")}

    def part(name, amount):
        reference = pledges[name].reference if name in pledges else "RF18539007547034"
        return {"pledge": reference} if amount is None else {"pledge": reference, "amount": amount}

    response = act(reviewer, line, "match", {"allocations": [part(n, a) for n, a in allocations]})

    body = problem(response, 400, "invalid-input")
    assert field in body["errors"], body
    line.refresh_from_db()
    assert line.status == LineStatus.UNMATCHED
    assert not LineMatch.objects.exists()
    assert not Payment.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="statement.line.").exists()


def test_split_parts_finer_than_the_currencys_cents_are_refused(statement_upload, reviewer):
    line = unmatched_line(statement_upload, "1500.00")
    first, second = confirmed_pledge("1000.00"), confirmed_pledge("800.00")

    response = act(reviewer, line, "match", split((first, "1000.005"), (second, "499.995")))

    assert not Payment.objects.exists(), list(Payment.objects.values_list("amount", "currency", "amount_applied"))
    problem(response, 400, "invalid-input")


def test_matching_by_hand_to_a_cancelled_pledge_is_refused_and_nothing_is_kept(statement_upload, reviewer):
    line = unmatched_line(statement_upload, "1500.00")
    cancelled = confirmed_pledge("1500.00", status=PledgeStatus.CANCELLED)

    response = act(reviewer, line, "match", {"allocations": [{"pledge": cancelled.reference}]})

    problem(response, 409, "transition-not-allowed")
    line.refresh_from_db()
    assert line.status == LineStatus.UNMATCHED
    assert not LineMatch.objects.exists()
    assert not Payment.objects.exists()


# --- Unmatch -------------------------------------------------------------------------


def test_unmatching_reverses_the_payment_and_puts_the_pledge_back(statement_upload, reviewer, reconciler):
    line, pledge = matched_line(statement_upload, "1000.00")
    original = Payment.objects.get(pledge=pledge)

    response = act(reviewer, line, "unmatch", {"reason": "Wrong pledge: the donor has two"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "unmatched"
    line.refresh_from_db()
    assert (line.status, line.note) == (LineStatus.UNMATCHED, "Wrong pledge: the donor has two")
    assert line.matches.get().status == MatchStatus.UNDONE
    original.refresh_from_db()
    assert original.status == "reversed"
    reversal = Payment.objects.get(reverses=original)
    assert (reversal.amount, reversal.amount_applied, reversal.amount_usd) == (
        Decimal("-1000.00"),
        Decimal("-1000.00"),
        Decimal("-1000.00"),
    )
    assert reversal.external_reference == original.external_reference
    assert reversal.recorded_by == reconciler
    assert Payment.objects.count() == 2  # nothing deleted
    # Back to the commitment the pledge rests on, its balances emptied.
    assert money(pledge) == (PledgeStatus.CONFIRMED, 0, 0)
    event = AuditEvent.objects.get(action="statement.line.unmatched")
    assert (event.actor_user, event.object_id, event.reason) == (
        reconciler,
        str(line.pk),
        "Wrong pledge: the donor has two",
    )
    reversed_event = AuditEvent.objects.get(action="pledge.payment.reversed")
    assert reversed_event.pledge == pledge
    assert reversed_event.new_values["status"] == "confirmed"


def test_an_unmatched_line_can_then_be_matched_to_the_right_pledge(statement_upload, reviewer):
    line, wrong = matched_line(statement_upload, "1000.00")
    right = confirmed_pledge("1000.00")
    assert act(reviewer, line, "unmatch", {"reason": "Wrong pledge"}).status_code == 200

    response = act(reviewer, line, "match", {"allocations": [{"pledge": right.reference}]})

    assert response.status_code == 200, response.content
    assert money(right)[:2] == (PledgeStatus.PAID, Decimal("1000.00"))
    assert money(wrong)[:2] == (PledgeStatus.CONFIRMED, 0)
    assert Payment.objects.filter(external_reference=line.bank_reference, reverses__isnull=True).count() == 2


def test_unmatching_a_split_line_reverses_each_part(statement_upload, reviewer):
    line = unmatched_line(statement_upload, "1500.00")
    first, second = confirmed_pledge("1000.00"), confirmed_pledge("500.00")
    assert act(reviewer, line, "match", split((first, "1000.00"), (second, "500.00"))).status_code == 200

    response = act(reviewer, line, "unmatch", {"reason": "Split was wrong"})

    assert response.status_code == 200, response.content
    assert Payment.objects.filter(reverses__isnull=False).count() == 2
    assert money(first) == (PledgeStatus.CONFIRMED, 0, 0)
    assert money(second) == (PledgeStatus.CONFIRMED, 0, 0)
    assert set(line.matches.values_list("status", flat=True)) == {MatchStatus.UNDONE}


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_unmatching_needs_a_reason(statement_upload, reviewer, body):
    line, pledge = matched_line(statement_upload)

    response = act(reviewer, line, "unmatch", body)

    assert "reason" in problem(response, 400, "invalid-input")["errors"]
    line.refresh_from_db()
    assert line.status == LineStatus.MATCHED
    assert money(pledge)[0] == PledgeStatus.PAID


# --- Exclude -------------------------------------------------------------------------


def test_excluding_a_line_keeps_it_visible_with_the_reason(statement_upload, reviewer, reconciler):
    line = unmatched_line(statement_upload)

    response = act(reviewer, line, "exclude", {"reason": "Interest credited by the bank"})

    assert response.status_code == 200, response.content
    line.refresh_from_db()
    assert (line.status, line.note) == (LineStatus.EXCLUDED, "Interest credited by the bank")
    event = AuditEvent.objects.get(action="statement.line.excluded")
    assert (event.actor_user, event.reason) == (reconciler, "Interest credited by the bank")
    listed = reviewer.get(LINES, {"status": "excluded"}).json()["results"]
    assert [item["id"] for item in listed] == [line.pk]


def test_excluding_a_proposed_line_rejects_its_proposal(statement_upload, reviewer):
    line, pledge = proposed_line(statement_upload)

    assert act(reviewer, line, "exclude", {"reason": "Refund of a grant"}).status_code == 200

    assert line.matches.get().status == MatchStatus.REJECTED
    assert money(pledge) == (PledgeStatus.CONFIRMED, 0, 0)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": " \t "}])
def test_excluding_needs_a_reason(statement_upload, reviewer, body):
    line = unmatched_line(statement_upload)

    response = act(reviewer, line, "exclude", body)

    assert "reason" in problem(response, 400, "invalid-input")["errors"]
    line.refresh_from_db()
    assert line.status == LineStatus.UNMATCHED
    assert not AuditEvent.objects.filter(action="statement.line.excluded").exists()


# --- Actions in the wrong state --------------------------------------------------------


def _line_in(state: str, upload) -> StatementLine:
    if state == "unmatched":
        return unmatched_line(upload)
    if state == "proposed":
        return proposed_line(upload)[0]
    if state == "matched":
        return matched_line(upload)[0]
    e = Entry("100.00", debit=True)
    imported(upload, [e])
    return line_of(e)  # excluded: a debit


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("unmatched", "accept"),
        ("unmatched", "reject"),
        ("unmatched", "unmatch"),
        ("proposed", "unmatch"),
        ("matched", "accept"),
        ("matched", "reject"),
        ("matched", "match"),
        ("matched", "exclude"),
        ("excluded", "accept"),
        ("excluded", "match"),
        ("excluded", "unmatch"),
        ("excluded", "exclude"),
    ],
)
def test_an_action_in_the_wrong_state_is_a_conflict_and_changes_nothing(statement_upload, reviewer, state, action):
    line = _line_in(state, statement_upload)
    target = confirmed_pledge("100.00")
    body = {
        "match": {"allocations": [{"pledge": target.reference}]},
        "unmatch": {"reason": "because"},
        "exclude": {"reason": "because"},
    }.get(action, {})
    before = (Payment.objects.count(), LineMatch.objects.count(), AuditEvent.objects.count())

    response = act(reviewer, line, action, body)

    body = problem(response, 409, "transition-not-allowed")
    assert body["detail"]
    line.refresh_from_db()
    assert line.status == state
    assert (Payment.objects.count(), LineMatch.objects.count(), AuditEvent.objects.count()) == before


def test_an_unknown_line_is_not_found(reviewer):
    assert reviewer.post(f"{LINES}999999/accept/", {}, format="json").status_code == 404


def test_an_unknown_field_in_an_action_is_refused(statement_upload, reviewer):
    line, _ = proposed_line(statement_upload)

    response = act(reviewer, line, "accept", {"settle_nett": True})

    assert "settle_nett" in problem(response, 400, "invalid-input")["errors"]
    line.refresh_from_db()
    assert line.status == LineStatus.PROPOSED


# --- Roles ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("who", "status"), [(None, 401), ("outsider", 403), ("viewer", 403)])
def test_only_reconcilers_act_on_lines(statement_upload, client_for, request, action, who, status):
    line, pledge = proposed_line(statement_upload)
    client = client_for(request.getfixturevalue(who) if who else None)
    body = {
        "match": {"allocations": [{"pledge": pledge.reference}]},
        "unmatch": {"reason": "x"},
        "exclude": {"reason": "x"},
    }.get(action, {})

    response = act(client, line, action, body)

    assert response.status_code == status
    line.refresh_from_db()
    assert line.status == LineStatus.PROPOSED
    assert not Payment.objects.exists()


def test_a_fund_admin_may_act_on_lines(statement_upload, client_for, fund_admin):
    line, pledge = proposed_line(statement_upload)

    assert act(client_for(fund_admin), line, "accept").status_code == 200
    assert money(pledge)[0] == PledgeStatus.PARTIALLY_PAID


# --- The review queue ----------------------------------------------------------------


@pytest.fixture
def queue(statement_upload, eur_rates):
    """Two statements: a USD one with a proposed, an unmatched, a matched
    line and a debit; a EUR one with two unmatched lines."""
    short = confirmed_pledge("1000.00")
    exact = confirmed_pledge("250.00")
    usd = {
        "proposed": Entry("990.00", debtor="Government of Canada", reference=short.reference, value_date=days_ago(12)),
        "unmatched": Entry("75.50", debtor="Jane Doe", text="gift for the survivors", value_date=days_ago(11)),
        "matched": Entry("250.00", text=f"pledge {exact.reference}", value_date=days_ago(10)),
        "debit": Entry("1200.00", debit=True, debtor="La Strada International", value_date=days_ago(10)),
    }
    eur = {
        "vienna": Entry("5000.00", "EUR", debtor="Stadt Wien", text="Spende", value_date=days_ago(3)),
        "lyon": Entry("1000.00", "EUR", debtor="Ville de Lyon", text="Don", value_date=days_ago(2)),
    }
    first = statement_upload(camt053(list(usd.values()), "06", statement_id="USD-STMT"))
    second = statement_upload(camt053(list(eur.values()), "08", statement_id="EUR-STMT"))
    assert first.status_code == second.status_code == 201
    lines = {name: line_of(e) for name, e in (usd | eur).items()}
    statements = {"usd": first.json()[0]["id"], "eur": second.json()[0]["id"]}
    return lines, statements


def _listed(client, params) -> list[int]:
    response = client.get(LINES, params)
    assert response.status_code == 200, response.content
    return sorted(item["id"] for item in response.json()["results"])


def _ids(lines, *names) -> list[int]:
    return sorted(lines[name].pk for name in names)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({}, ["proposed", "unmatched", "matched", "debit", "vienna", "lyon"]),
        ({"status": ["unmatched", "proposed"]}, ["proposed", "unmatched", "vienna", "lyon"]),
        ({"status": "proposed"}, ["proposed"]),
        ({"status": "matched"}, ["matched"]),
        ({"status": "excluded"}, ["debit"]),
        ({"currency": "eur"}, ["vienna", "lyon"]),
        ({"currency": "EUR", "status": "unmatched"}, ["vienna", "lyon"]),
        ({"q": "wien"}, ["vienna"]),
        ({"q": "SURVIVORS"}, ["unmatched"]),
        ({"amount_min": "1000", "amount_max": "5000"}, ["debit", "vienna", "lyon"]),
        ({"amount_max": "100"}, ["unmatched"]),
    ],
)
def test_the_review_queue_filters(client_for, viewer, queue, params, names):
    lines, _ = queue

    assert _listed(client_for(viewer), params) == _ids(lines, *names)


def test_the_review_queue_filters_by_statement_reference_and_value_dates(client_for, viewer, queue):
    lines, statements = queue
    client = client_for(viewer)

    assert _listed(client, {"statement": statements["eur"]}) == _ids(lines, "vienna", "lyon")
    assert _listed(client, {"q": lines["lyon"].bank_reference}) == _ids(lines, "lyon")
    assert _listed(client, {"value_from": str(days_ago(10))}) == _ids(lines, "matched", "debit", "vienna", "lyon")
    assert _listed(client, {"value_until": str(days_ago(11))}) == _ids(lines, "proposed", "unmatched")
    assert _listed(client, {"value_from": str(days_ago(11)), "value_until": str(days_ago(3))}) == _ids(
        lines, "unmatched", "matched", "debit", "vienna"
    )


def test_the_review_queue_shows_each_proposal_with_its_reason(client_for, viewer, queue):
    lines, _ = queue

    (item,) = client_for(viewer).get(LINES, {"status": "proposed"}).json()["results"]

    assert item["id"] == lines["proposed"].pk
    assert (item["amount"], item["currency"], item["debtor_name"]) == ("990.00", "USD", "Government of Canada")
    assert item["value_date"] == str(days_ago(12))
    (match,) = item["matches"]
    assert match["rule"] == "reference"
    assert match["confidence"] == "0.850"
    assert match["status"] == "proposed"
    assert match["payment"] is None
    assert "1000.00 USD outstanding" in match["explanation"]


def test_bad_filters_are_refused(client_for, viewer, queue):
    client = client_for(viewer)

    assert client.get(LINES, {"status": "lost"}).status_code == 400
    assert client.get(LINES, {"value_from": "yesterday"}).status_code == 400


def test_the_review_queue_is_for_staff(client_for, outsider):
    assert client_for(None).get(LINES).status_code == 401
    assert client_for(outsider).get(LINES).status_code == 403


# --- Two reconcilers on one line at once ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reconcilers_accepting_one_proposal_at_once_record_one_payment(postgres_only, client_for, make_user):
    pledge = confirmed_pledge("1000.00")
    entry = Entry("990.00", reference=pledge.reference)
    upload = client_for(make_user("uma", "reconciler")).post(
        "/api/v1/statements/", {"file": SimpleUploadedFile("s.xml", camt053([entry]))}, format="multipart"
    )
    assert upload.status_code == 201
    line = line_of(entry)
    assert line.status == LineStatus.PROPOSED
    clients = [client_for(make_user("rita", "reconciler")), client_for(make_user("ravi", "reconciler"))]

    responses = run_at_once(*[lambda c=c: act(c, line, "accept", {"settle_net": True}) for c in clients])

    assert sorted(r.status_code for r in responses) == [200, 409]
    assert Payment.objects.filter(pledge=pledge).count() == 1
    assert money(pledge)[:2] == (PledgeStatus.PAID, Decimal("1000.00"))
    assert AuditEvent.objects.filter(action="statement.line.matched").count() == 1
