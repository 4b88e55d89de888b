"""Currencies and amounts: ISO 4217 codes, their minor units, and checks.

The currency table comes from the `iso4217` package (the ISO maintenance
agency's published list); nothing here is typed in by hand.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

import iso4217

ZERO = Decimal("0")
USD = "USD"
# The cent: USD amounts are stored and published to it.
CENT = Decimal("0.01")
# Rates are stored with this many decimals (UN operational rates publish up
# to six significant decimals; eight leaves room).
RATE_DECIMALS = 8


class CurrencyError(ValueError):
    """An amount or currency code that cannot be money; `code` says which
    rule (pledges.errors)."""

    def __init__(self, message: str, code: str = "currency-invalid"):
        super().__init__(message)
        self.code = code


@cache
def currency_minor_units(code: str) -> int:
    """Decimal places of an ISO 4217 currency (JPY 0, USD 2, KWD 3, CLF 4).

    Raises CurrencyError for codes that are not current ISO 4217 currencies,
    and for the entries that are not money (gold, SDR, testing codes), which
    have no minor unit.
    """
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isupper():
        raise CurrencyError(f"{code!r} is not an ISO 4217 currency code (three capital letters).")
    try:
        currency = iso4217.Currency(code)
    except ValueError:
        raise CurrencyError(f"{code} is not an ISO 4217 currency.") from None
    if currency.exponent is None:
        raise CurrencyError(f"{code} is not a currency that can be pledged.")
    return currency.exponent


def is_currency(code: str) -> bool:
    try:
        currency_minor_units(code)
    except CurrencyError:
        return False
    return True


@cache
def pledgeable_currencies() -> tuple[str, ...]:
    """Every ISO 4217 code that names money, sorted."""
    return tuple(sorted(c.code for c in iso4217.Currency if c.exponent is not None))


def minor_unit(code: str) -> Decimal:
    """The smallest amount of a currency: Decimal('0.01') for USD, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-currency_minor_units(code))


def check_amount(amount: Decimal, currency: str) -> Decimal:
    """The amount in the currency's minor units, or CurrencyError.

    "100.00" JPY is accepted (it is whole yen); "100.5" JPY and "1.001" USD
    are refused rather than rounded, because rounding someone's pledge
    silently changes it.
    """
    try:
        quantized = amount.quantize(minor_unit(currency))
    except InvalidOperation:
        raise CurrencyError("The amount is too large.", "amount-too-large") from None
    if quantized != amount:
        places = currency_minor_units(currency)
        raise CurrencyError(
            f"{currency} amounts have {places} decimal place{'s' if places != 1 else ''} at most.", "amount-decimals"
        )
    return quantized


def round_to_currency(amount: Decimal, currency: str) -> Decimal:
    """Round a computed amount (a conversion, a share) to the currency's minor units."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    """An amount as the API shows it: a plain decimal string with exactly
    the currency's minor units ("250000.00" USD, "5000000" JPY, "1.500" KWD)."""
    return str(amount.quantize(minor_unit(currency)))


def usd_text(value: Decimal | None) -> str:
    """A USD figure as the public totals and the reports publish it: a plain
    decimal string to the cent, "0.00" for nothing."""
    return str((value or ZERO).quantize(CENT))
