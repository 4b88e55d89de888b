"""The Stripe test harness works: the real SDK against localstripe on
127.0.0.1, localstripe's signed webhooks, and our own signer and payload
builders checked by the SDK's verifier. No Django, no database."""

import json
import os
import socket
import time

import pytest
import stripe

from tests import stripe_harness as sh

SECRET = "whsec_harness_test"

localstripe_server = pytest.fixture(scope="session")(sh.localstripe_server)


@pytest.fixture
def ls(localstripe_server) -> sh.LocalStripe:
    """The session's localstripe, emptied: no objects, events or webhooks."""
    localstripe_server.reset()
    return localstripe_server


@pytest.fixture
def client(ls) -> stripe.StripeClient:
    return ls.client()


@pytest.fixture
def receiver():
    with sh.WebhookReceiver() as receiver:
        yield receiver


def paid_intent(client, number=sh.CARD_OK, amount=5000, **params):
    """A PaymentIntent created with a card PaymentMethod, then confirmed."""
    payment_method = client.v1.payment_methods.create(params=sh.card_params(number))
    intent = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "usd",
            "metadata": {"pledge": "RF18 2025 0001"},
            "payment_method": payment_method.id,
            **params,
        }
    )
    assert intent.status == "requires_confirmation"
    return client.v1.payment_intents.confirm(intent.id)


# -- the server -------------------------------------------------------------


def test_server_listens_on_loopback_and_answers_quickly(localstripe_server):
    assert localstripe_server.base_url == f"http://127.0.0.1:{localstripe_server.port}"
    assert localstripe_server.running
    assert localstripe_server.startup_seconds < sh.STARTUP_TIMEOUT
    with socket.create_connection(("127.0.0.1", localstripe_server.port), timeout=2):
        pass


def test_stop_ends_the_process_and_frees_the_port():
    server = sh.LocalStripe(compat=False).start()
    process, port = server.process, server.port
    server.stop()
    assert process.returncode is not None
    assert not server.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_requests_need_a_secret_key(ls):
    with pytest.raises(stripe.AuthenticationError):
        ls.client(api_key="rk_not_a_secret_key").v1.payment_intents.list()


def test_reset_forgets_objects(ls, client):
    intent = client.v1.payment_intents.create(params={"amount": 100, "currency": "usd"})
    ls.reset()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.retrieve(intent.id)
    assert client.v1.events.list().data == []


# -- payments ---------------------------------------------------------------


def test_payment_intent_succeeds_with_the_test_card(client):
    intent = paid_intent(client)

    assert intent.status == "succeeded"
    assert intent.amount == 5000
    assert intent.amount_received == 5000
    assert intent.currency == "usd"
    assert intent.metadata["pledge"] == "RF18 2025 0001"
    assert isinstance(intent.latest_charge, str)
    assert intent.latest_charge.startswith("ch_")

    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert (charge.amount, charge.currency, charge.payment_intent) == (5000, "usd", intent.id)
    assert charge.amount_refunded == 0
    assert charge.balance_transaction.startswith("txn_")


def test_create_and_confirm_in_one_call_and_expand_the_charge(client):
    intent = client.v1.payment_intents.create(
        params={"amount": 2500, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert intent.status == "succeeded"

    again = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge.balance_transaction"]})
    assert again.latest_charge.id == intent.latest_charge
    assert again.latest_charge.balance_transaction.amount == 2500


def test_the_app_style_create_call_works(client):
    """The params and options pledges.payments.stripe.payment_intent_create sends."""
    params = {
        "amount": 123456,
        "currency": "usd",
        "payment_method_types": ["card"],
        "metadata": {"pledge": "RF18 2025 0002"},
        "description": "Pledge RF18 2025 0002 to the UN Voluntary Trust Fund for Victims of Trafficking",
    }
    intent = client.v1.payment_intents.create(params=params, options={"idempotency_key": "pledge-2-attempt-1"})
    assert intent.status == "requires_payment_method"
    assert intent.description == params["description"]
    assert intent.client_secret.startswith(intent.id + "_secret_")

    since = intent.created - 1
    listed = client.v1.payment_intents.list(params={"created": {"gte": since}, "limit": 100})
    assert [i.id for i in listed.data] == [intent.id]
    assert client.v1.payment_intents.list(params={"created": {"gt": intent.created}}).data == []


def test_declined_card_fails_the_payment(client):
    with pytest.raises(stripe.CardError) as raised:
        paid_intent(client, sh.CARD_DECLINED)
    assert raised.value.code == "card_declined"
    assert raised.value.http_status == 402

    [intent] = client.v1.payment_intents.list().data
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.code == "card_declined"
    assert intent.amount_received == 0
    assert client.v1.charges.retrieve(intent.latest_charge).status == "failed"
    [event] = client.v1.events.list(params={"type": "payment_intent.payment_failed"}).data
    assert event.data.object.id == intent.id


def test_3d_secure_card_needs_authentication(ls, client):
    intent = paid_intent(client, sh.CARD_3DS)
    assert intent.status == "requires_action"
    assert intent.next_action.type == "use_stripe_sdk"

    ls.authenticate_3ds(intent.id, intent.client_secret)
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_cancel(client):
    intent = client.v1.payment_intents.create(params={"amount": 700, "currency": "usd"})
    canceled = client.v1.payment_intents.cancel(intent.id, params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert client.v1.events.list(params={"type": "payment_intent.canceled"}).data[0].data.object.id == intent.id


def test_idempotency_key_replays_the_first_result(client):
    params = {"amount": 5000, "currency": "usd", "metadata": {"pledge": "RF18"}}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "key-1"})
    second = client.v1.payment_intents.create(params=params, options={"idempotency_key": "key-1"})
    assert second.id == first.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.payment_intents.list().data) == 1

    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={**params, "amount": 6000}, options={"idempotency_key": "key-1"})
    other = client.v1.payment_intents.create(params=params, options={"idempotency_key": "key-2"})
    assert other.id != first.id


# -- events, refunds, balance transactions ------------------------------------


def test_events_list_has_payment_intent_succeeded(client):
    started = int(time.time()) - 1
    intent = paid_intent(client)

    events = client.v1.events.list(params={"created": {"gte": started}, "limit": 100}).data
    succeeded = [e for e in events if e.type == "payment_intent.succeeded"]
    assert [e.data.object.id for e in succeeded] == [intent.id]
    event = succeeded[0]
    assert event.id.startswith("evt_")
    assert event.data.object.status == "succeeded"
    assert event.data.object.latest_charge == intent.latest_charge
    assert event.data.object.metadata["pledge"] == "RF18 2025 0001"
    assert event["request"] == {"id": None, "idempotency_key": None}

    only = client.v1.events.list(params={"type": "payment_intent.succeeded"}).data
    assert [e.id for e in only] == [event.id]


def test_events_come_newest_first(client):
    first = paid_intent(client)
    second = paid_intent(client)
    events = client.v1.events.list(params={"type": "payment_intent.succeeded"}).data
    assert [e.data.object.id for e in events] == [second.id, first.id]


def test_partial_refunds_then_full(client):
    intent = paid_intent(client)
    charge_id = intent.latest_charge

    refund = client.v1.refunds.create(params={"charge": charge_id, "amount": 1500, "reason": "requested_by_customer"})
    assert refund.id.startswith("re_")
    assert (refund.amount, refund.currency, refund.status) == (1500, "usd", "succeeded")
    assert (refund.charge, refund.payment_intent, refund.reason) == (charge_id, intent.id, "requested_by_customer")

    [listed] = client.v1.refunds.list(params={"charge": charge_id, "limit": 100}).data
    assert listed.id == refund.id
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (1500, False)

    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount"):
        client.v1.refunds.create(params={"charge": charge_id, "amount": 3501})

    rest = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 3500
    assert {r.id for r in client.v1.refunds.list(params={"payment_intent": intent.id}).data} == {refund.id, rest.id}
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"charge": charge_id, "amount": 1})
    assert raised.value.code == "charge_already_refunded"

    refunded = client.v1.events.list(params={"type": "charge.refunded"}).data
    assert [e.data.object.amount_refunded for e in refunded] == [5000, 1500]
    assert len(client.v1.events.list(params={"type": "refund.created"}).data) == 2


def test_balance_transactions_have_fee_and_net(ls, client):
    intent = paid_intent(client)
    charge = client.v1.charges.retrieve(intent.latest_charge)

    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.type, txn.source, txn.amount, txn.currency) == ("charge", charge.id, 5000, "usd")
    assert txn.fee == ls.expected_fee(5000) == 175  # 2.9 % + 30
    assert txn.net == 5000 - 175
    assert txn.fee_details[0].type == "stripe_fee"

    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 1500})
    refund_txn = client.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (refund_txn.type, refund_txn.amount, refund_txn.fee, refund_txn.net) == ("refund", -1500, 0, -1500)


# -- webhooks from localstripe --------------------------------------------------


def test_localstripe_delivers_signed_payment_intent_succeeded(ls, client, receiver):
    ls.register_webhook(receiver.url, SECRET, events=["payment_intent.succeeded"])
    intent = paid_intent(client)

    _event, headers, body = receiver.wait_for(lambda e, h, b: e["data"]["object"]["id"] == intent.id, timeout=10)
    header = headers["Stripe-Signature"]

    verified = stripe.Webhook.construct_event(body, header, SECRET, tolerance=300)
    assert verified.type == "payment_intent.succeeded"
    assert verified.data.object.id == intent.id
    assert verified.data.object.metadata["pledge"] == "RF18 2025 0001"
    assert verified.data.object.latest_charge == intent.latest_charge
    assert headers["Content-Type"].startswith("application/json")

    # Our signer and localstripe's agree byte for byte.
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert sh.sign_payload(body, SECRET, timestamp) == header

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_someone_else")
    assert [json.loads(b)["type"] for _, b in receiver.deliveries] == ["payment_intent.succeeded"]


def test_removed_webhook_gets_nothing(ls, client, receiver):
    hook = ls.register_webhook(receiver.url, SECRET)
    ls.remove_webhook(hook)
    paid_intent(client)
    with pytest.raises(TimeoutError):
        receiver.wait_for("payment_intent.succeeded", timeout=1.0)


# -- our signer, payloads and builders -------------------------------------------


def test_sign_payload_is_accepted_by_the_sdk():
    intent = sh.payment_intent_object(amount=5000, metadata={"pledge": "RF18"})
    payload = sh.event_payload("payment_intent.succeeded", intent)
    header = sh.sign_payload(payload, SECRET)

    assert abs(int(header.split(",")[0].removeprefix("t=")) - time.time()) < 5
    event = stripe.Webhook.construct_event(payload, header, SECRET, tolerance=300)
    assert event.type == "payment_intent.succeeded"
    assert event.data.object.id == intent["id"]
    assert stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET, tolerance=300)
    assert sh.sign_payload(payload.decode(), SECRET, 1700000000) == sh.sign_payload(payload, SECRET, 1700000000)


@pytest.mark.parametrize(
    "change",
    ["tampered body", "wrong secret", "old timestamp", "no v1", "garbage header"],
)
def test_the_sdk_rejects_bad_signatures(change):
    payload = sh.event_payload("charge.refunded", sh.charge_object(amount=5000, amount_refunded=5000))
    secret, body, timestamp = SECRET, payload, int(time.time())
    if change == "tampered body":
        body = payload.replace(b'"amount": 5000', b'"amount": 5')
        assert body != payload
    elif change == "wrong secret":
        secret = "whsec_wrong"
    elif change == "old timestamp":
        timestamp -= 301
    header = sh.sign_payload(payload, secret, timestamp)
    if change == "no v1":
        header = header.replace("v1=", "v0=")
    elif change == "garbage header":
        header = "nonsense"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, SECRET, tolerance=300)


def test_signed_event_signs_at_the_event_time():
    payload, header = sh.signed_event("payment_intent.succeeded", sh.payment_intent_object(amount=1), SECRET)
    assert header.startswith(f"t={json.loads(payload)['created']},v1=")
    stripe.Webhook.construct_event(payload, header, SECRET)


def test_event_payload_has_stripes_envelope():
    obj = sh.refund_object(amount=100, charge="ch_1")
    event = json.loads(sh.event_payload("refund.created", obj, event_id="evt_1", created=1700000000))
    assert event == {
        "id": "evt_1",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1700000000,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "refund.created",
    }
    generated = json.loads(sh.event_payload("refund.created", obj))
    assert generated["id"].startswith("evt_")
    assert abs(generated["created"] - time.time()) < 5


def test_payment_intent_object():
    succeeded = sh.payment_intent_object(amount=5000, currency="USD", metadata={"pledge": "RF18"})
    assert succeeded["id"].startswith("pi_")
    assert succeeded["object"] == "payment_intent"
    assert (succeeded["amount"], succeeded["amount_received"], succeeded["currency"]) == (5000, 5000, "usd")
    assert succeeded["latest_charge"].startswith("ch_")
    assert succeeded["metadata"] == {"pledge": "RF18"}

    failed = sh.payment_intent_object(
        amount=5000, status="requires_payment_method", last_payment_error={"code": "card_declined"}
    )
    assert (failed["amount_received"], failed["latest_charge"], failed["payment_method"]) == (0, None, None)
    with pytest.raises(ValueError, match="PaymentIntent status"):
        sh.payment_intent_object(amount=1, status="paid")


def test_charge_object():
    refund = sh.refund_object(amount=1500, charge="ch_x", payment_intent="pi_x")
    charge = sh.charge_object(id="ch_x", amount=5000, currency="EUR", payment_intent="pi_x", refunds=[refund])
    assert (charge["object"], charge["currency"], charge["status"], charge["paid"]) == (
        "charge",
        "eur",
        "succeeded",
        True,
    )
    assert (charge["amount_refunded"], charge["refunded"]) == (1500, False)
    assert charge["refunds"]["data"] == [refund]
    assert charge["balance_transaction"].startswith("txn_")
    assert "refunds" not in sh.charge_object(amount=5000)  # not embedded since 2022-11-15

    full = sh.charge_object(amount=5000, amount_refunded=5000)
    assert full["refunded"] is True
    failed = sh.charge_object(amount=5000, status="failed")
    assert (failed["paid"], failed["failure_code"], failed["balance_transaction"]) == (False, "card_declined", None)


def test_refund_object():
    refund = sh.refund_object(amount=1500, charge="ch_x", payment_intent="pi_x", currency="USD", reason="duplicate")
    assert refund["id"].startswith("re_")
    assert (refund["object"], refund["amount"], refund["currency"]) == ("refund", 1500, "usd")
    assert (refund["charge"], refund["payment_intent"], refund["status"]) == ("ch_x", "pi_x", "succeeded")
    with pytest.raises(ValueError):
        sh.refund_object(amount=1, charge="ch_x", reason="changed_mind")


@pytest.mark.parametrize("status", sorted(sh.DISPUTE_STATUSES))
def test_dispute_object(status):
    dispute = sh.dispute_object(amount=5000, charge="ch_x", payment_intent="pi_x", status=status, reason="fraudulent")
    assert dispute["id"].startswith("dp_")
    assert (dispute["object"], dispute["status"], dispute["reason"]) == ("dispute", status, "fraudulent")
    assert (dispute["charge"], dispute["payment_intent"], dispute["amount"]) == ("ch_x", "pi_x", 5000)
    assert dispute["evidence_details"]["due_by"] > dispute["created"]
    payload, header = sh.signed_event("charge.dispute.created", dispute, SECRET)
    assert stripe.Webhook.construct_event(payload, header, SECRET).data.object.status == status


def test_dispute_object_refuses_unknown_values():
    with pytest.raises(ValueError, match="dispute status"):
        sh.dispute_object(amount=1, charge="ch_x", status="open")
    with pytest.raises(ValueError, match="dispute reason"):
        sh.dispute_object(amount=1, charge="ch_x", reason="because")


# -- localstripe as published (compat=False): what it does not do ---------------

PICKLE = "/tmp/localstripe.pickle"


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def test_localstripe_as_published_differs_from_stripe():
    """Why `compat` exists. If a localstripe upgrade fixes one of these, this fails."""
    pickle_before = _mtime(PICKLE)
    with sh.LocalStripe(compat=False) as server:
        client = server.client()

        with pytest.raises(stripe.InvalidRequestError, match="Unexpected description"):
            client.v1.payment_intents.create(params={"amount": 100, "currency": "usd", "description": "Pledge"})
        with pytest.raises(stripe.InvalidRequestError, match="Unexpected created"):
            client.v1.payment_intents.list(params={"created": {"gte": 0}})

        params = {"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "same"})
        second = client.v1.payment_intents.create(params=params, options={"idempotency_key": "same"})
        assert first.id != second.id  # the key is ignored

        assert not isinstance(first.latest_charge, str)  # an embedded Charge, not its id
        assert "amount_received" not in first
        charge = first.latest_charge
        txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
        assert (txn.fee, txn.net) == (0, 5000)

        refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 999999})
        assert refund.amount == 999999  # no check against the charge
        assert refund.payment_intent is None
        assert [e.type for e in client.v1.events.list().data] == ["payment_intent.succeeded"] * 2

        with pytest.raises(stripe.APIError):  # 404: no disputes at all
            client.v1.disputes.list()
        with pytest.raises(stripe.APIError):  # 500: charges cannot be filtered by payment_intent
            client.v1.charges.list(params={"payment_intent": first.id})

    # Nor did it pickle its store to the file every `python -m localstripe` shares.
    assert pickle_before == _mtime(PICKLE)
