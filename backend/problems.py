"""RFC 9457 problem details for every error the API gives, in one place.

Every refusal has `type`, `title`, `status` and `detail`; invalid input adds
`errors`, a map from the field's path ("donor.email", "instalments.0.amount")
to its messages, and `codes`, the same paths to each message's stable code
("required", "amount-decimals"; see pledges.errors), which is what pages and
clients translate. Every problem names its own `code` too. Domain errors (`pledges.errors.DomainError`) map here, not
in views.
"""

import json
import logging
import sys
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response

from backend.outages import infrastructure_unavailable
from pledges.errors import DomainError, code_of

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "The request has invalid fields",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


def problem_type(code: str) -> str:
    return f"urn:vtf-pledges:problem:{code}"


def problem_body(status_code: int, detail: str, *, code: str = "", title: str = "", errors: dict | None = None) -> dict:
    body: dict[str, Any] = {
        "type": problem_type(code) if code else "about:blank",
        "title": title or TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
        body["codes"] = {path: [code_of(message) for message in messages] for path, messages in errors.items()}
    return body


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"donor.email": ["..."], "instalments.0.amount": [...]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" and prefix else f"{prefix}.{key}" if prefix else str(key)
            for path, messages in flatten_errors(value, name).items():
                flat.setdefault(path, []).extend(messages)
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            # Strings keep their class: DRF's ErrorDetail and our Refusal carry a code.
            return {prefix or "non_field_errors": [item if isinstance(item, str) else str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:
                for path, messages in flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    flat.setdefault(path, []).extend(messages)
        return flat
    return {prefix or "non_field_errors": [detail if isinstance(detail, str) else str(detail)]}


class RequestBodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request-too-large"


def problem_response(status_code: int, detail: str, *, code: str = "", headers: dict | None = None) -> JsonResponse:
    """A problem response outside DRF (middleware, Django's error handlers)."""
    response = JsonResponse(
        problem_body(status_code, detail, code=code), status=status_code, content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


UNAVAILABLE_DETAIL = "A service this request needs is briefly unavailable. Nothing was lost; try again shortly."


def unavailable_response(exc: BaseException) -> JsonResponse:
    """503 with Retry-After; the cause is logged, not shown."""
    logger.warning("service.unavailable", extra={"error": f"{type(exc).__name__}: {exc}"[:500]})
    return problem_response(
        503,
        UNAVAILABLE_DETAIL,
        code="service-unavailable",
        headers={"Retry-After": str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)},
    )


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    # Imported here: this module is a DRF setting (the parser), so DRF's
    # views cannot be imported while it loads.
    from rest_framework.views import exception_handler, set_rollback

    if infrastructure_unavailable(exc):
        set_rollback()
        body = problem_body(
            503,
            UNAVAILABLE_DETAIL,
            code="service-unavailable",
        )
        logger.warning("service.unavailable", extra={"error": f"{type(exc).__name__}: {exc}"[:500]})
        _render_as_json(context)
        return Response(
            body,
            status=503,
            content_type=PROBLEM_CONTENT_TYPE,
            headers={"Retry-After": str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)},
        )
    if isinstance(exc, DomainError):
        body = problem_body(exc.status, exc.detail, code=exc.code, title=exc.title, errors=exc.errors)
        _render_as_json(context)
        return Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handler answers

    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        fields = ", ".join(sorted(errors))
        detail = f"Check these fields: {fields}." if fields else "The request is invalid."
        body = problem_body(response.status_code, detail, code="invalid-input", errors=errors)
    else:
        message = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(message, "code", "") or getattr(exc, "default_code", "")
        title = "Malformed request" if isinstance(exc, exceptions.ParseError) else ""
        body = problem_body(response.status_code, str(message), code=str(code).replace("_", "-"), title=title)
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    _render_as_json(context)
    return response


def _render_as_json(context: dict) -> None:
    """A problem is JSON whatever the view renders otherwise (?format=csv)."""
    from rest_framework.renderers import JSONRenderer

    request = context.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE


def read_limited(stream, parser_context: dict | None) -> bytes:
    """The body, refused (413) past the view's `max_body_bytes` (else
    API_MAX_JSON_BYTES), by its declared length and again as it is read."""
    parser_context = parser_context or {}
    view = parser_context.get("view")
    limit = getattr(view, "max_body_bytes", None) or settings.API_MAX_JSON_BYTES
    request = parser_context.get("request")
    declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    if declared > limit:
        raise RequestBodyTooLarge(f"The request body is larger than {limit} bytes.")
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise RequestBodyTooLarge(f"The request body is larger than {limit} bytes.")
    return raw


class DecimalJSONParser(JSONParser):
    """JSON with every number read as Decimal, never float, and a size cap
    checked before parsing."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        raw = read_limited(stream, parser_context)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise exceptions.ParseError(f"The body is not valid JSON: {error}") from None


class LimitedFormParser(FormParser):
    """application/x-www-form-urlencoded, with the same size cap."""

    def parse(self, stream, media_type=None, parser_context=None):
        from django.http import QueryDict

        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        return QueryDict(read_limited(stream, parser_context), encoding=encoding)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _json_problem(request: HttpRequest, status_code: int, detail: str) -> JsonResponse:
    return JsonResponse(problem_body(status_code, detail), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_problem(request, 404, "There is nothing at this address.")


def server_error(request: HttpRequest) -> JsonResponse:
    # Django calls this while handling the exception: an outage is a 503.
    error = sys.exc_info()[1]
    if error is not None and infrastructure_unavailable(error):
        return unavailable_response(error)
    return _json_problem(request, 500, "The server failed to answer. The error has been logged.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_problem(request, 400, "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_problem(request, 403, "You are not allowed to do this.")
