"""Conversion between currencies through the exchange-rate table: the one
place an amount in one currency becomes an amount in another.

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
from decimal import Decimal

from pledges.models import ExchangeRate
from pledges.money import USD, round_to_currency

ONE = Decimal(1)


@dataclass(frozen=True)
class Conversion:
    """An amount converted, rounded half-up to the target's minor units, with
    the rate used (units of the source currency per unit of the target: the
    UN rate itself when the target is USD) and the date that rate took
    effect."""

    amount: Decimal
    rate: Decimal
    rate_date: date

    @property
    def amount_usd(self) -> Decimal:
        return self.amount


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


def _per_usd(currency: str, on: date) -> tuple[Decimal, date] | None:
    if currency == USD:
        return ONE, on
    rate = rate_in_force(currency, on)
    return None if rate is None else (rate.rate, rate.valid_from)


def convert(amount: Decimal, currency: str, to: str, on: date) -> Conversion | None:
    """`amount` of `currency` in `to` at the rates in force on a date, through
    USD; None when a rate is missing. The same currency is only rounded."""
    if currency == to:
        return Conversion(amount=round_to_currency(amount, to), rate=ONE, rate_date=on)
    source, target = _per_usd(currency, on), _per_usd(to, on)
    if source is None or target is None:
        return None
    (source_rate, source_date), (target_rate, target_date) = source, target
    # The pair's rate is in force since the later of its table rates took effect.
    rate_date = max(d for code, d in ((currency, source_date), (to, target_date)) if code != USD)
    return Conversion(
        amount=round_to_currency(amount / source_rate * target_rate, to),
        rate=source_rate / target_rate,
        rate_date=rate_date,
    )


def convert_to_usd(amount: Decimal, currency: str, on: date) -> Conversion | None:
    """The USD value of an amount at the rate in force on a date, with the
    rate and the date it took effect; None when no rate covers that date."""
    return convert(amount, currency, USD, on)
