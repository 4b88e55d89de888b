"""What the pledge form offers (choices, localised) and how its fields map
to and from the public API's request body and error paths."""

import gettext
import re
import unicodedata
from functools import cache

import pycountry
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pledges.models import DonorType, Earmark, EventSession
from pledges.money import currency_minor_units, pledgeable_currencies

# Rows of the instalment plan the page offers (without JavaScript too).
INSTALMENT_ROWS = 4
COMMON_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NOK", "SEK", "DKK", "KWD", "SAR", "AED", "CNY")
# The honeypot: a field people never see; bots fill it.
HONEYPOT = "website"
TIMESTAMP = "started"

# Django's language code -> pycountry's gettext catalogue.
PYCOUNTRY_LANGUAGES = {"ar": "ar", "zh-hans": "zh_Hans", "fr": "fr", "ru": "ru", "es": "es"}

DONOR_TYPE_LABELS = {
    DonorType.MEMBER_STATE: gettext_lazy("Member State"),
    DonorType.OBSERVER_STATE: gettext_lazy("Observer State"),
    DonorType.INTERGOVERNMENTAL: gettext_lazy("Intergovernmental organization"),
    DonorType.UN_ENTITY: gettext_lazy("United Nations entity"),
    DonorType.PRIVATE_SECTOR: gettext_lazy("Private sector"),
    DonorType.FOUNDATION: gettext_lazy("Foundation"),
    DonorType.CIVIL_SOCIETY: gettext_lazy("Civil society"),
    DonorType.INDIVIDUAL: gettext_lazy("Individual"),
}

EARMARK_LABELS = {
    Earmark.UNRESTRICTED: gettext_lazy("Unrestricted"),
    Earmark.CHILDREN: gettext_lazy("Assistance to trafficked children"),
    Earmark.WOMEN_AND_GIRLS: gettext_lazy("Assistance to trafficked women and girls"),
    Earmark.DIRECT_ASSISTANCE: gettext_lazy("Direct assistance to victims through grants to NGOs"),
}

SESSION_LABELS = {
    "opening": gettext_lazy("Opening remarks"),
    "panel-1": gettext_lazy("Panel I: protecting the victims of trafficking"),
    "panel-2": gettext_lazy("Panel II: assistance to the victims of trafficking"),
    "closing": gettext_lazy("Closing remarks"),
}


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
    rows = EventSession.objects.filter(event__campaign=campaign).order_by("starts_at")
    return [(s.slug, str(SESSION_LABELS.get(s.slug, s.title))) for s in rows]


def _flag(data, name: str) -> bool:
    return data.get(name) in ("on", "true", "1", "yes")


def api_body(data, language: str) -> tuple[dict, dict[int, int], dict[str, list[str]]]:
    """The public API's request body built from the posted form; the form's
    instalment row of each instalment in the body; and the errors the form
    itself finds (an instalment row half filled in)."""
    instalments, rows, errors = [], {}, {}
    for row in range(INSTALMENT_ROWS):
        due_date = data.get(f"inst_{row}_due_date", "").strip()
        amount = data.get(f"inst_{row}_amount", "").strip()
        if not due_date and not amount:
            continue
        if not due_date or not amount:
            missing = f"inst_{row}_due_date" if not due_date else f"inst_{row}_amount"
            errors[missing] = [_("This field is required.")]
            continue
        rows[len(instalments)] = row
        instalments.append({"due_date": due_date, "amount": amount})
    body = {
        "donor": {
            "name": data.get("donor_name", "").strip(),
            "type": data.get("donor_type", ""),
            "country": data.get("donor_country", ""),
            "email": data.get("donor_email", "").strip(),
        },
        "amount": data.get("amount", "").strip().replace(",", "."),
        "currency": data.get("currency", ""),
        "payment_method": data.get("payment_method", ""),
        "session": data.get("session") or None,
        "earmark": data.get("earmark") or Earmark.UNRESTRICTED,
        "instalments": instalments,
        "public_name": _flag(data, "public_name"),
        "public_amount": _flag(data, "public_amount"),
        "statement": data.get("statement", "").strip(),
        "language": language,
    }
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
}
INSTALMENT_PATH = re.compile(r"instalments\.(\d+)\.(due_date|amount)")


def form_errors(api_errors: dict[str, list[str]], rows: dict[int, int]) -> dict[str, list[str]]:
    """The API's error paths ("donor.email", "instalments.0.amount") as the
    form's field names, each message in the active language."""
    errors: dict[str, list[str]] = {}
    for path, messages in api_errors.items():
        match = INSTALMENT_PATH.fullmatch(path)
        if match:
            field = f"inst_{rows.get(int(match[1]), int(match[1]))}_{match[2]}"
        else:
            field = FIELD_OF_PATH.get(path, "__all__")
        errors.setdefault(field, []).extend(translate_message(m) for m in messages)
    return errors


def translate_message(message: str) -> str:
    """Our services' and serializers' English messages in the page's
    language; DRF's own messages are already translated by DRF; anything
    else stays as it is."""
    for pattern, translate in MESSAGES:
        match = pattern.fullmatch(message)
        if match:
            return translate(match)
    return message


def _places(match: re.Match) -> str:
    values = {"currency": match["currency"], "places": match["places"]}
    if int(match["places"]) == 0:
        return _("%(currency)s amounts have no decimal places.") % values
    return _("%(currency)s amounts have %(places)s decimal places at most.") % values


MESSAGES = [
    (re.compile(r"This field is required\."), lambda m: _("This field is required.")),
    (re.compile(r"This field may not be blank\."), lambda m: _("This field is required.")),
    (re.compile(r"This field may not be null\."), lambda m: _("This field is required.")),
    (re.compile(r"A valid number is required\."), lambda m: _("Enter an amount, for example 1000.50.")),
    (re.compile(r"Enter a valid email address\."), lambda m: _("Enter a valid email address.")),
    (re.compile(r"Date has wrong format\..*"), lambda m: _("Enter a date.")),
    (re.compile(r'"[^"]*" is not a valid choice\.'), lambda m: _("Choose one of the options.")),
    (re.compile(r"(?P<currency>[A-Z]{3}) amounts have (?P<places>\d+) decimal places? at most\."), _places),
    (re.compile(r"The amount must be more than zero\."), lambda m: _("The amount must be more than zero.")),
    (re.compile(r"The amount is too large\."), lambda m: _("The amount is too large.")),
    (re.compile(r"The amount must be less than .*"), lambda m: _("The amount is too large.")),
    (re.compile(r"The amount is above the largest pledge accepted.*"), lambda m: _("The amount is too large.")),
    (re.compile(r".* is not an ISO 4217 currency.*"), lambda m: _("Choose a currency from the list.")),
    (re.compile(r".* is not a currency that can be pledged\."), lambda m: _("Choose a currency from the list.")),
    (re.compile(r".*is not an ISO 3166-1 alpha-2 country code\."), lambda m: _("Choose a country from the list.")),
    (
        re.compile(r"A country is required for this donor type\."),
        lambda m: _("A country is required for this donor type."),
    ),
    (re.compile(r"The campaign \S+ has no session .*"), lambda m: _("This session is not part of the campaign.")),
    (re.compile(r"The due date must be after today\."), lambda m: _("The due date must be after today.")),
    (re.compile(r"Two instalments fall on this date\."), lambda m: _("Two instalments fall on this date.")),
    (
        re.compile(r"The instalments add up to (?P<total>\S+) (?P<c>[A-Z]{3}), not the pledged (?P<amount>\S+) .*"),
        lambda m: _("The instalments add up to %(total)s %(currency)s, not the pledged %(amount)s %(currency)s.")
        % {"total": m["total"], "amount": m["amount"], "currency": m["c"]},
    ),
    (re.compile(r"At most \d+ instalments\."), lambda m: _("Too many instalments.")),
    (
        re.compile(r"Ensure this field has no more than (?P<n>\d+) characters\."),
        lambda m: _("Use at most %(count)s characters.") % {"count": m["n"]},
    ),
]


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
        "__all__": _("Pledge"),
    }
    for row in range(INSTALMENT_ROWS):
        labels[f"inst_{row}_due_date"] = _("Instalment %(number)s: due date") % {"number": row + 1}
        labels[f"inst_{row}_amount"] = _("Instalment %(number)s: amount") % {"number": row + 1}
    return labels
