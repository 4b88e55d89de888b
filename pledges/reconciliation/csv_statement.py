"""Bank statements exported as CSV, read as a stream.

`iter_csv_statement(stream, statement_id=..., account=..., date_order="auto")`
yields a `StatementLine` (or a `LineError`) per row. A CSV file does not say
which statement or account it is, so the caller gives both;
`file_sha256(stream)` gives an id for a file that has none.

Layout
------
The first line is a header naming the columns, in any order. Names are
matched without regard to case or surrounding spaces, and a space or hyphen
inside a name counts as an underscore ("Booking Date" is booking_date).
Columns with other names are ignored; a known name given twice is refused.

required:
    booking_date        the date the bank booked the line
    amount              see "Amounts" below
    currency            ISO 4217 code (upper or lower case)
    bank_reference      the bank's reference of the line, unique on the account
optional:
    value_date          see "Dates"
    direction           C / D, CR / DR, CRDT / DBIT or credit / debit (any case).
                        Without it (or when empty), a negative amount is a
                        debit and any other a credit. With it, the amount may
                        carry a minus sign on a debit (it is dropped); a minus
                        on a credit is a line error.
    debtor_name         who sent the money
    remittance          the free text the payer wrote
    creditor_reference  a structured (ISO 11649) reference, as given
    charges             bank charges deducted on the way (an amount in the
                        line's currency; a minus sign is ignored, as banks
                        write deductions either way). Empty is 0.

Delimiter: comma, semicolon or tab: the one that splits the header into the
required columns. Fields may be quoted with double quotes. Empty rows are
skipped (but counted in positions). A row with fewer fields than the
header has its missing trailing fields empty; a row with more non-empty
fields than the header is a line error.

Encoding: a UTF-8 (BOM or not) or UTF-16 (with its BOM, as Excel's
"Unicode text" export) file is read as such. In a file without BOM, any
byte that does not belong to valid UTF-8 is read as Windows-1252 (cp1252),
which is what banks' Windows exports are in: a pure cp1252 file, and an
UTF-8 file with a stray cp1252 byte, both read right, however far down the
first accented letter is. (A cp1252 text whose bytes happen to form valid
UTF-8, such as "Ã©", would be read as UTF-8; real names do not do that.)
The five bytes cp1252 leaves undefined make the file refused.

Amounts
-------
An optional sign: a leading "+" or "-" (or U+2212), a trailing "-", or the
whole amount in parentheses (negative). Then digits with separators:
"." and "," (decimal or thousands), and space, no-break space, thin space
or apostrophe (thousands only). The reading is unambiguous or refused:

* space and apostrophe are always thousands separators;
* when "." and "," both appear, the last one is the decimal separator
  ("1,234.56", "1.234,56");
* a separator that appears more than once is a thousands separator
  ("1,234,567", "1.234.567");
* a lone "." or "," (possibly after space/apostrophe grouping) is the
  decimal separator, except a lone one followed by exactly three digits,
  with no other separator and one to three digits before it not starting
  with 0: that is a thousands separator ("1,234" and "1.234" are 1234), and
  in a currency with three decimals (KWD, BHD...) that reading is ambiguous
  and refused;
* thousands separators must separate groups of three digits ("1,234,567"),
  or the Indian grouping of two ("12,34,567"), all with the same character;
* more decimals than the currency has (ignoring trailing zeros) is refused:
  "1.234,567" EUR, "12.5" JPY; a zero amount is refused; at most 15
  digits before the decimal separator.

Dates
-----
* YYYY-MM-DD (ISO), YYYY/MM/DD and YYYYMMDD: always.
* DD.MM.YYYY (day first, as written in Europe): always.
* D/M/Y or M/D/Y with slashes (or dashes): by `date_order`, "DMY" or "MDY";
  with the default "auto" every such date is a line error asking for
  date_order, even one that reads only one way (13/04/2012), so a file
  is never read half one way and half the other.
* A two-digit year is in the 2000s (the Fund was set up in 2010).
* A time after the date ("2024-03-05 14:30", "...T14:30:00") is ignored.
"""

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from pledges.money import CurrencyError, check_amount, currency_minor_units
from pledges.reconciliation.parsing import (
    CREDIT,
    DEBIT,
    MAX_ACCOUNT,
    MAX_BANK_REFERENCE,
    MAX_CREDITOR_REFERENCE,
    MAX_DEBTOR_NAME,
    MAX_INTEGER_DIGITS,
    MAX_STATEMENT_ID,
    NON_FIELD_ERRORS,
    LineError,
    ParsedLines,
    StatementFormatError,
    StatementLine,
    check_length,
)

REQUIRED_COLUMNS = ("booking_date", "amount", "currency", "bank_reference")
OPTIONAL_COLUMNS = ("value_date", "direction", "debtor_name", "remittance", "creditor_reference", "charges")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DELIMITERS = (",", ";", "\t")
DATE_ORDERS = ("auto", "DMY", "MDY")
# A longer physical line is refused rather than read into memory.
MAX_LINE_CHARS = 1 << 20
_CHUNK = 64 * 1024

DIRECTION_WORDS = {
    "c": CREDIT,
    "cr": CREDIT,
    "crdt": CREDIT,
    "credit": CREDIT,
    "d": DEBIT,
    "dr": DEBIT,
    "dbit": DEBIT,
    "debit": DEBIT,
}

_FALLBACK_ERRORS = "vtf_statement_cp1252_fallback"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as cp1252."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    # Raises UnicodeDecodeError itself for the bytes cp1252 leaves undefined.
    return exc.object[exc.start : exc.end].decode("cp1252"), exc.end


codecs.register_error(_FALLBACK_ERRORS, _cp1252_fallback)


def iter_csv_statement(stream: BinaryIO, *, statement_id: str, account: str, date_order: str = "auto") -> ParsedLines:
    """The lines of a CSV statement (opened in binary mode), one at a time.

    statement_id and account are the caller's (see the module docstring for
    the layout). Arguments are checked at once (ValueError); the file is read
    as the lines are taken, and StatementFormatError comes then: an empty
    file, a header without the required columns, a line too long, an
    encoding or CSV quoting error.
    """
    order = {o.lower(): o for o in DATE_ORDERS}.get(str(date_order).lower())
    if order is None:
        raise ValueError(f"date_order must be one of {', '.join(DATE_ORDERS)}, not {date_order!r}")
    statement_id = (statement_id or "").strip()
    account = (account or "").strip()
    if not statement_id or len(statement_id) > MAX_STATEMENT_ID:
        raise ValueError(f"statement_id must be 1 to {MAX_STATEMENT_ID} characters")
    if not account or len(account) > MAX_ACCOUNT:
        raise ValueError(f"account must be 1 to {MAX_ACCOUNT} characters")
    return _iter_rows(stream, statement_id, account, order)


def file_sha256(stream: BinaryIO) -> str:
    """The hex SHA-256 of the stream's content from where it stands, read in
    chunks; a seekable stream is put back where it was. It makes a
    statement_id for a CSV file, so the same file cannot be imported twice."""
    start = stream.tell() if stream.seekable() else None
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    if start is not None:
        stream.seek(start)
    return digest.hexdigest()


# --- reading the bytes ----------------------------------------------------------


class _PrefixedRaw(io.RawIOBase):
    """A raw binary stream: some bytes already read, then the rest of `stream`.
    Closing it does not close `stream` (the caller's)."""

    def __init__(self, prefix: bytes, stream: BinaryIO):
        super().__init__()
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            data, self._prefix = self._prefix[: len(buffer)], self._prefix[len(buffer) :]
        else:
            data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _text_stream(stream: BinaryIO) -> io.TextIOWrapper:
    head = stream.read(4)
    while len(head) < 4:
        more = stream.read(4 - len(head))
        if not more:
            break
        head += more
    if head.startswith(codecs.BOM_UTF8):
        encoding, errors = "utf-8-sig", _FALLBACK_ERRORS
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, errors = "utf-16", "strict"
    else:
        encoding, errors = "utf-8", _FALLBACK_ERRORS
    raw = io.BufferedReader(_PrefixedRaw(head, stream), buffer_size=_CHUNK)
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


class _Progress:
    """Where reading is, for the position of a file error: None while in the
    header, else the position of the record being read."""

    def __init__(self):
        self.in_header = True
        self.records = 0

    def position(self) -> int | None:
        return None if self.in_header else self.records + 1


def _physical_lines(text: io.TextIOWrapper, progress: _Progress) -> Iterator[str]:
    while True:
        line = text.readline(MAX_LINE_CHARS)
        if not line:
            return
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise StatementFormatError(
                f"a line is longer than {MAX_LINE_CHARS} characters: is this a CSV statement?", progress.position()
            )
        if "\0" in line:
            # Text columns cannot hold NUL (PostgreSQL refuses it), and a file
            # full of them is a spreadsheet, or UTF-16 without its BOM.
            raise StatementFormatError(
                "the file contains NUL characters: is it a spreadsheet, or UTF-16 text without byte order mark?",
                progress.position(),
            )
        yield line


def _column_name(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lstrip("\ufeff").strip()).lower()


def _header(line: str) -> tuple[str, dict[str, int]]:
    """The delimiter, and each known column's index."""
    best: tuple[list[str], list[str]] | None = None
    for delimiter in DELIMITERS:
        names = [_column_name(n) for n in next(csv.reader([line], delimiter=delimiter))]
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if not missing:
            columns: dict[str, int] = {}
            for index, name in enumerate(names):
                if name in COLUMNS:
                    if name in columns:
                        raise StatementFormatError(f"the header names the column {name!r} twice")
                    columns[name] = index
            return delimiter, columns
        if best is None or len(names) > len(best[0]):
            best = (names, missing)
    names, missing = best
    raise StatementFormatError(
        f"the header line lacks the column(s) {', '.join(missing)} "
        f"(found: {', '.join(n for n in names[:20] if n) or 'nothing'}); "
        f"columns are separated by comma, semicolon or tab"
    )


def _iter_rows(stream: BinaryIO, statement_id: str, account: str, date_order: str) -> ParsedLines:
    text = _text_stream(stream)
    progress = _Progress()
    try:
        lines = _physical_lines(text, progress)
        header_line = next((line for line in lines if line.strip()), None)
        if header_line is None:
            raise StatementFormatError("the file is empty")
        delimiter, columns = _header(header_line)
        width = len(next(csv.reader([header_line], delimiter=delimiter)))
        progress.in_header = False
        # strict: a quote left open at the end of the file is an error, not a
        # last field that silently swallowed the rows after it.
        for record in csv.reader(lines, delimiter=delimiter, strict=True):
            progress.records += 1
            if not any(cell.strip() for cell in record):
                continue
            yield _row(record, columns, width, progress.records, statement_id, account, date_order)
    except UnicodeDecodeError as exc:
        if exc.encoding.startswith("utf-16"):
            detail = "the file starts as UTF-16 text but is not UTF-16 further on"
        else:
            detail = f"the file is neither UTF-8 nor Windows-1252 text (byte 0x{exc.object[exc.start]:02x})"
        raise StatementFormatError(detail, progress.position()) from None
    except csv.Error as exc:
        raise StatementFormatError(f"the CSV cannot be read: {exc}", progress.position()) from None


# --- one row ----------------------------------------------------------------------


def _row(
    record: list[str],
    columns: dict[str, int],
    width: int,
    position: int,
    statement_id: str,
    account: str,
    date_order: str,
) -> StatementLine | LineError:
    errors = LineError(position)
    if any(cell.strip() for cell in record[width:]):
        errors.add(NON_FIELD_ERRORS, f"the row has {len(record)} fields, more than the header's {width}.")

    def cell(name: str) -> str:
        index = columns.get(name)
        if index is None or index >= len(record):
            return ""
        return record[index].strip()

    def required(name: str) -> str:
        value = cell(name)
        if not value:
            errors.add(name, "is required.")
        return value

    currency = required("currency").upper()
    minor_units = None
    if currency:
        try:
            minor_units = currency_minor_units(currency)
        except CurrencyError as exc:
            errors.add("currency", str(exc))

    amount = None
    amount_text = required("amount")
    if amount_text and minor_units is not None:
        amount = _checked_amount(errors, "amount", amount_text, currency, minor_units)
        if amount == 0:
            errors.add("amount", "must not be zero.")
            amount = None

    direction = None
    direction_text = cell("direction")
    if direction_text:
        direction = DIRECTION_WORDS.get(direction_text.lower())
        if direction is None:
            errors.add("direction", f"{direction_text[:20]!r} is not one of C, D, CR, DR, CRDT, DBIT, credit, debit.")
        elif amount is not None and amount < 0 and direction == CREDIT:
            errors.add("amount", "is negative on a credit line.")
    elif amount is not None:
        direction = DEBIT if amount < 0 else CREDIT

    charges = Decimal(0)
    charges_text = cell("charges")
    if charges_text and minor_units is not None:
        charges = _checked_amount(errors, "charges", charges_text, currency, minor_units)
        charges = abs(charges) if charges is not None else Decimal(0)

    booking_date = _checked_date(errors, "booking_date", required("booking_date"), date_order)
    value_date = _checked_date(errors, "value_date", cell("value_date"), date_order)

    bank_reference = required("bank_reference")
    check_length(errors, "bank_reference", bank_reference, MAX_BANK_REFERENCE)
    debtor_name = " ".join(cell("debtor_name").split())
    check_length(errors, "debtor_name", debtor_name, MAX_DEBTOR_NAME)
    creditor_reference = cell("creditor_reference")
    check_length(errors, "creditor_reference", creditor_reference, MAX_CREDITOR_REFERENCE)

    if errors.errors:
        return errors
    return StatementLine(
        position=position,
        statement_id=statement_id,
        account=account,
        bank_reference=bank_reference,
        direction=direction,
        amount=abs(amount),
        currency=currency,
        booking_date=booking_date,
        value_date=value_date,
        debtor_name=debtor_name,
        remittance=cell("remittance"),
        creditor_reference=creditor_reference,
        charges=charges,
    )


def _checked_amount(errors: LineError, name: str, text: str, currency: str, minor_units: int) -> Decimal | None:
    try:
        amount = parse_amount(text, minor_units)
        checked = check_amount(abs(amount), currency)
    except ValueError as exc:  # CurrencyError is a ValueError
        errors.add(name, f"{text[:40]!r}: {exc}")
        return None
    return -checked if amount < 0 else checked


def _checked_date(errors: LineError, name: str, text: str, date_order: str) -> date | None:
    if not text:
        return None
    try:
        return parse_date(text, date_order)
    except ValueError as exc:
        errors.add(name, f"{text[:40]!r}: {exc}")
        return None


# --- amounts and dates as banks write them -------------------------------------

_GROUPING_ONLY = {" ", "'"}
_SPACE_LIKE = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u2019": "'"})
_AMOUNT_BODY = re.compile(r"[0-9]+(?:[.,' ][0-9]+)*")
_MAX_AMOUNT_TEXT = 64


def parse_amount(text: str, minor_units: int) -> Decimal:
    """A signed Decimal from an amount as a bank writes it, given the number
    of decimals of its currency; ValueError (with a reason) when the text is
    not an amount or can be read two ways. Rules in the module docstring;
    the decimals are not checked against the currency here."""
    body = text.strip().translate(_SPACE_LIKE)
    if not body:
        raise ValueError("is empty.")
    if len(body) > _MAX_AMOUNT_TEXT:
        raise ValueError("is too long to be an amount.")
    body = body.replace("\u2212", "-")
    signs = 0
    if body.startswith("(") and body.endswith(")"):
        body, signs = body[1:-1].strip(), 1
    negative = signs == 1
    if body[:1] in ("+", "-"):
        negative, signs, body = body[0] == "-", signs + 1, body[1:].strip()
    if body[-1:] == "-":
        negative, signs, body = True, signs + 1, body[:-1].strip()
    if signs > 1:
        raise ValueError("has more than one sign.")
    if not _AMOUNT_BODY.fullmatch(body):
        raise ValueError("is not an amount (digits, with '.', ',', space or apostrophe between them).")

    groups = re.split(r"[.,' ]", body)
    separators = re.findall(r"[.,' ]", body)
    decimal_separator = None
    if separators:
        last = separators[-1]
        if last in _GROUPING_ONLY or separators.count(last) > 1:
            decimal_separator = None
        elif len(separators) > 1:
            decimal_separator = last  # grouping before it, so this one is the decimal point
        elif len(groups[-1]) == 3 and len(groups[0]) <= 3 and not groups[0].startswith("0"):
            if minor_units == 3:
                raise ValueError(
                    f"is ambiguous: {body[-4]!r} before three digits may be a decimal or a thousands separator "
                    "in a currency with three decimals; write it without thousands separators, or with both."
                )
        else:
            decimal_separator = last
    if decimal_separator:
        integer_groups, integer_separators, fraction = groups[:-1], separators[:-1], groups[-1]
    else:
        integer_groups, integer_separators, fraction = groups, separators, ""
    if integer_separators:
        if len(set(integer_separators)) > 1:
            raise ValueError("mixes different thousands separators.")
        if not _is_grouped(integer_groups):
            raise ValueError("has thousands separators that do not separate groups of three digits.")
    integer = "".join(integer_groups)
    if len(integer.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValueError("is too large.")
    if len(fraction) > 18:
        raise ValueError("has too many decimals.")
    return Decimal(("-" if negative else "") + integer + ("." + fraction if fraction else ""))


def _is_grouped(groups: list[str]) -> bool:
    first, rest = groups[0], groups[1:]
    if not 1 <= len(first) <= 3 or (first.startswith("0") and len(groups) > 1):
        return False
    if all(len(g) == 3 for g in rest):
        return True
    # Indian grouping: 12,34,567
    return len(rest[-1]) == 3 and all(len(g) == 2 for g in rest[:-1]) and len(first) <= 2


_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
_YMD = re.compile(r"([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})" + _TIME)
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DOTTED = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4}|[0-9]{2})" + _TIME)
_SLASHED = re.compile(r"([0-9]{1,2})([/-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})" + _TIME)


def _year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def parse_date(text: str, date_order: str = "auto") -> date:
    """A date as a bank writes it (rules in the module docstring);
    ValueError with a reason otherwise."""
    text = text.strip()
    if match := _YMD.fullmatch(text):
        year, month, day = int(match.group(1)), int(match.group(3)), int(match.group(4))
    elif match := _COMPACT.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DOTTED.fullmatch(text):
        day, month, year = int(match.group(1)), int(match.group(2)), _year(match.group(3))
    elif match := _SLASHED.fullmatch(text):
        first, second, year = int(match.group(1)), int(match.group(3)), _year(match.group(4))
        if date_order == "DMY":
            day, month = first, second
        elif date_order == "MDY":
            month, day = first, second
        else:
            raise ValueError(
                "a date with slashes can be day/month/year or month/day/year: "
                "import the file again saying which (date_order DMY or MDY)."
            )
    else:
        raise ValueError("is not a date (YYYY-MM-DD, DD.MM.YYYY, YYYYMMDD, or D/M/Y or M/D/Y with date_order).")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("is not a date in the calendar.") from None
