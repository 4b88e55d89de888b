"""The API around statement imports: the preview of a file, the progress
of a large file's import, and the banks' CSV profiles."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import PROBLEM, STAFF_ERRORS, RolesByMethod, StaffDetail, StaffList, staff_get, staff_operation
from backend.problems import DecimalJSONParser
from pledges.audit import Actor
from pledges.models import CsvProfile, StatementImport
from pledges.reconciliation import imports
from pledges.roles import IsReconciler

TAGS = ["staff: reconciliation"]

UPLOAD_FIELDS: dict[str, serializers.Field] = {
    "file": serializers.FileField(),
    "account": serializers.CharField(required=False, help_text="The Fund's account (CSV); default: the profile's"),
    "date_order": serializers.ChoiceField(choices=["auto", "DMY", "MDY"], required=False),
    "currency": serializers.CharField(required=False, help_text="For a CSV file that names no currency"),
    "profile": serializers.CharField(required=False, help_text="A CSV profile's id or name"),
}


class StatementImportSerializer(serializers.ModelSerializer):
    lines_read = serializers.SerializerMethodField(help_text="While running: lines read so far")
    statements = serializers.SerializerMethodField()
    outcome = serializers.JSONField(help_text="Done: lines; refused: the problem (status, code, detail, errors)")

    class Meta:
        model = StatementImport
        fields = [
            "id",
            "status",
            "filename",
            "size",
            "created_at",
            "started_at",
            "finished_at",
            "lines_read",
            "statements",
            "outcome",
        ]
        read_only_fields = fields

    def get_lines_read(self, job: StatementImport) -> int | None:
        return imports.statement_import_progress(job)

    def get_statements(self, job: StatementImport) -> list[int]:
        return sorted(job.statements.values_list("pk", flat=True))


@staff_get(
    "statement_import_detail",
    "A large file's import: queued, running (lines read), imported or refused (viewer)",
    tags=TAGS,
)
class StatementImportDetailView(StaffDetail):
    serializer_class = StatementImportSerializer
    queryset = StatementImport.objects.all()


@extend_schema_view(
    post=extend_schema(
        operation_id="statement_preview",
        summary="The first lines of a statement file as the import will read them; nothing is stored (reconciler)",
        request={"multipart/form-data": inline_serializer("StatementPreviewUpload", UPLOAD_FIELDS)},
        responses={200: OpenApiTypes.OBJECT, 413: PROBLEM, **STAFF_ERRORS},
        tags=TAGS,
    ),
)
class StatementPreviewView(APIView):
    permission_classes = [IsReconciler]
    parser_classes = [MultiPartParser, FormParser]

    def post(self, request: Request) -> Response:
        imports.upload_cap_install(request._request)
        upload = request.FILES.get("file")
        imports.upload_checked(upload)
        options = imports.import_options(request.data)
        return Response(imports.statement_preview(stream=upload.file, options=options))


class CsvProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = CsvProfile
        fields = ["id", "name", *imports.PROFILE_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields


class CsvProfileInput(serializers.Serializer):
    """Checked by the service as the importer will use it; here only shapes."""

    name = serializers.CharField(max_length=100)
    account = serializers.CharField(max_length=64, required=False, allow_blank=True)
    encoding = serializers.CharField(max_length=16, required=False)
    delimiter = serializers.CharField(max_length=2, required=False, allow_blank=True, trim_whitespace=False)
    skip_lines = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    has_header = serializers.BooleanField(required=False)
    columns = serializers.DictField(required=False, help_text="Field -> column name, or 1-based column number")
    date_order = serializers.CharField(max_length=4, required=False)
    decimal_separator = serializers.CharField(max_length=4, required=False)
    sign = serializers.CharField(max_length=16, required=False)
    credit_words = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, required=False)
    debit_words = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, required=False)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True)


def csv_profile_save(request: Request, profile: CsvProfile | None = None) -> Response:
    """A new profile (201) or a changed one (200), from the request's body."""
    data = CsvProfileInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    saved = imports.csv_profile_save(
        name=values.pop("name"), values=values, actor=Actor.staff(request.user), profile=profile
    )
    return Response(CsvProfileSerializer(saved).data, status=201 if profile is None else 200)


def csv_profile_operation(operation_id: str, summary: str, status: int):
    """Saving a profile, in the schema: the body it reads, the profile it answers."""
    return staff_operation(
        operation_id, summary, request=CsvProfileInput, responses={status: CsvProfileSerializer}, tags=TAGS
    )


@extend_schema_view(
    get=staff_operation("csv_profile_list", "The banks' CSV profiles (viewer)", tags=TAGS),
    post=csv_profile_operation("csv_profile_create", "Save how a bank writes its CSV export (reconciler)", 201),
)
class CsvProfileCollection(StaffList):
    roles = {"POST": IsReconciler}
    serializer_class = CsvProfileSerializer
    parser_classes = [DecimalJSONParser]
    queryset = CsvProfile.objects.order_by("name")

    def post(self, request: Request) -> Response:
        return csv_profile_save(request)


@extend_schema_view(
    get=staff_operation(
        "csv_profile_detail",
        "A bank's CSV profile (viewer)",
        responses={200: CsvProfileSerializer},
        tags=TAGS,
    ),
    put=csv_profile_operation("csv_profile_change", "Change a bank's CSV profile (reconciler)", 200),
)
class CsvProfileDetailView(RolesByMethod, generics.GenericAPIView):
    roles = {"PUT": IsReconciler}
    parser_classes = [DecimalJSONParser]
    serializer_class = CsvProfileSerializer
    queryset = CsvProfile.objects.all()

    def get(self, request: Request, pk: int) -> Response:
        return Response(CsvProfileSerializer(get_object_or_404(CsvProfile, pk=pk)).data)

    def put(self, request: Request, pk: int) -> Response:
        return csv_profile_save(request, get_object_or_404(CsvProfile, pk=pk))
