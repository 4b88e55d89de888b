"""E-mails to donors, each in the donor's language (the form's, else the one
staff set, else English): subject, a plain-text body and an HTML part,
money and dates formatted for that language (pledges.cldr).

The acknowledgement of a new pledge, the instalment reminders and the
thank-you when money arrives all go through `donor_email_send`; their
templates are pledges/templates/pledges/email/<name>.{txt,html} with the
subject in <name>_subject.txt. Personal data: the donor's name in the
greeting and nothing else of theirs (no e-mail address, no country).
"""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from pledges import cldr
from pledges.models import PaymentMethod, Pledge
from pledges.references import reference_for_print

FALLBACK_LANGUAGE = "en"
# Django's language code -> the language segment of our pages' URLs.
URL_PREFIXES = {"zh-hans": "zh"}


def donor_language(language: str) -> str:
    """The donor's language as one of settings.LANGUAGES ("fr-CA" is "fr",
    "zh" and "zh-CN" are "zh-hans"), else English."""
    if language:
        try:
            return translation.get_supported_language_variant(language.strip().lower())
        except LookupError:
            pass
    return FALLBACK_LANGUAGE


def status_link(pledge: Pledge, language: str) -> str:
    """The private status link, opening in the e-mail's language."""
    prefix = URL_PREFIXES.get(language, language)
    return f"{settings.SITE_URL}{reverse('pledge-status', args=[pledge.status_secret])}?lang={prefix}"


def pledge_email_context(pledge: Pledge, language: str) -> dict[str, Any]:
    """What every donor e-mail about a pledge shows, formatted for `language`."""
    currency = pledge.currency
    with translation.override(language):
        campaign = pledge.campaign.title  # modeltranslation: the language's title, else English
    return {
        "language": language,
        "direction": "rtl" if cldr.is_rtl(language) else "ltr",
        "greeting_name": pledge.donor.contact_name or pledge.donor.name,
        "campaign": campaign,
        "reference_printed": reference_for_print(pledge.reference),
        "amount": cldr.money_text(pledge.amount, currency, language),
        "amount_paid": cldr.money_text(pledge.amount_paid, currency, language),
        "amount_outstanding": cldr.money_text(pledge.amount_outstanding, currency, language),
        "pledged_on": cldr.long_date(pledge.pledged_on, language),
        "status_url": status_link(pledge, language),
        "bank": (
            settings.FUND_BANK_ACCOUNT
            if pledge.payment_method == PaymentMethod.BANK_TRANSFER and pledge.amount_outstanding > 0
            else None
        ),
        "instalments": [
            {
                "due": cldr.long_date(line["instalment"].due_date, language),
                "amount": cldr.money_text(line["instalment"].amount, currency, language),
                "outstanding": cldr.money_text(line["outstanding"], currency, language),
            }
            for line in pledge.instalment_schedule()
        ],
    }


def donor_email_send(*, to: str, template: str, context: dict[str, Any], language: str) -> None:
    """Render `template` in `language` (subject, text, HTML) and send it."""
    with translation.override(language):
        subject = " ".join(render_to_string(f"pledges/email/{template}_subject.txt", context).split())
        text = render_to_string(f"pledges/email/{template}.txt", context)
        html = render_to_string(f"pledges/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.extra_headers["Content-Language"] = language
    message.send()
