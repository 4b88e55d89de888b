"""The pledge form and its confirmation page. The form posts through the
same serializer and service as `POST /api/v1/pledges/`; these views only
translate between HTML forms and that code."""

import time

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from backend.problems import flatten_errors
from pledges.api import PledgeCreateSerializer, PledgeSubmitThrottle, bank_instructions, card_payment_block
from pledges.audit import Actor
from pledges.errors import InvalidInput
from pledges.models import CardPaymentIntent, Earmark, PaymentMethod, Pledge
from pledges.payments import stripe as stripe_api
from pledges.references import reference_for_print
from pledges.selectors import campaign_get
from pledges.services import pledge_submit
from pledges.web import forms
from reports.formatting import RTL_LANGUAGES, money

# The language segment of the form's URLs -> Django's language code.
URL_LANGUAGES = {"ar": "ar", "zh": "zh-hans", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
LANGUAGE_URLS = {code: prefix for prefix, code in URL_LANGUAGES.items()}
TIMESTAMP_SALT = "pledges.web.form-started"


def _language(request: HttpRequest, lang: str | None) -> str:
    if lang is None:
        return translation.get_language_from_request(request) or settings.LANGUAGE_CODE
    if lang not in URL_LANGUAGES:
        raise Http404
    return URL_LANGUAGES[lang]


def _min_seconds() -> float:
    return float(getattr(settings, "PLEDGE_FORM_MIN_SECONDS", 2.0))


def _page_context(language: str) -> dict:
    return {
        "language": language,
        "lang_prefix": LANGUAGE_URLS.get(language, "en"),
        "direction": "rtl" if language in RTL_LANGUAGES else "ltr",
        "languages": [(LANGUAGE_URLS[code], name, code) for code, name in settings.LANGUAGES],
    }


def _private(response: HttpResponse, *, secret_url: bool = False) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    if secret_url:
        # The address holds the status secret: never sent to another page.
        # (Not on the form: under no-referrer a POST's Origin is "null",
        # which the CSRF check refuses.)
        response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


def _form_page(request, language: str, *, values=None, errors=None, notice: str = "", status: int = 200):
    campaign = campaign_get(None, field="")
    values = values or {}
    errors = errors or {}
    rows = [
        {
            "index": row,
            "number": row + 1,
            "due_date": values.get(f"inst_{row}_due_date", ""),
            "amount": values.get(f"inst_{row}_amount", ""),
            "due_date_errors": errors.get(f"inst_{row}_due_date", []),
            "amount_errors": errors.get(f"inst_{row}_amount", []),
        }
        for row in range(forms.INSTALMENT_ROWS)
    ]
    labels = forms.field_labels()
    summary = [
        ("instalments" if field == "instalments" else field, labels.get(field, labels["__all__"]), message)
        for field, messages in errors.items()
        for message in messages
    ]
    context = {
        **_page_context(language),
        "campaign": campaign,
        "values": values,
        "errors": errors,
        "summary": summary,
        "notice": notice,
        "rows": rows,
        "donor_types": [(value, str(label)) for value, label in forms.DONOR_TYPE_LABELS.items()],
        "earmarks": [(value, str(label)) for value, label in forms.EARMARK_LABELS.items()],
        "countries": forms.countries(language),
        "currencies": forms.currencies(),
        "common_count": len(forms.COMMON_CURRENCIES),
        "sessions": forms.sessions(campaign),
        "started": signing.dumps(time.time(), salt=TIMESTAMP_SALT),
        "honeypot": forms.HONEYPOT,
        "stripe_enabled": bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY),
        "defaults": {"earmark": values.get("earmark", Earmark.UNRESTRICTED)},
    }
    return _private(render(request, "pledges/web/form.html", context, status=status))


def _looks_like_a_bot(data) -> bool:
    """The honeypot is filled, or the form came back faster than a person
    fills it (or without our signed timestamp)."""
    if data.get(forms.HONEYPOT):
        return True
    try:
        started = signing.loads(data.get(forms.TIMESTAMP, ""), salt=TIMESTAMP_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return True
    return time.time() - float(started) < _min_seconds()


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def pledge_form(request: HttpRequest, lang: str | None = None) -> HttpResponse:
    language = _language(request, lang)
    with translation.override(language):
        if request.method != "POST":
            return _form_page(request, language)
        if not PledgeSubmitThrottle().allow_request(request, None):
            response = render(request, "pledges/web/throttled.html", _page_context(language), status=429)
            response["Retry-After"] = "60"
            return _private(response)
        data = request.POST
        values = {key: data.get(key, "") for key in data if key not in ("csrfmiddlewaretoken", forms.HONEYPOT)}
        if _looks_like_a_bot(data):
            notice = _("Your pledge has not been sent yet. Please check the form and send it again.")
            if _wants_json(request):
                return JsonResponse({"errors": {}, "notice": notice}, status=400)
            return _form_page(request, language, values=values, notice=notice, status=400)

        body, rows, errors = forms.api_body(data, language)
        serializer = PledgeCreateSerializer(data=body)
        pledge = None
        if not serializer.is_valid():
            errors = forms.form_errors(flatten_errors(serializer.errors), rows) | errors
        elif not errors:
            try:
                pledge = pledge_submit(**serializer.validated_data, actor=Actor.donor("web form"))
            except InvalidInput as error:
                errors |= forms.form_errors(error.errors, rows)
        if pledge is None:
            if _wants_json(request):
                return JsonResponse({"errors": errors}, status=400)
            return _form_page(request, language, values=values, errors=errors, status=400)

        done_url = reverse("pledge-web-done", args=[LANGUAGE_URLS[language], pledge.status_secret])
        if _wants_json(request):
            answer = {
                "reference": pledge.reference,
                "reference_printed": reference_for_print(pledge.reference),
                "confirmation_url": request.build_absolute_uri(done_url),
            }
            if pledge.payment_method == PaymentMethod.CARD:
                answer |= card_payment_block(pledge)
            return _private(JsonResponse(answer, status=201))
        return redirect(done_url)


PAYMENT_OUTCOMES = {"succeeded": "succeeded", "processing": "processing"}


def _card_outcome(request: HttpRequest, pledge: Pledge) -> str:
    """What became of the card payment Stripe sent the donor back from:
    the PaymentIntent's own status when Stripe answers (the query string
    alone proves nothing), else what Stripe put in the return address.
    "" when the donor did not come back from Stripe."""
    intent_id = request.GET.get("payment_intent", "")
    redirect_status = request.GET.get("redirect_status", "")
    if not intent_id:
        return ""
    if not CardPaymentIntent.objects.filter(pledge=pledge, payment_intent_id=intent_id).exists():
        return ""
    try:
        status = stripe_api.payment_intent_retrieve(intent_id).status
    except Exception:  # Stripe unreachable: what the redirect said
        status = redirect_status
    return PAYMENT_OUTCOMES.get(status, "failed")


@require_http_methods(["GET", "HEAD"])
def pledge_done(request: HttpRequest, lang: str, secret: str) -> HttpResponse:
    language = _language(request, lang)
    pledge = get_object_or_404(Pledge.objects.select_related("donor", "campaign", "session"), status_secret=secret)
    with translation.override(language):
        is_card = pledge.payment_method == PaymentMethod.CARD
        outcome = _card_outcome(request, pledge) if is_card else ""
        context = {
            **_page_context(language),
            "pledge": pledge,
            "reference_printed": reference_for_print(pledge.reference),
            "amount": money(pledge.amount, language, pledge.currency),
            "outstanding": money(pledge.amount_outstanding, language, pledge.currency),
            "bank": bank_instructions(pledge) if pledge.amount_outstanding > 0 and outcome != "succeeded" else None,
            "status_url": request.build_absolute_uri(reverse("pledge-status", args=[pledge.status_secret])),
            "is_card": is_card,
            "outcome": outcome,
            "stripe_enabled": bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY),
            "instalments": [
                (line.due_date, money(line.amount, language, pledge.currency))
                for line in pledge.instalments.order_by("due_date")
            ],
        }
        return _private(render(request, "pledges/web/done.html", context), secret_url=True)
