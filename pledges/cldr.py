"""Money, numbers and dates as each of the six UN languages writes them
(CLDR data through Babel), and amounts read back the way people type them.

Everything a person reads on the server side (pages, the widget's figures,
e-mails) formats through here, so the same figure reads the same everywhere.
The API keeps its plain decimal strings (`pledges.money.format_amount`).
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    format_percent,
    get_currency_symbol,
    parse_decimal,
)

from pledges.money import currency_minor_units

# Django's language code -> Babel's locale.
BABEL_LOCALES = {"ar": "ar", "zh-hans": "zh_Hans", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
RTL_LANGUAGES = {"ar"}
BIDI_MARKS = str.maketrans("", "", "\u200e\u200f\u061c")
# Unicode's isolates: an amount in right-to-left plain text keeps its
# digits, separators and currency symbol together and in order.
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"


def babel_locale(language: str) -> Locale:
    return Locale.parse(BABEL_LOCALES.get(language, "en"))


def is_rtl(language: str) -> bool:
    return language in RTL_LANGUAGES


def money(amount: Decimal | str | None, currency: str, language: str) -> str:
    """An amount with its currency as `language` writes it ("¥100,050",
    "1 000,50 $US", "KWD14,000.000"), always with the currency's minor
    units. Pages isolate each amount in a <bdi>."""
    if amount is None:
        return "—"
    places = currency_minor_units(currency)
    text = format_currency(
        Decimal(str(amount)).quantize(Decimal(1).scaleb(-places)),
        currency,
        locale=babel_locale(language),
        # CLDR's digits for the currency, and ISO 4217's where it has more.
        decimal_quantization=False,
    )
    if not is_rtl(language):
        return text.translate(BIDI_MARKS)
    # Arabic keeps CLDR's right-to-left marks (they keep "د.ك." whole); a
    # Latin symbol is isolated left-to-right, or "US$" would read "$US".
    symbol = get_currency_symbol(currency, locale=babel_locale(language))
    if any(unicodedata.bidirectional(char) == "L" for char in symbol):
        text = text.replace(symbol, f"{LRI}{symbol}{PDI}", 1)
    return text


def money_text(amount: Decimal | str | None, currency: str, language: str) -> str:
    """`money` for plain text (e-mails, subjects): isolated in right-to-left
    languages, so the amount and its currency stay whole within a sentence."""
    text = money(amount, currency, language)
    return f"{RLI}{text}{PDI}" if is_rtl(language) else text


def number(value: int | Decimal, language: str) -> str:
    return format_decimal(value, locale=babel_locale(language))


def percent(value: Decimal, language: str) -> str:
    """0.425 -> "42.5%", "42,5 %", "٪42.5"..."""
    return format_percent(value, format="#,##0.0%", locale=babel_locale(language)).translate(BIDI_MARKS)


def long_date(value: date | None, language: str) -> str:
    """ "1 March 2027", "1 mars 2027", "2027年3月1日"; Latin digits in Arabic too."""
    if value is None:
        return ""
    return format_date(value, format="long", locale=babel_locale(language)).translate(BIDI_MARKS)


def moment(value: datetime, language: str) -> str:
    return format_datetime(value, format="medium", tzinfo=value.tzinfo, locale=babel_locale(language)).translate(
        BIDI_MARKS
    )


# --- Reading amounts ---------------------------------------------------------------


@dataclass(frozen=True)
class AmountRefused(ValueError):
    """What was typed is not an amount we may take: `code` is stable
    (pledges.errors.CODES), `params` fill the message."""

    code: str
    params: dict = field(default_factory=dict)


SPACES = re.compile(r"[\s\u00a0\u2007\u2009\u202f]+")
MINUS_SIGNS = "-\u2212\u2010\u2011\u2012\u2013\u2014\ufe63\uff0d"
ALLOWED = re.compile(r"[0-9., ]+")
DIGIT_RUN = re.compile(r"[0-9]")


# The Arabic decimal and thousands separators; full-width full stop and comma.
SEPARATORS = {"\u066b": ".", "\u066c": ",", "\uff0e": ".", "\uff0c": ","}


def _ascii_digits(text: str) -> str:
    """Digits of every Unicode decimal script (Arabic-Indic, Eastern
    Arabic-Indic, full-width, Devanagari...) as 0-9, and the separators of
    those scripts as "." and ","."""
    out = []
    for char in text:
        digit = unicodedata.decimal(char, None)
        out.append(str(digit) if digit is not None else SEPARATORS.get(char, char))
    return "".join(out)


def _read(text: str, locale: Locale) -> Decimal | None:
    group = locale.number_symbols["latn"]["group"]
    if SPACES.fullmatch(group):
        text = text.replace(" ", group)
    elif " " in text:
        return None
    try:
        return parse_decimal(text, locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation):
        return None


def parse_amount(typed: str, *, currency: str, language: str) -> Decimal:
    """The amount a person typed, read with the page language's separators
    (and plain "1000.50" in every language, and English grouping), or
    AmountRefused. Nothing is guessed: an amount that reads as two different
    numbers is refused as ambiguous; so are negative amounts, exponents and
    more decimals than the currency has."""
    text = SPACES.sub(" ", _ascii_digits(typed.translate(BIDI_MARKS))).strip()
    if not text:
        raise AmountRefused("required")
    if text[0] in MINUS_SIGNS or text[-1] in MINUS_SIGNS or text.startswith("("):
        raise AmountRefused("amount-negative")
    example = money(Decimal("1000.50"), "USD", language)
    if DIGIT_RUN.search(text) and re.search(r"[0-9.,]\s*[eE]\s*[+\-]?\s*[0-9]", text):
        raise AmountRefused("amount-exponent", {"example": example})
    if not ALLOWED.fullmatch(text) or not DIGIT_RUN.search(text):
        raise AmountRefused("amount-invalid", {"example": example})
    both = (_read(text, babel_locale(language)), _read(text, Locale.parse("en")))
    readings = {reading for reading in both if reading is not None}
    if not readings:
        raise AmountRefused("amount-invalid", {"example": example})
    if len(readings) > 1:
        low, high = sorted(readings)
        raise AmountRefused(
            "amount-ambiguous",
            {"first": number(low, language), "second": number(high, language), "example": example},
        )
    amount = readings.pop()
    places = currency_minor_units(currency)
    exponent = amount.as_tuple().exponent  # an int: the amount is finite
    if isinstance(exponent, int) and -exponent > places:
        raise AmountRefused("amount-decimals", {"currency": currency, "places": places})
    return amount
