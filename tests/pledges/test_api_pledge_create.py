from decimal import Decimal

import pytest
from django.core import mail
from stdnum import iso11649

from pledges.models import AuditEvent, Pledge, PledgeStatus
from tests.conftest import pledge_body

pytestmark = pytest.mark.django_db


def post(api, body, **headers):
    return api.post("/api/v1/pledges/", body, format="json", headers=headers)


def test_a_bank_transfer_pledge_answers_with_the_contract_fields(api):
    response = post(api, pledge_body())

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"reference", "status", "amount", "currency", "amount_usd", "status_url", "bank_instructions"}
    assert iso11649.is_valid(body["reference"]) and " " not in body["reference"]
    assert body["status"] == "submitted"
    assert (body["amount"], body["currency"], body["amount_usd"]) == ("250000.00", "USD", "250000.00")
    instructions = body["bank_instructions"]
    assert instructions["reference"] == body["reference"]
    assert instructions["reference_printed"] == iso11649.format(body["reference"])
    assert instructions["amount"] == "250000.00"


def test_it_stores_the_pledge_its_donor_and_instalments(api):
    reference = post(api, pledge_body()).json()["reference"]

    pledge = Pledge.objects.get(reference=reference)
    assert pledge.status == PledgeStatus.SUBMITTED
    assert pledge.amount == Decimal("250000.00")
    assert pledge.campaign.slug == "vtf-2012"
    assert pledge.session.slug == "panel-1"
    assert pledge.donor.email == "mission@example.org"
    assert [i.amount for i in pledge.instalments.all()] == [Decimal("125000.00"), Decimal("125000.00")]


def test_it_writes_an_audit_record_of_the_submission(api):
    reference = post(api, pledge_body()).json()["reference"]

    event = AuditEvent.objects.get(action="pledge.submitted")
    assert event.pledge.reference == reference
    assert event.actor_kind == "donor"
    assert event.new_values["amount"] == "250000.00"
    assert "mission@example.org" not in str(event.new_values)


def test_a_card_pledge_has_no_bank_instructions(api):
    body = post(api, pledge_body(payment_method="card")).json()

    assert "bank_instructions" not in body
    assert "payment" in body


def test_each_pledge_gets_its_own_reference(api):
    references = {post(api, pledge_body()).json()["reference"] for _ in range(5)}

    assert len(references) == 5


def test_it_converts_to_usd_at_the_rate_in_force(api, eur_rate):
    body = post(api, pledge_body(currency="EUR", amount="1000.00", instalments=[])).json()

    assert body["amount_usd"] == "1250.00"


def test_a_missing_rate_leaves_the_usd_value_empty_not_guessed(api):
    body = post(api, pledge_body(currency="CHF", amount="1000.00", instalments=[])).json()

    assert body["amount_usd"] is None
    assert Pledge.objects.get(reference=body["reference"]).usd_rate_missing


@pytest.mark.parametrize(("currency", "amount"), [("JPY", "5000000"), ("KWD", "1500.125"), ("CLF", "10.5000")])
def test_it_accepts_amounts_in_each_currencys_minor_units(api, currency, amount):
    response = post(api, pledge_body(currency=currency, amount=amount, instalments=[]))

    assert response.status_code == 201
    assert Decimal(response.json()["amount"]) == Decimal(amount)


def test_the_donor_is_emailed_the_reference_and_status_link(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = post(api, pledge_body()).json()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mission@example.org"]
    assert iso11649.format(body["reference"]) in message.body
    assert body["status_url"].split("/status/")[1] in message.body


def test_the_campaign_defaults_to_the_2012_campaign_and_can_be_named(api):
    reference = post(api, pledge_body(campaign="vtf-2012")).json()["reference"]

    assert Pledge.objects.get(reference=reference).campaign.slug == "vtf-2012"
