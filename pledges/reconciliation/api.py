"""The reconciliation API: statements in, the review queue, the summary."""

from collections.abc import Callable
from decimal import Decimal

import django_filters
from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from backend.api import (
    PROBLEM,
    STAFF_ERRORS,
    ActionView,
    AmountField,
    MoneyField,
    ReferenceField,
    RequiredReasonSerializer,
    StaffDetail,
    StaffList,
    StrictSerializer,
    action_view,
    csv_download,
    staff_get,
    staff_operation,
)
from backend.problems import DecimalJSONParser
from pledges.audit import Actor
from pledges.filters import SearchFilter
from pledges.models import BankStatement, LineMatch, LineStatus, StatementLine
from pledges.money import format_amount
from pledges.reconciliation import imports, services
from pledges.reconciliation.imports_api import UPLOAD_FIELDS, StatementImportSerializer
from pledges.reconciliation.selectors import GROUPS, reconciliation_summary
from pledges.roles import IsReconciler, IsViewer

TAGS = ["staff: reconciliation"]


class StatementSerializer(serializers.ModelSerializer):
    # Declared where the API says more than the model. `kind` stays a string:
    # as an enum it would rename the reports' KindEnum in the schema.
    kind = serializers.CharField(help_text="statement, notification (camt.054) or intraday (camt.052, BAI2 interim)")
    balances = serializers.JSONField(help_text="The balances the bank states: type, amount, currency, date")
    report = serializers.JSONField(help_text="Lines, duplicates skipped, and matching progress and outcome")

    class Meta:
        model = BankStatement
        fields = [
            "id",
            "statement_id",
            "account",
            "file_format",
            "kind",
            "balances",
            "filename",
            "imported_at",
            "line_count",
            "report",
        ]
        read_only_fields = fields


class MatchSerializer(serializers.ModelSerializer):
    pledge = serializers.CharField(source="pledge.reference")
    amount = AmountField(currency_source="line_currency")

    class Meta:
        model = LineMatch
        fields = ["id", "pledge", "amount", "rule", "confidence", "explanation", "status", "payment"]
        read_only_fields = fields


class LineSerializer(serializers.ModelSerializer):
    amount = AmountField()
    charges = AmountField()
    matches = MatchSerializer(many=True)

    class Meta:
        model = StatementLine
        fields = [
            "id",
            "statement",
            "position",
            "account",
            "bank_reference",
            "direction",
            "amount",
            "charges",
            "currency",
            "booking_date",
            "value_date",
            "debtor_name",
            "remittance",
            "creditor_reference",
            "status",
            "note",
            "matches",
        ]
        read_only_fields = fields


class StatementLineFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=LineStatus.choices)
    statement = django_filters.NumberFilter(field_name="statement_id")
    currency = django_filters.CharFilter(lookup_expr="iexact")
    value_from = django_filters.DateFilter(field_name="value_date", lookup_expr="gte")
    value_until = django_filters.DateFilter(field_name="value_date", lookup_expr="lte")
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    q = SearchFilter(
        "debtor_name__icontains",
        "remittance__icontains",
        "bank_reference__iexact",
        label="Debtor, remittance text or bank reference",
    )

    class Meta:
        model = StatementLine
        fields: list[str] = []


@extend_schema_view(
    get=staff_operation("statement_list", "Imported statements (viewer)", tags=TAGS),
    post=staff_operation(
        "statement_import",
        "Import a bank statement (camt.053/054/052, MT940, BAI2 or CSV), whole or not at all (reconciler)",
        description=(
            "Multipart field `file`; the format is found from the content. ISO 20022 camt.053, camt.054 "
            "notifications and camt.052 intraday reports (001.02 to 001.13), SWIFT MT940 and BAI2 name their "
            "statements and accounts. CSV is read through `profile` (a saved CSV profile), else by its header "
            "names (English, French, German, Spanish, Dutch; see the README); `account` names the Fund's account, "
            "`currency` the currency of a file that names none, `date_order` (DMY, MDY) reads slashed dates. "
            "A file larger than STATEMENT_INLINE_MAX_BYTES is stored and imported by a task: the answer is 202 "
            "with the import to follow (GET /api/v1/statement-imports/{id}/). Lines are matched after the import; "
            "follow `report.matching`."
        ),
        request={"multipart/form-data": inline_serializer("StatementUpload", UPLOAD_FIELDS)},
        responses={201: StatementSerializer(many=True), 202: StatementImportSerializer, 413: PROBLEM},
        tags=TAGS,
    ),
)
class StatementCollection(StaffList):
    roles = {"POST": IsReconciler}
    serializer_class = StatementSerializer
    parser_classes = [MultiPartParser, FormParser, DecimalJSONParser]

    def get_queryset(self):
        return BankStatement.objects.order_by("-imported_at", "-id")

    def post(self, request: Request) -> Response:
        imports.upload_cap_install(request._request)
        upload = request.FILES.get("file")
        imports.upload_checked(upload)
        options = imports.import_options(request.data)
        if upload.size > settings.STATEMENT_INLINE_MAX_BYTES:
            job = imports.statement_import_queue(
                file=upload,
                filename=upload.name or "",
                size=upload.size,
                options=options,
                actor=Actor.staff(request.user),
            )
            location = reverse("statement-import-detail", kwargs={"pk": job.pk})
            return Response(StatementImportSerializer(job).data, status=202, headers={"Location": location})
        statements = services.statement_import(
            stream=upload.file, filename=upload.name or "", actor=Actor.staff(request.user), **options
        )
        for statement in statements:
            statement.refresh_from_db()
        return Response(StatementSerializer(statements, many=True).data, status=201)


@staff_get("statement_detail", "A statement and its import and matching report", tags=TAGS)
class StatementDetailView(StaffDetail):
    serializer_class = StatementSerializer
    queryset = BankStatement.objects.all()


def _lines() -> QuerySet:
    return StatementLine.objects.select_related("statement").prefetch_related(
        Prefetch("matches", queryset=LineMatch.objects.select_related("pledge", "line").order_by("-confidence"))
    )


@staff_get("statement_line_list", "Statement lines, the review queue (viewer)", tags=TAGS)
class StatementLineCollection(StaffList):
    """The review queue: filter on `status=unmatched&status=proposed`."""

    serializer_class = LineSerializer
    filterset_class = StatementLineFilter

    def get_queryset(self):
        return _lines().order_by("-value_date", "statement_id", "position")


class LineAcceptSerializer(StrictSerializer):
    settle_net = serializers.BooleanField(
        default=False, help_text="Settle the pledge in full, the shortfall recorded as bank charges"
    )


class AllocationSerializer(StrictSerializer):
    pledge = ReferenceField()
    amount = MoneyField(required=False, help_text="In the line's currency, charges included; all of it if omitted")


class ManualMatchSerializer(StrictSerializer):
    allocations = serializers.ListField(child=AllocationSerializer(), min_length=1, max_length=50)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class LineActionView(ActionView):
    """One review action on a line, named by the URL."""

    permission_classes = [IsReconciler]
    target_model, target_keyword = StatementLine, "line"
    responses = {200: LineSerializer}
    tags = TAGS

    def answer(self, result, *, pk: int) -> Response:
        return Response(LineSerializer(_lines().get(pk=pk)).data)


class LineMatchByHand(LineActionView):
    # A comment, not a docstring: the schema shows LineActionView's.
    # The allocations, as the service takes them.

    request_serializer = ManualMatchSerializer

    def arguments(self, data: dict) -> dict:
        parts = [services.AllocationRequest(reference=i["pledge"], amount=i.get("amount")) for i in data["allocations"]]
        return {"parts": parts, "reason": data["reason"]}


# What each review action does, as the schema says it.
LINE_ACTIONS = {
    "accept": "Accept the proposed match: the payment is recorded",
    "reject": "Reject the proposed match; the line waits for review",
    "match": "Match by hand, to one pledge or split across several",
    "unmatch": "Undo a match with reversing entries",
    "exclude": "Exclude a line that is not money for the Fund",
}


def line_action(
    action: str,
    service: Callable[..., object],
    request_serializer: type[Serializer] | None = None,
    *,
    base: type[LineActionView] = LineActionView,
) -> type[ActionView]:
    """The view of one review action, `statement_line_<action>` in the schema."""
    summary = f"{LINE_ACTIONS[action]} (reconciler)"
    return action_view(
        base, f"statement_line_{action}", summary, service=service, request_serializer=request_serializer
    )


LineAcceptView = line_action("accept", services.line_accept, LineAcceptSerializer)
LineRejectView = line_action("reject", services.line_reject)
LineMatchView = line_action("match", services.line_match_by_reference, base=LineMatchByHand)
LineUnmatchView = line_action("unmatch", services.line_unmatch, RequiredReasonSerializer)
LineExcludeView = line_action("exclude", services.line_exclude, RequiredReasonSerializer)


SUMMARY_MONEY = ("pledged", "paid", "outstanding", "overdue")
SUMMARY_USD = ("pledged_usd", "received_usd", "outstanding_usd", "overdue_usd")


class CSVRenderer(BaseRenderer):
    """Lets `?format=csv` (or Accept: text/csv) choose the CSV download; the
    view streams it itself."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else str(data).encode()


@extend_schema_view(
    get=extend_schema(
        operation_id="reconciliation_summary",
        summary="Pledged, received, outstanding and overdue per donor or campaign, in USD and original currency",
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=list(GROUPS), description="donor (default) or campaign"),
            OpenApiParameter("campaign", OpenApiTypes.STR),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses={200: OpenApiTypes.OBJECT, **STAFF_ERRORS},
        tags=TAGS,
    ),
)
class ReconciliationSummaryView(APIView):
    permission_classes = [IsViewer]
    renderer_classes = [JSONRenderer, CSVRenderer]

    def get(self, request: Request) -> Response | StreamingHttpResponse:
        by = request.query_params.get("by", "donor")
        if by not in GROUPS:
            raise serializers.ValidationError({"by": [f"One of {', '.join(GROUPS)}."]})
        rows = [
            {
                **row,
                **{name: format_amount(row[name] or Decimal(0), row["currency"]) for name in SUMMARY_MONEY},
                **{name: None if row[name] is None else format_amount(row[name], "USD") for name in SUMMARY_USD},
            }
            for row in reconciliation_summary(by=by, campaign=request.query_params.get("campaign", ""))
        ]
        if request.accepted_renderer.format != "csv":
            return Response({"by": by, "results": rows})
        columns = [*GROUPS[by], "currency", "pledges", *SUMMARY_MONEY, *SUMMARY_USD, "awaiting_rate"]
        return csv_download(
            columns,
            ([row[c] for c in columns] for row in rows),
            filename=f"reconciliation-{by}-{timezone.localdate():%Y-%m-%d}.csv",
        )
