"""How the models store numbers, written down once for the pledges, the
reconciliation and any other model that keeps an amount or a rate.

Amounts: up to 15 integer digits and the 4 decimals of the finest ISO 4217
minor unit (CLF); each amount is checked against its own currency's minor
units before it is stored. USD values are kept to the cent. Rates (currency
units per USD) keep `RATE_DECIMALS` decimals.
"""

from typing import Any

from pledges.money import RATE_DECIMALS

MONEY: dict[str, Any] = {"max_digits": 19, "decimal_places": 4}
USD_MONEY: dict[str, Any] = {"max_digits": 19, "decimal_places": 2}
RATE: dict[str, Any] = {"max_digits": 20, "decimal_places": RATE_DECIMALS}
