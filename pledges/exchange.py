"""USD conversion through the exchange-rate table.

Rates are UN operational rates of exchange: currency units per one USD, in
force from their `valid_from` date until the next one. A missing rate gives
no conversion; callers store that as a flag, never as a rate of 1.
"""

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


def rate_in_force(currency: str, on: date) -> ExchangeRate | None:
    return ExchangeRate.objects.filter(currency=currency, valid_from__lte=on).order_by("-valid_from").first()


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
