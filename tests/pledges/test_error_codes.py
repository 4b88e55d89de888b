"""Every refusal a person can meet carries a stable code: in the problem
response (`code`, and `codes` next to `errors`, path by path) and on the
form, where each code has its message in the page's language."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import pledge_body

pytestmark = pytest.mark.django_db


def problem(api, body) -> dict:
    response = api.post("/api/v1/pledges/", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def test_a_problem_names_a_code_for_each_message(api):
    body = pledge_body(
        donor={"name": "", "type": "member_state", "country": "", "email": "not-an-address"},
        earmark="nope",
        colour="blue",
    )
    answer = problem(api, body)

    assert answer["code"] == "invalid-input"
    assert set(answer["codes"]) == set(answer["errors"])
    for path, messages in answer["errors"].items():
        assert len(answer["codes"][path]) == len(messages)
    assert answer["codes"]["donor.name"] == ["blank"]
    assert answer["codes"]["donor.email"] == ["invalid"]
    assert answer["codes"]["earmark"] == ["invalid-choice"]
    assert answer["codes"]["colour"] == ["unknown-field"]

    decimals = problem(api, pledge_body(amount="1000.001", instalments=[]))
    assert decimals["codes"] == {"amount": ["amount-decimals"]}
    assert decimals["errors"] == {"amount": ["USD amounts have 2 decimal places at most."]}  # English for the API


@pytest.mark.parametrize(
    ("overrides", "path", "code"),
    [
        ({"amount": "0"}, "amount", "amount-not-positive"),
        ({"amount": "1e3"}, "amount", "invalid"),  # the API's strict string decimals
        ({"amount": "-5"}, "amount", "amount-not-positive"),
        ({"amount": "100.5", "currency": "JPY", "instalments": []}, "amount", "amount-decimals"),
        ({"currency": "XAU"}, "currency", "currency-invalid"),
        ({"session": "panel-9"}, "session", "session-unknown"),
        (
            {"donor": {"name": "A", "type": "member_state", "country": "", "email": "a@example.org"}},
            "donor.country",
            "country-required",
        ),
        (
            {"donor": {"name": "A", "type": "member_state", "country": "ZZ", "email": "a@example.org"}},
            "donor.country",
            "country-invalid",
        ),
        (
            {"instalments": [{"due_date": str(timezone.localdate() + timedelta(days=3)), "amount": "1.00"}]},
            "instalments",
            "instalments-total",
        ),
        (
            {"instalments": [{"due_date": str(timezone.localdate()), "amount": "250000.00"}]},
            "instalments.0.due_date",
            "due-date-not-future",
        ),
    ],
)
def test_each_rule_has_its_code(api, overrides, path, code):
    answer = problem(api, pledge_body(**overrides))
    assert code in answer["codes"][path], answer


def test_the_form_shows_the_message_for_the_code_in_its_language(client, settings):
    settings.PLEDGE_FORM_MIN_SECONDS = 0
    started = re.search(r'name="started" value="([^"]+)"', client.get("/ru/pledge/").content.decode())[1]
    response = client.post(
        "/ru/pledge/",
        {
            "started": started,
            "donor_name": "Российская Федерация",
            "donor_type": "member_state",
            "donor_country": "",
            "donor_email": "mission@example.org",
            "amount": "1e3",
            "currency": "USD",
            "payment_method": "bank_transfer",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    errors = dict(re.findall(r'<p class="error" id="([a-z_]+)-error"><span>([^<]+)</span>', html))
    assert errors["amount"].startswith("Напишите сумму полностью, без степени")
    assert errors["donor_country"] == "Для этого типа донора нужно указать страну."
    assert all(not re.search(r"[A-Za-z]{4,}", message.replace("USD", "")) for message in errors.values()), errors
