"""What every statement parser (camt, MT940, BAI2, CSV) does the same way
with the parts of a statement: its balances, as the header keeps them, and
a line's free text, checked against the columns it is stored in."""

from datetime import date
from decimal import Decimal

from pledges.reconciliation.parsing import (
    MAX_BANK_REFERENCE,
    MAX_CREDITOR_REFERENCE,
    MAX_DEBTOR_NAME,
    LineError,
    check_length,
)

# The column each free-text part of a line is stored in holds this many characters.
TEXT_LIMITS = {
    "bank_reference": MAX_BANK_REFERENCE,
    "debtor_name": MAX_DEBTOR_NAME,
    "creditor_reference": MAX_CREDITOR_REFERENCE,
}


def balance_entry(kind: str, amount: Decimal, currency: str, on: date | None) -> dict[str, str]:
    """One balance of `StatementHeader.balances` in plain values (kept for
    people to compare with the lines, never checked against them): the
    bank's type code, the signed amount as text, its currency and its date
    (empty when the file gives none)."""
    return {"type": kind, "amount": str(amount), "currency": currency, "date": on.isoformat() if on else ""}


def texts_check(errors: LineError, **texts: str) -> None:
    """Name in `errors` each free-text part of a line (`bank_reference`,
    `debtor_name`, `creditor_reference`) too long for its column, in the
    order given."""
    for name, text in texts.items():
        check_length(errors, name, text, TEXT_LIMITS[name])
