"""Bank statements to plain values: camt.053 (all versions 02-08 by fixture)
and CSV. No database: these tests only parse."""

import codecs
import hashlib
import io
import os
import tempfile
import tracemalloc
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pledges.reconciliation.camt053 import iter_camt053
from pledges.reconciliation.csv_statement import file_sha256, iter_csv_statement, parse_amount, parse_date
from pledges.reconciliation.parsing import (
    CREDIT,
    DEBIT,
    LineError,
    StatementFormatError,
    StatementLine,
    find_references,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "statements"
MB = 1024 * 1024


def camt_file(name: str) -> list:
    with open(FIXTURES / name, "rb") as stream:
        return list(iter_camt053(stream))


def camt_bytes(data: bytes) -> list:
    return list(iter_camt053(io.BytesIO(data)))


FUND_ACCOUNT = "CH9300762011623852957"


def fund_credit(*, booked: date, **fields) -> StatementLine:
    """The line a parser should give for money in to the Fund's account,
    booked and valued on one day, without bank charges."""
    return StatementLine(
        account=FUND_ACCOUNT,
        direction=CREDIT,
        booking_date=booked,
        value_date=booked,
        charges=Decimal("0"),
        **fields,
    )


def csv_file(name: str, **options) -> list:
    options.setdefault("statement_id", "STMT-1")
    options.setdefault("account", FUND_ACCOUNT)
    with open(FIXTURES / name, "rb") as stream:
        return list(iter_csv_statement(stream, **options))


def csv_bytes(data: bytes, **options) -> list:
    options.setdefault("statement_id", "STMT-1")
    options.setdefault("account", "ACC-1")
    return list(iter_csv_statement(io.BytesIO(data), **options))


def document(entries: str, version: str = "08", statement: str | None = None) -> bytes:
    """A small camt.053 document around some Ntry elements."""
    if statement is None:
        statement = "<Id>S-1</Id><Acct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id></Acct>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>M-1</MsgId><CreDtTm>2024-05-10T12:00:00Z</CreDtTm></GrpHdr>"
        f"<Stmt>{statement}{entries}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def entry(
    amount: str = "100.00",
    currency: str = "USD",
    indicator: str = "CRDT",
    ref: str = "<AcctSvcrRef>A-1</AcctSvcrRef>",
    dates: str = "<BookgDt><Dt>2024-05-10</Dt></BookgDt>",
    extra: str = "",
) -> str:
    return (
        f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts>{dates}{ref}{extra}</Ntry>"
    )


# --- camt.053, version by version ---------------------------------------------------


def test_camt053_v02_swiss_bank_with_structured_references():
    first, second = camt_file("camt053_v02_swiss.xml")

    assert first == fund_credit(
        position=1,
        statement_id="BCGE-STMT-20240305-0065",
        bank_reference="BCGE240305CH0000001",
        amount=Decimal("50000.00"),
        currency="CHF",
        booked=date(2024, 3, 5),
        debtor_name="Département fédéral des affaires étrangères",
        remittance="Contribution 2024 / annual pledge",
        creditor_reference="RF48VTFW0E1HTUB7",
    )
    assert second.position == 2
    assert second.bank_reference == "BCGE240305CH0000002"  # AcctSvcrRef wins over NtryRef
    assert second.amount == Decimal("12490.50")
    assert second.value_date == date(2024, 3, 6)
    assert second.creditor_reference == "RF70 VTFV X3AR T04U"  # as given
    assert second.debtor_name == "Fondation Pour les Survivants"  # runs of spaces folded
    assert second.remittance == "VIREMENT INTERNATIONAL"
    assert second.charges == Decimal("10.00")  # .02: Chrgs/Amt


def test_camt053_v04_reference_typed_into_free_text():
    first, second, third = camt_file("camt053_v04.xml")

    assert first.statement_id == "0532024040305124400017"
    assert first.account == "DE89370400440532013000"
    assert first.bank_reference == "2024040200012345"
    assert (first.amount, first.currency, first.direction) == (Decimal("25000.00"), "EUR", CREDIT)
    assert first.debtor_name == "Bundesministerium fuer Familie, Senioren, Frauen und Jugend"
    assert first.creditor_reference == ""
    # Ustrd lines joined with a space, then AddtlNtryInf.
    assert first.remittance == "pledge rf18 5390   0754 7034 thank you GUTSCHR. UEBERWEISUNG"
    assert find_references(first.remittance) == ["RF18539007547034"]

    assert second.bank_reference == "NR-0002"  # no AcctSvcrRef: NtryRef
    assert second.booking_date == date(2024, 4, 2)  # DtTm: the date as the bank wrote it
    assert second.value_date == date(2024, 4, 2)
    assert second.charges == Decimal("7.50")  # TtlChrgsAndTaxAmt
    assert second.debtor_name == "Stichting Vrij"  # Dbtr before UltmtDbtr
    assert find_references(second.remittance) == ["RF92VTF6D0B6ZE3B"]

    assert third.bank_reference == "E2E-DONATION-77"  # neither: EndToEndId
    assert third.remittance == "GUTSCHRIFT"
    assert third.charges == 0


def test_camt053_v06_status_code_reversal_and_pending_entry():
    credit, reversal = camt_file("camt053_v06.xml")  # the pending third entry is left out

    assert credit.direction == CREDIT
    assert credit.amount == Decimal("100000.00")
    assert credit.currency == "USD"
    assert credit.creditor_reference == "RF16VTFERTT1V1SU"
    assert credit.remittance == "Pledge 2024 instalment 1"  # Strd/AddtlRmtInf
    assert credit.debtor_name == "Government of Canada"
    assert not credit.reversal

    # A credit recalled: booked DBIT with RvslInd, so money left the account.
    assert reversal.direction == DEBIT
    assert reversal.reversal is True
    assert reversal.remittance == "[Reversal] gift for the survivors RETURN - CREDIT RECALLED BY SENDER"
    assert (reversal.booking_date, reversal.value_date) == (date(2024, 6, 11), date(2024, 6, 10))


def test_camt053_v08_batch_debit_charges_and_two_statements():
    lines = camt_file("camt053_v08.xml")
    assert [line.position for line in lines] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(line, StatementLine) for line in lines)
    norway, australia, private, grant, japan, lyon = lines

    # One batch entry of 30,000.00 -> a line per transaction, each with its own reference.
    assert [line.bank_reference for line in (norway, australia, private)] == [
        "CITI240510BATCH01/1",
        "CITI240510BATCH01/2",
        "CITI240510BATCH01/3",
    ]
    assert [line.amount for line in (norway, australia, private)] == [
        Decimal("20000.00"),  # TxDtls/Amt
        Decimal("7500.00"),  # AmtDtls/TxAmt
        Decimal("2500.00"),  # AmtDtls/InstdAmt
    ]
    assert sum(line.amount for line in (norway, australia, private)) == Decimal("30000.00")
    assert norway.debtor_name == "Royal Norwegian Ministry of Foreign Affairs"  # Dbtr/Pty/Nm
    assert norway.creditor_reference == "RF18539007547034"
    assert australia.remittance == "VTF contribution RF92VTF6D0B6ZE3B"
    assert private.debtor_name == "Private donors via GlobalGiving"  # UltmtDbtr/Pty/Nm
    assert {line.account for line in (norway, australia, private)} == {"36851234"}  # Acct/Id/Othr/Id
    assert norway.statement_id == "36851234-20240510"

    assert grant.direction == DEBIT
    assert grant.amount == Decimal("1200.00")
    assert grant.debtor_name == ""  # the creditor is not the debtor
    assert grant.remittance == "Grant VTF-G-2024-03 first tranche"

    assert japan.amount == Decimal("49985.00")  # what was booked
    assert japan.charges == Decimal("15.00")  # 10.00 + 5.00 deducted on the way
    assert japan.amount + japan.charges == Decimal("50000.00")
    assert japan.booking_date == date(2024, 5, 10)
    assert japan.creditor_reference == "RF70VTFVX3ART04U"

    assert lyon.statement_id == "FR76-20240510"
    assert lyon.account == "FR1420041010050500013M02606"
    assert (lyon.amount, lyon.currency, lyon.bank_reference) == (Decimal("1000.00"), "EUR", "FR-1")
    assert lyon.remittance == "Don VIR SEPA RECU"


@pytest.mark.parametrize("version", [f"{n:02d}" for n in range(2, 14)])
def test_camt053_versions_02_to_13_are_read(version):
    (line,) = camt_bytes(document(entry(), version=version))
    assert line.amount == Decimal("100.00")


def test_camt053_status_as_plain_code_before_06():
    pending = entry().replace("<Sts><Cd>BOOK</Cd></Sts>", "<Sts>INFO</Sts>")
    booked = entry(ref="<AcctSvcrRef>A-2</AcctSvcrRef>").replace("<Sts><Cd>BOOK</Cd></Sts>", "<Sts>BOOK</Sts>")
    (line,) = camt_bytes(document(pending + booked, version="04"))
    assert line.bank_reference == "A-2"
    assert line.position == 1


def test_camt053_without_entries_yields_nothing():
    assert camt_bytes(document("")) == []


def test_camt053_utf8_bom_is_fine():
    (line,) = camt_bytes(codecs.BOM_UTF8 + document(entry()))
    assert line.bank_reference == "A-1"


# --- camt.053: files refused --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("camt053_empty.xml", "the file is empty"),
        ("camt053_xml_bomb.xml", "the file declares entities or a DTD, which statements never need"),
        ("camt053_external_entity.xml", "the file declares entities or a DTD, which statements never need"),
    ],
)
def test_camt053_bad_files_are_refused(name, message):
    with pytest.raises(StatementFormatError) as refused:
        camt_file(name)
    assert refused.value.detail.startswith(message)
    assert str(refused.value) == refused.value.detail


def test_camt053_truncated_file_is_refused_with_the_parser_position():
    lines = []
    with open(FIXTURES / "camt053_truncated.xml", "rb") as stream, pytest.raises(StatementFormatError) as refused:
        lines.extend(iter_camt053(stream))
    assert [line.bank_reference for line in lines] == ["NWB24061100001"]  # read before the cut
    assert "not well-formed XML, or is cut short" in refused.value.detail
    assert "line 117" in refused.value.detail


def test_xml_bomb_is_refused_before_any_expansion():
    tracemalloc.start()
    try:
        with pytest.raises(StatementFormatError):
            camt_file("camt053_xml_bomb.xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MB  # a billion "lol"s would be gigabytes


def test_a_doctype_alone_is_refused_too():
    data = document(entry()).replace(b"<Document", b"<!DOCTYPE Document><Document", 1)
    with pytest.raises(StatementFormatError, match="entities or a DTD"):
        camt_bytes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (document(entry()).replace(b"camt.053.001.08", b"camt.053.001.01"), "version 001.01 is not a version"),
        (
            document(entry()).replace(b"camt.053.001.08", b"camt.052.001.08"),
            "the Document holds 'BkToCstmrStmt', not 'BkToCstmrAcctRpt'",
        ),
        (
            document(entry()).replace(b"camt.053.001.08", b"camt.029.001.08"),
            "not a camt.052, camt.053 or camt.054 document: namespace",
        ),
        (b"<Document><BkToCstmrStmt/></Document>", "not a camt.052, camt.053 or camt.054 document: namespace none"),
        (b"<?xml version='1.0'?><Invoice/>", "not a camt.052, camt.053 or camt.054 document: namespace none"),
        (b"booking_date,amount\n2024-01-01,5\n", "not well-formed XML"),
        (b"  \n\t ", "the file is empty"),
        (document(entry(), statement="<Acct><Id><IBAN>X</IBAN></Id></Acct>"), "statement 1 has no Id"),
        (document(entry(), statement="<Id>S</Id>"), "statement 1 has no account"),
        (document(entry()) + b"<more/>", "not well-formed XML"),
    ],
)
def test_camt053_not_a_statement(data, message):
    with pytest.raises(StatementFormatError) as refused:
        camt_bytes(data)
    assert message in refused.value.detail


# --- camt.053: per-line errors ---------------------------------------------------------


def test_camt053_bad_entries_are_line_errors_and_reading_goes_on():
    entries = [
        entry(currency="XYZ"),
        entry(amount="10.001"),
        entry(amount="0.00"),
        entry(amount="1e5"),
        entry(ref="<AcctSvcrRef>" + "R" * 141 + "</AcctSvcrRef>"),
        entry(indicator="BOTH"),
        entry(dates="<BookgDt><Dt>2024-02-30</Dt></BookgDt><ValDt><DtTm>yesterday</DtTm></ValDt>"),
        entry(extra='<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">5.00</TtlChrgsAndTaxAmt></Chrgs>'),
        entry(amount="1234567890123456.00"),
        entry(ref="<AcctSvcrRef>OK-10</AcctSvcrRef>"),
    ]
    lines = camt_bytes(document("".join(entries)))
    assert [line.position for line in lines] == list(range(1, 11))
    errors = [line.errors for line in lines[:9]]
    assert list(errors[0]) == ["currency"]
    assert "XYZ" in errors[0]["currency"][0]
    assert list(errors[1]) == ["amount"] and "2 decimal places" in errors[1]["amount"][0]
    assert list(errors[2]) == ["amount"] and "more than zero" in errors[2]["amount"][0]
    assert list(errors[3]) == ["amount"]
    assert list(errors[4]) == ["bank_reference"] and "at most 140" in errors[4]["bank_reference"][0]
    assert list(errors[5]) == ["direction"] and "BOTH" in errors[5]["direction"][0]
    assert sorted(errors[6]) == ["booking_date", "value_date"]
    assert list(errors[7]) == ["charges"] and "EUR" in errors[7]["charges"][0]
    assert list(errors[8]) == ["amount"] and "too large" in errors[8]["amount"][0]
    assert lines[9].bank_reference == "OK-10"


def test_camt053_a_bad_transaction_in_a_batch_spoils_only_its_line():
    batch = entry(
        amount="300.00",
        extra=(
            "<NtryDtls>"
            '<TxDtls><Amt Ccy="USD">100.00</Amt></TxDtls>'
            '<TxDtls><Amt Ccy="USD">1OO.00</Amt></TxDtls>'
            '<TxDtls><Amt Ccy="USD">200.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></TxDtls>'
            "</NtryDtls>"
        ),
    )
    first, second, third, after = camt_bytes(document(batch + entry(ref="<AcctSvcrRef>A-9</AcctSvcrRef>")))
    assert first.bank_reference == "A-1/1"
    assert isinstance(second, LineError) and second.position == 2 and list(second.errors) == ["amount"]
    assert third.bank_reference == "A-1/3"
    assert after.position == 4


def test_camt053_entry_error_counts_once_per_transaction():
    """Positions depend only on the file's structure, not on what is wrong in it."""
    batch = entry(
        indicator="??",
        extra=(
            '<NtryDtls><TxDtls><Amt Ccy="USD">1.00</Amt></TxDtls><TxDtls><Amt Ccy="USD">2.00</Amt></TxDtls></NtryDtls>'
        ),
    )
    lines = camt_bytes(document(batch + entry(ref="<AcctSvcrRef>A-9</AcctSvcrRef>")))
    assert [type(line) for line in lines] == [LineError, LineError, StatementLine]
    assert lines[2].position == 3


# --- camt.053: streaming ------------------------------------------------------------------

_BIG_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>\n'
    "<GrpHdr><MsgId>BIG-1</MsgId><CreDtTm>2024-05-11T02:10:00Z</CreDtTm></GrpHdr>\n"
    "<Stmt><Id>BIG-1</Id><CreDtTm>2024-05-11T02:10:00Z</CreDtTm>"
    "<Acct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id><Ccy>USD</Ccy></Acct>\n"
)
_BIG_ENTRY = (
    '<Ntry><Amt Ccy="USD">{n}.25</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
    "<BookgDt><Dt>2024-05-10</Dt></BookgDt><ValDt><Dt>2024-05-10</Dt></ValDt>"
    "<AcctSvcrRef>REF{n:08d}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>E2E{n}</EndToEndId></Refs>"
    "<RltdPties><Dbtr><Pty><Nm>Donor number {n}</Nm></Pty></Dbtr></RltdPties>"
    "<RmtInf><Ustrd>Pledge payment {n}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
)
_BIG_TAIL = "</Stmt></BkToCstmrStmt></Document>\n"
BIG = 100_000


@pytest.fixture
def temp_path():
    descriptor, path = tempfile.mkstemp(prefix="statement-")
    os.close(descriptor)
    yield Path(path)
    os.unlink(path)


def test_camt053_100000_entries_in_flat_memory(temp_path):
    with open(temp_path, "w", encoding="utf-8") as out:  # written entry by entry
        out.write(_BIG_HEAD)
        for n in range(1, BIG + 1):
            out.write(_BIG_ENTRY.format(n=n))
        out.write(_BIG_TAIL)
    assert temp_path.stat().st_size > 30 * MB  # more than the memory allowed below

    count = 0
    last = None
    tracemalloc.start()
    try:
        with open(temp_path, "rb") as stream:
            for line in iter_camt053(stream):
                count += 1
                last = line
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == BIG
    assert last.position == BIG
    assert last.bank_reference == f"REF{BIG:08d}"
    assert last.amount == Decimal(f"{BIG}.25")
    assert peak < min(30 * MB, temp_path.stat().st_size / 2)  # never the file, nor its lines, at once


# --- CSV ------------------------------------------------------------------------------


def test_csv_comma_and_dot_decimals():
    lines = csv_file("csv_comma_dot.csv")
    assert all(isinstance(line, StatementLine) for line in lines)
    canada, norway, grant, fee, japan = lines
    assert canada == fund_credit(
        position=1,
        statement_id="STMT-1",
        bank_reference="CITI-0001",
        amount=Decimal("1234.56"),
        currency="USD",
        booked=date(2024, 5, 10),
        debtor_name="Government of Canada",
        remittance="Pledge 2024, instalment 1",
        creditor_reference="RF16VTFERTT1V1SU",
    )
    assert norway.direction == CREDIT  # CRDT
    assert norway.charges == Decimal("15.00")
    assert find_references(norway.remittance) == ["RF48VTFW0E1HTUB7"]
    assert (grant.direction, grant.amount, grant.value_date) == (DEBIT, Decimal("1200.00"), None)
    assert (fee.direction, fee.amount) == (DEBIT, Decimal("75.00"))  # "(75.00)" on a debit line
    assert (japan.amount, japan.currency) == (Decimal("5000000"), "JPY")


def test_csv_semicolon_european_bank():
    lines = csv_file("csv_semicolon_eu.csv")
    first, fee, big = lines
    assert first.amount == Decimal("1234.56")
    assert first.booking_date == date(2024, 3, 5)
    assert first.direction == CREDIT
    assert find_references(first.remittance) == ["RF18539007547034"]
    assert (fee.direction, fee.amount) == (DEBIT, Decimal("250.00"))  # no direction column: the sign
    assert fee.value_date == date(2024, 3, 6)
    assert big.position == 4  # the empty row is skipped but counted
    assert big.amount == Decimal("1000000.00")
    assert big.debtor_name == "Land Tirol; Abteilung Soziales"


def test_csv_windows_1252_file():
    first, second = csv_file("csv_cp1252.csv")
    assert first.debtor_name == "Société Générale Côte d’Ivoire"
    assert first.remittance == "Don – février"
    assert second.debtor_name == "Müller & Söhne GmbH"


def test_csv_utf8_with_bom_and_utf16():
    text = "booking_date,amount,currency,bank_reference,debtor_name\n2024-01-02,10.00,eur,R-1,Émile Zoé\n"
    for data in (codecs.BOM_UTF8 + text.encode(), text.encode("utf-16"), text.encode()):
        (line,) = csv_bytes(data)
        assert (line.debtor_name, line.currency) == ("Émile Zoé", "EUR")


def test_csv_windows_1252_letter_far_down_the_file():
    rows = [b"booking_date,amount,currency,bank_reference,debtor_name\n"]
    rows += [f"2024-01-02,1.00,EUR,R-{n},Plain Name\n".encode() for n in range(20_000)]
    rows.append("2024-01-02,1.00,EUR,R-LAST,Banque Française\n".encode("cp1252"))
    lines = csv_bytes(b"".join(rows))
    assert lines[-1].debtor_name == "Banque Française"
    assert lines[-1].position == 20_001


def test_csv_bytes_neither_utf8_nor_cp1252_are_refused():
    data = b"booking_date,amount,currency,bank_reference,debtor_name\n2024-01-02,1.00,EUR,R-1,Bad \x81 byte\n"
    with pytest.raises(StatementFormatError) as refused:
        csv_bytes(data)
    assert "neither UTF-8 nor Windows-1252" in refused.value.detail
    assert "0x81" in refused.value.detail


def test_csv_bad_amount_and_bad_date_are_line_errors():
    lines = csv_file("csv_bad_lines.csv")
    assert [type(line).__name__ for line in lines] == ["StatementLine", "LineError", "LineError", "StatementLine"]
    assert lines[1].position == 2
    assert list(lines[1].errors) == ["amount"]
    assert "12.345.67" in lines[1].errors["amount"][0]
    assert lines[2].position == 3
    assert list(lines[2].errors) == ["booking_date"]
    assert lines[3].bank_reference == "R-4"


def test_csv_every_fault_of_a_row_is_named():
    data = (
        b"booking_date,value_date,amount,currency,direction,bank_reference,charges\n"
        b",03/04/2012,abc,XXX,sideways,,x,extra\n"
    )
    (line,) = csv_bytes(data)
    assert isinstance(line, LineError)
    assert sorted(line.errors) == [
        "booking_date",
        "currency",
        "direction",
        "non_field_errors",
        "value_date",
    ]
    assert "date_order" in line.errors["value_date"][0]


def test_csv_slashed_dates_need_date_order():
    data = b"booking_date,amount,currency,bank_reference\n13/04/2012,1.00,USD,R-1\n03/04/2012,1.00,USD,R-2\n"
    refused = csv_bytes(data)
    assert all(isinstance(line, LineError) and "booking_date" in line.errors for line in refused)
    assert "date_order" in refused[0].errors["booking_date"][0]

    first, second = csv_bytes(data, date_order="DMY")
    assert (first.booking_date, second.booking_date) == (date(2012, 4, 13), date(2012, 4, 3))
    first, second = csv_bytes(data, date_order="mdy")
    assert isinstance(first, LineError)  # month 13
    assert second.booking_date == date(2012, 3, 4)


def test_csv_direction_column_and_signs():
    data = (
        b"booking_date,amount,currency,bank_reference,direction\n"
        b"2024-01-02,-5.00,USD,R-1,D\n"
        b"2024-01-02,-5.00,USD,R-2,C\n"
        b"2024-01-02,-5.00,USD,R-3,\n"
        b"2024-01-02,0.00,USD,R-4,C\n"
    )
    debit, credit, signed, zero = csv_bytes(data)
    assert (debit.direction, debit.amount) == (DEBIT, Decimal("5.00"))
    assert "negative on a credit" in credit.errors["amount"][0]
    assert signed.direction == DEBIT
    assert zero.amount == Decimal("0.00")  # kept (banks export them), and excluded by the importer


def test_csv_short_rows_and_trailing_delimiters():
    data = (
        b"booking_date;amount;currency;bank_reference;debtor_name;\n"
        b"2024-01-02;1,00;EUR;R-1;;\n"
        b"2024-01-02;2,00;EUR;R-2\n"
    )
    first, second = csv_bytes(data)
    assert first.amount == Decimal("1.00")
    assert (second.amount, second.debtor_name) == (Decimal("2.00"), "")


@pytest.mark.parametrize(
    ("data", "message", "position"),
    [
        (b"", "the file is empty", None),
        (b"\n\n", "the file is empty", None),
        (b"day,amount,currency\n2024-01-01,1,USD\n", "lacks the column(s) booking_date", None),
        (b"booking_date,amount,currency,bank_reference,Amount\n", "names the column 'amount' twice", None),
        (b"booking_date,amount,currency,bank_reference\n2024-01-01,1,USD,R\0\n", "NUL", 1),
        ("booking_date,amount\n".encode("utf-16-le"), "NUL", None),
        (b'booking_date,amount,currency,bank_reference\n2024-01-01,1,USD,"R\n', "CSV cannot be read", 1),
        (b"booking_date,amount,currency,bank_reference\n" + b"x" * (1 << 20 + 1), "longer than", 1),
    ],
)
def test_csv_files_refused(data, message, position):
    with pytest.raises(StatementFormatError) as refused:
        csv_bytes(data)
    assert message in refused.value.detail
    assert refused.value.position == position


def test_csv_arguments_are_checked_at_the_call():
    stream = io.BytesIO(b"")
    with pytest.raises(ValueError, match="date_order"):
        iter_csv_statement(stream, statement_id="S", account="A", date_order="YMD")
    with pytest.raises(ValueError, match="statement_id"):
        iter_csv_statement(stream, statement_id=" ", account="A")
    with pytest.raises(ValueError, match="account"):
        iter_csv_statement(stream, statement_id="S", account="A" * 65)


def test_file_sha256_puts_the_stream_back():
    content = b"booking_date,amount\n" * 10_000
    stream = io.BytesIO(content)
    stream.seek(0)
    assert file_sha256(stream) == hashlib.sha256(content).hexdigest()
    assert stream.tell() == 0


@pytest.mark.parametrize(
    ("text", "minor_units", "expected"),
    [
        ("1234.56", 2, "1234.56"),
        ("1,234.56", 2, "1234.56"),
        ("1.234,56", 2, "1234.56"),
        ("1 234,56", 2, "1234.56"),
        ("1\u00a0234,56", 2, "1234.56"),
        ("1'234.56", 2, "1234.56"),
        ("-1234,56", 2, "-1234.56"),
        ("(1,234.56)", 2, "-1234.56"),
        ("1234.56-", 2, "-1234.56"),
        ("+5", 2, "5"),
        ("1,234", 2, "1234"),  # lone separator before three digits: thousands
        ("1.234", 2, "1234"),
        ("1,234,567", 3, "1234567"),
        ("1234.567", 3, "1234.567"),  # four digits before it: not thousands
        ("0.500", 2, "0.500"),  # leading zero: not thousands
        ("12,34,567.89", 2, "1234567.89"),  # Indian grouping
        ("0,5", 2, "0.5"),
        ("5,000,000", 0, "5000000"),
    ],
)
def test_parse_amount(text, minor_units, expected):
    assert parse_amount(text, minor_units) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "minor_units", "reason"),
    [
        ("1,234", 3, "ambiguous"),
        ("1.234", 3, "ambiguous"),
        ("1.234.56", 2, "groups of three"),
        ("1,234.567,89", 2, "mixes"),
        ("12 34,56", 2, "groups of three"),
        ("1e5", 2, "not an amount"),
        ("EUR 5", 2, "not an amount"),
        ("1.", 2, "not an amount"),
        ("-(5)", 2, "not an amount"),
        ("(-5)", 2, "more than one sign"),
        ("", 2, "empty"),
        ("1" * 16, 2, "too large"),
        ("١٢٣", 2, "not an amount"),  # Arabic-Indic digits
    ],
)
def test_parse_amount_refuses(text, minor_units, reason):
    with pytest.raises(ValueError, match=reason):
        parse_amount(text, minor_units)


def test_csv_too_many_decimals_for_the_currency():
    data = b'booking_date,amount,currency,bank_reference\n2024-01-02,"1.234,567",EUR,R-1\n2024-01-02,12.5,JPY,R-2\n'
    eur, jpy = csv_bytes(data)
    assert "2 decimal places" in eur.errors["amount"][0]
    assert "0 decimal places" in jpy.errors["amount"][0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/03/05", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("05.03.2024", date(2024, 3, 5)),
        ("5.3.24", date(2024, 3, 5)),
        ("2024-03-05 14:30", date(2024, 3, 5)),
        ("2024-03-05T14:30:00+01:00", date(2024, 3, 5)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2024-02-30", "31.04.2024", "03/04/2012", "March 5, 2024", "2024-3", "24-03-05"])
def test_parse_date_refuses(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_csv_100000_lines_in_flat_memory(temp_path):
    with open(temp_path, "w", encoding="utf-8", newline="") as out:
        out.write("Booking Date;Amount;Currency;Bank Reference;Debtor Name;Remittance\r\n")
        for n in range(1, BIG + 1):
            amount = f"{n:,}".replace(",", ".") + ",25"  # 100.000,25
            out.write(f"10.05.2024;{amount};EUR;REF{n:08d};Donor {n};Pledge payment {n}\r\n")
    count = 0
    last = None
    tracemalloc.start()
    try:
        with open(temp_path, "rb") as stream:
            for line in iter_csv_statement(stream, statement_id="BIG", account="ACC"):
                count += 1
                last = line
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == BIG
    assert isinstance(last, StatementLine)
    assert last.amount == Decimal(f"{BIG}.25")
    assert peak < min(30 * MB, temp_path.stat().st_size / 2)  # never the file, nor its lines, at once


# --- references in free text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pledge rf18 5390 0754 7034 thank you", ["RF18539007547034"]),
        ("RF18539007547034.", ["RF18539007547034"]),
        ("ref: RF 18 5390-0754-7034/VTF", ["RF18539007547034"]),
        ("RF48 VTFW 0E1H TUB7 and RF70VTFVX3ART04U", ["RF48VTFW0E1HTUB7", "RF70VTFVX3ART04U"]),
        ("RF18 5390 0754 7034 again RF18539007547034", ["RF18539007547034"]),
        ("RF19 5390 0754 7034", []),  # wrong check digits
        ("PERF18539007547034", []),  # glued to a word
        ("", []),
    ],
)
def test_find_references(text, expected):
    assert find_references(text) == expected
