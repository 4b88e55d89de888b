"""ISO 11649 references, ISO 4217 minor units and amount checks, and USD
conversion at the rate in force."""

from datetime import date
from decimal import Decimal

import pytest
from stdnum import iso11649

from pledges.exchange import convert_to_usd, rate_in_force
from pledges.money import CurrencyError, check_amount, currency_minor_units, is_currency, minor_unit
from pledges.references import BODY_ALPHABET, reference_for_print, reference_new, reference_parse
from tests.factories import ExchangeRateFactory

# --- References ------------------------------------------------------------------------


def test_a_new_reference_is_a_valid_compact_16_character_iso_11649_reference():
    for _ in range(200):
        reference = reference_new()

        assert iso11649.is_valid(reference), reference
        assert len(reference) == 16
        assert reference.startswith("RF") and reference[4:7] == "VTF"
        assert reference == reference.upper() and " " not in reference
        assert set(reference[7:]) <= set(BODY_ALPHABET)


def test_references_avoid_letters_people_misread():
    body = "".join(reference_new()[7:] for _ in range(200))

    assert not set(body) & {"I", "O"}


def test_new_references_differ():
    assert len({reference_new() for _ in range(1000)}) == 1000


def test_parsing_accepts_lowercase_and_spaces_as_people_type_them():
    reference = reference_new()
    typed = " " + reference_for_print(reference).lower() + " "

    assert reference_parse(typed) == reference


def test_the_printed_form_groups_by_four():
    reference = reference_new()

    printed = reference_for_print(reference)

    assert printed.split(" ") == [reference[i : i + 4] for i in range(0, 16, 4)]


def test_parsing_rejects_wrong_check_digits():
    reference = reference_new()
    check = int(reference[2:4])
    wrong = f"RF{(check + 1) % 97 or 2:02d}{reference[4:]}"
    assert wrong != reference

    assert reference_parse(wrong) is None


@pytest.mark.parametrize("position", [4, 8, 12, 15])
def test_parsing_rejects_a_mistyped_character(position):
    # A digit mistyped as another digit, or a letter as another letter: mod 97
    # catches every such slip. (A letter mistyped as a digit changes how many
    # digits the check reads, which ISO 11649 does not promise to catch.)
    reference = reference_new()
    typed = reference[position]
    slip = str((int(typed) + 1) % 10) if typed.isdigit() else chr((ord(typed) - 64) % 26 + 65)
    mistyped = reference[:position] + slip + reference[position + 1 :]
    assert mistyped != reference

    assert reference_parse(mistyped) is None


@pytest.mark.parametrize("text", ["", "RF", "VTF12345678", "RF18 5390 0754 7034 X", "not a reference"])
def test_parsing_rejects_what_is_not_a_reference(text):
    assert reference_parse(text) is None


def test_parsing_accepts_any_valid_creditor_reference():
    assert reference_parse("rf18 5390 0754 7034") == "RF18539007547034"


# --- Currencies and amounts ------------------------------------------------------------------


@pytest.mark.parametrize(("code", "places"), [("JPY", 0), ("USD", 2), ("EUR", 2), ("KWD", 3), ("CLF", 4)])
def test_minor_units_come_from_iso_4217(code, places):
    assert currency_minor_units(code) == places
    assert minor_unit(code) == Decimal(1).scaleb(-places)
    assert is_currency(code)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("XAU", id="gold-is-not-money"),
        pytest.param("XDR", id="sdr"),
        pytest.param("XTS", id="testing-code"),
        pytest.param("usd", id="lowercase"),
        pytest.param("ABC", id="unknown"),
        pytest.param("US", id="too-short"),
        pytest.param("USDX", id="too-long"),
        pytest.param("U5D", id="digit"),
        pytest.param("", id="empty"),
        pytest.param(None, id="none"),
    ],
)
def test_codes_that_are_not_pledgeable_money_are_refused(code):
    with pytest.raises(CurrencyError):
        currency_minor_units(code)
    assert not is_currency(code)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("100", "JPY", "100"),
        ("100.00", "JPY", "100"),
        ("250000.5", "USD", "250000.50"),
        ("1.00", "USD", "1.00"),
        ("1500.125", "KWD", "1500.125"),
        ("10.5", "CLF", "10.5000"),
    ],
)
def test_check_amount_gives_the_amount_in_the_currencys_minor_units(amount, currency, expected):
    checked = check_amount(Decimal(amount), currency)

    assert checked == Decimal(amount)
    assert str(checked) == expected


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1.001", "USD"), ("100.5", "JPY"), ("1.0001", "KWD"), ("1.00001", "CLF"), ("0.001", "EUR")],
)
def test_check_amount_refuses_more_decimals_than_the_currency_has_rather_than_rounding(amount, currency):
    with pytest.raises(CurrencyError, match="decimal place"):
        check_amount(Decimal(amount), currency)


def test_check_amount_refuses_an_amount_too_large_to_hold():
    with pytest.raises(CurrencyError, match="too large"):
        check_amount(Decimal("1e400"), "USD")


def test_check_amount_refuses_an_unknown_currency():
    with pytest.raises(CurrencyError):
        check_amount(Decimal("1.00"), "XAU")


# --- USD conversion -----------------------------------------------------------------------------


@pytest.fixture
def eur_rates_2012(db):
    return [
        ExchangeRateFactory(currency="EUR", rate=Decimal("0.75"), valid_from=date(2012, 1, 1)),
        ExchangeRateFactory(currency="EUR", rate=Decimal("0.80"), valid_from=date(2012, 4, 1)),
        ExchangeRateFactory(currency="EUR", rate=Decimal("0.90"), valid_from=date(2012, 5, 1)),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("on", "rate", "rate_date", "usd"),
    [
        (date(2012, 4, 3), "0.80", date(2012, 4, 1), "1250.00"),
        (date(2012, 4, 1), "0.80", date(2012, 4, 1), "1250.00"),
        (date(2012, 3, 31), "0.75", date(2012, 1, 1), "1333.33"),
        (date(2013, 1, 1), "0.90", date(2012, 5, 1), "1111.11"),
    ],
)
def test_conversion_uses_the_latest_rate_in_force_on_the_date(eur_rates_2012, on, rate, rate_date, usd):
    conversion = convert_to_usd(Decimal("1000.00"), "EUR", on)

    assert conversion is not None
    assert (conversion.rate, conversion.rate_date) == (Decimal(rate), rate_date)
    assert str(conversion.amount_usd) == usd
    assert rate_in_force("EUR", on).valid_from == rate_date


@pytest.mark.django_db
def test_no_rate_before_the_first_one_gives_no_conversion(eur_rates_2012):
    assert convert_to_usd(Decimal("1000.00"), "EUR", date(2011, 12, 31)) is None


@pytest.mark.django_db
def test_a_currency_without_any_rate_gives_no_conversion_not_a_rate_of_one(eur_rates_2012):
    assert convert_to_usd(Decimal("1000.00"), "GBP", date(2012, 4, 3)) is None


@pytest.mark.django_db
def test_usd_converts_to_itself_without_a_rate():
    conversion = convert_to_usd(Decimal("250000.50"), "USD", date(2012, 4, 3))

    assert conversion is not None
    assert (conversion.amount_usd, conversion.rate, conversion.rate_date) == (
        Decimal("250000.50"),
        Decimal(1),
        date(2012, 4, 3),
    )


@pytest.mark.django_db
def test_a_converted_amount_is_rounded_half_up_to_the_cent():
    ExchangeRateFactory(currency="KWD", rate=Decimal("0.8"), valid_from=date(2012, 1, 1))

    conversion = convert_to_usd(Decimal("0.996"), "KWD", date(2012, 4, 3))

    assert str(conversion.amount_usd) == "1.25"  # 1.245: half up, not to even
