"""Bank statements exported as CSV, read as a stream.

`iter_csv_statement(stream, statement_id=..., account=..., date_order="auto",
layout=CsvLayout(...), currency="")` yields a `StatementLine` (or a
`LineError`) per row. A CSV file does not say
which statement or account it is, so the caller gives both;
`file_sha256(stream)` gives an id for a file that has none.

Layout
------
How the file is laid out is a `CsvLayout`: a bank's saved profile, or the
defaults, with which the header line names the columns, in any order, and
is looked for in the first HEADER_SEARCH_LINES lines (a title line before it
is passed over). Header names are matched without regard to case or
surrounding spaces, a space or hyphen inside a name counts as an underscore,
and the names of HEADER_NAMES are known in English, French, German, Spanish
and Dutch ("Buchungstag", "Date d'opération", "Fecha valor", "Boekdatum");
"Bedrag (EUR)" names the currency too. Two columns that could be the same
field refuse the file, naming both; other columns are ignored.

needed:
    booking_date        the date the bank booked the line
    amount              see "Amounts" below (or credit_amount and debit_amount columns)
    currency            ISO 4217 code (or the layout's currency, or the header's)
optional:
    bank_reference      the bank's reference of the line; without it, "csv:"
                        and a digest of the row as written, so the same row
                        in a later, overlapping export is known again
    value_date          see "Dates"
    direction           C / D, CR / DR, CRDT / DBIT, credit / debit, and the
                        words of the five languages (Bij / Af, Haben / Soll,
                        H / S, crédit / débit, abono / cargo), plus the
                        layout's. Without it (or when empty), a negative
                        amount is a debit and any other a credit. With it,
                        the amount may carry a minus sign on a debit (it is
                        dropped); a minus on a credit is a line error unless
                        the layout's sign is "direction".
    debtor_name         who sent the money
    remittance          the free text the payer wrote
    creditor_reference  a structured (ISO 11649) reference, as given
    charges             bank charges deducted on the way (an amount in the
                        line's currency; a minus sign is ignored, as banks
                        write deductions either way). Empty is 0.

A zero amount is read (banks export them) and the importer excludes it.

Delimiter: comma, semicolon, tab or bar: the one that splits the header into
the needed columns. Fields may be quoted with double quotes. Empty rows are
skipped (but counted in positions). A row with fewer fields than the
header has its missing trailing fields empty; a row with more non-empty
fields than the header is a line error.

Encoding (unless the layout names one): a UTF-8 (BOM or not) or UTF-16 (with its BOM, as Excel's
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
  "1.234,567" EUR, "12.5" JPY; at most 15 digits before the decimal
  separator. (A zero amount is read; the importer excludes it, see above.)

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import IO

from pledges.money import CurrencyError, check_amount, currency_minor_units
from pledges.reconciliation.parsing import (
    CREDIT,
    DEBIT,
    MAX_ACCOUNT,
    MAX_INTEGER_DIGITS,
    MAX_STATEMENT_ID,
    NON_FIELD_ERRORS,
    LineError,
    ParsedLine,
    ParsedLines,
    PrefixedRaw,
    StatementFormatError,
    StatementHeader,
    texts_check,
)

REQUIRED_COLUMNS = ("booking_date", "amount", "currency", "bank_reference")
OPTIONAL_COLUMNS = ("value_date", "direction", "debtor_name", "remittance", "creditor_reference", "charges")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DELIMITERS = (",", ";", "\t", "|")
DATE_ORDERS = ("auto", "DMY", "MDY")
# A longer physical line is refused rather than read into memory.
MAX_LINE_CHARS = 1 << 20
_CHUNK = 64 * 1024

# The direction column's values, in English, French, German, Spanish and Dutch.
DIRECTION_WORDS = {
    **dict.fromkeys(("c", "cr", "crdt", "credit", "crédit", "h", "haben", "abono", "haber", "bij", "credit"), CREDIT),
    **dict.fromkeys(("d", "dr", "dbit", "debit", "débit", "s", "soll", "cargo", "debe", "af", "debet"), DEBIT),
}

_FALLBACK_ERRORS = "vtf_statement_cp1252_fallback"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as cp1252."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    # Raises UnicodeDecodeError itself for the bytes cp1252 leaves undefined.
    return exc.object[exc.start : exc.end].decode("cp1252"), exc.end


codecs.register_error(_FALLBACK_ERRORS, _cp1252_fallback)


def iter_csv_statement(
    stream: IO[bytes],
    *,
    statement_id: str,
    account: str,
    date_order: str = "auto",
    layout: "CsvLayout | None" = None,
    currency: str = "",
    found: dict | None = None,
    headers: list[StatementHeader] | None = None,
) -> ParsedLines:
    """The lines of a CSV statement (opened in binary mode), one at a time.

    statement_id and account are the caller's (see the module docstring for
    the layout); the statement's header is appended to `headers`, as the
    other parsers do. Arguments are checked at once (ValueError); the file is read
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
    layout = layout or CsvLayout()
    problems = layout.errors()
    if problems:
        raise ValueError(f"the layout is not usable: {problems}")
    found = found if found is not None else {}
    # A CSV file is one statement, whose header is the caller's.
    header = StatementHeader(statement_id=statement_id, account=account, file_format="csv")
    if headers is not None:
        headers.append(header)
    return _iter_rows(stream, header, order, layout, (currency or layout.currency).upper(), found)


def file_sha256(stream: IO[bytes]) -> str:
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


def _text_stream(stream: IO[bytes], encoding: str = "auto") -> io.TextIOWrapper:
    head = stream.read(4)
    while len(head) < 4:
        more = stream.read(4 - len(head))
        if not more:
            break
        head += more
    if encoding != "auto":
        errors = "strict"
        if codecs.lookup(encoding).name == "utf-8":
            encoding, errors = "utf-8-sig", "strict"
    elif head.startswith(codecs.BOM_UTF8):
        encoding, errors = "utf-8-sig", _FALLBACK_ERRORS
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, errors = "utf-16", "strict"
    else:
        encoding, errors = "utf-8", _FALLBACK_ERRORS
    raw = io.BufferedReader(PrefixedRaw(head, stream), buffer_size=_CHUNK)
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


# --- header names in English, French, German, Spanish and Dutch --------------------
#
# Each field's names, most specific first: names of rank 1 say exactly what
# the column holds ("Buchungstag"), those of rank 2 are generic ("Datum").
# A field is recognised when exactly one column has its best rank; two
# columns with the same best rank are ambiguous, and the file needs a profile.
# Names are compared as `_column_name` writes them (lower case, spaces and
# hyphens as "_"). "valuta" is left out: it is the currency in Dutch but the
# value date in German.

HEADER_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "booking_date": (
        (
            "booking_date",
            "posting_date",
            "book_date",
            "entry_date",
            "buchungstag",
            "buchungsdatum",
            "date_comptable",
            "date_de_comptabilisation",
            "date_operation",
            "date_d'opération",
            "date_opération",
            "fecha_contable",
            "fecha_de_operación",
            "fecha_operación",
            "fecha_operacion",
            "boekdatum",
            "boekingsdatum",
        ),
        ("date", "transaction_date", "datum", "fecha", "transactiedatum", "data"),
    ),
    "value_date": (
        ("value_date", "valuedate", "wertstellung", "valutadatum", "date_de_valeur", "date_valeur", "fecha_valor"),
        ("valor",),
    ),
    "amount": (
        ("amount", "betrag", "montant", "importe", "bedrag", "transaction_amount", "umsatz"),
        ("mutatie", "value", "sum"),
    ),
    "credit_amount": (
        ("credit_amount", "paid_in", "money_in", "haben", "montant_crédit", "crédit", "abono", "bij", "ingresos"),
        (),
    ),
    "debit_amount": (
        ("debit_amount", "paid_out", "money_out", "soll", "montant_débit", "débit", "cargo", "af", "gastos"),
        (),
    ),
    "currency": (
        ("currency", "currency_code", "währung", "waehrung", "devise", "moneda", "divisa", "valutacode", "munt"),
        ("ccy", "cur"),
    ),
    "direction": (
        (
            "direction",
            "credit/debit",
            "debit/credit",
            "d/c",
            "c/d",
            "cr/dr",
            "dr/cr",
            "soll/haben",
            "s/h",
            "af_bij",
            "af/bij",
            "creditdebet",
            "credit_debet",
            "debet/credit",
            "sens",
            "débit/crédit",
            "debit_credit",
            "credit_debit",
            "cargo/abono",
        ),
        ("type", "tipo"),
    ),
    "debtor_name": (
        (
            "debtor_name",
            "payer",
            "payer_name",
            "ordering_party",
            "remitter",
            "counterparty",
            "counterparty_name",
            "partner_name",
            "auftraggeber",
            "zahlungspflichtiger",
            "beguenstigter/zahlungspflichtiger",
            "begünstigter/zahlungspflichtiger",
            "name_zahlungspflichtiger",
            "donneur_d'ordre",
            "contrepartie",
            "tiers",
            "ordenante",
            "nombre_ordenante",
            "tegenrekeninghouder",
            "naam_tegenpartij",
            "naam_/_omschrijving",
            "tegenpartij",
        ),
        ("name", "nom", "nombre", "naam"),
    ),
    "remittance": (
        (
            "remittance",
            "remittance_information",
            "verwendungszweck",
            "libellé",
            "libelle",
            "communication",
            "concepto",
            "mededelingen",
            "omschrijving",
            "details",
            "memo",
            "narrative",
            "label",
        ),
        ("description", "buchungstext", "descripción", "descripcion", "text", "texte", "reference_text"),
    ),
    "bank_reference": (
        (
            "bank_reference",
            "transaction_id",
            "transaction_reference",
            "bank_ref",
            "referenz",
            "bankreferenz",
            "référence_bancaire",
            "referencia_bancaria",
            "referentie",
            "transactiereferentie",
            "kenmerk",
        ),
        ("reference", "référence", "referencia", "id"),
    ),
    "creditor_reference": (
        ("creditor_reference", "structured_reference", "rf_reference", "gläubigerreferenz", "betalingskenmerk"),
        (),
    ),
    "charges": (("charges", "fees", "bank_charges", "gebühren", "entgelt", "frais", "comisiones", "kosten"), ()),
}
FIELDS = tuple(HEADER_NAMES)
_NAME_RANKS = {
    name: (field_name, rank)
    for field_name, ranks in HEADER_NAMES.items()
    for rank, names in enumerate(ranks, 1)
    for name in names
}
# "Bedrag (EUR)": the currency in the column's name.
_HEADER_CURRENCY = re.compile(r"^(.*?)_?\(([a-z]{3})\)$")
DATE_ORDERS_ALL = ("auto", "DMY", "MDY")
SIGNS = ("amount", "direction")
ENCODINGS = ("auto", "utf-8", "cp1252", "iso-8859-1", "iso-8859-15", "utf-16")
HEADER_SEARCH_LINES = 20


@dataclass(frozen=True)
class CsvLayout:
    """How a bank writes its CSV export (a saved `CsvProfile`, or the
    defaults: every choice found from the file).

    encoding: "auto" (UTF-8, UTF-16 by BOM, stray bytes as cp1252) or a codec.
    delimiter: "," ";" "\t" "|", or "" to take the one that splits the header best.
    skip_lines: physical lines before the header (or the first row).
    has_header: False when the first row is data; columns are then numbers.
    columns: field -> header name or 1-based column number; empty: the
        header names are recognised (HEADER_NAMES), and without a profile a
        header is looked for in the first HEADER_SEARCH_LINES lines.
    date_order: "DMY" or "MDY" for slashed dates (see `parse_date`), or "auto".
    decimal_separator: "auto" (`parse_amount`'s rules), "." or ",".
    sign: "amount" (a minus is a debit; with a direction column a minus on
        a credit is refused) or "direction" (the direction column decides,
        the amount's sign is ignored, as some banks write both).
    credit_words, debit_words: the direction column's values, besides the usual ones.
    currency: the currency of a file that names none.
    """

    encoding: str = "auto"
    delimiter: str = ""
    skip_lines: int = 0
    has_header: bool = True
    columns: dict = field(default_factory=dict)
    date_order: str = "auto"
    decimal_separator: str = "auto"
    sign: str = "amount"
    credit_words: tuple[str, ...] = ()
    debit_words: tuple[str, ...] = ()
    currency: str = ""

    def errors(self) -> dict[str, list[str]]:
        """What is wrong with the layout, by field (empty when it can be used)."""
        problems: dict[str, list[str]] = {}
        if self.encoding != "auto":
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                problems["encoding"] = [f"{self.encoding!r} is not an encoding Python knows."]
        if self.delimiter not in ("", ",", ";", "\t", "|"):
            problems["delimiter"] = ["One of , ; | or a tab, or empty to find it from the header."]
        if self.date_order not in DATE_ORDERS_ALL:
            problems["date_order"] = [f"One of {', '.join(DATE_ORDERS_ALL)}."]
        if self.decimal_separator not in ("auto", ".", ","):
            problems["decimal_separator"] = ["One of auto, '.', ','."]
        if self.sign not in SIGNS:
            problems["sign"] = [f"One of {', '.join(SIGNS)}."]
        if self.sign == "direction" and "direction" not in self.columns and self.columns:
            problems["sign"] = ["'direction' needs a direction column in columns."]
        if not self.has_header and any(not isinstance(v, int) for v in self.columns.values()):
            problems["columns"] = ["Without a header line, columns are given by number (1 is the first)."]
        if not self.has_header and not self.columns:
            problems["columns"] = ["Without a header line, say which column holds what."]
        for name, value in self.columns.items():
            if name not in FIELDS:
                problems.setdefault("columns", []).append(f"{name!r} is not a field: {', '.join(FIELDS)}.")
            elif isinstance(value, bool) or not isinstance(value, int | str) or (isinstance(value, int) and value < 1):
                problems.setdefault("columns", []).append(f"{name}: a column name or a number from 1.")
        if self.currency:
            try:
                currency_minor_units(self.currency)
            except CurrencyError as exc:
                problems["currency"] = [str(exc)]
        return problems


def _recognise(names: list[str], cells: list[str]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """Fields found in header names: (field -> index, field -> currency
    named in the header, ambiguities as sentences)."""
    found: dict[str, list[tuple[int, int]]] = {}
    header_currency: dict[str, str] = {}
    for index, raw in enumerate(names):
        name = raw
        currency = ""
        if match := _HEADER_CURRENCY.match(name):
            name, currency = match.group(1), match.group(2).upper()
        if name in _NAME_RANKS:
            field_name, rank = _NAME_RANKS[name]
            found.setdefault(field_name, []).append((rank, index))
            if currency:
                header_currency[field_name] = currency
    columns: dict[str, int] = {}
    ambiguous = []
    for field_name, candidates in found.items():
        best = min(rank for rank, _ in candidates)
        at_best = [index for rank, index in candidates if rank == best]
        if len(at_best) > 1:
            shown = " and ".join(repr(cells[i].strip()) for i in at_best)
            ambiguous.append(f"{shown} could both be {field_name}")
            continue
        columns[field_name] = at_best[0]
    return columns, header_currency, ambiguous


def _missing(columns: dict[str, int], currency_known: bool) -> list[str]:
    missing = [] if "booking_date" in columns else ["booking_date"]
    if "amount" not in columns and not {"credit_amount", "debit_amount"} <= set(columns):
        missing.append("amount")
    if "currency" not in columns and not currency_known:
        missing.append("currency")
    return missing


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter))


_HeaderReading = tuple[tuple[bool, int], str, dict[str, int], dict, list[str], list[str], list[str]]


def _header_reading(line: str, layout: "CsvLayout", default_currency: str, delimiter: str) -> _HeaderReading:
    """The header split at `delimiter`: its score (everything needed found
    and nothing ambiguous, then how many columns were recognised), the
    delimiter, columns, header currencies, missing and ambiguous fields, cells."""
    cells = _split(line, delimiter)
    names = [_column_name(n) for n in cells]
    if layout.columns:
        columns = {}
        for field_name, wanted in layout.columns.items():
            if isinstance(wanted, int):
                columns[field_name] = wanted - 1
            elif _column_name(wanted) in names:
                columns[field_name] = names.index(_column_name(wanted))
        header_currency: dict = {}
        ambiguous: list[str] = []
    else:
        columns, header_currency, ambiguous = _recognise(names, cells)
        for name in set(names):
            if name in COLUMNS and names.count(name) > 1:
                raise StatementFormatError(f"the header names the column {name!r} twice")
    currency_known = bool(default_currency or header_currency.get("amount"))
    missing = _missing(columns, currency_known)
    if layout.columns:
        missing = [f for f in layout.columns if f not in columns] or missing
    score = (not missing and not ambiguous, len(columns))
    return score, delimiter, columns, header_currency, missing, ambiguous, cells


def _header(line: str, layout: "CsvLayout", default_currency: str) -> tuple[str, dict[str, int], dict, int, list[str]]:
    """The delimiter, each field's column index, currencies named in the
    header, and the header's width; StatementFormatError when the header
    does not name what is needed."""
    delimiters = (layout.delimiter,) if layout.delimiter else DELIMITERS
    # The best score; of equal ones, the first delimiter's.
    best = max(
        (_header_reading(line, layout, default_currency, delimiter) for delimiter in delimiters),
        key=lambda reading: reading[0],
    )
    (ok, _), delimiter, columns, header_currency, missing, ambiguous, cells = best
    if not ok:
        shown = ", ".join(repr(c.strip()) for c in cells[:20] if c.strip()) or "nothing"
        if ambiguous:
            raise StatementFormatError(
                f"the header is ambiguous: {'; '.join(ambiguous)} (found: {shown}); "
                "save a CSV profile for this bank that says which column is which"
            )
        if layout.columns:
            raise StatementFormatError(
                f"the profile's column(s) for {', '.join(missing)} are not in the header (found: {shown})"
            )
        raise StatementFormatError(
            f"the header line lacks the column(s) {', '.join(missing)} "
            f"(found: {shown}); columns are separated by comma, semicolon or tab; "
            "for a file with other columns, save a CSV profile for this bank"
        )
    return delimiter, columns, header_currency, len(cells), [c.strip() for c in cells]


def _iter_rows(
    stream: IO[bytes], header: StatementHeader, date_order: str, layout: "CsvLayout", currency: str, found: dict
) -> ParsedLines:
    text = _text_stream(stream, layout.encoding)
    progress = _Progress()
    try:
        lines = _physical_lines(text, progress)
        for _ in range(layout.skip_lines):
            if next(lines, None) is None:
                break
        first = None
        if layout.has_header:
            delimiter, columns, header_currency, width, names = _find_header(lines, layout, currency, found)
            found["columns"] = {field_name: names[index] for field_name, index in columns.items() if index < len(names)}
        else:
            first = next((line for line in lines if line.strip()), None)
            if first is None:
                raise StatementFormatError("the file is empty")
            delimiter = layout.delimiter or _guess_delimiter(first)
            columns = {name: number - 1 for name, number in layout.columns.items()}
            header_currency, width = {}, max(columns.values()) + 1
            width = max(width, len(_split(first, delimiter)))
            found["columns"] = {field_name: index + 1 for field_name, index in columns.items()}
        found["delimiter"] = delimiter
        progress.in_header = False
        # strict: a quote left open at the end of the file is an error, not a
        # last field that silently swallowed the rows after it.
        rows = csv.reader(_chain(first, lines), delimiter=delimiter, strict=True)
        default_currency = currency or header_currency.get("amount", "")
        reader = _RowReader(columns, width, header, date_order, layout, default_currency)
        for record in rows:
            progress.records += 1
            cells = list(map(str.strip, record))
            if not any(cells):
                continue
            yield reader.row(record, cells, progress.records)
    except UnicodeDecodeError as exc:
        if exc.encoding.startswith("utf-16"):
            detail = "the file starts as UTF-16 text but is not UTF-16 further on"
        elif layout.encoding != "auto":
            detail = f"the file is not {layout.encoding} text (byte 0x{exc.object[exc.start]:02x})"
        else:
            detail = f"the file is neither UTF-8 nor Windows-1252 text (byte 0x{exc.object[exc.start]:02x})"
        raise StatementFormatError(detail, progress.position()) from None
    except csv.Error as exc:
        raise StatementFormatError(f"the CSV cannot be read: {exc}", progress.position()) from None


def _find_header(lines: Iterator[str], layout: "CsvLayout", currency: str, found: dict) -> tuple:
    """The header: the first non-empty line (after `skip_lines`) with a
    profile; without one, the first of the first HEADER_SEARCH_LINES lines
    that names the columns needed, so a title line before the header
    ("KNAB EXPORT") is passed over. The first line's reason otherwise."""
    first_error = None
    tried = 0
    for line in lines:
        if not line.strip():
            continue
        tried += 1
        if tried == 1:  # for people making a profile: the cells of the first line
            found["header"] = [c.strip() for c in _split(line, layout.delimiter or _guess_delimiter(line)) if c.strip()]
        try:
            header = _header(line, layout, currency)
            found["header"] = [c for c in header[4] if c]
            return header
        except StatementFormatError as error:
            first_error = first_error or error
            if layout.columns or tried >= HEADER_SEARCH_LINES:
                break
    raise first_error or StatementFormatError("the file is empty")


def _chain(first: str | None, lines: Iterator[str]) -> Iterator[str]:
    if first is not None:
        yield first
    yield from lines


def _guess_delimiter(line: str) -> str:
    return max(DELIMITERS, key=lambda d: len(_split(line, d)))


# --- one row ----------------------------------------------------------------------

# The fields of a row, in the order `_RowReader.row` takes them from a record.
_ROW_FIELDS = (
    "currency",
    "amount",
    "credit_amount",
    "debit_amount",
    "direction",
    "charges",
    "booking_date",
    "value_date",
    "bank_reference",
    "debtor_name",
    "remittance",
    "creditor_reference",
)
_ZERO = Decimal(0)


class _RowReader:
    """The rows of one file. What the header and the layout decided (which
    column holds what, how amounts and dates are written) is worked out
    once, here: a row only takes its cells and converts them."""

    def __init__(self, columns, width, header: StatementHeader, date_order, layout, currency):
        self.width = width
        self.header = header
        self.currency = currency.upper()
        self.currency_column = "currency" in columns
        self.one_amount_column = "amount" in columns
        self.sign_from_direction = layout.sign == "direction"
        self.words = dict(DIRECTION_WORDS)
        self.words.update({w.strip().lower(): CREDIT for w in layout.credit_words})
        self.words.update({w.strip().lower(): DEBIT for w in layout.debit_words})
        self.words_shown = ", ".join(sorted(self.words))
        # A field without a column takes the last of the empty cells put
        # after the record's, as does a column beyond a short row's end.
        self.fields = itemgetter(*(columns.get(name, -1) for name in _ROW_FIELDS))
        self.padding = [""] * (max(columns.values(), default=0) + 2)
        self.read_amount = _amount_reader(layout.decimal_separator)
        self.read_date = _date_reader(layout.date_order if layout.date_order != "auto" else date_order)

    def row(self, record: list[str], cells: list[str], position: int) -> ParsedLine:
        """The line of `record` (whose cells, stripped, are `cells`)."""
        errors = LineError(position)
        if len(record) > self.width and any(cells[self.width :]):
            errors.add(NON_FIELD_ERRORS, f"the row has {len(record)} fields, more than the header's {self.width}.")
        cells.extend(self.padding)
        (
            currency,
            amount_text,
            credit_text,
            debit_text,
            direction_text,
            charges_text,
            booking_text,
            value_text,
            bank_reference,
            debtor_name,
            remittance,
            creditor_reference,
        ) = self.fields(cells)

        currency = (currency or self.currency).upper() if self.currency_column else self.currency
        if not currency:
            errors.add("currency", "is required.")
        minor_units = None
        if currency:
            try:
                minor_units = currency_minor_units(currency)
            except CurrencyError as exc:
                errors.add("currency", str(exc))

        amount, amount_name = None, "amount"
        if self.one_amount_column:
            if not amount_text:
                errors.add("amount", "is required.")
        else:
            amount_name = "credit_amount" if credit_text else "debit_amount"
            amount_text = credit_text or debit_text
            if credit_text and debit_text:
                errors.add(NON_FIELD_ERRORS, "the row has both a credit and a debit amount.")
            elif not amount_text:
                errors.add("amount", "is required (in the credit or the debit column).")
        if amount_text and minor_units is not None:
            amount = self._amount(errors, amount_name, amount_text, currency, minor_units)
            if amount is not None and amount_name == "debit_amount":
                amount = -abs(amount)
            elif amount is not None and amount_name == "credit_amount":
                amount = abs(amount)

        direction = None
        if direction_text:
            direction = self.words.get(direction_text.lower())
            if direction is None:
                errors.add(
                    "direction", f"{direction_text[:20]!r} is not a word for credit or debit ({self.words_shown})."
                )
            elif amount is not None and amount < 0 and direction == CREDIT and not self.sign_from_direction:
                errors.add("amount", "is negative on a credit line.")
        elif amount is not None:
            direction = DEBIT if amount < 0 else CREDIT

        charges = _ZERO
        if charges_text and minor_units is not None:
            charges_read = self._amount(errors, "charges", charges_text, currency, minor_units)
            charges = abs(charges_read) if charges_read is not None else _ZERO

        if not booking_text:
            errors.add("booking_date", "is required.")
        booking_date = self._date(errors, "booking_date", booking_text)
        value_date = self._date(errors, "value_date", value_text)

        bank_reference = bank_reference or _row_digest(record, self.header.account)
        debtor_name = " ".join(debtor_name.split())
        texts_check(
            errors, bank_reference=bank_reference, debtor_name=debtor_name, creditor_reference=creditor_reference
        )

        if errors.errors or direction is None or amount is None:  # a missing one was named in errors
            return errors
        return self.header.line(
            position,
            bank_reference=bank_reference,
            direction=direction,
            amount=abs(amount),
            currency=currency,
            booking_date=booking_date,
            value_date=value_date,
            debtor_name=debtor_name,
            remittance=" ".join(remittance.split()),
            creditor_reference=creditor_reference,
            charges=charges,
        )

    def _amount(self, errors: LineError, name: str, text: str, currency: str, minor_units: int) -> Decimal | None:
        try:
            return self.read_amount(text, currency, minor_units)
        except ValueError as exc:  # CurrencyError is a ValueError
            errors.add(name, f"{text[:40]!r}: {exc}")
            return None

    def _date(self, errors: LineError, name: str, text: str) -> date | None:
        if not text:
            return None
        try:
            return self.read_date(text)
        except ValueError as exc:
            errors.add(name, f"{text[:40]!r}: {exc}")
            return None


def _row_digest(record: list[str], account: str) -> str:
    """A reference for a row the bank gives none: a digest of the row as the
    bank wrote it, so the same row in a later, overlapping export is known
    again (identical rows within one file are told apart by the importer)."""
    content = "\x1f".join([account, *(cell.strip() for cell in record)])
    return "csv:" + hashlib.sha256(content.encode()).hexdigest()[:40]


def parse_amount_with_separator(text: str, decimal_separator: str) -> Decimal:
    """An amount whose decimal separator is known ("." or ","): the other
    one, spaces and apostrophes are thousands separators. Signs as in
    `parse_amount`."""
    body = text.strip().translate(_SPACE_LIKE).replace("\u2212", "-")
    if not body or len(body) > _MAX_AMOUNT_TEXT:
        raise ValueError("is not an amount.")
    negative = False
    if body.startswith("(") and body.endswith(")"):
        body, negative = body[1:-1].strip(), True
    if body[:1] in ("+", "-") and not negative:
        negative, body = body[0] == "-", body[1:].strip()
    elif body[-1:] == "-" and not negative:
        negative, body = True, body[:-1].strip()
    thousands = "," if decimal_separator == "." else "."
    body = body.replace(thousands, "").replace(" ", "").replace("'", "").replace(decimal_separator, ".")
    if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", body):
        raise ValueError(f"is not an amount with {decimal_separator!r} as the decimal separator.")
    if len(body.partition(".")[0].lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValueError("is too large.")
    return Decimal(("-" if negative else "") + body)


# An amount written plainly: an optional minus, digits, and up to four
# decimals after a point (the layout's decimal separator in its place).
_PLAIN_AMOUNT = r"(-?)([0-9]{1,15})(?:\.([0-9]{1,4}))?"


def _amount_reader(decimal_separator: str) -> Callable[[str, str, int], Decimal]:
    """How a file's amounts are read, for the layout's decimal separator
    ("auto", "." or ","), decided once per file: a function of the text, the
    currency and its minor units giving the signed amount in the currency's
    minor units, or ValueError with the reason.

    An amount written plainly ("1234.50", "-12") is read at once. Any other
    (signs, separators, more decimals than the currency has, or a lone point
    before three digits, which `parse_amount` may read as thousands) goes
    through `parse_amount` (or `parse_amount_with_separator`) and
    `check_amount`, whose readings and refusals are the rules."""
    if decimal_separator == "auto":
        plain = re.compile(_PLAIN_AMOUNT)

        def parse(text: str, minor_units: int) -> Decimal:
            return parse_amount(text, minor_units)

    else:
        plain = re.compile(_PLAIN_AMOUNT.replace(r"\.", re.escape(decimal_separator)))

        def parse(text: str, minor_units: int) -> Decimal:
            return parse_amount_with_separator(text, decimal_separator)

    grouping = decimal_separator == "auto"

    def read(text: str, currency: str, minor_units: int) -> Decimal:
        match = plain.fullmatch(text)
        if match is not None:
            sign, integer, fraction = match.groups()
            if fraction is None:
                fraction = ""
            elif len(fraction) > minor_units or (
                grouping and len(fraction) == 3 and len(integer) <= 3 and integer[0] != "0"
            ):
                match = None
        if match is None:
            amount = parse(text, minor_units)
            checked = check_amount(abs(amount), currency)
            return -checked if amount < 0 else checked
        amount = Decimal(f"{integer}.{fraction:0<{minor_units}}" if minor_units else integer)
        return -amount if sign and amount else amount

    return read


# Distinct date texts a file's date reader remembers (a statement writes the
# same few dates over and over).
_KNOWN_DATES = 4096


def _date_reader(date_order: str) -> Callable[[str], date]:
    """`parse_date` for a file's date order, remembering each text's reading
    (or refusal)."""
    known: dict[str, date | str] = {}

    def read(text: str) -> date:
        reading = known.get(text)
        if reading is None:
            try:
                reading = parse_date(text, date_order)
            except ValueError as exc:
                reading = str(exc)
            if len(known) < _KNOWN_DATES:
                known[text] = reading
        if isinstance(reading, str):
            raise ValueError(reading)
        return reading

    return read


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
