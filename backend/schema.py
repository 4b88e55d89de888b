"""Make the OpenAPI schema say what the API does (checked by schemathesis in
tests/test_schema_fuzz.py).

- Every error is documented as `application/problem+json` with the Problem
  schema, and every operation lists the errors it can give: 400 where it
  takes input, 401 and 403 where it needs a signed-in role, 404 where its
  path names something, 413 and 415 where it takes a body, 429 (throttles
  and lockouts) and 503 (an outage, with Retry-After) everywhere.
- Request bodies whose serializer refuses unknown fields say so
  (`additionalProperties: false`).
- Bounds the code enforces are in the schema: `page` >= 1, `page_size`
  1..max_page_size, `limit` 1..100.
- Money is a plain decimal string (a JSON number is also read in requests).
- An e-mail address we send may be empty (not every donor gave one): the
  response schema says "an e-mail address, or empty", not `format: email`.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from backend.api import PLAIN_DECIMAL, MoneyField, StrictSerializer
from backend.problems import PROBLEM_CONTENT_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Messages per field path (donor.email, instalments.0.amount)",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail"],
}
DESCRIPTIONS = {
    "400": "Invalid input: the problem names each field under `errors`",
    "401": "Not signed in, or the token is unknown, expired or revoked",
    "403": "Signed in without the role this needs",
    "404": "Nothing at this address",
    "405": "Method not allowed",
    "413": "The request body is too large",
    "415": "Unsupported media type",
    "429": "Too many requests (throttled, or signing in locked out); see Retry-After",
    "503": "A service this needs (the database) is briefly unavailable; see Retry-After",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer", "minimum": 0}, "description": "Seconds to wait"}}


class AutoSchema(SpectacularAutoSchema):
    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, MoneyField):
            # A plain decimal string ("250000.00"); requests may also send a JSON number.
            text = {
                "type": "string",
                "pattern": f"^{PLAIN_DECIMAL.pattern}$",
                "description": schema.get("description", ""),
            }
            return text if direction == "response" else {"anyOf": [text, {"type": "number"}]}
        if direction == "response" and isinstance(field, serializers.EmailField) and schema.get("format") == "email":
            schema.pop("format")
            schema["description"] = (schema.get("description", "") + " An e-mail address, or empty when none.").strip()
        return schema


def _problem_response(code: str, existing: dict | None) -> dict:
    response = {
        "description": (existing or {}).get("description") or DESCRIPTIONS.get(code, "Problem"),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
    }
    if code in ("429", "503"):
        response["headers"] = RETRY_AFTER
    return response


def _reads_credentials(operation: dict) -> bool:
    """A token or session is read: a bad token is a 401, a session POST
    without its CSRF token a 403, even where anonymous callers are welcome."""
    return any(requirement for requirement in operation.get("security", []))


def _takes_body(method: str, operation: dict) -> bool:
    return method in ("post", "put", "patch") or "requestBody" in operation


NO_NUL_CHARACTERS = "^[^\\x00]*$"
# A moment's offset from UTC as the filters take it: within 14 hours either way.
EXISTING_UTC_OFFSET = "(Z|z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)$"


def _bound_parameters(operation: dict) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") != "query" or schema.get("type") != "integer":
            continue
        if parameter["name"] == "page":
            schema["minimum"] = 1
        elif parameter["name"] == "page_size":
            schema.update(minimum=1, maximum=500)
        elif parameter["name"] == "limit":
            schema.update(minimum=1, maximum=100, default=20)


def _empty_means_unfiltered(operation: dict) -> None:
    """A query filter given empty (?status=) is ignored, as django-filter
    does: the schema allows the empty string for every string filter. A
    free-text filter refuses NUL characters (Django's form fields do), which
    the schema says with a pattern."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "query" and schema.get("type") == "string" and parameter["name"] != "format":
            if schema.get("format") == "date-time":
                schema["pattern"] = EXISTING_UTC_OFFSET
            elif not {"enum", "format", "pattern"} & set(schema):
                schema["pattern"] = NO_NUL_CHARACTERS
            parameter["schema"] = {"anyOf": [schema, {"type": "string", "enum": [""]}]}


def problem_responses_hook(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            wanted = {"429", "503"}
            if operation.get("parameters") or _takes_body(method, operation):
                wanted.add("400")
            if _reads_credentials(operation):
                wanted |= {"401", "403"}
            if "{" in path or any(p.get("name") == "page" for p in operation.get("parameters", [])):
                wanted.add("404")  # what the path names is not there, or a page past the last
            if _takes_body(method, operation):
                wanted |= {"413", "415"}
            for code in sorted(wanted | {code for code in responses if code[0] in "45"}):
                responses[code] = _problem_response(code, responses.get(code))
            _bound_parameters(operation)
            _empty_means_unfiltered(operation)
    return result
