"""The OpenAPI schema and its docs page, and the staff token endpoint."""

import pytest
import yaml
from django.core.management import call_command
from knox.models import AuthToken

pytestmark = pytest.mark.django_db

PUBLIC_PATHS = ["/api/v1/pledges/", "/api/v1/public/totals/", "/api/v1/public/pledges/", "/api/v1/auth/token/"]


@pytest.fixture
def schema(api) -> dict:
    response = api.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_openapi_3_with_the_public_paths(schema):
    assert schema["openapi"].startswith("3.")
    assert set(PUBLIC_PATHS) <= set(schema["paths"])
    assert "post" in schema["paths"]["/api/v1/pledges/"]
    assert "get" in schema["paths"]["/api/v1/public/totals/"]
    assert "get" in schema["paths"]["/api/v1/public/pledges/"]
    assert "post" in schema["paths"]["/api/v1/auth/token/"]


def test_the_schema_is_also_served_as_json(api):
    response = api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert set(PUBLIC_PATHS) <= set(response.json()["paths"])


def test_the_pledge_intake_documents_its_problems_and_idempotency_key(schema):
    operation = schema["paths"]["/api/v1/pledges/"]["post"]

    assert {"201", "400", "413", "422", "429"} <= set(operation["responses"])
    assert "Idempotency-Key" in [parameter["name"] for parameter in operation.get("parameters", [])]


def test_operation_ids_are_unique(schema):
    ids = [
        operation["operationId"]
        for item in schema["paths"].values()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]

    assert len(ids) == len(set(ids))


def test_the_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert set(PUBLIC_PATHS) <= set(yaml.safe_load(out.read_text())["paths"])


def test_the_docs_page_is_html(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()
    # Its script is a file of its own (no inline script under the CSP), and reads the schema.
    script = api.get("/api/docs/", {"script": ""})
    assert b"?script=" in response.content
    assert script.status_code == 200 and b"/api/schema/" in script.content


# --- The staff token --------------------------------------------------------------------------


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("officer", password="a-long-password-1", is_staff=True)


def test_a_real_user_exchanges_username_and_password_for_a_token(api, officer):
    response = api.post("/api/v1/auth/token/", {"username": "officer", "password": "a-long-password-1"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    stored = AuthToken.objects.get(user=officer)
    assert stored.token_key == body["token"][:15]
    assert body["token"] not in stored.digest  # only its SHA-512 digest is kept


def test_asking_twice_gives_two_tokens_that_each_work(api, officer, client_for):
    credentials = {"username": "officer", "password": "a-long-password-1"}

    first = api.post("/api/v1/auth/token/", credentials, format="json").json()["token"]
    second = api.post("/api/v1/auth/token/", credentials, format="json").json()["token"]

    assert first != second
    assert AuthToken.objects.filter(user=officer).count() == 2


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({"username": "officer", "password": "wrong-password"}, id="wrong-password"),
        pytest.param({"username": "nobody", "password": "a-long-password-1"}, id="unknown-user"),
    ],
)
def test_wrong_credentials_are_a_400_problem_and_give_no_token(api, officer, credentials):
    response = api.post("/api/v1/auth/token/", credentials, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert problem["errors"]
    assert "token" not in problem
    assert not AuthToken.objects.exists()


def test_missing_credentials_name_the_missing_fields(api):
    response = api.post("/api/v1/auth/token/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_an_inactive_user_gets_no_token(api, officer):
    officer.is_active = False
    officer.save()

    response = api.post("/api/v1/auth/token/", {"username": "officer", "password": "a-long-password-1"}, format="json")

    assert response.status_code == 400
    assert not AuthToken.objects.exists()
