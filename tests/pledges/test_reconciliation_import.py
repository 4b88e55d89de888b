"""Statement import through the API, POST /api/v1/statements/: camt.053 of
each version and CSV in, whole or not at all, never twice.

The statements themselves, real-shaped camt.053 documents and CSV
statements that carry our pledges' references, are rendered by
tests/statements.py.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum import iso11649

from pledges.models import (
    AuditEvent,
    BankStatement,
    LineMatch,
    LineStatus,
    MatchStatus,
    Payment,
    PledgeStatus,
    StatementLine,
)
from pledges.references import reference_new
from tests.conftest import run_at_once
from tests.helpers import days_ago, problem
from tests.statements import (
    FIXTURES,
    FUND_IBAN,
    Entry,
    camt053,
    confirmed_pledge,
    csv_statement,
    line_of,
    nothing_stored,
)

pytestmark = pytest.mark.django_db

STATEMENTS = "/api/v1/statements/"
DEBIT_NOTE = "A debit: not money for the Fund."


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- Each camt.053 version imports ---------------------------------------------------


@pytest.mark.parametrize("version", ["02", "04", "06", "08"])
def test_a_camt053_statement_of_each_version_imports_its_lines(statement_upload, reconciler, version):
    reference = reference_new()
    credit = Entry(
        "1234.56",
        debtor="Government of Canada",
        reference=reference,
        text="Contribution 2024",
        value_date=days_ago(12),
        booking_date=days_ago(11),
    )
    charged = Entry("985.00", "USD", debtor="Müller & Söhne GmbH", text="Spende", charges="15.00")
    debit = Entry("200.00", debtor="La Strada International", text="Grant tranche", debit=True)
    pending = Entry("999.00", debtor="Someone", status="PDNG")
    data = camt053([credit, charged, debit, pending], version, statement_id=f"UBS-{version}-0001")

    response = statement_upload(data, f"camt053_v{version}.xml")

    assert response.status_code == 201, response.content
    (body,) = response.json()
    assert body["statement_id"] == f"UBS-{version}-0001"
    assert body["account"] == FUND_IBAN
    assert body["file_format"] == "camt053"
    assert body["filename"] == f"camt053_v{version}.xml"
    assert body["line_count"] == 3  # the pending entry is not booked money
    assert body["report"] == {"lines": 3, "skipped_duplicates": 0, "references_made_unique": 0, "matching": "queued"}

    statement = BankStatement.objects.get()
    assert statement.imported_by == reconciler
    assert statement.file_sha256
    first, second, third = statement.lines.order_by("position")
    assert [line.position for line in (first, second, third)] == [1, 2, 3]
    assert (first.amount, first.currency, first.charges, first.direction) == (
        Decimal("1234.56"),
        "USD",
        Decimal(0),
        "credit",
    )
    assert (first.value_date, first.booking_date) == (days_ago(12), days_ago(11))
    assert first.debtor_name == "Government of Canada"
    assert first.remittance == "Contribution 2024 CREDIT TRANSFER"
    assert first.creditor_reference == reference
    assert first.bank_reference == credit.bank_reference
    assert first.account == FUND_IBAN
    assert first.status == LineStatus.UNMATCHED  # no pledge has this reference
    assert (second.amount, second.charges) == (Decimal("985.00"), Decimal("15.00"))
    assert second.debtor_name == "Müller & Söhne GmbH"
    # The debit is kept, visible, and excluded with a note.
    assert (third.direction, third.amount, third.status) == ("debit", Decimal("200.00"), LineStatus.EXCLUDED)
    assert third.note == DEBIT_NOTE

    event = AuditEvent.objects.get(action="statement.imported")
    assert (event.object_type, event.object_id) == ("bankstatement", str(statement.pk))
    assert event.actor_user == reconciler
    assert event.new_values == {
        "statement_id": f"UBS-{version}-0001",
        "account": FUND_IBAN,
        "format": "camt053",
        "kind": "statement",
        "lines": 3,
    }
    statement.refresh_from_db()
    assert statement.report["matching"] == "done"
    assert statement.report["total"] == 2  # the two credits were looked at


@pytest.mark.parametrize(
    ("name", "statements", "lines", "excluded"),
    [
        ("camt053_v02_swiss.xml", ["BCGE-STMT-20240305-0065"], 2, 0),
        ("camt053_v04.xml", ["0532024040305124400017"], 3, 0),
        ("camt053_v06.xml", ["NWBK20240611USD"], 2, 1),  # a reversal booked as a debit; a pending entry
        ("camt053_v08.xml", ["36851234-20240510", "FR76-20240510"], 6, 1),  # a batch of three, a debit
    ],
)
def test_the_banks_own_camt053_files_import(statement_upload, name, statements, lines, excluded):
    response = statement_upload(fixture_bytes(name), name)

    assert response.status_code == 201, response.content
    assert sorted(s["statement_id"] for s in response.json()) == sorted(statements)
    assert sum(s["line_count"] for s in response.json()) == lines
    assert StatementLine.objects.count() == lines
    assert StatementLine.objects.filter(status=LineStatus.EXCLUDED).count() == excluded
    assert set(StatementLine.objects.filter(direction="debit").values_list("status", flat=True)) <= {"excluded"}
    assert AuditEvent.objects.filter(action="statement.imported").count() == len(statements)


def test_a_batch_entry_becomes_one_line_per_transfer(statement_upload):
    response = statement_upload(fixture_bytes("camt053_v08.xml"), "camt053_v08.xml")

    assert response.status_code == 201
    batch = StatementLine.objects.filter(bank_reference__startswith="CITI240510BATCH01/").order_by("position")
    assert [(line.bank_reference, line.amount) for line in batch] == [
        ("CITI240510BATCH01/1", Decimal("20000.00")),
        ("CITI240510BATCH01/2", Decimal("7500.00")),
        ("CITI240510BATCH01/3", Decimal("2500.00")),
    ]
    japan = StatementLine.objects.get(bank_reference="CITI240510000458")
    assert (japan.amount, japan.charges) == (Decimal("49985.00"), Decimal("15.00"))
    assert japan.debtor_name == "Ministry of Foreign Affairs of Japan"


# --- CSV layouts ------------------------------------------------------------------


def test_a_csv_with_commas_quotes_directions_and_charges_imports(statement_upload):
    response = statement_upload(fixture_bytes("csv_comma_dot.csv"), "export.csv")

    assert response.status_code == 201, response.content
    (body,) = response.json()
    assert body["file_format"] == "csv"
    assert body["statement_id"].startswith("csv-")
    assert body["account"] == "485-001802"  # the configured account
    assert body["line_count"] == 5
    lines = {line.bank_reference: line for line in StatementLine.objects.all()}
    assert lines["CITI-0001"].amount == Decimal("1234.56")  # "1,234.56"
    assert lines["CITI-0001"].remittance == "Pledge 2024, instalment 1"
    assert lines["CITI-0001"].creditor_reference == "RF16VTFERTT1V1SU"
    assert (lines["CITI-0002"].amount, lines["CITI-0002"].charges) == (Decimal("250000.00"), Decimal("15.00"))
    assert lines["CITI-0002"].value_date == date(2024, 5, 11)
    assert (lines["CITI-0003"].direction, lines["CITI-0003"].status) == ("debit", LineStatus.EXCLUDED)
    assert (lines["CITI-0004"].amount, lines["CITI-0004"].status) == (Decimal("75.00"), LineStatus.EXCLUDED)
    assert lines["CITI-0004"].note == DEBIT_NOTE
    assert (lines["CITI-0005"].amount, lines["CITI-0005"].currency) == (Decimal("5000000"), "JPY")


def test_a_european_csv_with_semicolons_and_decimal_commas_imports(statement_upload):
    response = statement_upload(fixture_bytes("csv_semicolon_eu.csv"), "erste.csv", account="AT611904300234573201")

    assert response.status_code == 201, response.content
    assert response.json()[0]["account"] == "AT611904300234573201"
    lines = list(StatementLine.objects.order_by("position"))
    assert [line.position for line in lines] == [1, 2, 4]  # the empty row counts
    assert [line.amount for line in lines] == [Decimal("1234.56"), Decimal("250.00"), Decimal("1000000.00")]
    assert [line.status for line in lines] == [LineStatus.UNMATCHED, LineStatus.EXCLUDED, LineStatus.UNMATCHED]
    assert lines[0].booking_date == date(2024, 3, 5)
    assert lines[1].value_date == date(2024, 3, 6)
    assert lines[2].debtor_name == "Land Tirol; Abteilung Soziales"
    assert {line.account for line in lines} == {"AT611904300234573201"}


def test_a_windows_export_in_cp1252_imports_with_its_accents(statement_upload):
    response = statement_upload(fixture_bytes("csv_cp1252.csv"), "sg.csv")

    assert response.status_code == 201, response.content
    first, second = StatementLine.objects.order_by("position")
    assert first.debtor_name == "Société Générale Côte d’Ivoire"
    assert first.remittance == "Don – février"
    assert second.debtor_name == "Müller & Söhne GmbH"


@pytest.mark.parametrize(
    ("delimiter", "text", "currency", "amount"),
    [
        (";", "1.234,56", "EUR", "1234.56"),
        (",", "1,234.56", "USD", "1234.56"),
        ("\t", "1'234.56", "CHF", "1234.56"),
        (";", "12.345.678,90", "EUR", "12345678.90"),
        (",", "1,234", "USD", "1234"),
        (";", "0,50", "EUR", "0.50"),
    ],
)
def test_amounts_with_thousands_separators_and_decimal_commas_read_right(
    statement_upload, delimiter, text, currency, amount
):
    entry = Entry(text, currency)

    response = statement_upload(csv_statement([entry], delimiter=delimiter), "amounts.csv")

    assert response.status_code == 201, response.content
    assert line_of(entry).amount == Decimal(amount)


def test_slashed_dates_need_the_date_order(statement_upload):
    data = b"booking_date,amount,currency,bank_reference\r\n13/04/2024,100.00,USD,SL-1\r\n"

    refused = statement_upload(data, "slashes.csv")
    body = problem(refused, 400, "invalid-input")
    assert list(body["errors"]) == ["lines.1.booking_date"]
    assert nothing_stored()

    accepted = statement_upload(data, "slashes.csv", date_order="DMY")
    assert accepted.status_code == 201, accepted.content
    assert StatementLine.objects.get().booking_date == date(2024, 4, 13)


def test_a_long_statement_streams_in_batches_and_keeps_every_line(statement_upload):
    entries = [Entry(f"{n}.00", bank_reference=f"LONG-{n:05d}") for n in range(1, 2502)]

    response = statement_upload(csv_statement(entries), "long.csv")

    assert response.status_code == 201, response.content
    assert response.json()[0]["line_count"] == 2501
    assert StatementLine.objects.count() == 2501
    last = StatementLine.objects.get(bank_reference="LONG-02501")
    assert (last.position, last.amount) == (2501, Decimal("2501.00"))


# --- Imported once -----------------------------------------------------------------


def _counts() -> tuple[int, int, int, int]:
    return (
        BankStatement.objects.count(),
        StatementLine.objects.count(),
        AuditEvent.objects.count(),
        LineMatch.objects.count(),
    )


@pytest.mark.parametrize("kind", ["camt053", "csv"])
def test_the_same_file_imported_again_is_refused_and_nothing_is_added(statement_upload, kind):
    entries = [Entry("500.00", debtor="Kingdom of Norway"), Entry("700.00", debtor="Stadt Wien")]
    data = camt053(entries) if kind == "camt053" else csv_statement(entries)
    assert statement_upload(data, "first.xml").status_code == 201
    before = _counts()

    again = statement_upload(data, "renamed-copy.xml")

    body = problem(again, 409, "statement-already-imported")
    assert body["title"] == "This statement was already imported"
    assert _counts() == before


def test_the_same_statement_id_sent_again_in_another_file_is_refused(statement_upload):
    first = Entry("500.00", debtor="Kingdom of Norway")
    assert statement_upload(camt053([first], statement_id="UBS-2024-0612")).status_code == 201
    before = _counts()
    # The bank re-sends the statement: another message, a line added since.
    late = Entry("300.00", debtor="Stadt Wien")

    again = statement_upload(camt053([first, late], "04", statement_id="UBS-2024-0612"))

    body = problem(again, 409, "statement-already-imported")
    assert "UBS-2024-0612" in body["detail"]
    assert _counts() == before
    assert not StatementLine.objects.filter(bank_reference=late.bank_reference).exists()


def test_a_file_whose_second_statement_was_imported_is_refused_whole(statement_upload):
    old = Entry("500.00")
    assert statement_upload(camt053([old], statement_id="STMT-OLD")).status_code == 201
    new = Entry("800.00")

    again = statement_upload(camt053([new], statement_id="STMT-NEW", also=(("STMT-OLD", [old]),)))

    problem(again, 409, "statement-already-imported")
    assert list(BankStatement.objects.values_list("statement_id", flat=True)) == ["STMT-OLD"]
    assert not StatementLine.objects.filter(bank_reference=new.bank_reference).exists()


def test_a_line_already_imported_from_another_statement_is_skipped_and_counted(statement_upload):
    shared = Entry("500.00", debtor="Kingdom of Norway", bank_reference="UBS-TX-0001")
    first = Entry("100.00")
    fresh = Entry("250.00")
    assert statement_upload(camt053([first, shared], statement_id="STMT-A")).status_code == 201

    response = statement_upload(camt053([shared, fresh], "06", statement_id="STMT-B"))

    assert response.status_code == 201, response.content
    (body,) = response.json()
    assert body["line_count"] == 1
    assert body["report"]["skipped_duplicates"] == 1
    second = BankStatement.objects.get(statement_id="STMT-B")
    assert second.report["skipped_duplicates"] == 1
    assert list(second.lines.values_list("bank_reference", flat=True)) == [fresh.bank_reference]
    assert StatementLine.objects.filter(bank_reference="UBS-TX-0001").count() == 1
    assert line_of(shared).statement.statement_id == "STMT-A"


# --- Files refused whole ---------------------------------------------------------------


def _malformed() -> bytes:
    return camt053([Entry("100.00")]).replace(b"</Ntry>", b"</Entry>", 1)


def _truncated_after_a_full_batch() -> bytes:
    data = camt053([Entry(f"{n}.00") for n in range(1, 2101)])
    return data[: len(data) - 200]  # cut in the last entry: two thousand lines were read before


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "wrong-namespace",
            camt053([Entry("1.00")]).replace(b"camt.053.001.08", b"camt.029.001.08"),
            "not a camt.052, camt.053 or camt.054 document",
        ),
        ("truncated", fixture_bytes("camt053_truncated.xml"), "cut short"),
        ("truncated-after-a-batch", None, "cut short"),
        ("malformed", None, "not well-formed XML"),
        ("xml-bomb", fixture_bytes("camt053_xml_bomb.xml"), "entities or a DTD"),
        ("external-entity", fixture_bytes("camt053_external_entity.xml"), "entities or a DTD"),
        ("empty", fixture_bytes("camt053_empty.xml"), "empty"),
        ("blank", b"  \r\n\t\r\n", "empty"),
        ("camt052", camt053([Entry("1.00")]).replace(b"camt.053.001.08", b"camt.052.001.08"), "not 'BkToCstmrAcctRpt'"),
        ("not-a-statement", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "lacks the column"),
    ],
)
def test_a_file_that_is_not_a_statement_is_refused_naming_file_and_nothing_is_stored(
    statement_upload, name, data, message
):
    if data is None:
        data = _truncated_after_a_full_batch() if name == "truncated-after-a-batch" else _malformed()

    response = statement_upload(data, f"{name}.xml")

    body = problem(response, 400, "invalid-input")
    assert list(body["errors"]) == ["file"]
    assert message in body["errors"]["file"][0]
    assert nothing_stored()
    assert not StatementLine.objects.exists()


def test_the_xml_bomb_answer_does_not_echo_expanded_entities(statement_upload):
    response = statement_upload(fixture_bytes("camt053_xml_bomb.xml"), "bomb.xml")

    assert response.status_code == 400
    assert b"lollol" not in response.content
    assert len(response.content) < 2000


def test_an_external_entity_is_never_read(statement_upload):
    response = statement_upload(fixture_bytes("camt053_external_entity.xml"), "xxe.xml")

    assert response.status_code == 400
    assert b"root:" not in response.content


def test_a_request_without_a_file_is_refused_naming_file(client_for, reconciler):
    response = client_for(reconciler).post(STATEMENTS, {"account": "X"}, format="multipart")

    body = problem(response, 400, "invalid-input")
    assert list(body["errors"]) == ["file"]


def test_an_unknown_date_order_is_refused(statement_upload):
    response = statement_upload(csv_statement([Entry("1.00")]), "x.csv", date_order="YMD")

    body = problem(response, 400, "invalid-input")
    assert list(body["errors"]) == ["date_order"]
    assert nothing_stored()


def test_a_csv_with_bad_lines_is_refused_with_each_lines_errors_and_nothing_stored(statement_upload):
    response = statement_upload(fixture_bytes("csv_bad_lines.csv"), "bad.csv")

    body = problem(response, 400, "invalid-input")
    assert set(body["errors"]) == {"lines.2.amount", "lines.3.booking_date"}
    assert "12.345.67" in body["errors"]["lines.2.amount"][0]
    assert "calendar" in body["errors"]["lines.3.booking_date"][0]
    assert nothing_stored()


def test_a_bad_line_after_a_full_batch_still_refuses_the_whole_file(statement_upload):
    entries = [Entry(f"{n}.00", bank_reference=f"OK-{n:05d}") for n in range(1, 2101)]
    entries.append(Entry("12,34,5", bank_reference="BAD-1"))
    entries.append(Entry("10.00", "XXX", bank_reference="BAD-2"))

    response = statement_upload(csv_statement(entries), "late-errors.csv")

    body = problem(response, 400, "invalid-input")
    assert set(body["errors"]) == {"lines.2101.amount", "lines.2102.currency"}
    assert nothing_stored()


def test_a_csv_without_the_required_columns_is_refused_naming_file(statement_upload):
    response = statement_upload(b"date,label,currency\r\n2024-05-01,1.00,USD\r\n", "x.csv")

    body = problem(response, 400, "invalid-input")
    assert "lacks the column(s) amount" in body["errors"]["file"][0]
    assert nothing_stored()


def test_a_camt053_entry_with_errors_refuses_the_file_naming_the_line(statement_upload):
    good = Entry("100.00")
    bad = Entry("100.005")  # more decimals than USD has
    data = camt053([good, bad])

    response = statement_upload(data, "bad-entry.xml")

    body = problem(response, 400, "invalid-input")
    assert list(body["errors"]) == ["lines.2.amount"]
    assert nothing_stored()


def test_a_file_larger_than_the_limit_is_refused_with_413(statement_upload, settings):
    data = csv_statement([Entry("100.00", text="x" * 200)])
    settings.STATEMENT_MAX_BYTES = len(data) - 1

    response = statement_upload(data, "big.csv")

    body = problem(response, 413, "request-too-large")
    assert str(len(data) - 1) in body["detail"]
    assert nothing_stored()


def test_a_file_exactly_at_the_limit_is_accepted(statement_upload, settings):
    data = csv_statement([Entry("100.00", text="x" * 200)])
    settings.STATEMENT_MAX_BYTES = len(data)

    assert statement_upload(data, "at-limit.csv").status_code == 201


# --- A currency without an exchange rate -------------------------------------------------


def test_a_statement_in_a_currency_without_a_rate_imports_and_its_lines_wait_with_an_explanation(
    statement_upload,
):
    usd_pledge = confirmed_pledge("1000.00", "USD")
    chf_pledge = confirmed_pledge("500.00", "CHF", donor="Département fédéral des affaires étrangères")
    other_currency = Entry("950.00", "CHF", debtor="Government of Canada", reference=usd_pledge.reference)
    same_currency = Entry("500.00", "CHF", reference=iso11649.format(chf_pledge.reference))

    response = statement_upload(camt053([other_currency, same_currency], "02"), "chf.xml")

    assert response.status_code == 201, response.content
    line = line_of(other_currency)
    assert line.status == LineStatus.PROPOSED
    match = line.matches.get()
    assert match.status == MatchStatus.PROPOSED
    assert match.pledge == usd_pledge
    assert match.confidence < 1
    assert "no rate converts CHF to USD" in match.explanation
    assert not Payment.objects.filter(pledge=usd_pledge).exists()
    usd_pledge.refresh_from_db()
    assert (usd_pledge.amount_paid, usd_pledge.status) == (Decimal(0), PledgeStatus.CONFIRMED)
    # A line in the pledge's own currency needs no rate.
    assert line_of(same_currency).status == LineStatus.MATCHED
    chf_pledge.refresh_from_db()
    assert chf_pledge.status == PledgeStatus.PAID


# --- Roles -------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("outsider", 403), ("viewer", 403)])
def test_only_reconcilers_import_statements(statement_upload, client_for, request, who, status):
    client = client_for(request.getfixturevalue(who) if who else None)

    response = statement_upload(camt053([Entry("1.00")]), client=client)

    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    assert nothing_stored()


@pytest.mark.parametrize("who", ["reconciler", "fund_admin"])
def test_reconcilers_and_fund_admins_import_statements(statement_upload, client_for, request, who):
    response = statement_upload(camt053([Entry("1.00")]), client=client_for(request.getfixturevalue(who)))

    assert response.status_code == 201


def test_viewers_read_the_statements_and_their_reports(statement_upload, client_for, viewer):
    statement_upload(camt053([Entry("1.00")], statement_id="STMT-VIEW"))
    client = client_for(viewer)

    listed = client.get(STATEMENTS)
    assert listed.status_code == 200
    (item,) = listed.json()["results"]
    assert item["statement_id"] == "STMT-VIEW"
    detail = client.get(f"{STATEMENTS}{item['id']}/")
    assert detail.status_code == 200
    assert detail.json()["report"]["matching"] == "done"
    assert client_for(None).get(STATEMENTS).status_code == 401


# --- Two imports of one statement at once ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_file", [True, False])
def test_two_imports_of_one_statement_at_once_store_it_once(postgres_only, client_for, make_user, same_file):
    pledge = confirmed_pledge("1000.00")
    paying = Entry("1000.00", debtor="Government of Canada", reference=pledge.reference)
    entries = [paying, Entry("20.00", debit=True), Entry("30.00")]
    first = camt053(entries, "08", statement_id="CONCURRENT-1")
    second = first if same_file else camt053(entries, "04", statement_id="CONCURRENT-1")
    clients = [client_for(make_user("rita", "reconciler")), client_for(make_user("ravi", "reconciler"))]

    def post(client, data):
        return lambda: client.post(STATEMENTS, {"file": SimpleUploadedFile("s.xml", data)}, format="multipart")

    responses = run_at_once(post(clients[0], first), post(clients[1], second))

    assert sorted(r.status_code for r in responses) == [201, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert refused.json()["type"] == "urn:vtf-pledges:problem:statement-already-imported"
    assert BankStatement.objects.count() == 1
    assert StatementLine.objects.count() == 3
    assert AuditEvent.objects.filter(action="statement.imported").count() == 1
    # Matching ran once, after the winner's commit.
    assert Payment.objects.filter(pledge=pledge).count() == 1
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, Decimal("1000.00"))
