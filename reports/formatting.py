"""Locale-aware formatting of the report's numbers, dates and money: one
helper each, all through Babel (Django's number formatting differs per
locale and does not know currencies)."""

from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Django's language code -> Babel's locale.
BABEL_LOCALES = {"ar": "ar", "zh-hans": "zh_Hans", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
RTL_LANGUAGES = {"ar"}

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

STATUS_LABELS = {
    "announced": pgettext_lazy("pledge status", "Announced"),
    "confirmed": pgettext_lazy("pledge status", "Confirmed"),
    "partially_paid": pgettext_lazy("pledge status", "Partially paid"),
    "paid": pgettext_lazy("pledge status", "Paid"),
    "lapsed": pgettext_lazy("pledge status", "Lapsed"),
}


def babel_locale(language: str) -> Locale:
    return Locale.parse(BABEL_LOCALES.get(language, "en"))


def money(amount: str | Decimal | None, language: str, currency: str = "USD") -> str:
    """An amount with its currency, as the locale writes it ("$1,234.50",
    "1 234,50 $US", "1,234.50 US$" in Arabic, with Latin digits)."""
    if amount is None:
        return "—"
    text = format_currency(Decimal(str(amount)), currency, locale=babel_locale(language))
    # Babel marks Arabic amounts right-to-left; the templates isolate each
    # amount left-to-right (<bdi dir="ltr">) instead.
    return text.replace("\u200f", "").replace("\u200e", "")


def number(value: int | Decimal, language: str) -> str:
    return format_decimal(value, locale=babel_locale(language))


def percent(value: float, language: str) -> str:
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
    if not code:
        return ""
    return babel_locale(language).territories.get(code, code)
