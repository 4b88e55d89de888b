"""The reports API: staff request, follow and publish reports; the public
lists the published ones (JSON and Atom) and downloads their files."""

from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import (
    NOT_MODIFIED,
    PROBLEM,
    STAFF_ERRORS,
    RolesByMethod,
    StaffPagination,
    StrictSerializer,
    public_conditional,
    staff_operation,
)
from pledges.audit import Actor
from pledges.iati.views import iati_feed_entry
from pledges.models import Event
from pledges.public_cache import public_cache_invalidate, public_document
from pledges.roles import IsFundAdmin, IsViewer
from pledges.selectors import campaign_get
from reports.models import REPORT_LANGUAGES, Report, ReportFile, ReportKind
from reports.services import ReportRequest, report_publish, report_request_and_queue

# --- Serializers ------------------------------------------------------------


class ReportCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ReportKind.values)
    campaign = serializers.SlugField(max_length=64, required=False)
    period_start = serializers.DateField(required=False, allow_null=True, default=None)
    period_end = serializers.DateField(required=False, allow_null=True, default=None)
    event = serializers.SlugField(max_length=64, required=False, allow_null=True, default=None)
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=REPORT_LANGUAGES), required=False, allow_empty=False
    )
    as_of = serializers.DateTimeField(required=False, allow_null=True, default=None)
    replaces = serializers.IntegerField(required=False, allow_null=True, default=None)
    correction_note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        campaign = campaign_get(attrs.get("campaign"))
        event = None
        if attrs.get("event"):
            event = Event.objects.filter(slug=attrs["event"]).first()
            if event is None:
                raise serializers.ValidationError({"event": [f"No event has the slug {attrs['event']!r}."]})
        replaces = None
        if attrs.get("replaces") is not None:
            replaces = Report.objects.filter(pk=attrs["replaces"]).first()
            if replaces is None:
                raise serializers.ValidationError({"replaces": [f"No report has the id {attrs['replaces']}."]})
        if replaces is not None and not attrs.get("correction_note"):
            raise serializers.ValidationError({"correction_note": ["Say what the correction changes."]})
        return {
            "request": ReportRequest(
                campaign=campaign,
                kind=attrs["kind"],
                period_start=attrs.get("period_start"),
                period_end=attrs.get("period_end"),
                event=event,
                as_of=attrs.get("as_of"),
                languages=tuple(attrs.get("languages") or REPORT_LANGUAGES),
                replaces=replaces,
                correction_note=attrs.get("correction_note", ""),
            )
        }


def file_url(request: Request, file: ReportFile, *, public: bool) -> str:
    name = "public-report-file" if public else "report-file"
    return request.build_absolute_uri(reverse(name, kwargs={"pk": file.report_id, "name": file.name}))


def files_data(request: Request, report: Report, *, public: bool) -> list[dict]:
    return [
        {
            "name": file.name,
            "language": file.language or None,
            "format": file.format,
            "url": file_url(request, file, public=public),
            "sha256": file.sha256,
            "size": file.size,
        }
        for file in report.files.all()
    ]


def report_data(request: Request, report: Report, *, public: bool = False) -> dict:
    replaced_by = getattr(report, "replaced_by", None)
    if public and replaced_by is not None and not replaced_by.is_published:
        replaced_by = None
    data = {
        "id": report.pk,
        "kind": report.kind,
        "campaign": report.campaign.slug,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "event": report.event.slug if report.event else None,
        "as_of": report.as_of,
        "languages": report.languages,
        "published_at": report.published_at,
        "replaces": report.replaces_id,
        "replaced_by": replaced_by.pk if replaced_by is not None else None,
        "correction_note": report.correction_note,
        "files": files_data(request, report, public=public or report.is_published),
    }
    if public:
        data["sha256sums"] = request.build_absolute_uri(
            reverse("public-report-file", kwargs={"pk": report.pk, "name": "SHA256SUMS"})
        )
    else:
        data |= {
            "status": report.status,
            "error": report.error,
            "attempts": report.attempts,
            "created_at": report.created_at,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "build_seconds": report.build_seconds,
            "languages_built": report.languages_built,
        }
    return data


TAGS = ["reports"]
REPORT_RESPONSE = OpenApiResponse(response=OpenApiTypes.OBJECT, description="A report with its status and files")


def report_operation(operation_id: str, summary: str, *, status: int = 200, **more: Any):
    """A staff operation answered with a report (`report_data`)."""
    return staff_operation(operation_id, summary, responses={status: REPORT_RESPONSE}, tags=TAGS, **more)


def _reports() -> QuerySet[Report]:
    return Report.objects.select_related("campaign", "event", "replaced_by").prefetch_related("files")


# --- Staff ------------------------------------------------------------------


@extend_schema_view(
    get=report_operation("reports_list", "Reports, newest first"),
    post=report_operation(
        "reports_request",
        "Ask for a report to be built (202); the same period and kind give the same report",
        status=202,
        request=ReportCreateSerializer,
    ),
)
class ReportCollection(RolesByMethod):
    roles = {"POST": IsFundAdmin}

    def get(self, request: Request) -> Response:
        paginator = StaffPagination()
        page = paginator.paginate_queryset(_reports(), request, view=self)
        return paginator.get_paginated_response([report_data(request, report) for report in page or []])

    def post(self, request: Request) -> Response:
        serializer = ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = report_request_and_queue(serializer.validated_data["request"], actor=Actor.staff(request.user))
        report = _reports().get(pk=report.pk)
        return Response(report_data(request, report), status=202)


@extend_schema_view(get=report_operation("reports_detail", "A report: its status and files"))
class ReportDetailView(RolesByMethod):
    def get(self, request: Request, pk: int) -> Response:
        return Response(report_data(request, get_object_or_404(_reports(), pk=pk)))


@extend_schema_view(
    post=report_operation(
        "reports_publish", "Publish a built report: its files become public and never change", request=None
    ),
)
class ReportPublishView(APIView):
    permission_classes = [IsFundAdmin]

    def post(self, request: Request, pk: int) -> Response:
        report = get_object_or_404(Report, pk=pk)
        with transaction.atomic():
            report_publish(report, actor=Actor.staff(request.user))
            transaction.on_commit(public_cache_invalidate)
        return Response(report_data(request, _reports().get(pk=pk)))


def _file_response(file: ReportFile, *, public: bool) -> FileResponse:
    response = FileResponse(
        default_storage.open(file.path, "rb"),
        content_type=file.content_type,
        as_attachment=file.format not in ("html", "pdf"),
        filename=file.name,
    )
    response["Content-Length"] = str(file.size)
    response["ETag"] = f'"{file.sha256}"'
    response["X-Content-SHA256"] = file.sha256
    response["Cache-Control"] = "public, max-age=31536000, immutable" if public else "private, no-store"
    return response


@extend_schema_view(
    get=extend_schema(operation_id="reports_file", responses={200: OpenApiTypes.BINARY, **STAFF_ERRORS}, tags=TAGS),
)
class ReportFileView(APIView):
    """A file of any report, drafts included, for staff."""

    permission_classes = [IsViewer]

    def get(self, request: Request, pk: int, name: str):
        return _file_response(get_object_or_404(ReportFile, report_id=pk, name=name), public=False)


# --- Public -----------------------------------------------------------------


def published_reports():
    return _reports().filter(published_at__isnull=False).order_by("-published_at", "-id")


@extend_schema_view(
    get=extend_schema(
        operation_id="public_reports",
        summary="Published reports with links to their files and each file's SHA-256",
        responses={200: OpenApiTypes.OBJECT, 304: NOT_MODIFIED, 404: PROBLEM},
        tags=["public"],
    ),
)
class PublicReportList(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request: Request) -> HttpResponse:
        slug = request.query_params.get("campaign") or ""

        def build() -> dict:
            reports = published_reports()
            if slug:
                reports = reports.filter(campaign=campaign_get(slug, field=""))
            return {"results": [report_data(request, report, public=True) for report in reports[:200]]}

        body, etag = public_document(f"reports:{request.get_host()}:{slug}", build)
        return public_conditional(request, HttpResponse(body, content_type="application/json"), etag)


@extend_schema_view(
    get=extend_schema(
        operation_id="public_report_file", responses={200: OpenApiTypes.BINARY, 404: PROBLEM}, tags=["public"]
    ),
)
class PublicReportFileView(APIView):
    """A file of a published report; drafts are not found."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request: Request, pk: int, name: str):
        report = get_object_or_404(Report, pk=pk, published_at__isnull=False)
        if name == "SHA256SUMS":
            lines = "".join(f"{file.sha256}  {file.name}\n" for file in report.files.all())
            response = HttpResponse(lines, content_type="text/plain; charset=utf-8")
            response["Cache-Control"] = "public, max-age=31536000, immutable"
            return response
        return _file_response(get_object_or_404(ReportFile, report=report, name=name), public=True)


class PublishedReportsFeed(Feed):
    feed_type = Atom1Feed
    title = "UN Voluntary Trust Fund for Victims of Trafficking: published pledge reports"
    subtitle = "Reports on pledges to the Fund, with links to their HTML, PDF, CSV and JSON files and SHA-256 digests."

    def __call__(self, request, *args, **kwargs):
        self.request = request
        return super().__call__(request, *args, **kwargs)

    def link(self):
        return reverse("public-report-list")

    def items(self):
        return published_reports()[: settings.REPORTS_FEED_ENTRIES]

    def item_title(self, item: Report) -> str:
        if item.kind == ReportKind.EVENT:
            assert item.event is not None, "an event report names its event"
            what = f"{item.campaign.title}: {item.event.title}"
        else:
            what = f"{item.campaign.title}: {item.period_start:%Y-%m-%d} to {item.period_end:%Y-%m-%d}"
        return f"Report {item.pk}: {what}" + (f" (replaces report {item.replaces_id})" if item.replaces_id else "")

    def item_description(self, item: Report) -> str:
        lines = [f"Figures as of {item.as_of:%Y-%m-%d %H:%M} UTC."]
        if item.correction_note:
            lines.append(f"Correction: {item.correction_note}")
        lines += [f"{file.name} sha256={file.sha256}" for file in item.files.all()]
        return "\n".join(lines)

    def item_link(self, item: Report) -> str:
        english = next((f for f in item.files.all() if f.language == "en" and f.format == "html"), None)
        file = english or next(iter(item.files.all()), None)
        if file is None:
            return reverse("public-report-list")
        return reverse("public-report-file", kwargs={"pk": item.pk, "name": file.name})

    def get_feed(self, obj, request):
        # Issue 16: the IATI activity file is listed beside the reports.
        feed = super().get_feed(obj, request)
        feed.add_item(**iati_feed_entry(request).__dict__)
        return feed

    def item_guid(self, item: Report) -> str:
        return f"urn:vtf-pledges:report:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Report):
        return item.published_at

    def item_updateddate(self, item: Report):
        return item.published_at

    def item_enclosures(self, item: Report):
        from django.utils.feedgenerator import Enclosure

        return [
            Enclosure(
                self.request.build_absolute_uri(reverse("public-report-file", kwargs={"pk": item.pk, "name": f.name})),
                str(f.size),
                f.content_type.split(";")[0],
            )
            for f in item.files.all()
            if f.format == "pdf"
        ]
