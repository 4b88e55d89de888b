"""USD conversion through the exchange-rate table.

Rates are UN operational rates of exchange: currency units per one USD, in
force from their `valid_from` date until the next one. A missing rate gives
no conversion; callers store that as a flag, never as a rate of 1.
"""

from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pledges.models import ExchangeRate
from pledges.money import USD

CENT = Decimal("0.01")


@dataclass(frozen=True)
class UsdConversion:
    amount_usd: Decimal
    rate: Decimal
    rate_date: date


# Set by `rates_read_once`: currency -> (its rates' dates, its rates), oldest first.
_rates_read: ContextVar[dict | None] = ContextVar("rates_read", default=None)


@contextmanager
def rates_read_once() -> Iterator[None]:
    """Within the block, each currency's rates (a short list) are read once
    and every lookup is answered from them: for a batch that converts many
    amounts in one transaction (statement matching)."""
    token = _rates_read.set({})
    try:
        yield
    finally:
        _rates_read.reset(token)


def rate_in_force(currency: str, on: date) -> ExchangeRate | None:
    read = _rates_read.get()
    if read is None:
        return ExchangeRate.objects.filter(currency=currency, valid_from__lte=on).order_by("-valid_from").first()
    if currency not in read:
        rates = list(ExchangeRate.objects.filter(currency=currency).order_by("valid_from"))
        read[currency] = ([rate.valid_from for rate in rates], rates)
    dates, rates = read[currency]
    index = bisect_right(dates, on)
    return rates[index - 1] if index else None


def convert_to_usd(amount: Decimal, currency: str, on: date) -> UsdConversion | None:
    """The USD value of an amount at the rate in force on a date, with the
    rate and the date it took effect; None when no rate covers that date."""
    if currency == USD:
        return UsdConversion(amount_usd=amount.quantize(CENT, rounding=ROUND_HALF_UP), rate=Decimal(1), rate_date=on)
    rate = rate_in_force(currency, on)
    if rate is None:
        return None
    return UsdConversion(
        amount_usd=(amount / rate.rate).quantize(CENT, rounding=ROUND_HALF_UP),
        rate=rate.rate,
        rate_date=rate.valid_from,
    )
