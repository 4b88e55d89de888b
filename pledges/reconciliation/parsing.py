"""What the statement parsers give back: plain values, no Django models.

The parsers (`camt053.iter_camt053`, `swift_mt940.iter_mt940`,
`bai2_statement.iter_bai2`, `csv_statement.iter_csv_statement`) are
generators of `StatementLine | LineError`:

* a line that can be read yields a `StatementLine`;
* a line that cannot (a bad amount, an unknown currency, a date that is not
  a date...) yields a `LineError` naming its position and the fields at
  fault, and the parser goes on with the next line;
* a file that cannot be read at all (not the format, truncated, hostile)
  raises `StatementFormatError`. It can be raised after some lines were
  yielded (a truncated file is only found to be truncated at its end), so
  a caller treats the whole file as refused when it sees one.

Positions are 1-based and count what the parser yields, in file order: the
n-th `StatementLine` or `LineError` of a file has position n. For a CSV file
that is the n-th row after the header (empty rows count); for camt.053, the
n-th booked entry, where a batch entry with k transactions counts as k lines
(whether they are good or not, so positions depend only on the file).

Length limits below mirror the columns of `pledges.reconciliation.models`
(and ISO 20022's Max35Text / Max140Text): a longer value is a line error
rather than a value silently cut.
"""

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, Any

from pledges.references import reference_parse

CREDIT = "credit"
DEBIT = "debit"
DIRECTIONS = (CREDIT, DEBIT)

MAX_STATEMENT_ID = 140
MAX_ACCOUNT = 64
MAX_BANK_REFERENCE = 140
MAX_DEBTOR_NAME = 140
MAX_CREDITOR_REFERENCE = 35
# The model stores amounts with max_digits=19, decimal_places=4.
MAX_INTEGER_DIGITS = 15

# Field name for errors that concern the line as a whole (DRF's spelling).
NON_FIELD_ERRORS = "non_field_errors"


@dataclass(frozen=True)
class StatementLine:
    position: int  # 1-based position of the line in the file (see the module docstring)
    statement_id: str  # camt: Stmt/Id; CSV: given by the caller (or `csv_statement.content_statement_id`)
    account: str  # the Fund's account: camt Acct/Id/IBAN or Acct/Id/Othr/Id; CSV: given by the caller
    bank_reference: str  # unique per account (see each parser for how it is chosen)
    direction: str  # CREDIT or DEBIT: how the money moved on the Fund's account
    amount: Decimal  # positive, in `currency`'s minor units (checked)
    currency: str  # ISO 4217, upper case
    booking_date: date | None
    value_date: date | None
    debtor_name: str
    remittance: str  # unstructured remittance text, then additional entry information
    creditor_reference: str = ""  # structured creditor reference (CdtrRefInf/Ref) as given, else ""
    charges: Decimal = Decimal(0)  # bank charges deducted on the way, if the statement says, else 0
    reversal: bool = False  # camt RvslInd: this entry reverses an earlier one (direction is still the movement)


KIND_STATEMENT = "statement"  # end of day (camt.053, MT940, BAI2 final)
KIND_NOTIFICATION = "notification"  # credit/debit notifications between statements (camt.054)
KIND_INTRADAY = "intraday"  # interim reports (camt.052, BAI2 same-day interim)


@dataclass
class StatementHeader:
    """What a parser learnt about one statement of a file besides its lines:
    appended to the caller's list when the statement ends, so a statement
    without entries is known too (and kept, with its balances)."""

    statement_id: str
    account: str
    file_format: str
    kind: str = KIND_STATEMENT
    # Each {"type": "OPBD"/"CLBD"/..., "amount": "12.50", "currency": "EUR", "date": "2024-01-31"};
    # a debit balance has a negative amount.
    balances: list[dict] = field(default_factory=list)

    def line(self, position: int, **read: Any) -> StatementLine:
        """A line of this statement: its statement id and account are the
        header's; `read` is what the parser read, in `StatementLine`'s fields
        (a format without creditor references, charges or reversals leaves
        them out)."""
        return StatementLine(position=position, statement_id=self.statement_id, account=self.account, **read)


class StatementFormatError(ValueError):
    """A file that cannot be read as a statement at all.

    `detail` is a message for people; `position` is the line position where
    the file broke, when it is known (CSV), else None (for XML the detail
    gives the parser's line and column instead).
    """

    def __init__(self, detail: str, position: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.position = position

    def __str__(self) -> str:
        return self.detail


@dataclass
class LineError:
    """A line that could not be read: field name -> messages."""

    position: int
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


ParsedLine = StatementLine | LineError
ParsedLines = Iterator[ParsedLine]


class PrefixedRaw(io.RawIOBase):
    """A raw binary stream: some bytes already read, then the rest of `stream`.
    Closing it does not close `stream` (the caller's)."""

    def __init__(self, prefix: bytes, stream: IO[bytes]):
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


def check_length(errors: LineError, name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors.add(name, f"is {len(value)} characters long; at most {limit} are accepted.")


# --- what every parser does the same way with the parts of a statement ---------

# The column each free-text part of a line is stored in holds this many characters.
TEXT_LIMITS = {
    "bank_reference": MAX_BANK_REFERENCE,
    "debtor_name": MAX_DEBTOR_NAME,
    "creditor_reference": MAX_CREDITOR_REFERENCE,
}


def texts_check(errors: LineError, **texts: str) -> None:
    """Name in `errors` each free-text part of a line (`bank_reference`,
    `debtor_name`, `creditor_reference`) too long for its column, in the
    order given."""
    for name, text in texts.items():
        check_length(errors, name, text, TEXT_LIMITS[name])


def balance_entry(kind: str, amount: Decimal, currency: str, on: date | None) -> dict[str, str]:
    """One balance of `StatementHeader.balances` in plain values (kept for
    people to compare with the lines, never checked against them): the
    bank's type code, the signed amount as text, its currency and its date
    (empty when the file gives none)."""
    return {"type": kind, "amount": str(amount), "currency": currency, "date": on.isoformat() if on else ""}


# --- ISO 11649 references in free text ---------------------------------------

# "RF" and two check digits, not glued to a word before it.
_RF_START = re.compile(r"(?<![A-Za-z0-9])RF[ ]?[0-9]{2}", re.IGNORECASE)
# A run of letters and digits, then what separates it from the next run.
_TOKEN = re.compile(r"([A-Za-z0-9]+)([ \t\-]*)")
_MAX_REFERENCE = 25


def _reference_candidates(text: str) -> list[str]:
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        if match.start() != sum(len(t) + len(s) for t, s in tokens):
            break
        tokens.append((match.group(1), match.group(2)))
        if not match.group(2):
            break
    words = [t for t, _ in tokens]
    if not words:
        return []
    if words[0].upper() == "RF":  # "RF 18 5390 ...": glue the check digits back on
        words = ["RF" + words[1], *words[2:]] if len(words) > 1 else []
    candidates = []
    total = ""
    for word in words:
        total += word
        if len(total) > _MAX_REFERENCE:
            break
        candidates.append(total)
    # Printed form (groups of four, the last one to four characters): the
    # longest such prefix first. Then whatever else, longest first.
    printed = []
    if candidates and len(words[0]) == 4:
        printed.append(candidates[0])
        for index in range(1, len(candidates)):
            if len(words[index]) > 4:
                break
            printed.append(candidates[index])
            if len(words[index]) < 4:
                break
    ordered = list(reversed(printed)) + [c for c in reversed(candidates) if c not in printed]
    return ordered


def find_references(text: str) -> list[str]:
    """The valid ISO 11649 references written in free text, in compact upper
    case form, in order of appearance, without repeats.

    People type them in lower case, with odd spacing or hyphens
    ("pledge rf18 5390 0754 7034 thank you" -> ["RF18539007547034"]). When the
    characters after a reference could be read as part of it, every valid
    reading is returned, the printed grouping by four first, then the
    longest: a following short word passes the check digits about once in
    97 times, so the caller looks the readings up and keeps the one that
    names a pledge.
    """
    found: list[str] = []
    for start in _RF_START.finditer(text):
        for candidate in _reference_candidates(text[start.start() : start.start() + 80]):
            reference = reference_parse(candidate)
            if reference and reference not in found:
                found.append(reference)
    return found
