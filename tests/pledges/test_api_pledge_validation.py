"""The validation matrix of POST /api/v1/pledges/: every bad input is a 4xx
RFC 9457 problem that names the offending field by its path, and leaves no
row behind."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.models import AuditEvent, Donor, IdempotencyRecord, Instalment, Pledge
from tests.conftest import pledge_body
from tests.helpers import PROBLEM

pytestmark = pytest.mark.django_db

URL = "/api/v1/pledges/"
MiB = 1024 * 1024


def day(offset: int) -> str:
    return str(timezone.localdate() + timedelta(days=offset))


def plan(*instalments: tuple[int | str, str]) -> list[dict]:
    """Instalments as (due in days from today, amount); a due date given as text is sent as written."""
    return [{"due_date": day(due) if isinstance(due, int) else due, "amount": amount} for due, amount in instalments]


OMIT = object()


def donor(**overrides) -> dict:
    value = {"name": "Kingdom of Norway", "type": "member_state", "country": "NO", "email": "mission@example.org"}
    value.update(overrides)
    return {key: item for key, item in value.items() if item is not OMIT}


def body(**overrides) -> dict:
    """A valid pledge with overrides; OMIT removes a top-level field."""
    value = pledge_body(**overrides)
    return {key: item for key, item in value.items() if item is not OMIT}


def single(**overrides) -> dict:
    """A valid pledge paid at once (no instalments), so amount rules stand alone."""
    return body(instalments=[], **overrides)


def number_amount(number: str, **overrides) -> str:
    """A valid single-payment pledge whose amount is the JSON number `number`, as raw text."""
    raw = json.dumps(single(amount="@AMOUNT@", **overrides))
    return raw.replace('"@AMOUNT@"', number)


def case(case_id, payload, fields, *, status=400, headers=None):
    """payload: a dict sent as JSON, or a str sent as the raw body."""
    return pytest.param(payload, fields, status, headers or {}, id=case_id)


CASES = [
    # The body itself.
    case("body-not-json", '{"donor": {"name": "Norway"', None),
    case("body-is-a-json-array", json.dumps([pledge_body()]), {"non_field_errors"}),
    case("body-empty", "", {"donor", "amount", "currency", "payment_method"}),
    case("body-bare-nan-constant", '{"amount": NaN}', None),
    # Required fields.
    case("missing-donor", body(donor=OMIT), {"donor"}),
    case("missing-amount", body(amount=OMIT), {"amount"}),
    case("missing-currency", body(currency=OMIT), {"currency"}),
    case("missing-payment-method", body(payment_method=OMIT), {"payment_method"}),
    # Wrong types.
    case("donor-is-a-string", body(donor="Kingdom of Norway"), {"donor"}),
    case("donor-is-a-list", body(donor=[donor()]), {"donor"}),
    case("donor-is-null", body(donor=None), {"donor"}),
    case("amount-is-a-bool", single(amount=True), {"amount"}),
    case("amount-is-a-list", single(amount=["250000.00"]), {"amount"}),
    case("amount-is-an-object", single(amount={"value": "250000.00"}), {"amount"}),
    case("instalments-is-a-string", body(instalments="monthly"), {"instalments"}),
    case("instalment-is-null", body(instalments=[None]), {"instalments.0"}),
    case("public-name-is-maybe", body(public_name="maybe"), {"public_name"}),
    case("public-amount-is-maybe", body(public_amount="maybe"), {"public_amount"}),
    # Amounts that are no amount.
    case("amount-negative", single(amount="-250000.00"), {"amount"}),
    case("amount-zero", single(amount="0"), {"amount"}),
    case("amount-zero-with-decimals", single(amount="0.00"), {"amount"}),
    case("amount-1e15", single(amount="1e15"), {"amount"}),
    case("amount-1e15-as-json-number", number_amount("1e15"), {"amount"}),
    case("amount-negative-as-json-number", number_amount("-5"), {"amount"}),
    case("amount-above-the-usd-cap", single(amount="2000000000.00"), {"amount"}),
    case("amount-nan", single(amount="NaN"), {"amount"}),
    case("amount-infinity", single(amount="Infinity"), {"amount"}),
    case("amount-minus-infinity", single(amount="-Infinity"), {"amount"}),
    case("amount-1e400", single(amount="1e400"), {"amount"}),
    case("amount-1e400-as-json-number", number_amount("1e400"), {"amount"}),
    case("amount-infinity-as-json-constant", number_amount("Infinity"), None),
    case("amount-empty-string", single(amount=""), {"amount"}),
    case("amount-words", single(amount="a quarter million"), {"amount"}),
    # Currencies.
    case("currency-xyz", single(currency="XYZ"), {"currency"}),
    case("currency-usdollar", single(currency="usdollar"), {"currency"}),
    case("currency-gold-xau", single(currency="XAU"), {"currency"}),
    case("currency-sdr-xdr", single(currency="XDR"), {"currency"}),
    case("currency-testing-xts", single(currency="XTS"), {"currency"}),
    # Minor units.
    case("usd-with-three-decimals", single(amount="1.001"), {"amount"}),
    case("jpy-with-a-fraction", single(amount="100.5", currency="JPY"), {"amount"}),
    case("kwd-with-four-decimals", single(amount="1.0001", currency="KWD"), {"amount"}),
    case(
        "instalment-with-three-decimals",
        body(instalments=plan((30, "125000.001"), (60, "124999.999"))),
        {"instalments.0.amount", "instalments.1.amount"},
    ),
    # Campaign and session.
    case("session-unknown", body(session="panel-9"), {"session"}),
    case("session-not-a-slug", body(session="Panel I"), {"session"}),
    case("campaign-unknown", body(campaign="vtf-1999"), {"campaign"}),
    # Unknown fields.
    case("unknown-top-level-field", body(colour="blue"), {"colour"}),
    case("unknown-donor-field", body(donor=donor(website="https://example.org")), {"donor.website"}),
    # The donor.
    case("donor-type-unknown", body(donor=donor(type="government")), {"donor.type"}),
    case("donor-name-empty", body(donor=donor(name="")), {"donor.name"}),
    case("donor-country-zz", body(donor=donor(country="ZZ")), {"donor.country"}),
    case("donor-country-alpha-3", body(donor=donor(country="NOR")), {"donor.country"}),
    case("member-state-without-country", body(donor=donor(country=OMIT)), {"donor.country"}),
    case("member-state-with-empty-country", body(donor=donor(country="")), {"donor.country"}),
    case("donor-email-bad", body(donor=donor(email="mission-at-example.org")), {"donor.email"}),
    case("donor-email-missing", body(donor=donor(email=OMIT)), {"donor.email"}),
    # Free text.
    case("statement-over-1000-characters", body(statement="x" * 1001), {"statement"}),
    # Instalments.
    case("instalments-do-not-add-up", body(instalments=plan((30, "100000.00"), (60, "100000.00"))), {"instalments"}),
    case(
        "instalment-due-today",
        body(instalments=plan((0, "125000.00"), (60, "125000.00"))),
        {"instalments.0.due_date"},
    ),
    case(
        "instalment-due-in-the-past",
        body(instalments=plan((30, "125000.00"), (-1, "125000.00"))),
        {"instalments.1.due_date"},
    ),
    case(
        "two-instalments-on-one-date",
        body(instalments=plan((30, "125000.00"), (30, "125000.00"))),
        {"instalments.1.due_date"},
    ),
    case(
        "instalment-date-not-a-date",
        body(instalments=plan(("next spring", "125000.00"), (60, "125000.00"))),
        {"instalments.0.due_date"},
    ),
    case(
        "instalment-amount-zero",
        body(
            amount="125000.00",
            instalments=plan((30, "125000.00"), (60, "0.00")),
        ),
        {"instalments.1.amount"},
    ),
    case(
        "more-than-120-instalments",
        body(amount="121.00", instalments=[{"due_date": day(n), "amount": "1.00"} for n in range(1, 122)]),
        {"instalments"},
    ),
    # Payment method.
    case("payment-method-cash", body(payment_method="cash"), {"payment_method"}),
    case("payment-method-other-is-staff-only", body(payment_method="other"), {"payment_method"}),
    # Idempotency-Key header.
    case("idempotency-key-over-255-characters", body(), {"Idempotency-Key"}, headers={"Idempotency-Key": "k" * 256}),
    case("idempotency-key-empty", body(), {"Idempotency-Key"}, headers={"Idempotency-Key": ""}),
    case("idempotency-key-not-ascii", body(), {"Idempotency-Key"}, headers={"Idempotency-Key": "clé-1"}),
]


@pytest.fixture
def row_counts():
    models = (Pledge, Donor, Instalment, AuditEvent, IdempotencyRecord)

    def counts() -> dict[str, int]:
        return {model.__name__: model.objects.count() for model in models}

    return counts


def send(api, payload, headers=None):
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return api.post(URL, raw, content_type="application/json", headers=headers or {})


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == status
    return problem


@pytest.mark.parametrize(("payload", "fields", "status", "headers"), CASES)
def test_a_bad_pledge_is_refused_naming_its_field_and_nothing_is_stored(
    api, row_counts, payload, fields, status, headers
):
    before = row_counts()

    response = send(api, payload, headers)

    problem = assert_problem(response, status)
    if fields is None:
        assert "errors" not in problem
    else:
        assert set(problem["errors"]) == fields
        assert all(messages and all(isinstance(m, str) for m in messages) for messages in problem["errors"].values())
        for field in fields:
            assert field in problem["detail"]
    assert row_counts() == before


def test_a_body_that_is_not_json_is_a_malformed_request(api):
    problem = assert_problem(send(api, "amount=250000&currency=USD"), 400)

    assert problem["title"] == "Malformed request"
    assert "JSON" in problem["detail"]


def test_a_10_mb_donor_name_is_parsed_and_refused_by_field(api, row_counts):
    before = row_counts()
    payload = single(donor=donor(name="N" * (10 * MiB)))

    response = send(api, payload)

    problem = assert_problem(response, 400)
    assert set(problem["errors"]) == {"donor.name"}
    assert len(response.content) < 10_000, "the problem must not echo the 10 MB value back"
    assert row_counts() == before


def test_a_body_over_16_mib_is_refused_with_413_before_parsing(api, row_counts):
    before = row_counts()
    payload = single(donor=donor(name="N" * (17 * MiB)))

    problem = assert_problem(send(api, payload), 413)

    assert "errors" not in problem
    assert problem["title"] == "Request body too large"
    assert row_counts() == before


def test_a_body_just_under_the_limit_is_not_refused_as_too_large(api, settings):
    settings.API_MAX_JSON_BYTES = 4096
    payload = single(statement="s" * 1000)
    assert len(json.dumps(payload)) < 4096

    response = send(api, payload)

    assert response.status_code == 201


def test_the_body_limit_is_the_setting_not_a_constant(api, settings, row_counts):
    settings.API_MAX_JSON_BYTES = 512
    before = row_counts()
    payload = single(statement="s" * 1000)

    problem = assert_problem(send(api, payload), 413)

    assert "512" in problem["detail"]
    assert row_counts() == before


# --- Inputs at the edge that are accepted -----------------------------------------


def test_an_amount_sent_as_a_json_number_is_read_as_an_exact_decimal(api):
    response = send(api, number_amount("250000.5"))

    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "250000.50"
    pledge = Pledge.objects.get(reference=response.json()["reference"])
    assert pledge.amount == Decimal("250000.50")
    assert pledge.amount_usd == Decimal("250000.50")


def test_a_json_number_in_a_four_decimal_currency_keeps_every_digit(api):
    response = send(api, number_amount("12345678901.2345", currency="CLF"))

    assert response.status_code == 201, response.content
    assert Pledge.objects.get(reference=response.json()["reference"]).amount == Decimal("12345678901.2345")


def test_whole_yen_written_with_zero_decimals_is_accepted(api):
    response = send(api, single(amount="100.00", currency="JPY"))

    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "100"
    assert Pledge.objects.get(reference=response.json()["reference"]).amount == Decimal("100")


def test_a_lowercase_currency_code_is_accepted_and_stored_uppercase(api):
    response = send(api, single(currency="eur"))

    assert response.status_code == 201, response.content
    assert Pledge.objects.get(reference=response.json()["reference"]).currency == "EUR"


@pytest.mark.parametrize("country", ["", OMIT])
def test_an_intergovernmental_donor_may_have_no_country(api, country):
    payload = single(donor=donor(name="European Union", type="intergovernmental", country=country))

    response = send(api, payload)

    assert response.status_code == 201, response.content
    pledge = Pledge.objects.get(reference=response.json()["reference"])
    assert (pledge.donor.donor_type, pledge.donor.country) == ("intergovernmental", "")


def test_a_statement_of_exactly_1000_characters_is_accepted(api):
    response = send(api, body(statement="s" * 1000))

    assert response.status_code == 201, response.content
    assert len(Pledge.objects.get(reference=response.json()["reference"]).statement) == 1000


def test_120_instalments_are_accepted(api):
    payload = body(amount="120.00", instalments=[{"due_date": day(n), "amount": "1.00"} for n in range(1, 121)])

    response = send(api, payload)

    assert response.status_code == 201, response.content
    assert Pledge.objects.get(reference=response.json()["reference"]).instalments.count() == 120


# --- Several errors at once ----------------------------------------------------------


def test_field_errors_of_one_phase_are_reported_together(api, row_counts):
    before = row_counts()
    payload = body(
        donor=donor(email="not-an-email", type="government"),
        currency="XAU",
        public_name="maybe",
        payment_method="cash",
        colour="blue",
    )

    problem = assert_problem(send(api, payload), 400)

    assert set(problem["errors"]) == {
        "donor.email",
        "donor.type",
        "currency",
        "public_name",
        "payment_method",
        "colour",
    }
    assert row_counts() == before


def test_rule_errors_across_donor_terms_and_session_are_reported_together(api, row_counts):
    before = row_counts()
    payload = body(
        donor=donor(country=OMIT),
        session="panel-9",
        amount="250000.001",
        instalments=plan((-1, "125000.00"), (60, "125000.00")),
    )

    problem = assert_problem(send(api, payload), 400)

    assert set(problem["errors"]) == {"donor.country", "session", "amount", "instalments.0.due_date"}
    assert row_counts() == before


def test_an_instalment_that_is_both_past_and_a_duplicate_gets_both_messages(api):
    payload = body(instalments=plan((-1, "125000.00"), (-1, "125000.00")))

    problem = assert_problem(send(api, payload), 400)

    assert set(problem["errors"]) == {"instalments.0.due_date", "instalments.1.due_date"}
    assert len(problem["errors"]["instalments.1.due_date"]) == 2
