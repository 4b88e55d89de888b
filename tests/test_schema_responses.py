"""Every answer is one the OpenAPI schema documents: representative requests
for every operation (successes and refusals, by the roles that send them) go
through the test client, and each answer's status must be listed for its
operation, its content type declared for that status, and its body valid
against the declared schema. An undocumented status fails; so does an
operation of the schema no request here exercises."""

import json
import re
from decimal import Decimal

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from pledges.models import Payment, PaymentMethod, StatementLine
from tests.conftest import pledge_body
from tests.factories import DonorFactory
from tests.helpers import days_ago
from tests.statements import Entry, camt053, confirmed_pledge

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def openapi() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def _json_schema(node, components: dict, seen: tuple = ()):
    """An OpenAPI 3.0 schema as JSON Schema: references inlined, and
    `nullable` spelt as JSON Schema says it."""
    if isinstance(node, list):
        return [_json_schema(item, components, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        assert name not in seen, f"recursive schema {name}"
        return _json_schema(components[name], components, (*seen, name))
    schema = {key: _json_schema(value, components, seen) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _operation(openapi: dict, method: str, path: str) -> tuple[str, dict]:
    # Literal paths first: /pledges/export/ is not the pledge "export".
    for template, item in sorted(openapi["paths"].items(), key=lambda path: path[0].count("{")):
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is no operation of the schema")


def assert_documented(openapi: dict, response) -> str:
    """The response is one its operation documents; returns the operation's id."""
    request = response.wsgi_request
    template, operation = _operation(openapi, request.method, request.path)
    status = str(response.status_code)
    where = f"{request.method} {template} answered {status}"
    assert status in operation["responses"], f"{where}, which the schema does not document: {response.content[:300]}"
    documented = operation["responses"][status].get("content", {})
    if not documented:
        assert not response.content, f"{where} with a body the schema does not document"
        return operation["operationId"]
    content_type = response["Content-Type"].split(";")[0].strip()
    assert content_type in documented, f"{where} as {content_type}, not {sorted(documented)}"
    if content_type.endswith("json"):
        schema = _json_schema(documented[content_type].get("schema", {}), openapi["components"]["schemas"])
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(response.json()), key=str)
        assert not errors, f"{where}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
    return operation["operationId"]


def payment_body(reference: str, amount: str) -> dict:
    """A payment received two days ago, other than by bank transfer."""
    return {
        "pledge": reference,
        "amount": amount,
        "currency": "USD",
        "received_on": str(days_ago(2)),
        "method": PaymentMethod.OTHER,
    }


@pytest.fixture
def world(client_for, viewer, reconciler, fund_admin, statement_upload):
    """One of everything the API shows: a bank-transfer pledge made through
    the API, a confirmed pledge with a payment, a statement with a matched
    and an unmatched line, a donor to merge and one to erase, a CSV profile."""
    public = client_for(None)
    made = public.post("/api/v1/pledges/", pledge_body(), format="json")
    assert made.status_code == 201, made.content
    confirmed = confirmed_pledge("1000.00")
    staff = client_for(reconciler)
    paid = staff.post("/api/v1/payments/", payment_body(confirmed.reference.lower(), "100.00"), format="json")
    assert paid.status_code == 201, paid.content
    matched = confirmed_pledge("500.00")
    entries = [Entry("500.00", text=f"pledge {matched.reference}"), Entry("70.00", debtor="Someone", text="gift")]
    statement = statement_upload(camt053(entries))
    assert statement.status_code == 201, statement.content
    profile = staff.post("/api/v1/csv-profiles/", {"name": "Bank A"}, format="json")
    return {
        "public": public,
        "viewer": client_for(viewer),
        "reconciler": staff,
        "fund_admin": client_for(fund_admin),
        "made": made.json(),
        "confirmed": confirmed,
        "payment": Payment.objects.get(pk=paid.json()["id"]),
        "statement": statement.json()[0]["id"],
        "matched_line": StatementLine.objects.get(bank_reference=entries[0].bank_reference),
        "unmatched_line": StatementLine.objects.get(bank_reference=entries[1].bank_reference),
        "profile": profile.json()["id"],
        "donors": (DonorFactory(name="Keep"), DonorFactory(name="Duplicate"), DonorFactory(name="Erase me")),
    }


def _secret(world) -> str:
    return world["made"]["status_url"].rstrip("/").rsplit("/", 1)[1]


def _requests(w) -> list:
    """(client, method, path, body, format) for every operation, in an order
    in which each finds what it needs."""
    p, v, r, a = w["public"], w["viewer"], w["reconciler"], w["fund_admin"]
    ref = w["confirmed"].reference
    made = w["made"]["reference"]
    keep, duplicate, erase = w["donors"]
    today = str(timezone.localdate())
    csv_rates = SimpleUploadedFile("rates.csv", f"currency,rate,valid_from\nGBP,0.64,{today}\n".encode())
    upload = SimpleUploadedFile("statement.xml", camt053([Entry("12.00", debtor="Preview")]))
    return [
        # Public
        (p, "get", "/api/v1/public/totals/", None, None),
        (p, "get", "/api/v1/public/pledges/", None, None),
        (p, "get", "/api/v1/public/pledges/?limit=0", None, None),
        (p, "get", "/api/v1/public/reports/", None, None),
        (p, "get", "/api/v1/public/reports/999/files/report.pdf", None, None),
        (p, "get", "/api/v1/public/iati/activities.xml", None, None),
        (p, "get", f"/api/v1/pledges/status/{_secret(w)}/", None, None),
        (p, "get", "/api/v1/pledges/status/no-such-secret/", None, None),
        (p, "post", f"/api/v1/pledges/status/{_secret(w)}/payment/", None, None),
        (p, "post", "/api/v1/pledges/", pledge_body(amount="oops"), "json"),
        (p, "post", "/api/v1/payments/stripe/webhook/", {}, "json"),
        (p, "post", "/api/v1/auth/token/", {"username": "nobody", "password": "wrong"}, "json"),
        (p, "post", "/api/v1/auth/token/revoke/", None, None),
        (p, "post", "/api/v1/auth/token/revoke-all/", None, None),
        # Staff: pledges
        (v, "get", "/api/v1/pledges/", None, None),
        (p, "get", "/api/v1/pledges/", None, None),
        (v, "get", "/api/v1/pledges/export/", None, None),
        (v, "get", f"/api/v1/pledges/{ref.lower()}/", None, None),
        (v, "get", "/api/v1/pledges/RF00NOSUCHPLEDGE/", None, None),
        (r, "post", f"/api/v1/pledges/{made}/verify/", {}, "json"),
        (r, "post", f"/api/v1/pledges/{made}/confirm/", {}, "json"),
        (r, "post", f"/api/v1/pledges/{made}/confirm/", {}, "json"),
        (a, "post", f"/api/v1/pledges/{ref}/amount/", {"amount": "1200.00", "reason": "Letter"}, "json"),
        (a, "post", f"/api/v1/pledges/{ref}/lapse/", {"reason": "Nothing more will come"}, "json"),
        (a, "post", f"/api/v1/pledges/{ref}/cancel/", {"reason": "Money was applied"}, "json"),
        (v, "post", f"/api/v1/pledges/{ref}/cancel/", {"reason": "Not my role"}, "json"),
        (
            r,
            "post",
            "/api/v1/pledges/announced/",
            {"donor": {"name": "Republic of Belarus", "type": "member_state"}, "amount": "50.00", "currency": "USD"},
            "json",
        ),
        (r, "post", "/api/v1/pledges/announced/", {"donor": {"id": keep.pk}, "amount": "5", "currency": "XYZ"}, "json"),
        # Staff: payments
        (v, "get", "/api/v1/payments/", None, None),
        (v, "get", f"/api/v1/payments/{w['payment'].pk}/", None, None),
        (r, "post", "/api/v1/payments/", {"pledge": "RF00 NOSUCH", "amount": "1"}, "json"),
        (r, "post", f"/api/v1/payments/{w['payment'].pk}/reverse/", {"reason": "Booked twice"}, "json"),
        # Staff: exchange rates, donors, audit
        (v, "get", "/api/v1/exchange-rates/", None, None),
        (a, "post", "/api/v1/exchange-rates/", {"currency": "GBP", "rate": "0.63", "valid_from": today}, "json"),
        (a, "post", "/api/v1/exchange-rates/import/", {"file": csv_rates}, "multipart"),
        (v, "get", "/api/v1/donors/", None, None),
        (v, "get", f"/api/v1/donors/{keep.pk}/", None, None),
        (a, "post", f"/api/v1/donors/{keep.pk}/merge/", {"duplicates": [duplicate.pk]}, "json"),
        (a, "post", f"/api/v1/donors/{erase.pk}/erase/", {"reason": "The person asked"}, "json"),
        (v, "get", "/api/v1/audit/", None, None),
        (v, "get", "/api/v1/audit/?page=999", None, None),
        # Staff: reconciliation
        (v, "get", "/api/v1/statements/", None, None),
        (v, "get", f"/api/v1/statements/{w['statement']}/", None, None),
        (r, "post", "/api/v1/statements/", {}, "multipart"),
        (r, "post", "/api/v1/statements/preview/", {"file": upload}, "multipart"),
        (v, "get", "/api/v1/statement-imports/999/", None, None),
        (v, "get", "/api/v1/csv-profiles/", None, None),
        (r, "post", "/api/v1/csv-profiles/", {"name": "Bank B", "delimiter": ";"}, "json"),
        (r, "post", "/api/v1/csv-profiles/", {"name": "Bank B"}, "json"),
        (v, "get", f"/api/v1/csv-profiles/{w['profile']}/", None, None),
        (r, "put", f"/api/v1/csv-profiles/{w['profile']}/", {"name": "Bank A", "delimiter": ";"}, "json"),
        (v, "get", "/api/v1/statement-lines/?status=unmatched", None, None),
        (r, "post", f"/api/v1/statement-lines/{w['unmatched_line'].pk}/accept/", {}, "json"),
        (r, "post", f"/api/v1/statement-lines/{w['unmatched_line'].pk}/reject/", {}, "json"),
        (
            r,
            "post",
            f"/api/v1/statement-lines/{w['unmatched_line'].pk}/match/",
            {"allocations": [{"pledge": "rf00 nosuch"}, {"pledge": made}]},
            "json",
        ),
        (r, "post", f"/api/v1/statement-lines/{w['matched_line'].pk}/unmatch/", {"reason": "Wrong pledge"}, "json"),
        (r, "post", f"/api/v1/statement-lines/{w['matched_line'].pk}/exclude/", {"reason": "Not ours"}, "json"),
        (
            r,
            "post",
            f"/api/v1/statement-lines/{w['unmatched_line'].pk}/match/",
            {"allocations": [{"pledge": ref}]},
            "json",
        ),
        (v, "get", "/api/v1/reminders/", None, None),
        (v, "get", "/api/v1/reconciliation/summary/", None, None),
        (v, "get", "/api/v1/reconciliation/summary/?by=nothing", None, None),
        # Reports
        (v, "get", "/api/v1/reports/", None, None),
        (a, "post", "/api/v1/reports/", {"kind": "event", "event": "no-such-event"}, "json"),
        (v, "get", "/api/v1/reports/999/", None, None),
        (a, "post", "/api/v1/reports/999/publish/", None, None),
        (v, "get", "/api/v1/reports/999/files/report.pdf", None, None),
    ]


def test_every_answer_to_every_operation_is_one_the_schema_documents(openapi, world):
    exercised = set()
    for client, method, path, body, body_format in _requests(world):
        send = getattr(client, method)
        response = send(path, body, format=body_format) if body is not None else send(path)
        exercised.add(assert_documented(openapi, response))
    every = {op["operationId"] for item in openapi["paths"].values() for op in item.values() if "operationId" in op}
    assert every - exercised == set(), "operations no request exercises"


def test_a_not_modified_answer_is_documented_and_has_no_body(openapi, client_for):
    public = client_for(None)
    for path in ("/api/v1/public/totals/", "/api/v1/public/iati/activities.xml", "/api/v1/public/reports/"):
        first = public.get(path)
        again = public.get(path, HTTP_IF_NONE_MATCH=f"W/{first['ETag']}")
        assert again.status_code == 304
        assert again["ETag"] == first["ETag"]
        assert "public" in again["Cache-Control"]
        assert_documented(openapi, again)


@pytest.mark.parametrize(
    "status, body, complaint",
    [
        (418, None, "does not document"),
        (200, {"count": "many", "results": [{"id": "one"}]}, "count"),
    ],
)
def test_an_answer_the_schema_does_not_document_fails_the_check(openapi, client_for, viewer, status, body, complaint):
    response = client_for(viewer).get("/api/v1/donors/")
    response.status_code = status
    if body is not None:
        response.content = json.dumps(body).encode()
    with pytest.raises(AssertionError, match=complaint):
        assert_documented(openapi, response)


def test_payments_of_a_pledge_are_found_however_its_reference_is_written(client_for, reconciler):
    pledge = confirmed_pledge("300.00")
    typed = "-".join(pledge.reference[i : i + 4] for i in range(0, len(pledge.reference), 4)).lower()
    response = client_for(reconciler).post("/api/v1/payments/", payment_body(f" {typed} ", "300.00"), format="json")
    assert response.status_code == 201, response.content
    pledge.refresh_from_db()
    assert pledge.amount_paid == Decimal("300.00")


def test_an_unknown_reference_is_refused_with_a_stable_code_and_echoed_as_typed(client_for, reconciler):
    response = client_for(reconciler).post("/api/v1/payments/", payment_body("rf18 0000 0000", "1.00"), format="json")
    assert response.status_code == 400
    assert response.json()["codes"] == {"pledge": ["pledge-unknown"]}
    assert "'rf18 0000 0000'" in response.json()["errors"]["pledge"][0]
