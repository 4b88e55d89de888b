"""The staff API: pledges, payments, exchange rates, donors and the audit
trail. Every view checks a role (anonymous 401, wrong role 403); views
parse, call one service, render."""

from collections.abc import Callable, Iterator

from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import (
    STAFF_ERRORS,
    ActionView,
    AmountField,
    CountryField,
    CurrencyField,
    MoneyField,
    ReasonSerializer,
    ReferenceField,
    RequiredReasonSerializer,
    StaffDetail,
    StaffList,
    StrictSerializer,
    action_schema,
    action_view,
    csv_download,
    staff_get,
    staff_operation,
)
from backend.problems import DecimalJSONParser
from pledges import api
from pledges.audit import Actor
from pledges.donors import donor_erase, donor_merge
from pledges.errors import InvalidInput, Refusal
from pledges.exchange_rates import exchange_rate_set, exchange_rates_import
from pledges.filters import AuditFilter, DonorFilter, PaymentFilter, PledgeFilter
from pledges.models import (
    AuditEvent,
    Donor,
    DonorType,
    Earmark,
    ExchangeRate,
    Payment,
    PaymentMethod,
    Pledge,
)
from pledges.money import format_amount
from pledges.payments.services import PaymentDetails, payment_record, payment_reverse
from pledges.roles import IsFundAdmin, IsReconciler, IsViewer, RolePermission
from pledges.selectors import pledge_by_reference, pledge_for_staff, pledges_for_staff
from pledges.services import (
    DonorDetails,
    InstalmentTerms,
    PledgeChoices,
    PledgeTerms,
    pledge_amount_change,
    pledge_cancel,
    pledge_confirm,
    pledge_lapse,
    pledge_record_announced,
    pledge_verify,
)

# --- Serializers ------------------------------------------------------------


class DonorSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField(source="donor_type")
    country = serializers.CharField()


class DonorSerializer(DonorSummarySerializer):
    email = serializers.EmailField()
    contact_name = serializers.CharField()
    phone = serializers.CharField()
    language = serializers.CharField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    erased_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    # Issue 16: entered by fund admins in the admin; published in the IATI file.
    iati_org_ref = serializers.CharField(help_text="IATI organisation identifier, when staff entered one")


class PledgeListSerializer(api.PledgeTermsSerializer):
    donor = DonorSummarySerializer()
    usd_rate = serializers.DecimalField(max_digits=20, decimal_places=8, allow_null=True, normalize_output=True)
    usd_rate_missing = serializers.BooleanField()
    amount_overpaid = AmountField()
    overdue = serializers.BooleanField()

    class Meta(api.PledgeTermsSerializer.Meta):
        fields = [
            "reference",
            "status",
            "source",
            "donor",
            "campaign",
            "session",
            "amount",
            "currency",
            "amount_usd",
            "usd_rate",
            "usd_rate_date",
            "usd_rate_missing",
            "amount_paid",
            "amount_outstanding",
            "amount_overpaid",
            "amount_received_usd",
            "fees_usd",
            "overdue",
            "payment_method",
            "earmark",
            "pledged_on",
            "confirmed_on",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    pledge = serializers.CharField(source="pledge.reference")
    method = serializers.CharField()
    status = serializers.CharField()
    amount = AmountField()
    currency = serializers.CharField()
    amount_applied = AmountField(
        currency_source="pledge_currency", help_text="What it settles, in the pledge's currency"
    )
    pledge_currency = serializers.CharField(source="pledge.currency")
    amount_usd = serializers.DecimalField(max_digits=19, decimal_places=2, allow_null=True)
    fee = AmountField()
    fee_usd = serializers.DecimalField(max_digits=19, decimal_places=2, allow_null=True)
    received_on = serializers.DateField()
    bank_account = serializers.CharField()
    bank_reference = serializers.CharField(source="external_reference")
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
    taken_back_from = serializers.IntegerField(
        source="taken_back_from_id", allow_null=True, help_text="The payment a refund or lost dispute takes from"
    )
    review_reason = serializers.CharField(
        help_text="Why staff should look at it (a mismatch, a dispute); empty if fine"
    )
    dispute_status = serializers.CharField()
    note = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username", allow_null=True)
    created_at = serializers.DateTimeField()


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor_kind = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    pledge = serializers.CharField(source="pledge.reference", allow_null=True)
    old_values = serializers.JSONField()
    new_values = serializers.JSONField()
    reason = serializers.CharField()


class PledgeVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    amount = AmountField()
    currency = serializers.CharField()
    amount_usd = serializers.DecimalField(max_digits=19, decimal_places=2, allow_null=True)
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    reason = serializers.CharField()


class PledgeDetailSerializer(PledgeListSerializer):
    donor = DonorSerializer()
    payments = PaymentSerializer(many=True)
    versions = PledgeVersionSerializer(many=True)
    audit = serializers.SerializerMethodField()

    class Meta(PledgeListSerializer.Meta):
        fields = [
            *PledgeListSerializer.Meta.fields,
            "public_name",
            "public_amount",
            "statement",
            "close_reason",
            "instalments",
            "payments",
            "versions",
            "audit",
        ]
        read_only_fields = fields

    @extend_schema_field(AuditEventSerializer(many=True))
    def get_audit(self, pledge: Pledge) -> list[dict]:
        events = pledge.audit_events.order_by("-occurred_at", "-id")[:200]
        # many=True makes a ListSerializer, whose data is a list; the stubs type it as a Serializer's dict.
        return AuditEventSerializer(events, many=True).data  # type: ignore[return-value]


@extend_schema_field(OpenApiTypes.INT)
class DonorRefField(serializers.PrimaryKeyRelatedField):
    """An existing donor by id (merged donors are not offered)."""

    def get_queryset(self):
        return Donor.objects.filter(merged_into__isnull=True)


class AnnouncedDonorSerializer(StrictSerializer):
    id = DonorRefField(required=False, help_text="An existing donor; or give the details of a new one")
    name = serializers.CharField(max_length=200, required=False)
    type = serializers.ChoiceField(choices=DonorType.choices, required=False)
    country = CountryField(required=False, default="")
    email = serializers.EmailField(max_length=254, required=False, default="")

    def validate(self, attrs: dict) -> Donor | DonorDetails:
        if "id" in attrs:
            return attrs["id"]
        missing = [name for name in ("name", "type") if not attrs.get(name)]
        if missing:
            raise serializers.ValidationError(
                {name: ["Required for a new donor (or give its id)."] for name in missing}
            )
        return DonorDetails(
            name=attrs["name"], donor_type=attrs["type"], country=attrs["country"], email=attrs["email"]
        )


class AnnouncedPledgeSerializer(StrictSerializer):
    donor = AnnouncedDonorSerializer()
    amount = MoneyField()
    currency = CurrencyField()
    campaign = serializers.SlugField(max_length=64, required=False)
    session = serializers.SlugField(max_length=64, required=False, allow_null=True)
    announced_on = serializers.DateField(required=False, help_text="Defaults to the session's date")
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False, default="")
    earmark = serializers.ChoiceField(choices=Earmark.choices, default=Earmark.UNRESTRICTED)
    instalments = serializers.ListField(child=api.InstalmentInputSerializer(), required=False, default=list)
    public_name = serializers.BooleanField(default=True)
    public_amount = serializers.BooleanField(default=True)
    statement = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        terms = PledgeTerms(
            amount=attrs.pop("amount"),
            currency=attrs.pop("currency"),
            instalments=_instalments(attrs.pop("instalments")),
        )
        choices = PledgeChoices(
            earmark=attrs.pop("earmark"),
            public_name=attrs.pop("public_name"),
            public_amount=attrs.pop("public_amount"),
            statement=attrs.pop("statement"),
        )
        return {**attrs, "terms": terms, "choices": choices}


class ConfirmSerializer(ReasonSerializer):
    confirmed_on = serializers.DateField(
        required=False, help_text="The date of the written commitment; today if omitted"
    )


class AmountChangeSerializer(StrictSerializer):
    amount = MoneyField()
    instalments = serializers.ListField(
        child=api.InstalmentInputSerializer(), required=False, help_text="The new plan, required if it has one"
    )
    reason = serializers.CharField(max_length=2000)


class PaymentCreateSerializer(StrictSerializer):
    pledge = ReferenceField()
    amount = MoneyField(help_text="What the donor paid, before charges deducted on the way")
    currency = CurrencyField()
    received_on = serializers.DateField()
    method = serializers.ChoiceField(choices=[PaymentMethod.BANK_TRANSFER, PaymentMethod.OTHER])
    bank_reference = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    bank_account = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    fee = MoneyField(required=False, default=None, help_text="Charges deducted, in the payment's currency")
    amount_applied = MoneyField(
        required=False, default=None, help_text="What it settles, in the pledge's currency (converted when omitted)"
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ExchangeRateSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    currency = CurrencyField()
    rate = MoneyField(help_text="Currency units per one USD")
    valid_from = serializers.DateField()
    # A declared field, not Field.source: the serializer's metaclass takes it out of the class (the stubs cannot tell).
    source = serializers.CharField(read_only=True)  # type: ignore[assignment]
    created_at = serializers.DateTimeField(read_only=True)


class DonorMergeSerializer(StrictSerializer):
    duplicates = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=100)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


# --- Pledges ------------------------------------------------------------------


def _instalments(items: list[dict]) -> list[InstalmentTerms]:
    return [InstalmentTerms(due_date=i["due_date"], amount=i["amount"]) for i in items]


@staff_get(
    "pledge_list", "List pledges (viewer)", responses={200: PledgeListSerializer(many=True)}, tags=["staff: pledges"]
)
class PledgeCollection(api.PledgeCreateView, StaffList):
    """POST is the public intake (see `pledges.api`); GET is the staff list."""

    roles = {"POST": AllowAny}
    serializer_class = PledgeListSerializer
    filterset_class = PledgeFilter

    def get_queryset(self):
        return pledges_for_staff().order_by("-created_at")

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []


EXPORT_COLUMNS = [
    ("reference", "reference"),
    ("status", "status"),
    ("donor", "donor__name"),
    ("donor_type", "donor__donor_type"),
    ("country", "donor__country"),
    ("campaign", "campaign__slug"),
    ("session", "session__slug"),
    ("pledged_on", "pledged_on"),
    ("confirmed_on", "confirmed_on"),
    ("amount", "amount"),
    ("currency", "currency"),
    ("amount_paid", "amount_paid"),
    ("amount_usd", "amount_usd"),
    ("usd_rate", "usd_rate"),
    ("usd_rate_date", "usd_rate_date"),
    ("amount_received_usd", "amount_received_usd"),
    ("fees_usd", "fees_usd"),
    ("overdue", "overdue"),
    ("payment_method", "payment_method"),
    ("earmark", "earmark"),
]


@extend_schema_view(
    get=extend_schema(
        operation_id="pledge_export",
        summary="Export the filtered pledges as CSV (viewer)",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, many=True)],
        responses={(200, "text/csv"): OpenApiTypes.STR, **STAFF_ERRORS},
        tags=["staff: pledges"],
    ),
)
class PledgeExportView(generics.GenericAPIView):
    """The filtered pledge list as CSV, streamed row by row from a
    server-side cursor, so 100,000 pledges never sit in memory."""

    permission_classes = [IsViewer]
    filterset_class = PledgeFilter

    def get_queryset(self):
        return pledges_for_staff().order_by("pk")

    def get(self, request: Request) -> StreamingHttpResponse:
        rows = self.filter_queryset(self.get_queryset()).values_list(*[source for _, source in EXPORT_COLUMNS])
        names = [name for name, _ in EXPORT_COLUMNS]
        currency_at = names.index("currency")
        in_pledge_currency = [names.index("amount"), names.index("amount_paid")]

        def formatted() -> Iterator[list]:
            for row in rows.iterator(chunk_size=2000):
                values = list(row)
                for index in in_pledge_currency:
                    values[index] = format_amount(row[index], row[currency_at])
                yield values

        return csv_download(names, formatted(), filename=f"pledges-{timezone.localdate():%Y-%m-%d}.csv")


@staff_get(
    "pledge_detail",
    "A pledge with its payments, instalments, versions and audit history (viewer)",
    responses={200: PledgeDetailSerializer},
    tags=["staff: pledges"],
)
class PledgeDetailView(APIView):
    permission_classes = [IsViewer]

    def get(self, request: Request, reference: str) -> Response:
        return Response(PledgeDetailSerializer(pledge_for_staff(reference)).data)


def _detail(reference: str, status: int = 200) -> Response:
    return Response(PledgeDetailSerializer(pledge_for_staff(reference)).data, status=status)


@extend_schema_view(
    post=staff_operation(
        "pledge_record_announced",
        "Record a pledge announced from the floor (reconciler)",
        request=AnnouncedPledgeSerializer,
        responses={201: PledgeDetailSerializer},
        examples=[
            OpenApiExample(
                "Announced at Panel I",
                request_only=True,
                value={
                    "donor": {"name": "Republic of Belarus", "type": "member_state", "country": "BY"},
                    "amount": "50000.00",
                    "currency": "USD",
                    "session": "panel-1",
                },
            )
        ],
        tags=["staff: pledges"],
    ),
)
class PledgeAnnouncedView(APIView):
    permission_classes = [IsReconciler]

    def post(self, request: Request) -> Response:
        serializer = AnnouncedPledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pledge = pledge_record_announced(**serializer.validated_data, actor=Actor.staff(request.user))
        return _detail(pledge.reference, status=201)


def _pledge(reference: str) -> Pledge:
    pledge = pledge_by_reference(reference)
    if pledge is None:
        raise Http404
    return pledge


class PledgeActionView(ActionView):
    """A transition on one pledge: parse the body with `request_serializer`,
    call `service` with its fields, answer with the pledge's detail."""

    responses = {200: PledgeDetailSerializer}
    tags = ["staff: pledges"]

    def target(self, *, reference: str) -> dict:
        return {"pledge": _pledge(reference)}

    def answer(self, result, *, reference: str) -> Response:
        return _detail(reference)


class PledgeAmountChange(PledgeActionView):
    # A comment, not a docstring: the schema shows PledgeActionView's.
    # A new amount, and the new plan's instalments as the service takes them.

    request_serializer = AmountChangeSerializer

    def arguments(self, data: dict) -> dict:
        instalments = data.get("instalments")
        return {**data, "instalments": None if instalments is None else _instalments(instalments)}


def pledge_action(
    service: Callable[..., object],
    summary: str,
    role: type[RolePermission],
    request_serializer: type[serializers.Serializer] | None = None,
    *,
    base: type[PledgeActionView] = PledgeActionView,
) -> type[ActionView]:
    """The view of one transition, its operation named for its service and
    its summary saying the role it needs."""
    return action_view(
        base,
        service.__name__,
        f"{summary} ({role.role})",
        service=service,
        request_serializer=request_serializer,
        permission_classes=[role],
    )


PledgeVerifyView = pledge_action(pledge_verify, "Verify a web submission: submitted becomes announced", IsReconciler)
PledgeConfirmView = pledge_action(
    pledge_confirm, "Confirm: a firm written commitment, its USD value fixed", IsReconciler, ConfirmSerializer
)
PledgeCancelView = pledge_action(
    pledge_cancel, "Cancel a pledge with no money applied", IsFundAdmin, RequiredReasonSerializer
)
PledgeLapseView = pledge_action(pledge_lapse, "Lapse the remainder of a pledge", IsFundAdmin, RequiredReasonSerializer)
PledgeAmountView = pledge_action(
    pledge_amount_change, "Change the amount; the earlier version is kept", IsFundAdmin, base=PledgeAmountChange
)


# --- Payments ------------------------------------------------------------------


@extend_schema_view(
    get=staff_operation("payment_list", "List payments (viewer)", tags=["staff: payments"]),
    post=staff_operation(
        "payment_record",
        "Record a payment received (reconciler)",
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer},
        examples=[
            OpenApiExample(
                "A transfer in euros against a dollar pledge",
                request_only=True,
                value={
                    "pledge": "RF18VTF12K8M3Q7X",
                    "amount": "40000.00",
                    "currency": "EUR",
                    "received_on": "2012-06-15",
                    "method": "bank_transfer",
                    "bank_reference": "CHASUS33-20120615-000123",
                    "fee": "25.00",
                    "note": "First instalment",
                },
            )
        ],
        tags=["staff: payments"],
    ),
)
class PaymentCollection(StaffList):
    roles = {"POST": IsReconciler}
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    def get_queryset(self):
        return Payment.objects.select_related("pledge", "recorded_by").order_by("-created_at", "-id")

    def post(self, request: Request) -> Response:
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        pledge = pledge_by_reference(data["pledge"])
        if pledge is None:
            raise InvalidInput(
                {"pledge": [Refusal(f"No pledge has the reference {data['pledge']!r}.", "pledge-unknown")]}
            )
        payment = payment_record(
            pledge=pledge,
            details=PaymentDetails(
                amount=data["amount"],
                currency=data["currency"],
                received_on=data["received_on"],
                method=data["method"],
                bank_reference=data["bank_reference"],
                bank_account=data["bank_account"],
                fee=data["fee"] if data["fee"] is not None else PaymentDetails.fee,
                amount_applied=data["amount_applied"],
                note=data["note"],
            ),
            actor=Actor.staff(request.user),
        )
        return Response(PaymentSerializer(payment).data, status=201)


@staff_get("payment_detail", "A payment (viewer)", tags=["staff: payments"])
class PaymentDetailView(StaffDetail):
    serializer_class = PaymentSerializer
    queryset = Payment.objects.select_related("pledge", "recorded_by")


@action_schema("payment_reverse", "Reverse a wrong entry with a reversing entry (reconciler)")
class PaymentReverseView(ActionView):
    """A reversing entry takes a wrong payment back out; the answer is the reversal."""

    permission_classes = [IsReconciler]
    request_serializer = RequiredReasonSerializer
    service = payment_reverse
    target_model, target_keyword = Payment, "payment"
    responses = {201: PaymentSerializer}
    tags = ["staff: payments"]

    def answer(self, reversal: Payment, *, pk: int) -> Response:
        return Response(PaymentSerializer(reversal).data, status=201)


# --- Exchange rates ---------------------------------------------------------------


@extend_schema_view(
    get=staff_operation(
        "exchange_rate_list", "UN operational rates of exchange (viewer)", tags=["staff: exchange rates"]
    ),
    post=staff_operation(
        "exchange_rate_set",
        "Add or correct a rate; USD values waiting for it are computed (fund_admin)",
        request=ExchangeRateSerializer,
        responses={201: ExchangeRateSerializer, 200: ExchangeRateSerializer},
        examples=[
            OpenApiExample(
                "Euro, April 2012",
                request_only=True,
                value={"currency": "EUR", "rate": "0.757", "valid_from": "2012-04-01"},
            )
        ],
        tags=["staff: exchange rates"],
    ),
)
class ExchangeRateCollection(StaffList):
    roles = {"POST": IsFundAdmin}
    serializer_class = ExchangeRateSerializer
    filterset_fields = {"currency": ["exact"], "valid_from": ["gte", "lte"]}

    def get_queryset(self):
        return ExchangeRate.objects.order_by("currency", "-valid_from")

    def post(self, request: Request) -> Response:
        serializer = ExchangeRateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = exchange_rate_set(**serializer.validated_data, actor=Actor.staff(request.user))
        return Response(ExchangeRateSerializer(outcome.rate).data, status=201 if outcome.outcome == "added" else 200)


@extend_schema_view(
    post=extend_schema(
        operation_id="exchange_rate_import",
        summary="Import rates from CSV (currency,rate,valid_from) with a report (fund_admin)",
        request={"multipart/form-data": inline_serializer("RateImport", {"file": serializers.FileField()})},
        responses={
            200: inline_serializer(
                "RateImportReport",
                {
                    name: serializers.ListField(child=serializers.DictField())
                    for name in ("added", "changed", "unchanged", "refused")
                },
            ),
            **STAFF_ERRORS,
        },
        tags=["staff: exchange rates"],
    ),
)
class ExchangeRateImportView(APIView):
    permission_classes = [IsFundAdmin]
    parser_classes = [MultiPartParser, FormParser, DecimalJSONParser]

    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["Attach the CSV file as the multipart field `file`."]})
        if upload.size > 2 * 1024 * 1024:
            raise serializers.ValidationError({"file": ["At most 2 MB."]})
        report = exchange_rates_import(content=upload.read(), actor=Actor.staff(request.user))
        return Response(report.__dict__)


# --- Donors ----------------------------------------------------------------------------


@staff_get("donor_list", "Donors (viewer)", tags=["staff: donors"])
class DonorCollection(StaffList):
    serializer_class = DonorSerializer
    filterset_class = DonorFilter

    def get_queryset(self):
        return Donor.objects.order_by("name", "pk")


@staff_get("donor_detail", "A donor (viewer)", tags=["staff: donors"])
class DonorDetailView(StaffDetail):
    serializer_class = DonorSerializer
    queryset = Donor.objects.all()


class DonorActionView(ActionView):
    """An action on one donor, answered with the donor as it is now."""

    permission_classes = [IsFundAdmin]
    target_model, target_keyword = Donor, "donor"
    responses = {200: DonorSerializer}
    tags = ["staff: donors"]

    def answer(self, donor: Donor, *, pk: int) -> Response:
        return Response(DonorSerializer(donor).data)


@action_schema("donor_merge", "Merge duplicate donors into this one; their pledges move here (fund_admin)")
class DonorMergeView(DonorActionView):
    request_serializer = DonorMergeSerializer
    service = donor_merge
    target_keyword = "keep"

    def arguments(self, data: dict) -> dict:
        duplicates = list(Donor.objects.filter(pk__in=data["duplicates"]))
        missing = sorted(set(data["duplicates"]) - {d.pk for d in duplicates})
        if missing:
            raise serializers.ValidationError({"duplicates": [f"No donor has the id {i}." for i in missing]})
        return {"duplicates": duplicates, "reason": data["reason"]}


DonorEraseView = action_view(
    DonorActionView,
    "donor_erase",
    "Erase a person's contact details, keeping the financial record (fund_admin)",
    service=donor_erase,
    request_serializer=RequiredReasonSerializer,
)


# --- Audit trail --------------------------------------------------------------------------


@staff_get("audit_list", "The audit trail, with filters (viewer)", tags=["staff: audit"])
class AuditCollection(StaffList):
    """The audit trail, read-only: the API offers no way to change it."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditFilter

    def get_queryset(self):
        return AuditEvent.objects.select_related("pledge").order_by("-occurred_at", "-id")
