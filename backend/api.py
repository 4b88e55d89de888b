"""What every API view shares: the input fields that parse money, currencies
and countries; the output field that shows an amount in its currency's
minor units; the Problem responses the schema names; the staff lists'
pagination; CSV downloads; and conditional GET, done by Django's own
`get_conditional_response`.

The apps' views import from here, never from each other's modules.
"""

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pycountry
from django.conf import settings
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pledges.audit import Actor
from pledges.errors import Refusal
from pledges.money import format_amount, is_currency
from pledges.roles import IsViewer

# --- Problem responses --------------------------------------------------------

# The body and content type are filled in by backend.schema's hook, which
# gives every error response the one Problem schema.
PROBLEM = OpenApiResponse(description="RFC 9457 problem details (application/problem+json)")
STAFF_ERRORS = {400: PROBLEM, 401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM}


def staff_operation(operation_id: str, summary: str, *, tags: list[str], responses: dict | None = None, **more: Any):
    """A staff operation in the schema. `responses` are its answers, to
    which the Problem responses of a staff view are added; without them the
    answer is read from the view's serializer."""
    if responses is not None:
        more["responses"] = {**responses, **STAFF_ERRORS}
    return extend_schema(operation_id=operation_id, summary=summary, tags=tags, **more)


def staff_get(operation_id: str, summary: str, *, tags: list[str], responses: dict | None = None):
    """Document a view's one GET (a list, or one object) as a staff operation."""
    return extend_schema_view(get=staff_operation(operation_id, summary, tags=tags, responses=responses))


# --- Input ----------------------------------------------------------------------


def json_type_errors(fields: dict, data) -> dict[str, list[str]]:
    """Values of the wrong JSON type, which DRF would otherwise coerce
    ("true" for true, 5 for "5"): refused, as the schema says."""
    if not isinstance(data, dict):
        return {}
    errors: dict[str, list[str]] = {}
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


class ReferenceField(serializers.CharField):
    """A pledge's RF reference as a person typed it (spaces, any case); the
    selector `pledge_by_reference` reads it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The pledge's RF reference")
        super().__init__(max_length=40, **kwargs)


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RequiredReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


# --- Actions ------------------------------------------------------------------


class ActionView(APIView):
    """One staff action on the object the URL names: the body parsed by
    `request_serializer`, `service` called with the object (`target`), the
    actor and the body's fields (`arguments`), the answer made of what the
    service returns (`answer`)."""

    request_serializer: type[serializers.Serializer] = ReasonSerializer
    service: Callable[..., object]
    # By default the object is the row of `target_model` the URL's pk names,
    # given to the service as `target_keyword`.
    target_model: type[Model]
    target_keyword: str
    # The schema's: the answers (the staff errors are added) and the tags.
    responses: dict[int, Any]
    tags: list[str]

    # `*args: Any, **url: Any`: each view names its own URL keywords.
    def target(self, *args: Any, **url: Any) -> dict:
        return {self.target_keyword: get_object_or_404(self.target_model, pk=url["pk"])}

    def arguments(self, data: dict) -> dict:
        return dict(data)

    def answer(self, result: Any, *args: Any, **url: Any) -> Response:
        raise NotImplementedError

    def post(self, request: Request, **url) -> Response:
        serializer = self.request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The object first: an unknown one is a 404 before the body's own lookups.
        target = self.target(**url)
        result = type(self).service(
            **target, actor=Actor.staff(request.user), **self.arguments(serializer.validated_data)
        )
        return self.answer(result, **url)


def action_schema(operation_id: str, summary: str):
    """Document an action view in the schema, its request, answers and tags
    from the view's own `request_serializer`, `responses` and `tags`."""

    def decorate(view: type[ActionView]) -> type[ActionView]:
        return extend_schema_view(
            post=staff_operation(
                operation_id, summary, request=view.request_serializer, responses=view.responses, tags=view.tags
            )
        )(view)

    return decorate


def action_view(base: type[ActionView], operation_id: str, summary: str, **attributes: Any) -> type[ActionView]:
    """A documented action view: `base` with `attributes` (its `service`,
    `request_serializer`, `permission_classes`; None keeps the base's)."""
    given = {name: value for name, value in attributes.items() if value is not None}
    name = "".join(word.title() for word in operation_id.split("_")) + "View"  # pledge_verify: PledgeVerifyView
    view = type(name, (base,), {"__module__": base.__module__, **given})
    return action_schema(operation_id, summary)(view)


# --- Output ---------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class AmountField(serializers.Field):
    """An amount shown with its currency's minor units ("250000.00",
    "5000000" for JPY), the currency read from the same object."""

    def __init__(self, *, currency_source: str = "currency", **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.currency_source = currency_source

    def get_attribute(self, instance):
        return super().get_attribute(instance), getattr(instance, self.currency_source)

    def to_representation(self, value):
        amount, currency = value
        return None if amount is None else format_amount(amount, currency)


# No docstrings on the bases below: drf-spectacular would show them as the
# description of every view made from them.


class _Nobody(BasePermission):
    def has_permission(self, request, view) -> bool:
        return False


class RolesByMethod(APIView):
    # Viewers read; a method named in `roles` (POST, PUT) needs that role. A
    # write the view answers but `roles` does not name is refused to everyone
    # (fails closed, not open to viewers); one it does not answer stays a 405.

    roles: dict[str, type[BasePermission]] = {}

    def get_permissions(self) -> list[BasePermission]:
        method = self.request.method or ""
        if method in self.roles:
            return [self.roles[method]()]
        if method in SAFE_METHODS or not hasattr(self, method.lower()):
            return [IsViewer()]
        return [_Nobody()]


class StaffPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        # Out of range is refused, not silently clamped (the schema says 1..500).
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise serializers.ValidationError({"page_size": [f"A whole number from 1 to {self.max_page_size}."]})
        return super().get_page_size(request)


class StaffList(RolesByMethod, generics.ListAPIView):
    # A staff list, a page at a time.

    pagination_class = StaffPagination


class StaffDetail(RolesByMethod, generics.RetrieveAPIView):
    pass  # One object, for viewers.


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_download(header: list[str], rows: Iterable[list], *, filename: str) -> StreamingHttpResponse:
    """A CSV file streamed row by row (UTF-8 with a BOM, so spreadsheet
    programs read accents and non-Latin scripts), empty cells for None."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(["" if value is None else value for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Conditional GET --------------------------------------------------------------

NOT_MODIFIED = OpenApiResponse(description="Not modified")


def public_conditional(request: HttpRequest, response: HttpResponse, etag: str) -> HttpResponse:
    """A public, cacheable document with its ETag, or 304 Not Modified when
    the client's If-None-Match has it (compared weakly, RFC 9110 13.1.2: a
    proxy that compresses the body hands the client W/"..." for our tag)."""
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE, stale_while_revalidate=60)
    patch_vary_headers(response, ["Accept-Encoding"])
    conditional = get_conditional_response(request, etag=etag, response=response)
    # Given a response, Django answers with it or a 304, never None.
    return response if conditional is None else conditional
