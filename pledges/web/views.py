"""The pledge form, its check-your-answers step and its confirmation page.
The form posts through the same serializer and service as
`POST /api/v1/pledges/`; these views only translate between HTML forms and
that code.

The donor's path: the form (what they type is kept as typed), then the
check step (the amount as the server understood it, in the page's
language, to confirm), then the pledge is created and the done page shown.
A pledge is only created from the check step, with a signed token of
exactly the answers shown there.
"""

import hashlib
import json
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from backend.problems import flatten_errors
from pledges import cldr
from pledges.api import PledgeCreateSerializer, PledgeSubmitThrottle, bank_instructions, card_payment_block
from pledges.audit import Actor
from pledges.errors import InvalidInput
from pledges.labels import PAYMENT_METHOD_LABELS, choice_labels, label
from pledges.models import CardPaymentIntent, ChoiceLabel, Earmark, PaymentMethod, Pledge
from pledges.payments import stripe as stripe_api
from pledges.references import reference_for_print
from pledges.selectors import campaign_get
from pledges.services import pledge_submission_check, pledge_submit
from pledges.web import forms

# The language segment of the pages' URLs -> Django's language code.
URL_LANGUAGES = {"ar": "ar", "zh": "zh-hans", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
LANGUAGE_URLS = {code: prefix for prefix, code in URL_LANGUAGES.items()}
TIMESTAMP_SALT = "pledges.web.form-started"
CHECK_SALT = "pledges.web.checked-answers"
# How long a confirmed check step's token stays claimed (it is valid a day).
CLAIM_SECONDS = 24 * 3600
# Posted fields that are not the donor's answers.
NOT_ANSWERS = ("csrfmiddlewaretoken", forms.HONEYPOT, "action", "token")


def page_language(request: HttpRequest, lang: str | None) -> str:
    if lang is None:
        return translation.get_language_from_request(request) or settings.LANGUAGE_CODE
    if lang not in URL_LANGUAGES:
        raise Http404
    return URL_LANGUAGES[lang]


def _min_seconds() -> float:
    return float(getattr(settings, "PLEDGE_FORM_MIN_SECONDS", 2.0))


def stripe_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY)


def page_context(language: str, switch_url=None) -> dict:
    """What every page's frame needs: its language and direction, and the
    language switcher's links (`switch_url(prefix)` gives each; by default
    the pledge form's)."""
    switch_url = switch_url or (lambda prefix: f"/{prefix}/pledge/")
    return {
        "language": language,
        "lang_prefix": LANGUAGE_URLS.get(language, "en"),
        "direction": "rtl" if cldr.is_rtl(language) else "ltr",
        "languages": [(switch_url(LANGUAGE_URLS[code]), name, code) for code, name in settings.LANGUAGES],
    }


def private(response: HttpResponse, *, secret_url: bool = False) -> HttpResponse:
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
        (field, labels.get(field, labels["__all__"]), message)
        for field, messages in errors.items()
        for message in messages
    ]
    context = {
        **page_context(language),
        "campaign": campaign,
        "values": values,
        "errors": errors,
        "summary": summary,
        "notice": notice,
        "rows": rows,
        "donor_types": list(choice_labels(ChoiceLabel.Kind.DONOR_TYPE).items()),
        "earmarks": list(choice_labels(ChoiceLabel.Kind.EARMARK).items()),
        "countries": forms.countries(language),
        "currencies": forms.currencies(),
        "common_count": len(forms.COMMON_CURRENCIES),
        "sessions": forms.sessions(campaign),
        "started": values.get(forms.TIMESTAMP) or signing.dumps(time.time(), salt=TIMESTAMP_SALT),
        "honeypot": forms.HONEYPOT,
        "stripe_enabled": stripe_enabled(),
        "example": cldr.money("1000.50", "USD", language),
        "defaults": {"earmark": values.get("earmark", Earmark.UNRESTRICTED)},
    }
    return private(render(request, "pledges/web/form.html", context, status=status))


def _answers_digest(body: dict) -> str:
    """What the donor confirms: the request body as the server read it."""
    canonical = json.dumps(body, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_page(request, language: str, *, values: dict, body: dict, serializer, session, notice: str = ""):
    """The answers as understood, the amount formatted for its currency, to
    confirm or change. The hidden fields carry the answers as typed."""
    data = serializer.validated_data
    choices = data["choices"]
    currency = body["currency"]
    context = {
        **page_context(language),
        "values": sorted(values.items()),
        "notice": notice,
        "token": signing.dumps(_answers_digest(body), salt=CHECK_SALT),
        "donor": data["donor"],
        "donor_type": choice_labels(ChoiceLabel.Kind.DONOR_TYPE).get(data["donor"].donor_type, ""),
        "country": dict(forms.countries(language)).get(data["donor"].country, ""),
        "amount": cldr.money(body["amount"], currency, language),
        "amount_typed": values.get("amount", ""),
        "currency": currency,
        "session": session.title if session else "",
        "earmark": choice_labels(ChoiceLabel.Kind.EARMARK).get(choices.earmark, ""),
        "payment_method": label(PAYMENT_METHOD_LABELS, data["payment_method"]),
        "is_card": data["payment_method"] == PaymentMethod.CARD,
        "stripe_enabled": stripe_enabled(),
        "instalments": [
            (line["due_date"], cldr.long_date(i.due_date, language), cldr.money(i.amount, currency, language))
            for line, i in zip(body["instalments"], data["terms"].instalments, strict=True)
        ],
        "public_name": choices.public_name,
        "public_amount": choices.public_amount,
        "statement": choices.statement,
        "public_statement": choices.public_statement,
    }
    return private(render(request, "pledges/web/check.html", context))


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


def _token_matches(token: str, body: dict) -> bool:
    try:
        return signing.loads(token, salt=CHECK_SALT, max_age=24 * 3600) == _answers_digest(body)
    except signing.BadSignature:
        return False


def _refused(request, language: str, values: dict, errors: dict) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"errors": errors}, status=400)
    return _form_page(request, language, values=values, errors=errors, status=400)


@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def pledge_form(request: HttpRequest, lang: str | None = None) -> HttpResponse:
    language = page_language(request, lang)
    with translation.override(language):
        if request.method != "POST":
            return _form_page(request, language)
        if not PledgeSubmitThrottle().allow_request(request, None):
            response = render(request, "pledges/web/throttled.html", page_context(language), status=429)
            response["Retry-After"] = "60"
            return private(response)
        data = request.POST
        action = data.get("action", "check")
        values = {key: data.get(key, "") for key in data if key not in NOT_ANSWERS}
        if _looks_like_a_bot(data):
            notice = _("Your pledge has not been sent yet. Please check the form and send it again.")
            if _wants_json(request):
                return JsonResponse({"errors": {}, "notice": notice}, status=400)
            return _form_page(request, language, values=values, notice=notice, status=400)
        if action == "change":
            return _form_page(request, language, values=values)

        body, rows, errors = forms.api_body(data, language)
        serializer = PledgeCreateSerializer(data=body)
        if not serializer.is_valid():
            errors = forms.form_errors(flatten_errors(serializer.errors), rows, body) | errors
        elif errors:
            # An amount that cannot be read: the other answers' problems too, at once.
            errors = _rule_errors(serializer.validated_data, rows, body) | errors
        if errors:
            return _refused(request, language, values, errors)
        if action != "confirm":
            return _checked(request, language, values=values, body=body, rows=rows, serializer=serializer)
        if not _token_matches(data.get("token", ""), body):
            # Answers that differ from the ones shown are shown again, never sent.
            notice = _("Your answers changed. Please check them again before you send your pledge.")
            return _checked(
                request, language, values=values, body=body, rows=rows, serializer=serializer, notice=notice
            )
        # A second click on "Confirm" (or a resent request) gets the first
        # pledge, never a second one: the token is claimed atomically first.
        claim = _claim_key(data["token"])
        if not cache.add(claim, "", timeout=CLAIM_SECONDS):
            first = Pledge.objects.filter(status_secret=cache.get(claim) or "-").first()
            if first is not None:
                return _created(request, language, first)
            notice = _("Your pledge is already being sent. Please wait a moment: you will receive it by e-mail.")
            return _checked(
                request, language, values=values, body=body, rows=rows, serializer=serializer, notice=notice
            )
        try:
            pledge = pledge_submit(**serializer.validated_data, actor=Actor.donor("web form"))
        except InvalidInput as error:
            cache.delete(claim)
            return _refused(request, language, values, forms.form_errors(error.errors, rows, body))
        cache.set(claim, pledge.status_secret, timeout=CLAIM_SECONDS)
        return _created(request, language, pledge)


def _submission_check(data: dict):
    """The pledge's rules on the parsed answers (the service's check, which writes nothing)."""
    return pledge_submission_check(
        donor=data["donor"], terms=data["terms"], campaign=data["campaign"], session=data["session"]
    )


def _rule_errors(data: dict, rows, body: dict) -> dict[str, list[str]]:
    try:
        _submission_check(data)
    except InvalidInput as error:
        return forms.form_errors(error.errors, rows, body)
    return {}


def _checked(request, language: str, *, values: dict, body: dict, rows, serializer, notice: str = ""):
    """The check step: the answers against the pledge's rules, then shown or refused."""
    try:
        checked = _submission_check(serializer.validated_data)
    except InvalidInput as error:
        return _refused(request, language, values, forms.form_errors(error.errors, rows, body))
    return _check_page(
        request, language, values=values, body=body, serializer=serializer, session=checked.session, notice=notice
    )


def _claim_key(token: str) -> str:
    return "pledges:web:confirmed:" + hashlib.sha256(token.encode()).hexdigest()


def _created(request: HttpRequest, language: str, pledge: Pledge) -> HttpResponse:
    """The done page, or for the card flow the JSON to start Stripe with."""
    done_url = reverse("pledge-web-done", args=[LANGUAGE_URLS[language], pledge.status_secret])
    if _wants_json(request):
        answer = {
            "reference": pledge.reference,
            "reference_printed": reference_for_print(pledge.reference),
            "confirmation_url": request.build_absolute_uri(done_url),
        }
        if pledge.payment_method == PaymentMethod.CARD:
            answer |= card_payment_block(pledge)
        return private(JsonResponse(answer, status=201))
    return redirect(done_url)


PAYMENT_OUTCOMES = {"succeeded": "succeeded", "processing": "processing"}


def card_outcome(request: HttpRequest, pledge: Pledge) -> str:
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


def status_url(request: HttpRequest, pledge: Pledge, language: str) -> str:
    url = reverse("pledge-status", args=[pledge.status_secret])
    return request.build_absolute_uri(f"{url}?lang={LANGUAGE_URLS.get(language, 'en')}")


def instalment_rows(pledge: Pledge, language: str) -> list[dict]:
    """The instalment plan as people read it: due dates and amounts in the
    page's language, what is paid of each, and whether it is overdue."""
    return [
        {
            "due_date": line["instalment"].due_date,
            "due": cldr.long_date(line["instalment"].due_date, language),
            "amount": cldr.money(line["instalment"].amount, pledge.currency, language),
            "paid": cldr.money(line["paid"], pledge.currency, language),
            "outstanding": cldr.money(line["outstanding"], pledge.currency, language),
            "is_paid": line["outstanding"] <= 0,
            "overdue": line["overdue"],
        }
        for line in pledge.instalment_schedule()
    ]


@require_http_methods(["GET", "HEAD"])
def pledge_done(request: HttpRequest, lang: str, secret: str) -> HttpResponse:
    language = page_language(request, lang)
    pledge = get_object_or_404(Pledge.objects.select_related("donor", "campaign", "session"), status_secret=secret)
    with translation.override(language):
        is_card = pledge.payment_method == PaymentMethod.CARD
        outcome = card_outcome(request, pledge) if is_card else ""
        context = {
            **page_context(language, lambda prefix: f"/{prefix}/pledge/done/{secret}/"),
            "pledge": pledge,
            "campaign_title": pledge.campaign.title,
            "reference_printed": reference_for_print(pledge.reference),
            "amount": cldr.money(pledge.amount, pledge.currency, language),
            "outstanding": cldr.money(pledge.amount_outstanding, pledge.currency, language),
            "pledged_on": cldr.long_date(pledge.pledged_on, language),
            "bank": bank_instructions(pledge) if pledge.amount_outstanding > 0 and outcome != "succeeded" else None,
            "status_url": status_url(request, pledge, language),
            "is_card": is_card,
            "outcome": outcome,
            "stripe_enabled": stripe_enabled(),
            "instalments": instalment_rows(pledge, language),
        }
        return private(render(request, "pledges/web/done.html", context), secret_url=True)
