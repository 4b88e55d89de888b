"""SWIFT MT940 customer statements, read with the `mt-940` package.

`iter_mt940(stream, headers)` yields a `StatementLine` (or `LineError`) per
:61: statement line, and appends a `StatementHeader` per statement (a :20:
block) to `headers`. A file may hold several statements (one per day, or
per account); each is parsed on its own, so one that cannot be read names
itself, and memory holds one statement at a time.

What each line holds:

* account: :25: (an IBAN, or bank code/account; a currency after a space,
  as bunq writes it, or glued to the IBAN, as ING writes it, is dropped). statement_id: :20: and :28C:, then the
  closing balance's date (:28C: is 0 or 00000 at many banks, every day).
* direction, amount, currency: the :61: mark (C, D; RC and RD are
  reversals: the money moves the other way, `reversal` is set and the
  remittance starts with "[Reversal]"), amount and the currency of the
  statement's balances. booking_date: the :61: entry date, else its value
  date; value_date: the :61: value date.
* bank_reference, the first the bank gives: the :61: bank reference (after
  "//"), the :61: customer reference, then from :86: the Dutch /EREF/ or
  the German EREF+, unless NONREF/NOTPROVIDED; else "mt940:" and a digest of
  the statement id, the line's position and its :61:/:86: content.
* :86: in the dialects banks write: German structured (?20-?29 purpose,
  ?32/?33 name, SVWZ+/EREF+ inside, as the package reads them), Dutch tags
  (/EREF/ /REMI/ /NAME/ /ORDP/ /IBAN/, ABN AMRO's /TRTP/, ING's
  /REMI/USTD// and /REMI/STRD/CUR/<reference>), else free text, lines
  joined. The debtor's name is the ordering party's (?32/?33, kept apart
  from the ?31 IBAN with the package's options).
"""

import hashlib
import re
from decimal import Decimal
from typing import IO

import mt940
from stdnum import iban

from pledges.money import CurrencyError, check_amount
from pledges.reconciliation.parsing import (
    CREDIT,
    DEBIT,
    KIND_STATEMENT,
    MAX_ACCOUNT,
    MAX_STATEMENT_ID,
    LineError,
    ParsedLine,
    ParsedLines,
    StatementFormatError,
    StatementHeader,
    balance_entry,
    texts_check,
)

_STATEMENT_START = re.compile(r"^:20:", re.MULTILINE)
# Not references: absent, or (Rabobank's "EREF") a pointer to the :86: tag.
_NO_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED", "NONE", "EREF", "KREF", "MARF"})
_DUTCH_TAGS = re.compile(r"/(EREF|REMI|NAME|ORDP|BENM|IBAN|BIC|TRTP|CSID|MARF|KREF|PREF|ADDR|RTRN|ISDT|SWOC|CDTRREF)/")
# Every fix the package offers over its 5.0 behaviour: ?31 kept apart from
# the name, RC signed as the debit it is, lower-case marks, :13D: offsets.
_OPTIONS = mt940.Options.all()
_LAYOUTS: tuple[dict[int | str, mt940.tags.Tag] | None, ...] = (
    None,
    {mt940.tags.StatementASNB.id: mt940.tags.StatementASNB()},
    {mt940.tags.StatementGLS.id: mt940.tags.StatementGLS()},
)


def looks_like_mt940(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith((b":20:", b"{1:", b":940:")) or (b"\n:20:" in head[:4096] and b":61:" in head)


def iter_mt940(stream: IO[bytes], headers: list[StatementHeader] | None = None) -> ParsedLines:
    headers = headers if headers is not None else []
    text = _decode(stream.read())
    starts = [match.start() for match in _STATEMENT_START.finditer(text)]
    if not starts:
        raise StatementFormatError("not an MT940 statement: no :20: transaction reference line")
    position = 0
    for number, (start, end) in enumerate(zip(starts, [*starts[1:], len(text)], strict=True), 1):
        statement = _parsed(_statement_number_fixed(_without_envelope(text[start:end])), number)
        header = _header(statement.data, number)
        headers.append(header)
        for transaction in statement:
            position += 1
            yield _line(transaction.data, header, position)


def _parsed(chunk: str, number: int) -> "mt940.models.Transactions":
    """One statement, with the package's :61: layout, else with the variants
    it offers for banks that write a longer customer reference (ASN puts an
    IBAN there, GLS/Atruvia banks more): the first that reads every :61:
    line. The standard layout's reason otherwise."""
    expected = len(_STATEMENT_LINE.findall(chunk))
    first_reason = ""
    for tags in _LAYOUTS:
        statement = mt940.models.Transactions(tags=tags, options=_OPTIONS)
        try:
            statement.parse(chunk)
        except Exception as error:  # the package raises RuntimeError, ValueError, KeyError...
            first_reason = first_reason or str(error.args[0] if error.args else error).splitlines()[0][:300]
            continue
        # The package can fold lines together when a :61: departs from the
        # standard; a statement is never imported with lines missing.
        if len(statement) == expected:
            return statement
        if not first_reason:
            untyped = _UNTYPED_STATEMENT_LINE.search(chunk)
            first_reason = (
                f"its :61: line {untyped.group(0)[:40]!r} has no transaction type (N and three letters) "
                "after the amount, which MT940 requires"
                if untyped
                else "its :61: lines are not in the standard layout"
            ) + f" ({len(statement)} of {expected} lines read)"
    raise StatementFormatError(f"statement {number} cannot be read as MT940: {first_reason}")


_STATEMENT_LINE = re.compile(r"^:61:", re.MULTILINE)
_UNTYPED_STATEMENT_LINE = re.compile(r"^:61:[0-9]{6}(?:[0-9]{4})?R?[CD][A-Z]?[0-9,]+(?=//|\s|$)", re.MULTILINE)


_STATEMENT_NUMBER = re.compile(r"^:28C?:(.*(?:\n(?!:)[^\n]*)*)", re.MULTILINE)


def _statement_number_fixed(chunk: str) -> str:
    """:28C: as some banks write it, made standard: wrapped onto two lines
    (ING's "0000" then "0") joined, spaces dropped, a missing statement number
    before "/1" (Zenith) read as 0."""

    def fixed(match: re.Match) -> str:
        value = re.sub(r"\s+", "", match.group(1))
        if value.startswith("/"):
            value = "0" + value
        return f":28C:{value}"

    return _LONG_STATEMENT_LINE.sub(_supplementary_joined, _STATEMENT_NUMBER.sub(fixed, chunk, count=1))


# A :61: field over three or more lines (ING: reference, then "005", then
# "/TRCD/00100/"): its supplementary details are one field, joined.
_LONG_STATEMENT_LINE = re.compile(r"^(:61:[^\n]*\n)((?!:)[^\n]*(?:\n(?!:)[^\n]*)+)", re.MULTILINE)


def _supplementary_joined(match: re.Match) -> str:
    return match.group(1) + " ".join(part.strip() for part in match.group(2).split("\n"))


def _decode(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _without_envelope(chunk: str) -> str:
    """The statement without what follows its last field: the SWIFT block
    end ("-}" or "-"), trailer blocks ({5:...}), the next message's header."""
    lines = chunk.split("\n")
    while lines and (not lines[-1].strip() or lines[-1].strip().startswith(("-", "{", "}"))):
        lines.pop()
    if lines and lines[-1].rstrip().endswith("-}"):
        lines[-1] = lines[-1].rstrip()[:-2]
    return "\n".join(lines) + "\n"


def _account(text: str) -> str:
    """:25: without the currency some banks add: after a space (bunq), or
    glued to an IBAN (ING: "NL77INGB0574908765EUR")."""
    account = text.strip().split(" ")[0]
    if len(account) > 3 and account[-3:].isalpha() and iban.is_valid(account[:-3]):
        return account[:-3]
    return account


def _header(data: dict, number: int) -> StatementHeader:
    account = _account(str(data.get("account_identification") or ""))
    if not account:
        raise StatementFormatError(f"statement {number} has no account (:25:)")
    if len(account) > MAX_ACCOUNT:
        raise StatementFormatError(f"statement {number}: its account is longer than {MAX_ACCOUNT} characters")
    closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
    parts = [str(data.get("transaction_reference") or "").strip(), str(data.get("statement_number") or "")]
    if data.get("sequence_number"):
        parts.append(str(data["sequence_number"]))
    statement_id = "/".join(p for p in parts if p)
    if closing is not None and getattr(closing, "date", None):
        statement_id += f" {closing.date.isoformat()}"
    balances = []
    for key, kind in (
        ("final_opening_balance", "OPBD"),
        ("intermediate_opening_balance", "OPBD-intermediate"),
        ("intermediate_closing_balance", "CLBD-intermediate"),
        ("final_closing_balance", "CLBD"),
        ("available_balance", "CLAV"),
    ):
        balance = data.get(key)
        if balance is not None and getattr(balance, "amount", None) is not None:
            balances.append(balance_entry(kind, balance.amount.amount, balance.amount.currency, balance.date))
    return StatementHeader(
        statement_id=statement_id[:MAX_STATEMENT_ID],
        account=account,
        file_format="mt940",
        kind=KIND_STATEMENT,
        balances=balances,
    )


def _clean(value) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split())


def _dutch_fields(details: str) -> dict[str, str]:
    """Tag -> value of a Dutch-style :86: ("/EREF/x/REMI/y"), or {}."""
    joined = details.replace("\n", "")
    matches = list(_DUTCH_TAGS.finditer(joined))
    if len(matches) < 2 and not joined.startswith(("/EREF/", "/REMI/", "/NAME/", "/TRTP/")):
        return {}
    fields: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=False):
        value = joined[match.end() : following.start() if following else len(joined)].strip("/ ")
        fields.setdefault(match.group(1), value)
    return fields


def _remittance_and_reference(details: str, data: dict) -> tuple[str, str, str, str]:
    """(remittance, creditor reference, end-to-end reference, debtor name) from :86:."""
    dutch = _dutch_fields(details)
    if dutch:
        remittance = dutch.get("REMI", "")
        creditor_reference = ""
        if remittance.startswith("USTD"):
            remittance = remittance[4:].lstrip("/")
        elif remittance.startswith("STRD/"):
            parts = remittance.split("/")
            creditor_reference = parts[-1] if len(parts) >= 3 else ""
            remittance = creditor_reference
        name = dutch.get("NAME", "")
        return _clean(remittance), creditor_reference, dutch.get("EREF", ""), name
    if data.get("purpose") or data.get("applicant_name"):
        purpose = " ".join(_clean(data.get(k)) for k in ("purpose", "additional_purpose") if data.get(k))
        name = _clean(data.get("applicant_name")) or _clean(data.get("deviate_applicant"))
        end_to_end = _clean(data.get("end_to_end_reference"))
        return purpose, "", end_to_end, name
    return _clean(details), "", "", ""


def _line(data: dict, header: StatementHeader, position: int) -> ParsedLine:
    errors = LineError(position)
    status = str(data.get("status") or "").upper()
    reversal = status.startswith("R")
    mark = status.removeprefix("R")
    direction = {"C": CREDIT, "D": DEBIT}.get(mark)
    if direction is None:
        errors.add("direction", f"the :61: mark {status!r} is neither C, D, RC nor RD.")
    elif reversal:
        direction = DEBIT if direction == CREDIT else CREDIT  # RC reverses a credit: money goes out
    amount_field = data.get("amount")
    amount = abs(Decimal(amount_field.amount)) if amount_field is not None else None
    currency = (amount_field.currency if amount_field is not None else "") or ""
    try:
        if amount is None:
            raise CurrencyError("is missing.")
        amount = check_amount(amount, currency.upper())
    except CurrencyError as exc:
        errors.add("amount", f"{amount} {currency}: {exc}")
    details = str(data.get("transaction_details") or "")
    remittance, creditor_reference, end_to_end, name = _remittance_and_reference(details, data)
    if reversal:
        remittance = f"[Reversal] {remittance}".strip()
    reference = next(
        (
            _clean(r)
            for r in (data.get("bank_reference"), data.get("customer_reference"), end_to_end)
            if _clean(r).upper() not in _NO_REFERENCE
        ),
        "",
    )
    if not reference:
        content = f"{header.statement_id}\n{position}\n{data.get('amount')}\n{data.get('date')}\n{details}"
        reference = "mt940:" + hashlib.sha256(content.encode()).hexdigest()[:40]
    debtor_name = _clean(name)
    texts_check(errors, bank_reference=reference, debtor_name=debtor_name, creditor_reference=creditor_reference)
    if errors.errors or direction is None or amount is None:  # a missing one was named in errors
        return errors
    value_date = data.get("date")
    booking_date = data.get("entry_date") or value_date
    return header.line(
        position,
        bank_reference=reference,
        direction=direction,
        amount=amount,
        currency=currency.upper(),
        booking_date=_plain_date(booking_date),
        value_date=_plain_date(value_date),
        debtor_name=debtor_name,
        remittance=remittance,
        creditor_reference=creditor_reference,
        reversal=reversal,
    )


def _plain_date(value):
    from datetime import date

    return date(value.year, value.month, value.day) if value else None
