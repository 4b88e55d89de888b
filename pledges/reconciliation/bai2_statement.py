"""BAI2 cash management files, as US banks send them, read with the `bai2`
package.

`iter_bai2(stream, headers)` yields a `StatementLine` (or `LineError`) per
16 (transaction detail) record and appends a `StatementHeader` per 03
(account) record.

Before the package reads the records, the file is put in the shape it
expects: several records packed on one physical line ("…/ 02,…") are split;
88 continuation records are joined to the record they continue (fields after
a record that ended with "/", text otherwise), because the package glues a
continued field to the next one. The package's own record counts are not
checked (they count physical records, which the joining changes, and banks
count them differently); the amounts are: each account's, group's and
file's control total must equal the sum of what it holds, so a file cut
short or with a changed amount is refused.

What each line holds:

* account: the 03 record's customer account number; currency: the 03's,
  else the 02 group's, else USD (as BAI2 defines). statement_id: the file's
  sender and file id, the as-of date, then the group and account numbers.
* kind: a group whose as-of-date modifier says interim is an intraday
  report, else a statement. Groups marked "test only" or "deletion" refuse
  the file: they are not the bank's statement.
* direction: from the type code (100-399 credits, 400-699 debits); a type
  code that is neither (loan, custom informational codes) is read as no
  money and skipped. amount: BAI2 writes amounts in the currency's minor
  units without a decimal point.
* booking_date: the group's as-of date; value_date: the value date of a
  value-dated (V) detail, else the as-of date.
* bank_reference: the bank reference, else the customer reference, else
  "bai2:" and a digest of the record and its position.
* remittance: the text; debtor_name and end-to-end reference from the
  keyed text some banks write in 88 records (Goldman Sachs "DBNM: …",
  "REMI: …", "EREF: …"; wire texts "ORG:=…", "B/O …").
"""

import hashlib
import re
from datetime import date
from decimal import Decimal
from typing import IO

from bai2 import bai2 as bai2_parser
from bai2.constants import AsOfDateModifier, FundsType, GroupStatus, TypeCodeTransaction
from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException

from pledges.money import CurrencyError, currency_minor_units
from pledges.reconciliation.parsing import (
    CREDIT,
    DEBIT,
    KIND_INTRADAY,
    KIND_STATEMENT,
    MAX_ACCOUNT,
    MAX_STATEMENT_ID,
    LineError,
    ParsedLines,
    StatementFormatError,
    StatementHeader,
    balance_entry,
    texts_check,
)

_RECORD_START = re.compile(r"(?:01|02|03|16|49|88|98|99),")
_SIMPLE_AVAILABILITY = re.compile(r"^(16,[^,]*,[^,]*,S,)([^,]*,[^,]*,[^,/]*)")
_PACKED = re.compile(r"/\s+(?=(?:01|02|03|16|49|88|98|99),)")
# "KEY: value" and "KEY:=value" in a detail's text; a key is a word or two in capitals.
_WANTED = re.compile(r"(?<![A-Za-z0-9])(DBNM|REMI|EREF|ORG|B/O|ORIGINATOR)\s?:=?\s*")
_KEY = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Z0-9/]{1,11}(?: [A-Z]{2,10})?)\s?:=?\s*")
_INTERIM = {AsOfDateModifier.interim_previous_day, AsOfDateModifier.interim_same_day}


def looks_like_bai2(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"01,")


def records(text: str) -> list[str]:
    """The file's logical records: packed lines split, lines wrapped at a
    fixed width (a line that starts with no record code) put back, 88
    continuations joined, empty amounts of a 16's availability read as 0."""
    physical: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        if physical and not _RECORD_START.match(line):
            physical[-1] += " " + line
            continue
        physical.extend(part for part in _PACKED.split(line) if part)
    joined: list[str] = []
    for record in physical:
        if record.startswith("88,") and joined:
            previous, rest = joined[-1], record[3:]
            if previous.endswith("/"):
                joined[-1] = previous[:-1] + "," + rest
            else:
                joined[-1] = previous.rstrip() + " " + rest.strip()
        else:
            joined.append(record)
    # The package wants every record but a 16's text to end with "/", and
    # an amount in each field of a distributed (S) availability.
    return [
        _SIMPLE_AVAILABILITY.sub(_zero_filled, r) if r.startswith("16,") else r if r.endswith("/") else r + "/"
        for r in joined
    ]


def _zero_filled(match: re.Match) -> str:
    return match.group(1) + ",".join(value or "0" for value in match.group(2).split(","))


def iter_bai2(stream: IO[bytes], headers: list[StatementHeader] | None = None) -> ParsedLines:
    headers = headers if headers is not None else []
    text = stream.read().removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    try:
        document = bai2_parser.parse_from_lines(records(text), check_integrity=False)
    except NotSupportedYetException as error:
        raise StatementFormatError(f"the BAI2 file uses what the reader does not know: {error}") from None
    except (ParsingException, IntegrityException, ValueError, TypeError, AttributeError, IndexError) as error:
        raise StatementFormatError(f"not a well-formed BAI2 file: {str(error)[:300]}") from None
    _check_totals(document)
    file_header = document.header
    position = 0
    for group_number, group in enumerate(document.children, 1):
        if group.header.group_status in (GroupStatus.test_only, GroupStatus.deletion):
            raise StatementFormatError(
                f"group {group_number} is marked {group.header.group_status.name.replace('_', ' ')}: "
                "it is not the bank's statement"
            )
        as_of = group.header.as_of_date
        kind = KIND_INTRADAY if group.header.as_of_date_modifier in _INTERIM else KIND_STATEMENT
        for account_number, account in enumerate(group.children, 1):
            header = _header(file_header, group, account, group_number, account_number, kind)
            headers.append(header)
            currency = (account.header.currency or group.header.currency or "USD").upper()
            for detail in account.children:
                position += 1
                line = _line(detail, header, currency, as_of, position)
                if line is not None:
                    yield line


def _check_totals(document) -> None:
    file_total = 0
    for group_number, group in enumerate(document.children, 1):
        group_total = 0
        for account in group.children:
            total = sum(item.amount or 0 for item in account.header.summary_items)
            total += sum(detail.amount or 0 for detail in account.children)
            if account.trailer.account_control_total is not None and total != account.trailer.account_control_total:
                raise StatementFormatError(
                    f"account {account.header.customer_account_number}: the amounts add up to {total}, "
                    f"its trailer (49) says {account.trailer.account_control_total}; the file is damaged or cut short"
                )
            group_total += account.trailer.account_control_total or 0
        if group.trailer.group_control_total is not None and group_total != group.trailer.group_control_total:
            raise StatementFormatError(
                f"group {group_number}: its accounts add up to {group_total}, "
                f"its trailer (98) says {group.trailer.group_control_total}"
            )
        file_total += group.trailer.group_control_total or 0
    if document.trailer.file_control_total is not None and file_total != document.trailer.file_control_total:
        raise StatementFormatError(
            f"the groups add up to {file_total}, the file trailer (99) says {document.trailer.file_control_total}"
        )


def _header(file_header, group, account, group_number: int, account_number: int, kind: str) -> StatementHeader:
    number = (account.header.customer_account_number or "").strip()
    if not number:
        raise StatementFormatError(f"group {group_number}, account record {account_number} has no account number")
    if len(number) > MAX_ACCOUNT:
        raise StatementFormatError(f"account {number[:40]}… is longer than {MAX_ACCOUNT} characters")
    as_of = group.header.as_of_date
    statement_id = (
        f"BAI2 {file_header.sender_id or ''}/{file_header.file_id or ''} "
        f"{as_of.isoformat() if as_of else ''} {group_number}.{account_number}"
    )
    currency = (account.header.currency or group.header.currency or "USD").upper()
    balances = []
    for item in account.header.summary_items:
        code = item.type_code
        if code is None or code.level.value != "status" or item.amount is None:
            continue
        balances.append(
            balance_entry(f"{code.code} {code.description}", _scaled(item.amount, currency), currency, as_of)
        )
    return StatementHeader(
        statement_id=statement_id[:MAX_STATEMENT_ID],
        account=number,
        file_format="bai2",
        kind=kind,
        balances=balances,
    )


def _scaled(amount: int, currency: str) -> Decimal:
    try:
        places = currency_minor_units(currency)
    except CurrencyError:
        places = 2
    return Decimal(amount).scaleb(-places)


def _keyed(text: str) -> dict[str, str]:
    """The values of the keys we read (DBNM, ORG, EREF...) in a detail's
    text, each up to the next key of any name ("SENDER BNK:=", "CACT:")."""
    found: dict[str, str] = {}
    for match in _WANTED.finditer(text):
        following = _KEY.search(text, match.end())
        value = text[match.end() : following.start() if following else len(text)]
        found.setdefault(match.group(1), " ".join(value.replace(",", " ").split()))
    return found


def _line(detail, header: StatementHeader, currency: str, as_of: date | None, position: int):
    code = detail.type_code
    if code.transaction not in (TypeCodeTransaction.credit, TypeCodeTransaction.debit):
        return None  # informational: no money moved
    errors = LineError(position)
    try:
        currency_minor_units(currency)
    except CurrencyError as exc:
        errors.add("currency", str(exc))
    if detail.amount is None or detail.amount <= 0:
        errors.add("amount", f"{detail.amount} must be more than zero.")
    text = " ".join((detail.text or "").replace(",", ", ").split()).strip(", ")
    keyed = _keyed(detail.text or "")
    reference = next(
        (r.strip() for r in (detail.bank_reference, detail.customer_reference, keyed.get("EREF")) if r and r.strip()),
        "",
    )
    if not reference:
        content = f"{header.statement_id}\n{position}\n{code.code},{detail.amount},{detail.text}"
        reference = "bai2:" + hashlib.sha256(content.encode()).hexdigest()[:40]
    debtor_name = keyed.get("DBNM") or keyed.get("ORG") or keyed.get("B/O") or keyed.get("ORIGINATOR") or ""
    texts_check(errors, bank_reference=reference, debtor_name=debtor_name)
    if errors.errors:
        return errors
    value_date = as_of
    if detail.funds_type == FundsType.value_dated and detail.availability and detail.availability.get("date"):
        value_date = detail.availability["date"]
    return header.line(
        position,
        bank_reference=reference,
        direction=CREDIT if code.transaction == TypeCodeTransaction.credit else DEBIT,
        amount=_scaled(detail.amount, currency),
        currency=currency,
        booking_date=as_of,
        value_date=value_date,
        debtor_name=debtor_name,
        remittance=text,
    )
