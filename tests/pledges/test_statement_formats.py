"""Statements as banks really send them, through POST /api/v1/statements/:
camt.053 entries whose only reference is deep in TxDtls, or repeated, or
missing; statements without entries; camt.054 notifications and camt.052
intraday reports; MT940 in the German and Dutch :86: dialects; BAI2 with 16
and 88 records; and conflicts answered with the line they collide with.
The fixtures are the project's own, written to show each habit."""

from decimal import Decimal

import pytest

from pledges.models import BankStatement, LineStatus, Payment, PledgeStatus, StatementLine
from tests.helpers import problem
from tests.statements import FIXTURES, Entry, camt053, confirmed_pledge, nothing_stored

pytestmark = pytest.mark.django_db


def with_reference(name: str, reference: str) -> bytes:
    return (FIXTURES / name).read_bytes().replace(b"{RF}", reference.encode())


def camt_entry(amount: str, refs: str, *, entry_refs: str = "", extra: str = "") -> str:
    return (
        f'<Ntry>{entry_refs}<Amt Ccy="USD">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        "<BookgDt><Dt>2024-11-05</Dt></BookgDt><ValDt><Dt>2024-11-05</Dt></ValDt>"
        f"<NtryDtls><TxDtls><Refs>{refs}</Refs>{extra}</TxDtls></NtryDtls></Ntry>"
    )


def camt_document(entries: str, *, message: str = "053", statement_id: str = "S-2024-11-05") -> bytes:
    root, element = {
        "053": ("BkToCstmrStmt", "Stmt"),
        "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
        "052": ("BkToCstmrAcctRpt", "Rpt"),
    }[message]
    return (
        f'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{message}.001.08">'
        f"<{root}><GrpHdr><MsgId>M-{statement_id}</MsgId><CreDtTm>2024-11-05T18:00:00</CreDtTm></GrpHdr>"
        f"<{element}><Id>{statement_id}</Id><Acct><Id><IBAN>CH9300762011623852957</IBAN></Id></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">1500.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-11-05</Dt></Dt></Bal>"
        f"{entries}</{element}></{root}></Document>"
    ).encode()


# --- camt.053: references from what the bank gives ------------------------------------


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ("<Prtry><Tp>BANK</Tp><Ref>PRTRY-77</Ref></Prtry>", "PRTRY-77"),
        ("<TxId>TX-0042</TxId><EndToEndId>E2E-1</EndToEndId>", "TX-0042"),
        ("<InstrId>INSTR-9</InstrId><EndToEndId>E2E-1</EndToEndId>", "INSTR-9"),
        ("<AcctSvcrRef>SVC-5</AcctSvcrRef><TxId>TX-1</TxId>", "SVC-5"),
        ("<EndToEndId>E2E-ONLY</EndToEndId>", "E2E-ONLY"),
    ],
)
def test_an_entry_whose_only_reference_is_in_its_transaction_details_imports(statement_upload, refs, expected):
    response = statement_upload(camt_document(camt_entry("100.00", refs)), "refs.xml")

    assert response.status_code == 201, response.content
    assert StatementLine.objects.get().bank_reference == expected


def test_an_entry_with_no_reference_at_all_gets_a_digest_that_is_the_same_each_time(statement_upload):
    data = camt_document(camt_entry("100.00", "<EndToEndId>NOTPROVIDED</EndToEndId>"))

    assert statement_upload(data, "no-ref.xml").status_code == 201
    first = StatementLine.objects.get().bank_reference
    again = statement_upload(data, "no-ref-again.xml")

    assert first.startswith("camt:") and len(first) == 45
    body = problem(again, 409, "statement-already-imported")
    assert "S-2024-11-05" in body["detail"]


def test_two_entries_sharing_an_end_to_end_id_both_import_told_apart(statement_upload):
    pledge = confirmed_pledge("100.00")
    shared = "<EndToEndId>PAYER-BATCH-7</EndToEndId>"
    entries = camt_entry("100.00", shared, extra=_ustrd(pledge.reference)) + camt_entry("250.00", shared)

    response = statement_upload(camt_document(entries), "shared-e2e.xml")

    assert response.status_code == 201, response.content
    assert response.json()[0]["report"]["references_made_unique"] == 1
    lines = list(StatementLine.objects.order_by("position").values_list("bank_reference", "amount"))
    assert lines == [("PAYER-BATCH-7", Decimal("100.00")), ("PAYER-BATCH-7#2", Decimal("250.00"))]
    assert Payment.objects.get(pledge=pledge).amount == Decimal("100.00")  # matched by its RF reference


def _ustrd(text: str) -> str:
    return f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf>"


def test_a_statement_without_entries_is_kept_with_its_balances(statement_upload):
    response = statement_upload(camt053([], statement_id="QUIET-DAY"), "quiet.xml")

    assert response.status_code == 201, response.content
    (body,) = response.json()
    assert (body["statement_id"], body["line_count"], body["kind"]) == ("QUIET-DAY", 0, "statement")
    assert [b["type"] for b in body["balances"]] == ["OPBD", "CLBD"]
    assert body["balances"][0]["amount"] == "1000000.00"


def test_a_line_colliding_with_a_different_line_names_it_and_stores_nothing(statement_upload):
    first = Entry("100.00", bank_reference="BANK-REUSED-1")
    statement_upload(camt053([first], statement_id="MONDAY"), "monday.xml")
    changed = Entry("999.00", bank_reference="BANK-REUSED-1")

    response = statement_upload(camt053([Entry("5.00"), changed], statement_id="TUESDAY"), "tuesday.xml")

    body = problem(response, 409, "statement-line-conflict")
    (message,) = body["errors"]["lines.2.bank_reference"]
    assert "'BANK-REUSED-1' is already on account" in message
    assert "as line 1 of statement MONDAY" in message
    assert "credit 100.00 USD" in message and "credit of 999.00 USD" in message
    assert not BankStatement.objects.filter(statement_id="TUESDAY").exists()
    assert StatementLine.objects.count() == 1


def test_the_same_line_in_an_overlapping_statement_is_skipped_not_refused(statement_upload):
    line = Entry("100.00", bank_reference="BANK-SAME-1")
    statement_upload(camt053([line], statement_id="INTRADAY-VIEW"), "first.xml")

    response = statement_upload(camt053([line, Entry("7.00")], statement_id="END-OF-DAY"), "second.xml")

    assert response.status_code == 201, response.content
    assert response.json()[0]["report"]["skipped_duplicates"] == 1
    assert StatementLine.objects.filter(bank_reference="BANK-SAME-1").count() == 1


def test_a_statement_already_imported_is_named_with_when_and_by_whom(statement_upload, reconciler):
    statement_upload(camt053([Entry("1.00")], statement_id="ONCE"), "once.xml")

    response = statement_upload(camt053([Entry("2.00")], statement_id="ONCE"), "once-again.xml")

    body = problem(response, 409, "statement-already-imported")
    assert "Statement ONCE of account" in body["detail"]
    assert f"by {reconciler.get_username()}" in body["detail"] and "once.xml" in body["detail"]


# --- camt.054 and camt.052 -------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind", "file_format"), [("054", "notification", "camt054"), ("052", "intraday", "camt052")]
)
def test_notifications_and_intraday_reports_import_flagged_by_kind(statement_upload, message, kind, file_format):
    pledge = confirmed_pledge("100.00")
    entry = camt_entry("100.00", "", entry_refs="<NtryRef>N-1</NtryRef>", extra=_ustrd(pledge.reference))

    response = statement_upload(camt_document(entry, message=message), f"camt{message}.xml")

    assert response.status_code == 201, response.content
    (body,) = response.json()
    assert (body["kind"], body["file_format"], body["line_count"]) == (kind, file_format, 1)
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID


# --- MT940 -----------------------------------------------------------------------------


def test_a_german_mt940_with_structured_86_imports_and_matches_by_reference(statement_upload):
    pledge = confirmed_pledge("2500.00", "EUR", donor="Stadt Wien")

    response = statement_upload(with_reference("mt940_german_structured.sta", pledge.reference), "umsatz.sta")

    assert response.status_code == 201, response.content
    (body,) = response.json()
    assert (body["file_format"], body["account"], body["line_count"]) == ("mt940", "50010517/0123456789", 2)
    assert body["statement_id"] == "STARTUMSE/00042/001 2024-11-05"
    assert [b["type"] for b in body["balances"]] == ["OPBD", "CLBD"]
    credit = StatementLine.objects.get(direction="credit")
    assert credit.debtor_name == "Stadt Wien Magistratsabteilung 5"  # ?32 and ?33, not the ?31 IBAN
    assert credit.remittance == f"Zusage {pledge.reference} Beitrag der Stadt Wien"
    assert (str(credit.booking_date), str(credit.value_date)) == ("2024-11-05", "2024-11-05")
    assert StatementLine.objects.get(direction="debit").bank_reference == "BANKREF-7781"
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, Decimal("2500.00"))


def test_a_dutch_mt940_with_tags_and_two_statements_imports_every_statement(statement_upload):
    pledge = confirmed_pledge("1200.00", "EUR", donor="Ministerie van Buitenlandse Zaken")

    response = statement_upload(with_reference("mt940_dutch_tags.sta", pledge.reference), "abn.sta")

    assert response.status_code == 201, response.content
    days = {s["statement_id"]: s["line_count"] for s in response.json()}
    assert days == {"940S241105/0 2024-11-05": 3, "940S241106/0 2024-11-06": 0}
    assert {s["account"] for s in response.json()} == {"NL91ABNA0417164300"}  # ING-style "…EUR" dropped
    first, second, fee = StatementLine.objects.order_by("position")
    assert (first.bank_reference, second.bank_reference) == ("NL-MFA-2024-0042", "NL-MFA-2024-0042#2")
    assert first.debtor_name == "MINISTERIE VAN BUITENLANDSE ZAKEN"
    assert first.remittance == f"Bijdrage {pledge.reference} Trust Fund"
    assert (first.status, second.status, fee.status) == (LineStatus.MATCHED, LineStatus.UNMATCHED, LineStatus.EXCLUDED)


def test_an_mt940_line_without_its_transaction_type_is_refused_saying_so(statement_upload):
    data = (
        b":20:REF1\r\n:25:123456\r\n:28C:1/1\r\n:60F:C241104EUR0,00\r\n"
        b":61:2411051105C100,00//B1\r\n:61:2411051105C200,00//B2\r\n:62F:C241105EUR300,00\r\n"
    )

    response = statement_upload(data, "no-type.sta")

    body = problem(response, 400, "invalid-input")
    assert "has no transaction type (N and three letters)" in body["errors"]["file"][0]
    assert nothing_stored()


# --- BAI2 -------------------------------------------------------------------------------


def test_a_us_banks_bai2_imports_with_its_continuations_and_matches_by_reference(statement_upload):
    pledge = confirmed_pledge("250000.00", "USD", donor="Government of Norway")

    response = statement_upload(with_reference("bai2_us_bank.bai2", pledge.reference), "bod.bai2")

    assert response.status_code == 201, response.content
    (body,) = response.json()
    assert (body["file_format"], body["account"], body["line_count"], body["kind"]) == (
        "bai2",
        "485001802",
        2,
        "statement",
    )
    assert body["balances"][0] == {
        "type": "010 Opening Ledger",
        "amount": "1000000.00",
        "currency": "USD",
        "date": "2024-11-04",
    }
    wire = StatementLine.objects.get(direction="credit")
    assert (wire.bank_reference, wire.amount, wire.debtor_name) == (
        "FW241104-000123",
        Decimal("250000.00"),
        "GOVERNMENT OF NORWAY",
    )
    assert pledge.reference in wire.remittance and "SENDER BNK:=DNB BANK ASA" in wire.remittance
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PAID


def test_a_bai2_file_whose_totals_do_not_add_up_is_refused(statement_upload):
    data = with_reference("bai2_us_bank.bai2", "RF18539007547034").replace(b"16,195,25000000", b"16,195,25000001")

    body = problem(statement_upload(data, "bad.bai2"), 400, "invalid-input")

    assert "the amounts add up to 475007501, its trailer (49) says 475007500" in body["errors"]["file"][0]
    assert nothing_stored()


def test_a_bai2_test_file_with_packed_records_is_refused_as_not_the_banks_statement(statement_upload):
    body = problem(
        statement_upload((FIXTURES / "bai2_packed_test_group.bai2").read_bytes(), "t.bai2"), 400, "invalid-input"
    )

    assert body["errors"]["file"] == ["group 1 is marked test only: it is not the bank's statement"]
