"""Logs are JSON lines with the request id, and never carry a secret or a
donor's contact details, whoever wrote the record."""

import io
import json
import logging

import pytest

from backend.logs import structured_formatter
from tests.conftest import pledge_body


def formatted(record: logging.LogRecord) -> dict:
    return json.loads(structured_formatter(json=True).format(record))


def record(message: str, *args, **extra) -> logging.LogRecord:
    entry = logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args, None)
    entry.__dict__.update(extra)
    return entry


def test_a_status_link_secret_in_a_path_is_scrubbed():
    line = formatted(record("Not Found: %s", "/api/v1/pledges/status/tk2uq_u0gZxwJLXorzza6EaAbP-UNl5fZ5lAwcMlgwQ/"))

    assert line["event"] == "Not Found: /api/v1/pledges/status/[redacted]/"
    assert line["level"] == "warning" and line["logger"] == "django.request"


def test_emails_tokens_stripe_keys_and_ibans_are_scrubbed_from_messages():
    text = formatted(
        record(
            "mail to %s with %s, key %s, account %s, ref %s",
            "mission@example.org",
            "Token 0123456789abcdef0123",
            "sk_live_51Habcdef",
            "DE89 3704 0044 0532 0130 00",
            "RF18 5390 0754 7034",
        )
    )["event"]

    assert "example.org" not in text and "[email]" in text
    assert "0123456789abcdef" not in text and "sk_live" not in text
    assert "DE89" not in text and "[iban]" in text
    assert "RF18 5390 0754 7034" in text  # payment references are printed for anyone; kept


def test_an_object_in_a_record_is_logged_as_its_scrubbed_text():
    class Request:
        def __repr__(self) -> str:
            return "<WSGIRequest: GET '/api/v1/pledges/status/DwZ5zcg2DSDJC9lgrOlwZ0aCHe6K/'>"

    line = formatted(record("Not Found", request=Request()))

    assert line["request"] == "<WSGIRequest: GET '/api/v1/pledges/status/[redacted]/'>"


def test_sensitive_fields_are_redacted_by_name_at_any_depth():
    line = formatted(
        record("payload", payload={"donor": {"email": "a@b.org", "name": "Kingdom of Norway"}}, password="hunter2")
    )

    assert line["password"] == "[redacted]"
    assert line["payload"]["donor"] == {"email": "[redacted]", "name": "Kingdom of Norway"}


@pytest.fixture
def log_lines():
    """What the configured root logger writes, as parsed JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structured_formatter(json=True))
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


@pytest.mark.django_db
def test_a_request_is_logged_once_finished_with_its_id_and_no_donor_email(api, log_lines):
    response = api.post("/api/v1/pledges/", pledge_body(), format="json")
    assert response.status_code == 201
    status_path = response.json()["status_url"].split("testserver", 1)[1]
    api.get(status_path)

    lines = log_lines()
    finished = [line for line in lines if line["event"] == "request_finished"]
    assert [line["request"] for line in finished] == [
        "POST /api/v1/pledges/",
        "GET /api/v1/pledges/status/[redacted]/",
    ]
    assert all(line["request_id"] for line in finished)
    assert "mission@example.org" not in json.dumps(lines)
