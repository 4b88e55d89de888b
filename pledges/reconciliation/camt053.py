"""ISO 20022 camt.053 (bank-to-customer statement) files, read as a stream,
and their siblings camt.054 (debit/credit notifications, sent between
statements) and camt.052 (intraday account reports).

`iter_camt053(stream)` yields one `StatementLine` (or `LineError`) per entry,
and one per transaction of a batch entry. Versions 001.02 to 001.13 of the
three messages are read (the message and version come from the root
namespace; the elements read here are where every one of these versions puts
them: Stmt, Ntfctn or Rpt hold the same Id, Acct, Bal and Ntry); any other
root namespace is refused with `StatementFormatError`. Given a `headers`
list, one `StatementHeader` per statement (notification, report) is appended
when it ends, with its kind and balances, entries or not.

Hostile files: the XML goes through defusedxml with DTDs, entity
declarations and external references all refused, so an XML bomb or an
external entity stops the parse at its declaration, before anything is
expanded or fetched. The file is read in chunks and each entry is dropped
from the tree once read, so a statement of any length is read in flat
memory (one entry at a time).

What each line holds:

* statement_id: Stmt/Id. account: Stmt/Acct/Id/IBAN, else Acct/Id/Othr/Id.
  A statement whose Id or account is missing, or that comes after its
  first entry, makes the file refused.
* direction: the entry's CdtDbtInd (CRDT credit, DBIT debit), or the
  transaction's own CdtDbtInd in a batch.
* reversal (RvslInd true): in ISO 20022 the CdtDbtInd of a reversal is
  already the direction the reversing money moves (a credit that is taken
  back is booked DBIT with RvslInd true), so the direction is kept as
  booked, `reversal` is True, and the remittance starts with "[Reversal]"
  so people see it.
* amount and currency: Ntry/Amt and its Ccy. In a batch entry (several
  TxDtls) each transaction becomes its own line, with the amount of
  TxDtls/Amt, else TxDtls/AmtDtls/TxAmt/Amt, else AmtDtls/InstdAmt/Amt.
  The amount must be positive and have no more decimals than the currency.
* booking_date, value_date: BookgDt and ValDt, Dt or the date part of DtTm
  as the bank wrote it (no time zone conversion).
* bank_reference, the first the bank gives, in this order: Ntry/AcctSvcrRef,
  Ntry/NtryRef (the n-th transaction of a batch gets the entry's reference
  followed by "/n", so each stays unique on the account), then the
  transaction's Refs: AcctSvcrRef, TxId, InstrId, Prtry/Ref, EndToEndId
  unless it is NOTPROVIDED (or NONREF); else "camt:" and a digest of the
  entry's XML, the statement id and the line's position, which is the same
  each time the same file is read. The importer makes a reference that
  repeats within one file unique (EndToEndId is the payer's and need not
  be).
* debtor_name: TxDtls/RltdPties/Dbtr/Nm (Dbtr/Pty/Nm from .08 on), else
  the ultimate debtor's name.
* remittance: the RmtInf/Ustrd lines joined with a space, then
  Strd/AddtlRmtInf, TxDtls/AddtlTxInf and Ntry/AddtlNtryInf (a part that
  repeats an earlier one is left out).
* creditor_reference: the first RmtInf/Strd/CdtrRefInf/Ref, as given.
* charges: TtlChrgsAndTaxAmt, else the sum of the Chrgs/Rcrd/Amt (Chrgs/Amt
  in .02) that are not credits, of the transaction's Chrgs, else (single
  transaction or none) of the entry's. Charges on a batch entry as a whole
  are not shared out between its transactions. Charges in another currency
  than the line are a line error.
* Only booked entries: an entry whose status (Sts, or Sts/Cd from .06 on)
  is given and is not BOOK (PDNG pending, INFO information, FUTR...) is
  skipped, and takes no position: no money was booked by it, and a pending
  entry comes back booked in a later statement.

A statement without entries is valid: it yields nothing.
"""

import hashlib
import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from pledges.money import CurrencyError, check_amount, currency_minor_units
from pledges.reconciliation.parsing import (
    CREDIT,
    DEBIT,
    KIND_INTRADAY,
    KIND_NOTIFICATION,
    KIND_STATEMENT,
    MAX_ACCOUNT,
    MAX_INTEGER_DIGITS,
    MAX_STATEMENT_ID,
    LineError,
    ParsedLine,
    ParsedLines,
    PrefixedRaw,
    StatementFormatError,
    StatementHeader,
    texts_check,
)

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."
FIRST_VERSION = 2
LAST_VERSION = 13
_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.05([234])\.001\.([0-9]{2})")
# Message -> (its element under Document, the element of one statement, format, kind).
MESSAGES = {
    "3": ("BkToCstmrStmt", "Stmt", "camt053", KIND_STATEMENT),
    "4": ("BkToCstmrDbtCdtNtfctn", "Ntfctn", "camt054", KIND_NOTIFICATION),
    "2": ("BkToCstmrAcctRpt", "Rpt", "camt052", KIND_INTRADAY),
}
_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})?")
_DATETIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T[0-9:.]+(?:Z|[+-][0-9]{2}:[0-9]{2})?")
_CHUNK = 64 * 1024
_BOM = b"\xef\xbb\xbf"
_DIRECTIONS = {"CRDT": CREDIT, "DBIT": DEBIT}
_NOT_PROVIDED = frozenset({"NOTPROVIDED", "NONREF"})


def iter_camt053(stream: IO[bytes], headers: list[StatementHeader] | None = None) -> ParsedLines:
    """The lines of a camt.053 file opened in binary mode, one at a time.

    Raises StatementFormatError (while iterating) for an empty file, a file
    that is not well-formed XML or is cut short, a root namespace other than
    camt.053.001.02-.13, a DTD or entity declaration, or a statement without
    Id or account. A valid statement without entries yields nothing.
    """
    source = _check_not_empty(stream)
    try:
        events = iterparse(source, events=("start", "end"), forbid_dtd=True)
        yield from _walk(events, headers if headers is not None else [])
    except DefusedXmlException:
        raise StatementFormatError("the file declares entities or a DTD, which statements never need") from None
    except ParseError as exc:
        raise StatementFormatError(f"the file is not well-formed XML, or is cut short ({exc})") from None


def _check_not_empty(stream: IO[bytes]) -> io.BufferedReader:
    head = stream.read(_CHUNK)
    if not head.removeprefix(_BOM).strip():
        more = stream.read(_CHUNK) if head else b""
        if not more:
            raise StatementFormatError("the file is empty")
        head += more
    return io.BufferedReader(PrefixedRaw(head, stream), buffer_size=_CHUNK)


class _Names:
    """Paths as tuples of Clark-notation tags: "Id/IBAN" is ("{namespace}Id",
    "{namespace}IBAN"). Each step is looked up with Element.find/findall on
    one plain tag, which the C ElementTree does without ElementPath."""

    def __init__(self, namespace: str):
        self.namespace = namespace
        self._paths: dict[str, tuple[str, ...]] = {}

    def __call__(self, path: str) -> tuple[str, ...]:
        try:
            return self._paths[path]
        except KeyError:
            clark = tuple(f"{{{self.namespace}}}{step}" for step in path.split("/"))
            self._paths[path] = clark
            return clark

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"


def _find(elem: Element | None, path: tuple[str, ...]) -> Element | None:
    for tag in path:
        if elem is None:
            return None
        elem = elem.find(tag)
    return elem


def _findall(elem: Element | None, path: tuple[str, ...]) -> list[Element]:
    found = [elem] if elem is not None else []
    for tag in path:
        found = [child for parent in found for child in parent.findall(tag)]
    return found


def _namespace_of(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _check_root(tag: str) -> tuple[str, tuple[str, str, str, str]]:
    """The root element's namespace and its message (see MESSAGES), or
    StatementFormatError when it is not a Document this parser reads."""
    namespace, local = _namespace_of(tag)
    match = _NAMESPACE.fullmatch(namespace)
    if match is None:
        shown = repr(namespace) if namespace else "none"
        raise StatementFormatError(
            f"not a camt.052, camt.053 or camt.054 document: namespace {shown} (root element {local!r})"
        )
    version = int(match.group(2))  # 2 for camt.053.001.02
    if not FIRST_VERSION <= version <= LAST_VERSION:
        raise StatementFormatError(
            f"version 001.{version:02d} is not a version this parser reads "
            f"(001.{FIRST_VERSION:02d} to 001.{LAST_VERSION:02d}): namespace {namespace!r}"
        )
    if local != "Document":
        raise StatementFormatError(f"not a camt.053 document: the root element is {local!r}, not 'Document'")
    return namespace, MESSAGES[match.group(1)]


class _Statement:
    """One statement as it is read: its number in the file, and its header,
    filled in as its Id, Acct and Bal elements come."""

    def __init__(self, number: int, file_format: str, kind: str):
        self.number = number
        self.header = StatementHeader(statement_id="", account="", file_format=file_format, kind=kind)

    def checked(self) -> StatementHeader:
        if not self.header.statement_id:
            raise StatementFormatError(f"statement {self.number} has no Id before its entries")
        if not self.header.account:
            raise StatementFormatError(f"statement {self.number} has no account (Acct/Id) before its entries")
        return self.header


def _balance(bal: Element, q: _Names) -> dict | None:
    """One Bal element as plain values, or None when it cannot be read (a
    balance is kept for people to compare; it never refuses the file)."""
    amt = _find(bal, q("Amt"))
    text = (amt.text or "").strip() if amt is not None else ""
    if amt is None or not _AMOUNT.fullmatch(text):
        return None
    sign = "-" if _text(bal, q, "CdtDbtInd").upper() == "DBIT" else ""
    when = _text(bal, q, "Dt/Dt") or _text(bal, q, "Dt/DtTm")[:10]
    kind = _text(bal, q, "Tp/CdOrPrtry/Cd") or _text(bal, q, "Tp/CdOrPrtry/Prtry")
    return {"type": kind, "amount": sign + text, "currency": (amt.get("Ccy") or "").strip(), "date": when}


def _walk(events: Iterator[tuple[str, Element]], headers: list[StatementHeader]) -> ParsedLines:
    # Depth of the element an event is about: 0 Document, 1 BkToCstmrStmt,
    # 2 GrpHdr or Stmt, 3 what a Stmt holds (Id, Acct, Bal, Ntry...).
    first = next(events, None)
    if first is None:
        return
    root = first[1]  # the first event starts the root element
    namespace, message = _check_root(root.tag)
    q = _Names(namespace)
    stmt_tag, ntry_tag, id_tag, acct_tag, bal_tag = (q.tag(n) for n in (message[1], "Ntry", "Id", "Acct", "Bal"))
    depth = 1
    parents: list[Element | None] = [root, None, None]  # the open elements at depths 0 to 2
    statement: _Statement | None = None
    statements = 0
    position = 0
    for event, elem in events:
        if event == "start":
            if depth < 3:
                if depth == 1 and elem.tag != q.tag(message[0]):
                    _, local = _namespace_of(elem.tag)
                    raise StatementFormatError(
                        f"not a bank-to-customer message: the Document holds {local!r}, not {message[0]!r}"
                    )
                elif depth == 2 and elem.tag == stmt_tag:
                    statements += 1
                    statement = _Statement(statements, message[2], message[3])
                parents[depth] = elem
            depth += 1
            continue

        depth -= 1
        if depth > 3:
            continue
        if depth == 3:
            if statement is not None and parents[2] is not None and parents[2].tag == stmt_tag:
                tag = elem.tag
                if tag == ntry_tag:
                    for line in _entry_lines(elem, q, position + 1, statement.checked()):
                        position = line.position
                        yield line
                elif tag == id_tag:
                    statement_id = _statement_value(elem.text, "Id", MAX_STATEMENT_ID, statement.number)
                    statement.header.statement_id = statement_id
                elif tag == acct_tag:
                    account = _text(elem, q, "Id/IBAN") or _text(elem, q, "Id/Othr/Id")
                    statement.header.account = _statement_value(account, "account", MAX_ACCOUNT, statement.number)
                elif tag == bal_tag:
                    balance = _balance(elem, q)
                    if balance is not None:
                        statement.header.balances.append(balance)
        elif depth == 2:
            if statement is not None and elem.tag == stmt_tag:
                headers.append(statement.checked())
            statement = None
        if depth >= 2:
            # Read: drop it from the tree, so that memory holds one entry at a time.
            elem.clear()
            parent = parents[depth - 1]
            if parent is not None:  # always: the element's parent is open
                parent.remove(elem)


def _statement_value(text: str | None, name: str, limit: int, number: int) -> str:
    value = (text or "").strip()
    if len(value) > limit:
        raise StatementFormatError(f"statement {number}: its {name} is longer than {limit} characters")
    return value


def _text(elem: Element | None, q: _Names, path: str) -> str:
    found = _find(elem, q(path))
    return (found.text or "").strip() if found is not None else ""


def _texts(elem: Element | None, q: _Names, path: str) -> list[str]:
    return [(found.text or "").strip() for found in _findall(elem, q(path))]


def _direction(text: str, errors: LineError, name: str = "direction") -> str | None:
    direction = _DIRECTIONS.get(text.upper())
    if direction is None:
        errors.add(name, f"CdtDbtInd {text!r} is neither CRDT nor DBIT." if text else "CdtDbtInd is missing.")
    return direction


def _money(amt: Element | None, errors: LineError, name: str, *, zero_ok: bool = False) -> tuple[Decimal, str] | None:
    """An amount element (text and Ccy attribute), checked, or None with errors added."""
    if amt is None:
        errors.add(name, "is missing.")
        return None
    text = (amt.text or "").strip()
    currency = (amt.get("Ccy") or "").strip()
    try:
        currency_minor_units(currency)
    except CurrencyError as exc:
        errors.add("currency" if name == "amount" else name, str(exc))
        return None
    if not _AMOUNT.fullmatch(text):
        errors.add(name, f"{text[:40]!r} is not an amount.")
        return None
    try:
        amount = Decimal(text)
        amount = check_amount(amount, currency)
    except (InvalidOperation, CurrencyError) as exc:
        errors.add(name, f"{text[:40]} {currency}: {exc}")
        return None
    if len(text.partition(".")[0].lstrip("0")) > MAX_INTEGER_DIGITS:
        errors.add(name, f"{text[:40]} {currency} is too large.")
        return None
    if amount <= 0 and not (zero_ok and amount == 0):
        errors.add(name, "must be more than zero.")
        return None
    return amount, currency


def _date(container: Element | None, q: _Names, errors: LineError, name: str) -> date | None:
    if container is None:
        return None
    text = _text(container, q, "Dt")
    pattern = _DATE
    if not text:
        text = _text(container, q, "DtTm")
        pattern = _DATETIME
    if not text:
        errors.add(name, "has neither Dt nor DtTm.")
        return None
    match = pattern.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        errors.add(name, f"{text[:40]!r} is not a date.")
        return None


def _charges(holder: Element | None, q: _Names, currency: str | None, errors: LineError) -> Decimal:
    total = Decimal(0)
    for chrgs in _findall(holder, q("Chrgs")):
        amounts = _findall(chrgs, q("TtlChrgsAndTaxAmt"))
        if not amounts:
            records = _findall(chrgs, q("Rcrd")) or [chrgs]  # .02 has Amt right in Chrgs
            amounts = [
                amt
                for record in records
                if _text(record, q, "CdtDbtInd").upper() != "CRDT"
                for amt in _findall(record, q("Amt"))
            ]
        for amt in amounts:
            checked = _money(amt, errors, "charges", zero_ok=True)
            if checked is None:
                continue
            amount, charge_currency = checked
            if currency and charge_currency != currency:
                errors.add("charges", f"are in {charge_currency}, not in the line's currency {currency}.")
                continue
            total += amount
    return total


_TX_REFERENCES = ("Refs/AcctSvcrRef", "Refs/TxId", "Refs/InstrId", "Refs/Prtry/Ref", "Refs/EndToEndId")


def _bank_reference(
    ntry: Element, tx: Element | None, q: _Names, batch_index: int | None, statement_id: str, position: int
) -> str:
    """The line's reference, in the order the module docstring gives."""
    entry_reference = _text(ntry, q, "AcctSvcrRef") or _text(ntry, q, "NtryRef")
    if entry_reference and batch_index is not None:
        return f"{entry_reference}/{batch_index}"
    if entry_reference:
        return entry_reference
    for path in _TX_REFERENCES:
        reference = _text(tx, q, path)
        if reference and reference.upper() not in _NOT_PROVIDED:
            return reference
    digest = hashlib.sha256(f"{statement_id}\n{position}\n".encode() + tostring(ntry)).hexdigest()
    return f"camt:{digest[:40]}"


def _debtor_name(tx: Element | None, q: _Names) -> str:
    for path in ("RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm", "RltdPties/UltmtDbtr/Nm", "RltdPties/UltmtDbtr/Pty/Nm"):
        name = _text(tx, q, path)
        if name:
            return " ".join(name.split())
    return ""


def _remittance(ntry: Element, tx: Element | None, q: _Names, reversal: bool) -> str:
    parts = [" ".join(_texts(tx, q, "RmtInf/Ustrd"))]
    parts += _texts(tx, q, "RmtInf/Strd/AddtlRmtInf")
    parts += _texts(tx, q, "AddtlTxInf")
    parts += _texts(ntry, q, "AddtlNtryInf")
    kept: list[str] = ["[Reversal]"] if reversal else []
    for part in parts:
        part = part.strip()
        if part and part not in kept:
            kept.append(part)
    return " ".join(kept)


def _creditor_reference(tx: Element | None, q: _Names) -> str:
    for reference in _texts(tx, q, "RmtInf/Strd/CdtrRefInf/Ref"):
        if reference:
            return reference
    return ""


def _tx_amount(tx: Element | None, q: _Names, errors: LineError) -> tuple[Decimal, str] | None:
    for path in ("Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt"):
        amt = _find(tx, q(path))
        if amt is not None:
            return _money(amt, errors, "amount")
    errors.add("amount", "this transaction of a batch entry has no amount (Amt, AmtDtls/TxAmt or InstdAmt).")
    return None


def _entry_lines(ntry: Element, q: _Names, first_position: int, header: StatementHeader) -> list[ParsedLine]:
    """The line (or, for a batch, the lines) of one Ntry element."""
    status = _text(ntry, q, "Sts/Cd") or _text(ntry, q, "Sts")
    if status and status.upper() != "BOOK":
        return []
    entry_errors = LineError(first_position)
    direction = _direction(_text(ntry, q, "CdtDbtInd"), entry_errors)
    reversal = _text(ntry, q, "RvslInd").lower() in ("true", "1")
    booking_date = _date(_find(ntry, q("BookgDt")), q, entry_errors, "booking_date")
    value_date = _date(_find(ntry, q("ValDt")), q, entry_errors, "value_date")

    transactions: list[Element | None] = list(_findall(ntry, q("NtryDtls/TxDtls")))
    batch = len(transactions) > 1
    if not transactions:
        transactions = [None]

    lines: list[ParsedLine] = []
    for index, tx in enumerate(transactions, start=1):
        errors = LineError(first_position + index - 1, {k: list(v) for k, v in entry_errors.errors.items()})
        tx_direction = direction
        if batch:
            own_direction = _text(tx, q, "CdtDbtInd")
            if own_direction:
                tx_direction = _direction(own_direction, errors)
            money = _tx_amount(tx, q, errors)
        else:
            money = _money(_find(ntry, q("Amt")), errors, "amount")
        amount, currency = money if money else (None, None)

        if _find(tx, q("Chrgs")) is not None:
            charges = _charges(tx, q, currency, errors)
        elif not batch:
            charges = _charges(ntry, q, currency, errors)
        else:
            charges = Decimal(0)

        bank_reference = _bank_reference(ntry, tx, q, index if batch else None, header.statement_id, errors.position)
        debtor_name = _debtor_name(tx, q)
        creditor_reference = _creditor_reference(tx, q)
        texts_check(
            errors, bank_reference=bank_reference, debtor_name=debtor_name, creditor_reference=creditor_reference
        )

        if errors.errors or tx_direction is None or amount is None or currency is None:  # named in errors
            lines.append(errors)
            continue
        lines.append(
            header.line(
                errors.position,
                bank_reference=bank_reference,
                direction=tx_direction,
                amount=amount,
                currency=currency,
                booking_date=booking_date,
                value_date=value_date,
                debtor_name=debtor_name,
                remittance=_remittance(ntry, tx, q, reversal),
                creditor_reference=creditor_reference,
                charges=charges,
                reversal=reversal,
            )
        )
    return lines
