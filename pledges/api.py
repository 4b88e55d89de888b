"""Public API views and their serializers: pledge intake, the donor's status
link and the public figures. Views parse, call one service, render."""

import hashlib
import json
import re

import pycountry
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from backend.cache import resilient_cache
from pledges.audit import Actor
from pledges.errors import DomainError, InvalidInput, Refusal
from pledges.idempotency import IDEMPOTENCY_HEADER, idempotent
from pledges.models import DonorType, Earmark, PaymentMethod, Pledge, PledgeStatus
from pledges.money import format_amount, is_currency
from pledges.payments.card import card_payment_start, stripe_event_receive
from pledges.public_cache import public_document
from pledges.references import reference_for_print
from pledges.selectors import campaign_get, public_pledges, public_totals, session_get
from pledges.services import (
    DonorDetails,
    InstalmentTerms,
    PledgeTerms,
    donor_details_errors,
    pledge_submit,
    pledge_terms_errors,
)

PROBLEM = OpenApiResponse(
    response=inline_serializer(
        "Problem",
        {
            "type": serializers.CharField(),
            "title": serializers.CharField(),
            "status": serializers.IntegerField(),
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
            "codes": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                required=False,
                help_text="Each field's stable error codes, in the order of its messages under errors",
            ),
        },
    ),
    description="RFC 9457 problem details (application/problem+json)",
)


def json_type_errors(fields: dict, data) -> dict[str, list[str]]:
    """Values of the wrong JSON type, which DRF would otherwise coerce
    ("true" for true, 5 for "5"): refused, as the schema says."""
    if not isinstance(data, dict):
        return {}
    errors = {}
    for name, field in fields.items():
        value = data.get(name)
        if value is None or field.read_only:
            continue
        if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
            errors[name] = [Refusal("Must be true or false.", "not-a-boolean")]
        elif isinstance(field, serializers.IntegerField) and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = [Refusal("Must be a whole number.", "not-a-whole-number")]
        elif isinstance(field, serializers.CharField) and not isinstance(value, str):
            errors[name] = [Refusal("Must be a string.", "not-a-string")]
    return errors


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a misspelt field is an error,
    not silently ignored."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        unknown_errors = {name: [Refusal("Unknown field.", "unknown-field")] for name in unknown} | json_type_errors(
            self.fields, data
        )
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({**error.detail, **unknown_errors}) from None
        if unknown_errors:
            raise serializers.ValidationError(unknown_errors)
        return value


PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class MoneyField(serializers.DecimalField):
    """A decimal amount as a string ("250000.00"); its currency's minor units
    are checked by the service that knows the currency."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=None, decimal_places=None, **kwargs)

    def to_internal_value(self, data):
        # Plain decimals only: no booleans, and no "250_000", " 1 " or
        # "1e3" strings that Decimal() would quietly accept.
        if isinstance(data, bool) or (isinstance(data, str) and not PLAIN_DECIMAL.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


class CurrencyField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(min_length=3, max_length=3, **kwargs)

    def to_internal_value(self, data):
        code = super().to_internal_value(data).upper()
        if not is_currency(code):
            raise serializers.ValidationError(
                Refusal(f"{code} is not an ISO 4217 currency that can be pledged.", "currency-invalid")
            )
        return code


class CountryField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=2, allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        code = super().to_internal_value(data).upper()
        if code and pycountry.countries.get(alpha_2=code) is None:
            raise serializers.ValidationError(
                Refusal(f"{code!r} is not an ISO 3166-1 alpha-2 country code.", "country-invalid")
            )
        return code


class DonorInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=DonorType.choices)
    country = CountryField(required=False, default="")
    email = serializers.EmailField(max_length=254)


class InstalmentInputSerializer(StrictSerializer):
    due_date = serializers.DateField()
    amount = MoneyField()


class PledgeCreateSerializer(StrictSerializer):
    donor = DonorInputSerializer()
    amount = MoneyField()
    currency = CurrencyField()
    payment_method = serializers.ChoiceField(choices=[PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER])
    campaign = serializers.SlugField(max_length=64, required=False)
    session = serializers.SlugField(max_length=64, required=False, allow_null=True)
    earmark = serializers.ChoiceField(choices=Earmark.choices, default=Earmark.UNRESTRICTED)
    instalments = serializers.ListField(child=InstalmentInputSerializer(), required=False, max_length=120, default=list)
    public_name = serializers.BooleanField(default=False)
    public_amount = serializers.BooleanField(default=False)
    statement = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    public_statement = serializers.BooleanField(
        default=False, help_text="Publish the statement even when the name is not shown (anonymous donors)"
    )
    language = serializers.ChoiceField(choices=[code for code, _ in settings.LANGUAGES], required=False, default="")

    def validate(self, attrs: dict) -> dict:
        """Resolve the campaign and session, and check the pledge's terms with
        the same rules the service enforces, so every field's problem is
        reported at once."""
        errors: dict[str, list[str]] = {}
        try:
            attrs["campaign"] = campaign_get(attrs.get("campaign"))
            attrs["session"] = session_get(attrs["campaign"], attrs["session"]) if attrs.get("session") else None
        except InvalidInput as error:
            errors |= error.errors
        donor = attrs["donor"]
        attrs["donor"] = DonorDetails(
            name=donor["name"],
            donor_type=donor["type"],
            country=donor["country"],
            email=donor["email"],
            language=attrs.pop("language"),
        )
        attrs["terms"] = PledgeTerms(
            amount=attrs.pop("amount"),
            currency=attrs.pop("currency"),
            instalments=[InstalmentTerms(due_date=i["due_date"], amount=i["amount"]) for i in attrs.pop("instalments")],
        )
        errors |= donor_details_errors(attrs["donor"]) | pledge_terms_errors(attrs["terms"], today=timezone.localdate())
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class BankInstructionsSerializer(serializers.Serializer):
    beneficiary = serializers.CharField()
    bank_name = serializers.CharField()
    bank_address = serializers.CharField()
    account_number = serializers.CharField()
    iban = serializers.CharField()
    swift = serializers.CharField()
    routing_number = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    reference = serializers.CharField(help_text="The RF reference in compact form")
    reference_printed = serializers.CharField(help_text="The RF reference grouped by four characters")
    note = serializers.CharField()


def bank_instructions(pledge: Pledge) -> dict:
    return {
        **settings.FUND_BANK_ACCOUNT,
        "amount": format_amount(pledge.amount_outstanding, pledge.currency),
        "currency": pledge.currency,
        "reference": pledge.reference,
        "reference_printed": reference_for_print(pledge.reference),
        "note": (
            f"Quote the reference {reference_for_print(pledge.reference)} in the payment details "
            "so the Fund can match your transfer to your pledge."
        ),
    }


def status_url(request: Request, pledge: Pledge) -> str:
    return request.build_absolute_uri(reverse("pledge-status", args=[pledge.status_secret]))


class CardPaymentSerializer(serializers.Serializer):
    provider = serializers.CharField()
    payment_intent = serializers.CharField()
    client_secret = serializers.CharField()
    publishable_key = serializers.CharField()
    amount = serializers.CharField(help_text="What this payment takes: the next instalment, or all outstanding")
    currency = serializers.CharField()


class PledgeCreatedSerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=PledgeStatus.choices)
    amount = serializers.CharField()
    currency = serializers.CharField()
    amount_usd = serializers.CharField(allow_null=True, help_text="Null while no exchange rate is known")
    status_url = serializers.URLField(help_text="The donor's private link; keep it secret")
    payment = CardPaymentSerializer(
        allow_null=True, required=False, help_text="Card pledges: what Stripe's Payment Element needs"
    )
    payment_error = serializers.DictField(
        required=False, help_text="Card pledges: why the payment could not be started (the pledge is kept)"
    )
    payment_url = serializers.URLField(required=False, help_text="Card pledges: POST here to start the payment again")
    bank_instructions = BankInstructionsSerializer(allow_null=True, required=False)


def card_payment_block(pledge: Pledge) -> dict:
    """`payment` for Stripe's Payment Element, or `payment: null` and a
    `payment_error` saying why; the donor can start again later."""
    try:
        return {"payment": card_payment_start(pledge=pledge, actor=Actor.donor())}
    except DomainError as error:
        return {"payment": None, "payment_error": {"code": error.code, "detail": error.detail}}


def pledge_created_body(request: Request, pledge: Pledge) -> dict:
    body = {
        "reference": pledge.reference,
        "status": pledge.status,
        "amount": format_amount(pledge.amount, pledge.currency),
        "currency": pledge.currency,
        "amount_usd": None if pledge.amount_usd is None else str(pledge.amount_usd),
        "status_url": status_url(request, pledge),
    }
    if pledge.payment_method == PaymentMethod.CARD:
        body["payment"] = None
        body["payment_url"] = request.build_absolute_uri(reverse("pledge-card-payment", args=[pledge.status_secret]))
    else:
        body["bank_instructions"] = bank_instructions(pledge)
    return body


class PledgeSubmitThrottle(SimpleRateThrottle):
    """Per client: the user when signed in, else the address (behind
    `DJANGO_NUM_PROXIES` trusted proxies)."""

    scope = "pledge_submit"
    cache = resilient_cache  # Redis away: counted in-process (fails open to a local limiter)

    def get_rate(self) -> str:
        return settings.PLEDGE_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str:
        ident = f"user:{request.user.pk}" if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _request_fingerprint(data) -> str:
    canonical = json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    pattern=r"^[!-~]([ -~]{0,253}[!-~])?$",  # 1 to 255 printable ASCII characters
    description=(
        "Optional; a unique key per intended pledge (a UUID). Repeating the request with the same key "
        "and body returns the first response (with `Idempotent-Replayed: true`); the same key with "
        "another body is refused with 422."
    ),
)


class PledgeCreateView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [PledgeSubmitThrottle]

    @extend_schema(
        operation_id="pledge_create",
        summary="Make a pledge (public)",
        request=PledgeCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: PledgeCreatedSerializer, 400: PROBLEM, 413: PROBLEM, 422: PROBLEM, 429: PROBLEM},
        examples=[
            OpenApiExample(
                "Bank transfer in instalments",
                request_only=True,
                value={
                    "donor": {
                        "name": "Kingdom of Norway",
                        "type": "member_state",
                        "country": "NO",
                        "email": "mission@example.org",
                    },
                    "amount": "250000.00",
                    "currency": "USD",
                    "payment_method": "bank_transfer",
                    "campaign": "vtf-2012",
                    "session": "panel-1",
                    "earmark": "children",
                    "instalments": [
                        {"due_date": "2027-06-30", "amount": "125000.00"},
                        {"due_date": "2027-12-31", "amount": "125000.00"},
                    ],
                    "public_name": True,
                    "public_amount": True,
                    "statement": "Norway stands with the survivors of trafficking.",
                },
            )
        ],
        tags=["public"],
    )
    def post(self, request: Request) -> Response:
        serializer = PledgeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def create() -> tuple[int, dict]:
            pledge = pledge_submit(**data, actor=Actor.donor())
            return 201, pledge_created_body(request, pledge)

        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            status_code, body = create()
            replayed = False
        else:
            outcome = idempotent(
                scope="pledge.create", key=key, fingerprint=_request_fingerprint(request.data), run=create
            )
            status_code, body, replayed = outcome.status, outcome.body, outcome.replayed
        if "payment" in body:
            # Outside the pledge's transaction on purpose: the pledge is kept
            # even when Stripe cannot be reached, and a replay gets the same
            # (reused) PaymentIntent rather than a stored, stale one.
            body = {**body, **card_payment_block(Pledge.objects.get(reference=body["reference"]))}
        response = Response(body, status=status_code)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class InstalmentStatusSerializer(serializers.Serializer):
    due_date = serializers.DateField()
    amount = serializers.CharField()
    paid = serializers.CharField()
    outstanding = serializers.CharField()
    overdue = serializers.BooleanField()


class PledgeStatusSerializer(serializers.Serializer):
    reference = serializers.CharField()
    reference_printed = serializers.CharField()
    status = serializers.ChoiceField(choices=PledgeStatus.choices)
    donor = serializers.CharField()
    campaign = serializers.CharField()
    session = serializers.CharField(allow_null=True)
    pledged_on = serializers.DateField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    amount_usd = serializers.CharField(allow_null=True)
    amount_paid = serializers.CharField()
    amount_outstanding = serializers.CharField()
    overdue = serializers.BooleanField()
    payment_method = serializers.CharField()
    earmark = serializers.CharField()
    public_name = serializers.BooleanField()
    public_amount = serializers.BooleanField()
    instalments = InstalmentStatusSerializer(many=True)
    payments = serializers.ListField(child=serializers.DictField())
    bank_instructions = BankInstructionsSerializer(allow_null=True)


def instalment_lines(pledge: Pledge, schedule: list[dict] | None = None) -> list[dict]:
    """The instalment plan with what of each is paid and whether it is overdue."""
    return [
        {
            "due_date": line["instalment"].due_date,
            "amount": format_amount(line["instalment"].amount, pledge.currency),
            "paid": format_amount(line["paid"], pledge.currency),
            "outstanding": format_amount(line["outstanding"], pledge.currency),
            "overdue": line["overdue"],
        }
        for line in (schedule if schedule is not None else pledge.instalment_schedule())
    ]


class PledgeStatusView(APIView):
    """The donor's own view of a pledge, reachable only with the secret in
    its URL. Read-only; never cached by shared caches."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def dispatch(self, request, *args, **kwargs):
        # A browser gets the donor's page in their language, the same URL;
        # API clients (Accept: application/json, */*) get this JSON.
        from pledges.web.status import pledge_status_page, wants_html

        if wants_html(request):
            return pledge_status_page(request, kwargs["secret"])
        response = super().dispatch(request, *args, **kwargs)
        patch_vary_headers(response, ["Accept"])
        return response

    @extend_schema(
        operation_id="pledge_status",
        summary="A donor's private view of a pledge",
        responses={200: PledgeStatusSerializer, 404: PROBLEM},
        tags=["public"],
    )
    def get(self, request: Request, secret: str) -> Response:
        pledge = get_object_or_404(
            Pledge.objects.select_related("donor", "campaign", "session").prefetch_related("instalments", "payments"),
            status_secret=secret,
        )
        schedule = pledge.instalment_schedule()
        body = {
            "reference": pledge.reference,
            "reference_printed": reference_for_print(pledge.reference),
            "status": pledge.status,
            "donor": pledge.donor.name,
            "campaign": pledge.campaign.slug,
            "session": pledge.session.slug if pledge.session_id else None,
            "pledged_on": pledge.pledged_on,
            "amount": format_amount(pledge.amount, pledge.currency),
            "currency": pledge.currency,
            "amount_usd": None if pledge.amount_usd is None else str(pledge.amount_usd),
            "amount_paid": format_amount(pledge.amount_paid, pledge.currency),
            "amount_outstanding": format_amount(pledge.amount_outstanding, pledge.currency),
            "overdue": any(line["overdue"] for line in schedule),
            "payment_method": pledge.payment_method,
            "earmark": pledge.earmark,
            "public_name": pledge.public_name,
            "public_amount": pledge.public_amount,
            "instalments": instalment_lines(pledge, schedule),
            "payments": [
                {
                    "received_on": p.received_on,
                    "amount": format_amount(p.amount, p.currency),
                    "currency": p.currency,
                    "method": p.method,
                }
                for p in pledge.payments.all()
            ],
            "bank_instructions": (
                bank_instructions(pledge)
                if pledge.payment_method == PaymentMethod.BANK_TRANSFER and pledge.amount_outstanding > 0
                else None
            ),
        }
        response = Response(body)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex"
        return response


CAMPAIGN_PARAMETER = OpenApiParameter(
    "campaign", OpenApiTypes.STR, description=f"Campaign slug; {settings.DEFAULT_CAMPAIGN_SLUG} when omitted"
)


def public_json(request: Request, name: str, build) -> HttpResponse:
    """A cached public document with its ETag; 304 when the client has it."""
    body, etag = public_document(name, build)
    # If-None-Match compares weakly (RFC 9110 13.1.2): a proxy that
    # compresses the body hands the client W/"..." for our strong tag.
    offered = {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in offered or "*" in offered:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    # s-maxage: a CDN or nginx in front may share it as long as a browser keeps it.
    max_age = settings.PUBLIC_CACHE_MAX_AGE
    patch_cache_control(response, public=True, max_age=max_age, s_maxage=max_age, stale_while_revalidate=60)
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


class PublicTotalsSerializer(serializers.Serializer):
    campaign = serializers.CharField()
    title = serializers.CharField()
    currency = serializers.CharField()
    goal = serializers.CharField()
    announced = serializers.CharField(help_text="Indicative pledges said from the floor, not yet confirmed")
    pledged = serializers.CharField(
        help_text="Firm pledges: confirmed, partially paid, paid (and what lapsed ones paid)"
    )
    received = serializers.CharField(help_text="Money in, net of refunds")
    fees = serializers.CharField(help_text="Payment fees, shown apart from money received")
    donors = serializers.IntegerField()
    pledges = serializers.IntegerField()
    progress = serializers.FloatField(help_text="Pledged as a share of the goal, 0..1")
    by_donor_type = serializers.ListField(child=serializers.DictField())
    awaiting_rate = serializers.DictField(help_text="Pledges left out of the USD figures until their rate is known")
    updated_at = serializers.DateTimeField()


class PublicTotalsView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="public_totals",
        summary="A campaign's public totals, in USD",
        parameters=[CAMPAIGN_PARAMETER],
        responses={200: PublicTotalsSerializer, 304: OpenApiResponse(description="Not modified"), 404: PROBLEM},
        tags=["public"],
    )
    def get(self, request: Request) -> HttpResponse:
        slug = request.query_params.get("campaign") or settings.DEFAULT_CAMPAIGN_SLUG
        # The campaign is looked up only when the document is built: a
        # cached answer costs no database query at all.
        return public_json(request, f"totals:{slug}", lambda: public_totals(campaign_get(slug, field="")))


class PublicPledgeSerializer(serializers.Serializer):
    donor = serializers.CharField(help_text='The name, or "Anonymous donor"')
    donor_type = serializers.CharField()
    country = serializers.CharField(allow_null=True)
    amount = serializers.CharField(allow_null=True, help_text="Null when the donor did not consent to show it")
    currency = serializers.CharField(allow_null=True)
    amount_usd = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    session = serializers.CharField(allow_null=True)
    pledged_on = serializers.DateField()
    statement = serializers.CharField()


class PublicPledgesView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    max_limit = 100

    @extend_schema(
        operation_id="public_pledges",
        summary="Recent pledges, as their donors consented to show them",
        parameters=[CAMPAIGN_PARAMETER, OpenApiParameter("limit", OpenApiTypes.INT, description="1..100, default 20")],
        responses={
            200: inline_serializer(
                "PublicPledgeList", {"campaign": serializers.CharField(), "results": PublicPledgeSerializer(many=True)}
            ),
            304: OpenApiResponse(description="Not modified"),
            400: PROBLEM,
            404: PROBLEM,
        },
        tags=["public"],
    )
    def get(self, request: Request) -> HttpResponse:
        slug = request.query_params.get("campaign") or settings.DEFAULT_CAMPAIGN_SLUG
        limit = request.query_params.get("limit", "20")
        if not re.fullmatch(r"[0-9]{1,3}", limit) or not 1 <= int(limit) <= self.max_limit:
            raise serializers.ValidationError({"limit": [f"A whole number from 1 to {self.max_limit}."]})
        return public_json(
            request,
            f"pledges:{slug}:{limit}",
            lambda: {"campaign": slug, "results": public_pledges(campaign_get(slug, field=""), limit=int(limit))},
        )


class PledgeCardPaymentView(APIView):
    """Start (or resume) the card payment of a pledge, with the secret of
    its status link: for a donor whose first attempt failed, or who pays
    the next instalment."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PledgeSubmitThrottle]

    @extend_schema(
        operation_id="pledge_card_payment_start",
        summary="Start or resume the card payment of a pledge (donor, with the status secret)",
        request=None,
        responses={200: CardPaymentSerializer, 404: PROBLEM, 409: PROBLEM, 422: PROBLEM, 503: PROBLEM},
        tags=["public"],
    )
    def post(self, request: Request, secret: str) -> Response:
        pledge = get_object_or_404(Pledge, status_secret=secret)
        response = Response(card_payment_start(pledge=pledge, actor=Actor.donor("status link")))
        response["Cache-Control"] = "no-store"
        return response


class StripeWebhookView(APIView):
    """Stripe's events: the signature is checked, the event stored by its
    id, and applying it queued after commit; the answer is quick. Event
    types we do not handle are acknowledged (2xx) and ignored."""

    permission_classes = [AllowAny]
    authentication_classes = []
    parser_classes = []

    @extend_schema(
        operation_id="stripe_webhook",
        summary="Stripe webhook endpoint (signed with the endpoint's secret)",
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: inline_serializer(
                "WebhookReceived", {"received": serializers.BooleanField(), "duplicate": serializers.BooleanField()}
            ),
            400: PROBLEM,
        },
        tags=["payments"],
    )
    def post(self, request: Request) -> Response:
        _, new = stripe_event_receive(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        return Response({"received": True, "duplicate": not new})
