"""The donor's status page: the HTML answer of a pledge's private status
link (`/api/v1/pledges/status/<secret>/`, whose JSON answer is the API's),
in the donor's language, with a language switcher that keeps the secret."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from pledges import cldr
from pledges.api import PledgeStatusView, bank_instructions
from pledges.labels import PAYMENT_METHOD_LABELS, STATUS_WORDS, choice_labels, label
from pledges.models import ChoiceLabel, PaymentMethod, PaymentStatus, Pledge, PledgeStatus
from pledges.references import reference_for_print
from pledges.web.views import (
    LANGUAGE_URLS,
    URL_LANGUAGES,
    card_outcome,
    instalment_rows,
    page_context,
    private,
    stripe_enabled,
)

CARD_PAYABLE = (PledgeStatus.SUBMITTED, PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED, PledgeStatus.PARTIALLY_PAID)


def wants_html(request: HttpRequest) -> bool:
    """A browser's GET: text/html preferred to JSON (API clients that send
    no Accept, */* or application/json get JSON)."""
    if request.method not in ("GET", "HEAD"):
        return False
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"


def status_language(request: HttpRequest, pledge: Pledge) -> str:
    """?lang= (the switcher), else the donor's language, else the browser's."""
    chosen = URL_LANGUAGES.get(request.GET.get("lang", ""))
    if chosen:
        return chosen
    known = {code for code, _ in settings.LANGUAGES}
    if pledge.donor.language in known:
        return pledge.donor.language
    return translation.get_language_from_request(request) or settings.LANGUAGE_CODE


def pledge_status_page(request: HttpRequest, secret: str) -> HttpResponse:
    pledge = get_object_or_404(
        Pledge.objects.select_related("donor", "campaign", "session").prefetch_related("instalments", "payments"),
        status_secret=secret,
    )
    language = status_language(request, pledge)
    path = reverse("pledge-status", args=[secret])
    with translation.override(language):
        outstanding = pledge.amount_outstanding
        outcome = card_outcome(request, pledge) if pledge.payment_method == PaymentMethod.CARD else ""
        can_pay_by_card = (
            stripe_enabled() and outstanding > 0 and pledge.status in CARD_PAYABLE and outcome != "succeeded"
        )
        context = {
            **page_context(language, lambda prefix: f"{path}?lang={prefix}"),
            "pledge": pledge,
            "status_words": label(STATUS_WORDS, pledge.status),
            "is_closed": pledge.status in (PledgeStatus.CANCELLED, PledgeStatus.LAPSED),
            "campaign_title": pledge.campaign.title,
            "session_title": pledge.session.title if pledge.session is not None else "",
            "reference_printed": reference_for_print(pledge.reference),
            "pledged_on": cldr.long_date(pledge.pledged_on, language),
            "amount": cldr.money(pledge.amount, pledge.currency, language),
            "paid": cldr.money(pledge.amount_paid, pledge.currency, language),
            "outstanding": cldr.money(outstanding, pledge.currency, language),
            "earmark": choice_labels(ChoiceLabel.Kind.EARMARK).get(pledge.earmark, pledge.earmark),
            "payment_method": label(PAYMENT_METHOD_LABELS, pledge.payment_method),
            "instalments": instalment_rows(pledge, language),
            "overdue": pledge.is_overdue(),
            "payments": [
                {
                    "received_on": p.received_on,
                    "received": cldr.long_date(p.received_on, language),
                    "amount": cldr.money(p.amount, p.currency, language),
                    "method": label(PAYMENT_METHOD_LABELS, p.method),
                }
                for p in pledge.payments.filter(status=PaymentStatus.SUCCEEDED).order_by("received_on", "pk")
            ],
            "bank": bank_instructions(pledge) if outstanding > 0 and outcome != "succeeded" else None,
            "outcome": outcome,
            "card_start_url": reverse("pledge-card-payment", args=[secret]) if can_pay_by_card else "",
            "lang_prefix_status": LANGUAGE_URLS.get(language, "en"),
        }
        response = render(request, "pledges/web/status.html", context)
        response["Content-Language"] = language
        patch_vary_headers(response, ["Accept", "Accept-Language"])
        return private(response, secret_url=True)


# The status link answers at one URL: a browser gets the donor's page in
# their language, API clients (Accept: application/json, */*) the API's JSON.
# The choice is made here, on top of the API view, so that the API imports
# nothing from the pages built on it. (No docstring: the schema keeps the API
# view's description.)
class PledgeStatusPage(PledgeStatusView):
    def dispatch(self, request, *args, **kwargs):
        if wants_html(request):
            return pledge_status_page(request, kwargs["secret"])
        response = super().dispatch(request, *args, **kwargs)
        patch_vary_headers(response, ["Accept"])
        return response
