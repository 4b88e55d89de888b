"""Public API views and their serializers: pledge intake, the donor's status
link and the public figures. Views parse, call one service, render."""

import hashlib
import json
import re
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import PROBLEM, AmountField, CountryField, CurrencyField, MoneyField, StrictSerializer
from backend.throttles import SlidingWindowThrottle
from pledges.audit import Actor
from pledges.errors import DomainError
from pledges.idempotency import IDEMPOTENCY_HEADER, idempotent
from pledges.models import DonorType, Earmark, PaymentMethod, Pledge, PledgeStatus
from pledges.money import format_amount
from pledges.payments.card import card_payment_start, stripe_event_receive
from pledges.public_cache import document_response, public_document
from pledges.references import reference_for_print
from pledges.selectors import campaign_get, public_pledges, public_totals
from pledges.services import DonorDetails, InstalmentTerms, PledgeChoices, PledgeTerms, pledge_submit


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
        """The typed values `pledge_submit` takes. The rules of a pledge (the
        campaign and session exist, the terms add up) are the service's,
        checked there once."""
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
        attrs["choices"] = PledgeChoices(
            earmark=attrs.pop("earmark"),
            public_name=attrs.pop("public_name"),
            public_amount=attrs.pop("public_amount"),
            statement=attrs.pop("statement"),
            public_statement=attrs.pop("public_statement"),
        )
        attrs["campaign"] = attrs.get("campaign")
        attrs["session"] = attrs.get("session")
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
    body: dict[str, Any] = {
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


class PledgeSubmitThrottle(SlidingWindowThrottle):
    """Per client: the user when signed in, else the address (behind
    `DJANGO_NUM_PROXIES` trusted proxies)."""

    scope = "pledge_submit"

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


class StatusPaymentSerializer(serializers.Serializer):
    received_on = serializers.DateField()
    amount = AmountField()
    currency = serializers.CharField()
    method = serializers.CharField()


# A pledge and its terms as both the donor's status link and the staff API
# show them; each serializer built on it picks its fields, in its own order,
# with Meta.fields, and adds its own. (A comment, not a docstring:
# drf-spectacular would show it as the description of each of them.)
class PledgeTermsSerializer(serializers.ModelSerializer):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=PledgeStatus.choices)
    campaign = serializers.CharField(source="campaign.slug")
    session = serializers.CharField(source="session.slug", allow_null=True)
    pledged_on = serializers.DateField()
    amount = AmountField()
    currency = serializers.CharField()
    amount_paid = AmountField()
    amount_outstanding = AmountField()
    payment_method = serializers.CharField()
    earmark = serializers.CharField()
    public_name = serializers.BooleanField()
    public_amount = serializers.BooleanField()
    instalments = serializers.SerializerMethodField()
    # The pledge's instalment schedule when a serializer has worked it out
    # already for other fields; None: `instalment_lines` works it out.
    schedule: list[dict] | None = None

    class Meta:
        model = Pledge

    @extend_schema_field(InstalmentStatusSerializer(many=True))
    def get_instalments(self, pledge: Pledge) -> list[dict]:
        # many=True makes a ListSerializer, whose data is a list; the stubs type it as a Serializer's dict.
        return InstalmentStatusSerializer(instalment_lines(pledge, self.schedule), many=True).data  # type: ignore[return-value]


class PledgeStatusSerializer(PledgeTermsSerializer):
    """The donor's view of one pledge (its instalment schedule is worked
    out once, for `overdue` and `instalments`)."""

    reference_printed = serializers.SerializerMethodField()
    donor = serializers.CharField(source="donor.name")
    amount_usd = serializers.CharField(allow_null=True)
    overdue = serializers.SerializerMethodField()
    payments = StatusPaymentSerializer(many=True)
    bank_instructions = serializers.SerializerMethodField()
    schedule: list[dict]

    class Meta(PledgeTermsSerializer.Meta):
        fields = [
            "reference",
            "reference_printed",
            "status",
            "donor",
            "campaign",
            "session",
            "pledged_on",
            "amount",
            "currency",
            "amount_usd",
            "amount_paid",
            "amount_outstanding",
            "overdue",
            "payment_method",
            "earmark",
            "public_name",
            "public_amount",
            "instalments",
            "payments",
            "bank_instructions",
        ]

    def to_representation(self, pledge: Pledge) -> dict:
        self.schedule = pledge.instalment_schedule()
        return super().to_representation(pledge)

    def get_reference_printed(self, pledge: Pledge) -> str:
        return reference_for_print(pledge.reference)

    def get_overdue(self, pledge: Pledge) -> bool:
        return any(line["overdue"] for line in self.schedule)

    @extend_schema_field(BankInstructionsSerializer(allow_null=True))
    def get_bank_instructions(self, pledge: Pledge) -> dict | None:
        if pledge.payment_method != PaymentMethod.BANK_TRANSFER or pledge.amount_outstanding <= 0:
            return None
        return BankInstructionsSerializer(bank_instructions(pledge)).data


@extend_schema_view(
    get=extend_schema(
        operation_id="pledge_status",
        summary="A donor's private view of a pledge",
        responses={200: PledgeStatusSerializer, 404: PROBLEM},
        tags=["public"],
    ),
)
class PledgeStatusView(APIView):
    """The donor's own view of a pledge, reachable only with the secret in
    its URL. Read-only; never cached by shared caches."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request: Request, secret: str) -> Response:
        pledge = get_object_or_404(
            Pledge.objects.select_related("donor", "campaign", "session").prefetch_related("instalments", "payments"),
            status_secret=secret,
        )
        response = Response(PledgeStatusSerializer(pledge).data)
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
    response = document_response(request, body, etag, "application/json")
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


@extend_schema_view(
    post=extend_schema(
        operation_id="pledge_card_payment_start",
        summary="Start or resume the card payment of a pledge (donor, with the status secret)",
        request=None,
        responses={200: CardPaymentSerializer, 404: PROBLEM, 409: PROBLEM, 422: PROBLEM, 503: PROBLEM},
        tags=["public"],
    ),
)
class PledgeCardPaymentView(APIView):
    """Start (or resume) the card payment of a pledge, with the secret of
    its status link: for a donor whose first attempt failed, or who pays
    the next instalment."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PledgeSubmitThrottle]

    def post(self, request: Request, secret: str) -> Response:
        pledge = get_object_or_404(Pledge, status_secret=secret)
        response = Response(
            CardPaymentSerializer(card_payment_start(pledge=pledge, actor=Actor.donor("status link"))).data
        )
        response["Cache-Control"] = "no-store"
        return response


@extend_schema_view(
    post=extend_schema(
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
    ),
)
class StripeWebhookView(APIView):
    """Stripe's events: the signature is checked, the event stored by its
    id, and applying it queued after commit; the answer is quick. Event
    types we do not handle are acknowledged (2xx) and ignored."""

    permission_classes = [AllowAny]
    authentication_classes = []
    parser_classes = []

    def post(self, request: Request) -> Response:
        _, new = stripe_event_receive(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        return Response({"received": True, "duplicate": not new})
