"""Middleware of our own: body limits before anything reads a body, and the
Permissions-Policy header (Django has none)."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from backend.problems import problem_response

# Bank statement uploads are bigger: their own cap (STATEMENT_MAX_BYTES, checked
# on the file by the upload's parser), plus room for the multipart envelope.
STATEMENT_PATHS = ("/api/v1/statements/",)
MULTIPART_ENVELOPE_BYTES = 1024 * 1024


class RequestBodyLimitMiddleware:
    """Refuse a declared body larger than the API allows with a 413 problem,
    before any parser or the admin reads it. Bodies sent without a length
    (chunked) are capped by each parser as they are read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(400, "Content-Length is not a number.", code="invalid-content-length")
        if request.path.startswith(STATEMENT_PATHS):
            limit = settings.STATEMENT_MAX_BYTES + MULTIPART_ENVELOPE_BYTES
        else:
            limit = settings.API_MAX_JSON_BYTES
        if declared > limit:
            return problem_response(413, f"The request body is larger than {limit} bytes.", code="request-too-large")
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """What the browser may let our pages use: settings.PERMISSIONS_POLICY."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
