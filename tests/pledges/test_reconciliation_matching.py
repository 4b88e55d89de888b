"""Matching statement lines to pledges after an import: the ISO 11649
reference first (structured, or typed into free text however mangled),
then the donor's name and the amount, else left for review. Exact matches
are applied, the rest proposed; each match says why and how sure."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from stdnum import iso11649

from pledges.models import (
    AuditEvent,
    BankStatement,
    LineMatch,
    LineStatus,
    MatchStatus,
    Payment,
    PaymentMethod,
    PledgeStatus,
    StatementLine,
)
from pledges.reconciliation import services
from tests.helpers import days_ago
from tests.statements import (
    FUND_IBAN,
    Entry,
    confirmed_pledge,
    csv_statement,
    imported,
    line_of,
)

pytestmark = pytest.mark.django_db


def assert_unpaid(pledge, status=PledgeStatus.CONFIRMED) -> None:
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.amount_received_usd, pledge.status) == (Decimal(0), Decimal(0), status)
    assert not Payment.objects.filter(pledge=pledge).exists()


# --- Rule 1: the reference, with the right amount: applied ------------------------------


@pytest.mark.parametrize("version", ["02", "04", "06", "08"])
def test_an_exact_structured_reference_with_the_right_amount_is_applied(statement_upload, version):
    pledge = confirmed_pledge("25000.00", donor="Government of Canada")
    entry = Entry(
        "25000.00",
        debtor="GOVERNMENT OF CANADA - GAC",
        reference=pledge.reference,
        text="Contribution 2024",
        value_date=days_ago(9),
        booking_date=days_ago(8),
    )

    statement = imported(statement_upload, [entry], version)

    line = line_of(entry)
    assert line.status == LineStatus.MATCHED
    payment = Payment.objects.get(pledge=pledge)
    assert payment.method == PaymentMethod.BANK_TRANSFER
    assert payment.external_reference == entry.bank_reference
    assert payment.bank_account == FUND_IBAN
    assert payment.received_on == days_ago(9)  # the value date, not the booking date
    assert (payment.amount, payment.currency, payment.amount_applied) == (
        Decimal("25000.00"),
        "USD",
        Decimal("25000.00"),
    )
    assert (payment.fee, payment.amount_usd) == (Decimal(0), Decimal("25000.00"))
    assert payment.status == "succeeded"
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid, pledge.amount_received_usd) == (
        PledgeStatus.PAID,
        Decimal("25000.00"),
        Decimal("25000.00"),
    )
    match = LineMatch.objects.get(line=line)
    assert (match.rule, match.status, match.confidence) == ("reference", MatchStatus.APPLIED, Decimal("1.000"))
    assert match.payment == payment
    assert match.pledge == pledge
    assert match.amount == Decimal("25000.00")
    assert pledge.reference in match.explanation
    assert "match what is due" in match.explanation
    matched = AuditEvent.objects.get(action="statement.line.matched")
    assert (matched.object_type, matched.object_id, matched.pledge) == ("statementline", str(line.pk), pledge)
    assert matched.actor_kind == "task"
    assert matched.reason == match.explanation
    assert matched.new_values["rule"] == "reference"
    assert matched.new_values["payment_id"] == payment.pk
    recorded = AuditEvent.objects.get(action="pledge.payment.recorded")
    assert recorded.pledge == pledge
    assert recorded.new_values["status"] == PledgeStatus.PAID
    assert statement.report["applied"] == 1


def test_a_structured_reference_in_its_printed_form_is_applied(statement_upload):
    pledge = confirmed_pledge("500.00")
    entry = Entry("500.00", reference=iso11649.format(pledge.reference))  # "RF.. .... ...."

    imported(statement_upload, [entry], "02")

    assert line_of(entry).status == LineStatus.MATCHED
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID


def _lower_odd_spacing(reference: str) -> str:
    printed = iso11649.format(reference).lower()
    return "pledge " + printed.replace(" ", "   ", 1) + " thank you"


def _split_check_digits(reference: str) -> str:
    r = reference
    return f"Payment ref: {r[:2]} {r[2:4]} {r[4:8]}-{r[8:12]}-{r[12:]} (contribution)"


def _slashes(reference: str) -> str:
    return f"/ROC/{reference.lower()}/INV/VTF-2024"


def _after_words(reference: str) -> str:
    return f"Voluntary contribution of the Government, pledge no.{reference}, with thanks"


@pytest.mark.parametrize("mangle", [_lower_odd_spacing, _split_check_digits, _slashes, _after_words])
@pytest.mark.parametrize("version", ["04", "08"])
def test_a_reference_mangled_in_free_text_is_found_and_applied(statement_upload, mangle, version):
    pledge = confirmed_pledge("1250.00")
    entry = Entry("1250.00", debtor="Somebody Else Entirely", text=mangle(pledge.reference))

    imported(statement_upload, [entry], version)

    line = line_of(entry)
    assert line.creditor_reference == ""
    assert line.status == LineStatus.MATCHED, line.matches.values("explanation")
    match = line.matches.get()
    assert (match.rule, match.confidence, match.status) == ("reference", Decimal("1.000"), MatchStatus.APPLIED)
    assert pledge.reference in match.explanation
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID


def test_a_reference_in_a_csv_remittance_is_applied(statement_upload):
    pledge = confirmed_pledge("1234.56", "EUR")
    entry = Entry("1.234,56", "EUR", text=f"Spende {iso11649.format(pledge.reference)}")

    response = statement_upload(csv_statement([entry], delimiter=";"), "erste.csv")

    assert response.status_code == 201
    assert line_of(entry).status == LineStatus.MATCHED
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.status) == (Decimal("1234.56"), PledgeStatus.PAID)


# --- Rule 1 with another amount: proposed -----------------------------------------------


def test_a_reference_with_another_amount_is_proposed_saying_what_is_due(statement_upload):
    pledge = confirmed_pledge("1000.00")
    entry = Entry("990.00", debtor="Government of Canada", reference=pledge.reference)

    statement = imported(statement_upload, [entry])

    line = line_of(entry)
    assert line.status == LineStatus.PROPOSED
    match = line.matches.get()
    assert (match.rule, match.status, match.payment) == ("reference", MatchStatus.PROPOSED, None)
    assert Decimal(0) < match.confidence < Decimal(1)
    assert match.amount == Decimal("990.00")
    assert "990.00 USD" in match.explanation
    assert "1000.00 USD outstanding" in match.explanation
    assert_unpaid(pledge)
    proposed = AuditEvent.objects.get(action="statement.line.proposed")
    assert (proposed.object_id, proposed.pledge, proposed.reason) == (str(line.pk), pledge, match.explanation)
    assert not AuditEvent.objects.filter(action__in=["statement.line.matched", "pledge.payment.recorded"]).exists()
    assert (statement.report["applied"], statement.report["proposed"]) == (0, 1)


@pytest.mark.parametrize(
    ("status", "word"),
    [(PledgeStatus.CANCELLED, "cancelled"), (PledgeStatus.LAPSED, "lapsed"), (PledgeStatus.PAID, "paid")],
)
def test_a_reference_to_a_closed_or_paid_pledge_is_proposed_not_applied(statement_upload, status, word):
    pledge = confirmed_pledge("1000.00", status=status)
    entry = Entry("1000.00", reference=pledge.reference)

    imported(statement_upload, [entry])

    line = line_of(entry)
    assert line.status == LineStatus.PROPOSED
    match = line.matches.get()
    assert match.status == MatchStatus.PROPOSED
    assert match.confidence < 1
    assert word in match.explanation
    assert not Payment.objects.filter(pledge=pledge).exists()
    pledge.refresh_from_db()
    assert pledge.status == status


# --- Instalments and several lines --------------------------------------------------------


def _three_instalments(amount: str = "300.00"):
    today = timezone.localdate()
    return tuple((today + timedelta(days=30 * n), amount) for n in range(3))


def test_one_line_paying_the_next_two_instalments_exactly_is_applied(statement_upload):
    pledge = confirmed_pledge("900.00", instalments=_three_instalments())
    entry = Entry("600.00", reference=pledge.reference)

    imported(statement_upload, [entry])

    line = line_of(entry)
    assert line.status == LineStatus.MATCHED
    assert line.matches.get().confidence == Decimal("1.000")
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.status) == (Decimal("600.00"), PledgeStatus.PARTIALLY_PAID)
    assert [row["outstanding"] for row in pledge.instalment_schedule()] == [Decimal(0), Decimal(0), Decimal("300")]


def test_a_line_that_is_not_a_running_total_of_instalments_is_proposed(statement_upload):
    pledge = confirmed_pledge("900.00", instalments=_three_instalments())
    entry = Entry("450.00", reference=pledge.reference)

    imported(statement_upload, [entry])

    assert line_of(entry).status == LineStatus.PROPOSED
    assert_unpaid(pledge)


def test_two_lines_in_two_statements_pay_one_pledge(statement_upload):
    pledge = confirmed_pledge("1000.00", instalments=((days_ago(5), "400.00"), (days_ago(-60), "600.00")))
    first = Entry("400.00", reference=pledge.reference, value_date=days_ago(6))
    second = Entry("600.00", text=f"second instalment {pledge.reference}", value_date=days_ago(2))

    imported(statement_upload, [first])
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.status) == (Decimal("400.00"), PledgeStatus.PARTIALLY_PAID)
    imported(statement_upload, [second])

    assert line_of(first).status == line_of(second).status == LineStatus.MATCHED
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.status) == (Decimal("1000.00"), PledgeStatus.PAID)
    assert sorted(Payment.objects.filter(pledge=pledge).values_list("amount", flat=True)) == [
        Decimal("400.00"),
        Decimal("600.00"),
    ]


def test_two_lines_in_one_statement_pay_one_pledge(statement_upload):
    pledge = confirmed_pledge("1000.00", instalments=((days_ago(5), "400.00"), (days_ago(-60), "600.00")))
    first = Entry("400.00", reference=pledge.reference, value_date=days_ago(3))
    second = Entry("600.00", reference=pledge.reference, value_date=days_ago(2))

    statement = imported(statement_upload, [first, second])

    assert [line_of(first).status, line_of(second).status] == [LineStatus.MATCHED, LineStatus.MATCHED], [
        m.explanation for m in LineMatch.objects.all()
    ]
    pledge.refresh_from_db()
    assert (pledge.amount_paid, pledge.status) == (Decimal("1000.00"), PledgeStatus.PAID)
    assert statement.report["applied"] == 2


def test_the_same_transfer_twice_in_one_statement_is_applied_once_and_the_second_proposed(statement_upload):
    pledge = confirmed_pledge("1000.00")
    first = Entry("1000.00", reference=pledge.reference)
    again = Entry("1000.00", reference=pledge.reference)  # the donor's bank sent it twice

    imported(statement_upload, [first, again])

    pledge.refresh_from_db()
    assert (Payment.objects.filter(pledge=pledge).count(), pledge.amount_paid) == (1, Decimal("1000.00"))
    assert line_of(first).status == LineStatus.MATCHED
    assert line_of(again).status == LineStatus.PROPOSED


# --- Other currencies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "value_days_ago", "applied", "rate"),
    [
        ("800.00", 30, True, Decimal("0.80")),  # 800 / 0.80 = 1000.00 USD
        ("900.00", 10, True, Decimal("0.90")),  # 900 / 0.90 = 1000.00 USD
        ("900.00", 30, False, Decimal("0.80")),  # 1125.00 USD at the value date's rate
        ("800.00", 10, False, Decimal("0.90")),  # 888.89 USD
    ],
)
def test_a_line_in_another_currency_converts_at_its_value_dates_rate(
    statement_upload, eur_rates, amount, value_days_ago, applied, rate
):
    pledge = confirmed_pledge("1000.00", "USD")
    # Booked after the rate changed: the value date decides.
    entry = Entry(
        amount, "EUR", reference=pledge.reference, value_date=days_ago(value_days_ago), booking_date=days_ago(5)
    )

    imported(statement_upload, [entry])

    line = line_of(entry)
    if applied:
        assert line.status == LineStatus.MATCHED
        payment = Payment.objects.get(pledge=pledge)
        assert (payment.amount, payment.currency) == (Decimal(amount), "EUR")
        assert payment.amount_applied == Decimal("1000.00")
        assert (payment.amount_usd, payment.usd_rate) == (Decimal("1000.00"), rate)
        assert payment.received_on == days_ago(value_days_ago)
        pledge.refresh_from_db()
        assert (pledge.status, pledge.amount_paid, pledge.amount_received_usd) == (
            PledgeStatus.PAID,
            Decimal("1000.00"),
            Decimal("1000.00"),
        )
    else:
        assert line.status == LineStatus.PROPOSED
        assert "not what is due" in line.matches.get().explanation
        assert_unpaid(pledge)


def test_a_line_in_a_currency_without_a_rate_on_its_value_date_is_proposed(statement_upload, eur_rates):
    pledge = confirmed_pledge("1000.00", "USD")
    entry = Entry("800.00", "EUR", reference=pledge.reference, value_date=days_ago(90))  # before any EUR rate

    imported(statement_upload, [entry])

    match = line_of(entry).matches.get()
    assert match.status == MatchStatus.PROPOSED
    assert f"no rate converts EUR to USD on {days_ago(90)}" in match.explanation
    assert_unpaid(pledge)


# --- Bank charges --------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["02", "08"])
def test_charges_the_statement_shows_are_recorded_as_a_fee_and_the_pledge_is_settled(statement_upload, version):
    pledge = confirmed_pledge("50000.00", donor="Ministry of Foreign Affairs of Japan")
    entry = Entry("49985.00", reference=pledge.reference, charges="15.00")

    imported(statement_upload, [entry], version)

    line = line_of(entry)
    assert (line.amount, line.charges, line.status) == (Decimal("49985.00"), Decimal("15.00"), LineStatus.MATCHED)
    payment = Payment.objects.get(pledge=pledge)
    assert (payment.amount, payment.fee, payment.amount_applied) == (
        Decimal("50000.00"),
        Decimal("15.00"),
        Decimal("50000.00"),
    )
    assert payment.fee_usd == Decimal("15.00")
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid, pledge.fees_usd) == (
        PledgeStatus.PAID,
        Decimal("50000.00"),
        Decimal("15.00"),
    )


def test_charges_in_a_csv_statement_count_too(statement_upload):
    pledge = confirmed_pledge("250000.00", donor="Kingdom of Norway")
    entry = Entry("249985.00", text=f"contribution {pledge.reference.lower()}", charges="15.00")

    assert statement_upload(csv_statement([entry]), "citi.csv").status_code == 201

    assert line_of(entry).status == LineStatus.MATCHED
    payment = Payment.objects.get(pledge=pledge)
    assert (payment.amount, payment.fee) == (Decimal("250000.00"), Decimal("15.00"))


# --- Rule 2: the donor and the amount -----------------------------------------------------


@pytest.mark.parametrize(
    ("debtor", "amount"),
    [
        ("MINISTRY OF FOREIGN AFFAIRS OF JAPAN", "50000.00"),
        ("Ministry of Foreign Affairs Japan", "49500.00"),  # 1% short: the sender's bank's charges
        ("ministry of foreign affairs of japan", "50900.00"),  # 1.8% over
    ],
)
def test_no_reference_but_a_donor_named_alike_and_the_amount_within_2_percent_is_proposed(
    statement_upload, debtor, amount
):
    pledge = confirmed_pledge("50000.00", donor="Ministry of Foreign Affairs of Japan")
    confirmed_pledge("50000.00", donor="Kingdom of Norway")
    entry = Entry(amount, debtor=debtor, text="2024 contribution")

    statement = imported(statement_upload, [entry])

    line = line_of(entry)
    assert line.status == LineStatus.PROPOSED
    match = line.matches.get()
    assert (match.rule, match.status, match.pledge) == ("donor_amount", MatchStatus.PROPOSED, pledge)
    assert Decimal("0.5") <= match.confidence <= Decimal("0.9")
    assert debtor in match.explanation
    assert "Ministry of Foreign Affairs of Japan" in match.explanation
    assert "2%" in match.explanation
    assert_unpaid(pledge)
    assert statement.report["proposed"] == 1


def test_the_donor_rule_finds_an_instalment_of_the_amount(statement_upload):
    pledge = confirmed_pledge(
        "100000.00", donor="Government of Canada", instalments=((days_ago(3), "50000.00"), (days_ago(-300), "50000.00"))
    )
    entry = Entry("50000.00", debtor="GOVERNMENT OF CANADA GLOBAL AFFAIRS", text="instalment 1")

    imported(statement_upload, [entry])

    match = line_of(entry).matches.get()
    assert (match.rule, match.pledge, match.status) == ("donor_amount", pledge, MatchStatus.PROPOSED)


@pytest.mark.parametrize(
    ("debtor", "amount"),
    [
        ("Acme Trading Ltd", "50000.00"),  # the amount, but not the donor
        ("Ministry of Foreign Affairs of Japan", "48000.00"),  # the donor, 4% short
        ("", "50000.00"),  # nobody named
    ],
)
def test_a_line_without_reference_that_is_not_close_stays_unmatched(statement_upload, debtor, amount):
    pledge = confirmed_pledge("50000.00", donor="Ministry of Foreign Affairs of Japan")
    entry = Entry(amount, debtor=debtor, text="transfer")

    statement = imported(statement_upload, [entry])

    line = line_of(entry)
    assert line.status == LineStatus.UNMATCHED
    assert not line.matches.exists()
    assert_unpaid(pledge)
    assert statement.report["unmatched"] == 1


def test_a_reference_that_is_no_pledge_of_ours_falls_back_to_the_donor_rule(statement_upload):
    pledge = confirmed_pledge("7500.00", donor="Australian Department of Foreign Affairs and Trade")
    entry = Entry("7500.00", debtor="Australian Department of Foreign Affairs and Trade", reference="RF18539007547034")

    imported(statement_upload, [entry])

    match = line_of(entry).matches.get()
    assert (match.rule, match.pledge) == ("donor_amount", pledge)


# --- The run as a whole -------------------------------------------------------------------


def _mixed_statement(upload) -> tuple[BankStatement, dict]:
    exact = confirmed_pledge("1000.00")
    short = confirmed_pledge("2000.00")
    japan = confirmed_pledge("50000.00", donor="Ministry of Foreign Affairs of Japan")
    entries = {
        "applied": Entry("1000.00", reference=exact.reference),
        "short": Entry("1990.00", text=f"pledge {short.reference}"),
        "donor": Entry("50000.00", debtor="Ministry of Foreign Affairs of Japan"),
        "nobody": Entry("12.00", debtor="Jane Doe", text="gift"),
        "debit": Entry("300.00", debit=True, debtor="La Strada International"),
    }
    return imported(upload, list(entries.values())), entries | {"japan": japan}


def test_the_report_says_matching_is_done_with_its_counts(statement_upload):
    statement, _ = _mixed_statement(statement_upload)

    assert statement.report == {
        "lines": 5,
        "skipped_duplicates": 0,
        "references_made_unique": 0,
        "matching": "done",
        "done": 4,
        "total": 4,  # the debit is not matched
        "applied": 1,
        "proposed": 2,
        "unmatched": 1,
        "excluded": 1,  # the debit
    }


def test_matching_again_changes_nothing(statement_upload):
    statement, entries = _mixed_statement(statement_upload)

    def state():
        return (
            list(StatementLine.objects.order_by("pk").values_list("pk", "status")),
            list(LineMatch.objects.order_by("pk").values_list("pk", "status", "payment_id")),
            Payment.objects.count(),
            AuditEvent.objects.count(),
        )

    before = state()
    services.statement_match(statement=BankStatement.objects.get(pk=statement.pk))
    services.statement_match(statement=statement)

    assert state() == before
    assert line_of(entries["applied"]).status == LineStatus.MATCHED


def test_matching_again_keeps_the_report_of_what_was_matched(statement_upload):
    statement, _ = _mixed_statement(statement_upload)
    first = statement.report

    services.statement_match(statement=BankStatement.objects.get(pk=statement.pk))

    statement.refresh_from_db()
    assert statement.report["matching"] == "done"
    assert (statement.report["applied"], statement.report["proposed"]) == (first["applied"], first["proposed"])
