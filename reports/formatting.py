"""Locale-aware formatting of the report's numbers, dates and money: one
helper each, all through Babel (Django's number formatting differs per
locale and does not know currencies)."""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from pledges.countries import BABEL_LOCALES
from pledges.countries import country_name as un_country_name

RTL_LANGUAGES = {"ar"}
# A currency code written straight against the digits ("KWD14,000.000"):
# CLDR's currency spacing rule, which Babel does not apply, wants a space.
CODE_AGAINST_DIGITS = re.compile(r"^([A-Z]{2,3})(?=\d)")

DONOR_TYPE_LABELS = {
    "member_state": _("Member States"),
    "observer_state": _("Observer States"),
    "intergovernmental": _("Intergovernmental organizations"),
    "un_entity": _("United Nations entities"),
    "private_sector": _("Private sector"),
    "foundation": _("Foundations"),
    "civil_society": _("Civil society"),
    "individual": _("Individuals"),
}

# One donor's type, as the donors table names it under the donor.
DONOR_TYPE_SINGULAR = {
    "member_state": pgettext_lazy("donor type", "Member State"),
    "observer_state": pgettext_lazy("donor type", "Observer State"),
    "intergovernmental": pgettext_lazy("donor type", "Intergovernmental organization"),
    "un_entity": pgettext_lazy("donor type", "United Nations entity"),
    "private_sector": pgettext_lazy("donor type", "Company"),
    "foundation": pgettext_lazy("donor type", "Foundation"),
    "civil_society": pgettext_lazy("donor type", "Civil society organization"),
    "individual": pgettext_lazy("donor type", "Individual"),
}

EARMARK_LABELS = {
    "unrestricted": _("Unrestricted"),
    "children": _("Assistance to trafficked children"),
    "women_and_girls": _("Assistance to trafficked women and girls"),
    "direct_assistance": _("Direct assistance to victims through grants to NGOs"),
}

STATUS_LABELS = {
    "announced": pgettext_lazy("pledge status", "Announced"),
    "confirmed": pgettext_lazy("pledge status", "Confirmed"),
    "partially_paid": pgettext_lazy("pledge status", "Partially paid"),
    "paid": pgettext_lazy("pledge status", "Paid"),
    "lapsed": pgettext_lazy("pledge status", "Lapsed"),
}


def isolate(text: str) -> str:
    """Text of either direction set apart from its surroundings (first
    strong isolate): an English title in an Arabic page keeps its colon
    where English puts it. Control characters rather than CSS alone, as
    WeasyPrint does not apply `unicode-bidi`."""
    return f"\u2068{text}\u2069" if text else text


def text_direction(text: str) -> str:
    """ "rtl" or "ltr" by the text's first strong character (the Unicode
    bidi rule for `dir="auto"`, which WeasyPrint does not apply): an English
    session title on an Arabic page is set as an English paragraph."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def ltr(text: str) -> str:
    """A number or an amount, always left to right (left-to-right isolate)."""
    return f"\u2066{text}\u2069" if text else text


def babel_locale(language: str) -> Locale:
    return Locale.parse(BABEL_LOCALES.get(language, "en"))


def money(amount: str | Decimal | None, language: str, currency: str = "USD") -> str:
    """An amount with its currency, as the locale writes it ("$1,234.50",
    "1 234,50 $US", "1,234.50 US$" in Arabic, with Latin digits)."""
    if amount is None:
        return "—"
    text = format_currency(Decimal(str(amount)), currency, locale=babel_locale(language))
    # Babel marks Arabic amounts right-to-left; the pages isolate each
    # amount left-to-right instead (ltr()).
    text = text.replace("\u200f", "").replace("\u200e", "")
    return CODE_AGAINST_DIGITS.sub("\\1\u00a0", text)


def amount(value: str | Decimal, language: str, currency: str = "USD") -> str:
    """An amount without its currency, with the currency's minor units
    ("14,000.000" for KWD, "30,000,000" for JPY): for table columns whose
    heading or neighbour names the currency."""
    digits = get_currency_precision(currency)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=babel_locale(language), decimal_quantization=True)


# The most minor units of a currency the reports show (KWD, BHD...).
WIDEST_FRACTION = 3


def decimal_aligned(text: str, currency: str = "USD") -> str:
    """An amount padded after its last digit to three decimals' width with
    figure and punctuation spaces, so right-aligned amounts of currencies
    with 0, 2 or 3 minor units line up on the decimal sign."""
    digits = get_currency_precision(currency)
    missing = WIDEST_FRACTION - digits
    if missing <= 0:
        return text
    return text + ("\u2007" * missing if digits else "\u2008" + "\u2007" * WIDEST_FRACTION)


def number(value: int | Decimal, language: str) -> str:
    return format_decimal(value, locale=babel_locale(language))


def percent(value: float | None, language: str) -> str:
    """A rate; "n/a" (in the language) when there is nothing to rate."""
    if value is None:
        return gettext("n/a")
    return format_percent(Decimal(str(value)), format="#,##0.0%", locale=babel_locale(language))


def long_date(value: str | date | None, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return babel_format_date(value, format="long", locale=babel_locale(language))


def moment(value: str | datetime, language: str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return babel_format_datetime(value, format="long", tzinfo=value.tzinfo, locale=babel_locale(language))


def country_name(code: str | None, language: str) -> str:
    """The UN short name (pledges.countries)."""
    return un_country_name(code, language)
