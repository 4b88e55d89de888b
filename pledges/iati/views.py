"""GET /api/v1/public/iati/activities.xml: the IATI file, from the public
cache (rebuilt after any change the public can see), with its ETag."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from lxml import etree
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.api import NOT_MODIFIED, public_conditional
from pledges.iati.activities import iati_activities_xml
from pledges.public_cache import public_bytes

DOCUMENT_NAME = "iati:activities"


def iati_document() -> tuple[bytes, str]:
    return public_bytes(DOCUMENT_NAME, iati_activities_xml)


@dataclass(frozen=True)
class FeedEntry:
    title: str
    link: str
    description: str
    unique_id: str
    updateddate: datetime


def iati_feed_entry(request: HttpRequest) -> FeedEntry:
    """The IATI file as an entry of the reports' Atom feed, dated when the
    file now served was generated."""
    body, _ = iati_document()
    generated = etree.fromstring(body).get("generated-datetime")
    return FeedEntry(
        title="IATI activity file (IATI Standard 2.03): pledges, commitments and funds received",
        link=request.build_absolute_uri(reverse("iati-activities")),
        description=(
            "The Fund's incoming pledges (transaction type 13), commitments (11) and funds (1), one activity per "
            f"campaign, reported by {settings.IATI_REPORTING_ORG_NAME} ({settings.IATI_REPORTING_ORG_REF})."
        ),
        unique_id="urn:vtf-pledges:iati:activities",
        updateddate=datetime.fromisoformat(generated) if generated else timezone.now(),
    )


@extend_schema_view(
    get=extend_schema(
        operation_id="public_iati_activities",
        summary="The Fund's incoming pledges, commitments and funds as an IATI 2.03 activity file",
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="An IATI 2.03 activity file"),
            304: NOT_MODIFIED,
        },
        tags=["public"],
    ),
)
class IatiActivitiesView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request: Request) -> HttpResponse:
        body, etag = iati_document()
        response = HttpResponse(body, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="activities.xml"'
        return public_conditional(request, response, etag)
