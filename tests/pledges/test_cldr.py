"""pledges.cldr: money, numbers and dates as each language writes them
(Babel's CLDR data), and amounts read back as people type them."""

from datetime import date
from decimal import Decimal

import pytest

from pledges.cldr import AmountRefused, long_date, money, money_text, parse_amount


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "100050", "JPY", "¥100,050"),
        ("en", "14000", "KWD", "KWD14,000.000"),  # ISO 4217's three decimals
        ("fr", "1000.5", "USD", "1\u202f000,50\xa0$US"),
        ("es", "1000.5", "EUR", "1.000,50\xa0€"),
        ("ru", "1000.5", "RUB", "1\xa0000,50\xa0₽"),
        ("zh-hans", "1000.5", "CNY", "¥1,000.50"),
        ("ar", "1000.5", "USD", "\u200f1,000.50\xa0\u2066US$\u2069"),  # "US$" kept whole in RTL
        ("ar", "14000", "KWD", "\u200f14,000.000\xa0د.ك.\u200f"),
    ],
)
def test_money_is_written_as_each_language_writes_it(language, amount, currency, expected):
    assert money(Decimal(amount), currency, language) == expected


def test_plain_text_isolates_an_arabic_amount():
    assert money_text("5", "USD", "ar") == "\u2067\u200f5.00\xa0\u2066US$\u2069\u2069"
    assert money_text("5", "USD", "en") == "$5.00"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "March 1, 2027"), ("fr", "1 mars 2027"), ("zh-hans", "2027年3月1日"), ("ar", "1 مارس 2027")],
)
def test_dates_are_written_in_full(language, expected):
    assert long_date(date(2027, 3, 1), language) == expected


@pytest.mark.parametrize(
    ("typed", "language", "currency", "expected"),
    [
        ("1000.50", "fr", "USD", Decimal("1000.50")),  # plain, in every language
        ("1 000,50", "fr", "USD", Decimal("1000.50")),
        ("1.000,50", "es", "USD", Decimal("1000.50")),
        ("١٬٠٠٠٫٥٠", "ar", "USD", Decimal("1000.50")),
        ("١٢٣٫٤٥", "en", "USD", Decimal("123.45")),
        ("１２３", "zh-hans", "JPY", Decimal("123")),
        (" 1,000.50\u200f ", "en", "USD", Decimal("1000.50")),  # invisible marks and spaces around
    ],
)
def test_amounts_are_read_as_written(typed, language, currency, expected):
    assert parse_amount(typed, currency=currency, language=language) == expected


@pytest.mark.parametrize(
    ("typed", "language", "currency", "code"),
    [
        ("", "en", "USD", "required"),
        ("-5", "en", "USD", "amount-negative"),
        ("\u22125", "en", "USD", "amount-negative"),
        ("(5)", "en", "USD", "amount-negative"),
        ("1e3", "en", "USD", "amount-exponent"),
        ("1.5E+2", "fr", "USD", "amount-exponent"),
        ("1000.50", "en", "JPY", "amount-decimals"),
        ("0.001", "en", "JPY", "amount-decimals"),
        ("1.000", "en", "USD", "amount-decimals"),
        ("1.000", "es", "USD", "amount-ambiguous"),  # 1 or 1000?
        ("1,000", "fr", "USD", "amount-ambiguous"),
        ("1,00,0", "en", "USD", "amount-invalid"),
        ("$100", "en", "USD", "amount-invalid"),
        ("12 345", "en", "USD", "amount-invalid"),
    ],
)
def test_what_cannot_be_read_for_sure_is_refused_with_a_code(typed, language, currency, code):
    with pytest.raises(AmountRefused) as refused:
        parse_amount(typed, currency=currency, language=language)
    assert refused.value.code == code
