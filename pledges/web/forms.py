"""What the pledge form offers (choices, localised) and how its fields map
to and from the public API's request body and error paths."""

import gettext
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from functools import cache

import pycountry
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pledges.cldr import AmountRefused, money, parse_amount
from pledges.errors import code_of
from pledges.models import Earmark, EventSession
from pledges.money import CurrencyError, currency_minor_units, pledgeable_currencies

# Rows of the instalment plan the page offers (without JavaScript too).
INSTALMENT_ROWS = 4
COMMON_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NOK", "SEK", "DKK", "KWD", "SAR", "AED", "CNY")
PLACEHOLDER_AMOUNT = "1"
# The honeypot: a field people never see; bots fill it.
HONEYPOT = "website"
TIMESTAMP = "started"

# Django's language code -> pycountry's gettext catalogue.
PYCOUNTRY_LANGUAGES = {"ar": "ar", "zh-hans": "zh_Hans", "fr": "fr", "ru": "ru", "es": "es"}


def _sort_key(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


@cache
def countries(language: str) -> list[tuple[str, str]]:
    """(alpha-2, name in `language`), sorted by name."""
    catalogue = PYCOUNTRY_LANGUAGES.get(language)
    if catalogue:
        translate = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[catalogue], fallback=True)
    else:
        translate = gettext.NullTranslations()
    names = [(c.alpha_2, translate.gettext(getattr(c, "common_name", None) or c.name)) for c in pycountry.countries]
    return sorted(names, key=lambda pair: _sort_key(pair[1]))


@cache
def currencies() -> list[tuple[str, int]]:
    """(code, minor units): the common ones first, then every other pledgeable one."""
    rest = [code for code in pledgeable_currencies() if code not in COMMON_CURRENCIES]
    return [(code, currency_minor_units(code)) for code in (*COMMON_CURRENCIES, *rest)]


def sessions(campaign) -> list[tuple[str, str]]:
    """(slug, title in the active language, else English)."""
    rows = EventSession.objects.filter(event__campaign=campaign).order_by("starts_at")
    return [(s.slug, s.title) for s in rows]


def _flag(data, name: str) -> bool:
    return data.get(name) in ("on", "true", "1", "yes")


def _amount(typed: str, currency: str, language: str, field: str, errors: dict) -> str:
    """The amount as the API reads it ("1000.50"), from what the person
    typed in the page's language; "" and a coded error when it is not one."""
    try:
        amount = parse_amount(typed, currency=currency, language=language)
    except AmountRefused as refusal:
        errors[field] = [message(refusal.code, field=field, **refusal.params)]
        return ""
    except CurrencyError:
        return typed.strip()  # the currency itself is refused by the serializer
    return str(amount)


def api_body(data, language: str) -> tuple[dict, dict[int, int], dict[str, list[str]]]:
    """The public API's request body built from the posted form; the form's
    instalment row of each instalment in the body; and the errors the form
    itself finds (an amount that cannot be read, an instalment row half
    filled in), each message for its code in the active language."""
    currency = data.get("currency", "")
    instalments: list[dict[str, str]] = []
    rows, errors = {}, {}
    for row in range(INSTALMENT_ROWS):
        due_date = data.get(f"inst_{row}_due_date", "").strip()
        typed = data.get(f"inst_{row}_amount", "")
        if not due_date and not typed.strip():
            continue
        if not due_date or not typed.strip():
            missing = f"inst_{row}_due_date" if not due_date else f"inst_{row}_amount"
            errors[missing] = [message("required", field=missing)]
            continue
        amount = _amount(typed, currency, language, f"inst_{row}_amount", errors)
        if amount:
            rows[len(instalments)] = row
            instalments.append({"due_date": due_date, "amount": amount})
    body = {
        "donor": {
            "name": data.get("donor_name", "").strip(),
            "type": data.get("donor_type", ""),
            "country": data.get("donor_country", ""),
            "email": data.get("donor_email", "").strip(),
        },
        # An amount that cannot be read stands in as 1 for the other rules, so
        # every other field's problem is shown at once too (it is never sent).
        "amount": _amount(data.get("amount", ""), currency, language, "amount", errors) or PLACEHOLDER_AMOUNT,
        "currency": currency,
        "payment_method": data.get("payment_method", ""),
        "session": data.get("session") or None,
        "earmark": data.get("earmark") or Earmark.UNRESTRICTED,
        "instalments": instalments,
        "public_name": _flag(data, "public_name"),
        "public_amount": _flag(data, "public_amount"),
        "statement": data.get("statement", "").strip(),
        "public_statement": _flag(data, "public_statement"),
        "language": language,
    }
    if "amount" in errors or any(name.endswith("_amount") for name in errors):
        body["instalments"] = []  # their sum is checked once every amount reads
    return body, rows, errors


FIELD_OF_PATH = {
    "donor.name": "donor_name",
    "donor.type": "donor_type",
    "donor.country": "donor_country",
    "donor.email": "donor_email",
    "amount": "amount",
    "currency": "currency",
    "payment_method": "payment_method",
    "session": "session",
    "earmark": "earmark",
    "instalments": "instalments",
    "public_name": "public_name",
    "public_amount": "public_amount",
    "statement": "statement",
    "public_statement": "public_statement",
}
INSTALMENT_PATH = re.compile(r"instalments\.(\d+)\.(due_date|amount)")
MAX_LENGTHS = {"donor_name": 200, "donor_email": 254, "statement": 1000}


def form_errors(api_errors: dict[str, list[str]], rows: dict[int, int], body: dict) -> dict[str, list[str]]:
    """The API's error paths ("donor.email", "instalments.0.amount") as the
    form's field names, each message the one for its code in the active
    language (the English text is never read)."""
    errors: dict[str, list[str]] = {}
    for path, messages in api_errors.items():
        match = INSTALMENT_PATH.fullmatch(path)
        if match:
            field = f"inst_{rows.get(int(match[1]), int(match[1]))}_{match[2]}"
        else:
            field = FIELD_OF_PATH.get(path, "__all__")
        for text in messages:
            errors.setdefault(field, []).append(message(code_of(text), field=field, body=body))
    return errors


def _decimals(
    field: str = "", currency: str = "", places: int | None = None, body: dict | None = None, **_params
) -> str:
    if places is None:
        currency = currency or (body or {}).get("currency", "")
        try:
            places = currency_minor_units(currency)
        except CurrencyError:
            return _("Choose a currency from the list.")
    values = {"currency": currency, "places": places}
    if places == 0:
        return _("%(currency)s amounts have no decimal places.") % values
    return _("%(currency)s amounts have %(places)s decimal places at most.") % values


def _invalid(field: str = "", **_params) -> str:
    if field == "donor_email":
        return _("Enter a valid email address.")
    if field.endswith("due_date"):
        return _("Enter a date.")
    if field.endswith("amount"):
        return _("Enter an amount, for example 1000.50.")
    return _("Check this answer.")


def _instalments_total(body: dict | None = None, **_params) -> str:
    body = body or {}
    currency, language = body.get("currency", ""), body.get("language", "en")
    total = sum((Decimal(i["amount"]) for i in body.get("instalments", [])), Decimal("0"))
    values = {"total": money(total, currency, language), "amount": money(body.get("amount"), currency, language)}
    return _("The instalments add up to %(total)s, not the pledged %(amount)s.") % values


def _max_length(field: str = "", **_params) -> str:
    return _("Use at most %(count)s characters.") % {"count": MAX_LENGTHS.get(field, 200)}


def _static(text) -> Callable[..., str]:
    return lambda **_params: str(text)


def _with_params(text) -> Callable[..., str]:
    return lambda **params: str(text) % params


# Each stable code (pledges.errors, DRF's own) -> the page's message.
MESSAGES: dict[str, Callable[..., str]] = {
    "required": _static(gettext_lazy("This field is required.")),
    "blank": _static(gettext_lazy("This field is required.")),
    "null": _static(gettext_lazy("This field is required.")),
    "invalid": _invalid,
    "date": _invalid,
    "invalid-choice": _static(gettext_lazy("Choose one of the options.")),
    "max-length": _max_length,
    "unknown-field": _static(gettext_lazy("This answer is not part of the form.")),
    "currency-invalid": _static(gettext_lazy("Choose a currency from the list.")),
    "country-invalid": _static(gettext_lazy("Choose a country from the list.")),
    "country-required": _static(gettext_lazy("A country is required for this donor type.")),
    "campaign-unknown": _static(gettext_lazy("This campaign is not open for pledges.")),
    "session-unknown": _static(gettext_lazy("This session is not part of the campaign.")),
    "session-ambiguous": _static(gettext_lazy("This session is not part of the campaign.")),
    "amount-decimals": _decimals,
    "amount-not-positive": _static(gettext_lazy("The amount must be more than zero.")),
    "amount-too-large": _static(gettext_lazy("The amount is too large.")),
    "amount-negative": _static(gettext_lazy("A pledge cannot be negative: write the amount without a minus sign.")),
    "amount-exponent": _with_params(
        gettext_lazy("Write the amount in full, without an exponent, for example %(example)s.")
    ),
    "amount-invalid": _with_params(gettext_lazy("Write the amount in figures, for example %(example)s.")),
    "amount-ambiguous": _with_params(
        gettext_lazy("This could be read as %(first)s or as %(second)s. Write the amount as in %(example)s.")
    ),
    "instalments-too-many": _static(gettext_lazy("Too many instalments.")),
    "due-date-not-future": _static(gettext_lazy("The due date must be after today.")),
    "due-date-repeated": _static(gettext_lazy("Two instalments fall on this date.")),
    "instalments-total": _instalments_total,
}


def message(code: str, **params) -> str:
    """The message for a refusal's code in the active language."""
    return MESSAGES.get(code, _invalid)(**params)


def field_labels() -> dict[str, str]:
    """Each field's label, for the error summary at the top of the page."""
    labels = {
        "donor_name": _("Name of the donor"),
        "donor_type": _("Type of donor"),
        "donor_country": _("Country"),
        "donor_email": _("Email address"),
        "amount": _("Amount"),
        "currency": _("Currency"),
        "payment_method": _("How you will pay"),
        "session": _("Session where the pledge was announced"),
        "earmark": _("Earmark"),
        "instalments": _("Instalments"),
        "public_name": _("Show our name"),
        "public_amount": _("Show the amount"),
        "statement": _("Public statement"),
        "public_statement": _("Publish our statement"),
        "__all__": _("Pledge"),
    }
    for row in range(INSTALMENT_ROWS):
        labels[f"inst_{row}_due_date"] = _("Instalment %(number)s: due date") % {"number": row + 1}
        labels[f"inst_{row}_amount"] = _("Instalment %(number)s: amount") % {"number": row + 1}
    return labels
