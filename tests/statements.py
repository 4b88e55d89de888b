"""Bank statements for tests: `Entry` transfers rendered as camt.053
documents (any version) or CSV statements, a confirmed pledge for them to
pay, the statement fixture files, and shortcuts to import a statement and
find its lines."""

import csv
import io
import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils import timezone

from pledges.models import AuditEvent, BankStatement, Donor, Instalment, Pledge, StatementLine
from tests import helpers
from tests.factories import DonorFactory
from tests.helpers import days_ago

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "statements"
LINES = "/api/v1/statement-lines/"
FUND_IBAN = "CH9300762011623852957"
DONOR_IBAN = "DE89370400440532013000"
_sequence = itertools.count(1)


def _next(prefix: str) -> str:
    return f"{prefix}{next(_sequence):08d}"


# --- Statements as banks send them -------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One booked transfer on the Fund's account. The same Entry rendered in
    two statements keeps its bank reference (a re-sent line)."""

    amount: str  # as booked (after charges); for CSV, the text as the bank writes it
    currency: str = "USD"
    debtor: str = ""
    reference: str = ""  # structured: RmtInf/Strd/CdtrRefInf/Ref (CSV creditor_reference)
    text: str = ""  # unstructured: RmtInf/Ustrd (CSV remittance)
    value_date: date | None = None  # default: ten days ago
    booking_date: date | None = None  # default: the value date
    charges: str = ""  # deducted by the banks on the way
    debit: bool = False
    bank_reference: str = field(default_factory=lambda: _next("BANK"))
    status: str = "BOOK"

    @property
    def value(self) -> date:
        return self.value_date or days_ago(10)

    @property
    def booked(self) -> date:
        return self.booking_date or self.value


def _version(version: str | int) -> int:
    number = int(version)
    assert 2 <= number <= 13, version
    return number


def _party(name: str, version: int) -> str:
    """Dbtr/Nm up to .07, Dbtr/Pty/Nm from .08 on."""
    name = f"<Nm>{escape(name)}</Nm>"
    return f"<Pty>{name}</Pty>" if version >= 8 else name


def _ntry(entry: Entry, version: int) -> str:
    ccy = entry.currency
    indicator = "DBIT" if entry.debit else "CRDT"
    status = f"<Sts>{entry.status}</Sts>" if version < 6 else f"<Sts><Cd>{entry.status}</Cd></Sts>"
    family = "ICDT" if entry.debit else "RCDT"
    gross = Decimal(entry.amount) + Decimal(entry.charges or 0)
    charges = ""
    if entry.charges:
        if version == 2:  # .02: the amount right in Chrgs
            charges = (
                f'<Chrgs><Amt Ccy="{ccy}">{entry.charges}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
                f"<Tp><Cd>COMM</Cd></Tp></Chrgs>"
            )
        else:  # .03 on: records
            charges = (
                f'<Chrgs><Rcrd><Amt Ccy="{ccy}">{entry.charges}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
                f"<ChrgInclInd>true</ChrgInclInd><Tp><Cd>COMM</Cd></Tp></Rcrd></Chrgs>"
            )
    if version == 2:  # .02 has no TxDtls/Amt
        amounts = (
            f'<AmtDtls><InstdAmt><Amt Ccy="{ccy}">{gross:.2f}</Amt></InstdAmt>'
            f'<TxAmt><Amt Ccy="{ccy}">{entry.amount}</Amt></TxAmt></AmtDtls>'
        )
    else:
        amounts = (
            f'<Amt Ccy="{ccy}">{entry.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
            f'<AmtDtls><InstdAmt><Amt Ccy="{ccy}">{gross:.2f}</Amt></InstdAmt></AmtDtls>'
        )
    parties = ""
    if entry.debtor:
        role = "Cdtr" if entry.debit else "Dbtr"
        parties = (
            f"<RltdPties><{role}>{_party(entry.debtor, version)}</{role}>"
            f"<{role}Acct><Id><IBAN>{DONOR_IBAN}</IBAN></Id></{role}Acct></RltdPties>"
        )
    remittance = ""
    if entry.text or entry.reference:
        unstructured = f"<Ustrd>{escape(entry.text)}</Ustrd>" if entry.text else ""
        structured = (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{escape(entry.reference)}</Ref></CdtrRefInf></Strd>"
            if entry.reference
            else ""
        )
        remittance = f"<RmtInf>{unstructured}{structured}</RmtInf>"
    return (
        f"<Ntry><NtryRef>{next(_sequence)}</NtryRef>"
        f'<Amt Ccy="{ccy}">{entry.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{status}'
        f"<BookgDt><Dt>{entry.booked}</Dt></BookgDt><ValDt><Dt>{entry.value}</Dt></ValDt>"
        f"<AcctSvcrRef>{escape(entry.bank_reference)}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>XBCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"{charges}"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>{amounts}"
        f"{parties}{remittance}</TxDtls></NtryDtls>"
        f"<AddtlNtryInf>{'PAYMENT' if entry.debit else 'CREDIT TRANSFER'}</AddtlNtryInf></Ntry>"
    )


def _stmt(entries: list[Entry], version: int, statement_id: str, iban: str) -> str:
    currency = entries[0].currency if entries else "USD"
    opening = Decimal("1000000.00")
    closing = opening + sum(
        (Decimal(e.amount) * (-1 if e.debit else 1) for e in entries if e.status == "BOOK"), Decimal(0)
    )
    bic = "<BIC>UBSWCHZH80A</BIC>" if version == 2 else "<BICFI>UBSWCHZH80A</BICFI>"
    day = entries[0].booked if entries else days_ago(10)

    def balance(code: str, amount: Decimal) -> str:
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{amount:.2f}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>'
        )

    return (
        f"<Stmt><Id>{escape(statement_id)}</Id><ElctrncSeqNb>{next(_sequence)}</ElctrncSeqNb>"
        f"<CreDtTm>{day}T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy>"
        f"<Ownr><Nm>UN Voluntary Trust Fund for Victims of Trafficking in Persons</Nm></Ownr>"
        f"<Svcr><FinInstnId>{bic}</FinInstnId></Svcr></Acct>"
        f"{balance('OPBD', opening)}{balance('CLBD', closing)}"
        f"{''.join(_ntry(e, version) for e in entries)}</Stmt>"
    )


def camt053(
    entries: list[Entry],
    version: str | int = "08",
    *,
    statement_id: str | None = None,
    iban: str = FUND_IBAN,
    also: tuple[tuple[str, list[Entry]], ...] = (),
) -> bytes:
    """A camt.053.001.<version> document with one statement of `entries`
    (and the statements `also` names: (statement id, entries) pairs)."""
    number = _version(version)
    statements = [(statement_id or _next("STMT-"), entries), *also]
    body = "".join(_stmt(list(es), number, sid, iban) for sid, es in statements)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{number:02d}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f"<BkToCstmrStmt><GrpHdr><MsgId>{_next('MSG-')}</MsgId>"
        f"<CreDtTm>{timezone.localdate()}T06:00:00</CreDtTm></GrpHdr>\n"
        f"{body}\n</BkToCstmrStmt></Document>\n"
    ).encode()


CSV_COLUMNS = (
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "direction",
    "bank_reference",
    "debtor_name",
    "remittance",
    "creditor_reference",
    "charges",
)


def csv_statement(entries: list[Entry], *, delimiter: str = ",", header: tuple[str, ...] = CSV_COLUMNS) -> bytes:
    """A CSV statement, one row per entry, amounts written as given."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for e in entries:
        row = {
            "booking_date": e.booked.isoformat(),
            "value_date": e.value.isoformat(),
            "amount": e.amount,
            "currency": e.currency,
            "direction": "D" if e.debit else "C",
            "bank_reference": e.bank_reference,
            "debtor_name": e.debtor,
            "remittance": e.text,
            "creditor_reference": e.reference,
            "charges": e.charges,
        }
        writer.writerow([row[name] for name in header])
    return out.getvalue().encode()


def confirmed_pledge(
    amount: str = "1000.00",
    currency: str = "USD",
    *,
    donor: "str | Donor" = "Government of Canada",
    instalments: tuple[tuple[date, str], ...] = (),
    **fields,
) -> Pledge:
    """A confirmed pledge (written commitment on file, as tests.helpers
    makes one) pledged and confirmed 90 days ago, with a real ISO 11649
    reference and, optionally, its instalments. `donor` is a Donor, or the
    name of a new one."""
    pledge = helpers.confirmed_pledge(
        amount=Decimal(amount),
        currency=currency,
        donor=donor if isinstance(donor, Donor) else DonorFactory(name=donor),
        **({"confirmed_on": days_ago(90), "pledged_on": days_ago(90)} | fields),
    )
    for due_date, part in instalments:
        Instalment.objects.create(pledge=pledge, due_date=due_date, amount=Decimal(part))
    return pledge


def imported(upload, entries: list[Entry], version: str = "08", **options) -> BankStatement:
    """The statement `upload` (the statement_upload fixture) stored from a
    camt053 of `entries`, matched by the time it returns."""
    response = upload(camt053(entries, version, **options))
    assert response.status_code == 201, response.content
    statement = BankStatement.objects.get(pk=response.json()[0]["id"])
    assert statement.report["matching"] == "done", statement.report
    return statement


def line_of(entry: Entry) -> StatementLine:
    return StatementLine.objects.get(bank_reference=entry.bank_reference)


def nothing_stored() -> bool:
    return (
        BankStatement.objects.count() == 0
        and StatementLine.objects.count() == 0
        and not AuditEvent.objects.filter(action="statement.imported").exists()
    )
