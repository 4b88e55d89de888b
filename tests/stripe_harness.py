"""Test harness for Stripe: the real `stripe` SDK against `localstripe`, and
webhook payloads signed the way Stripe signs them.

Nothing here touches Django or the network beyond 127.0.0.1.

Server
    `LocalStripe` runs localstripe (the fake, stateful Stripe server from PyPI,
    pinned in requirements-dev.txt) in a subprocess on a loopback port::

        with LocalStripe() as ls:
            client = ls.client()  # a stripe.StripeClient pointed at ls.base_url
            pi = client.v1.payment_intents.create(params={...})

    The settings the app reads are in `ls.settings()` (STRIPE_API_BASE,
    STRIPE_SECRET_KEY). It does not use `python -m localstripe`: that CLI
    listens on every interface (`::`) and pickles its whole store to
    /tmp/localstripe.pickle on every write, a file every instance shares (and
    reloads on start). The harness runs localstripe's own aiohttp app instead,
    on a socket bound to 127.0.0.1 that the parent opens and hands over, so the
    port is known before the child starts and cannot be taken by anyone else,
    and with persistence turned off.

    With `compat=True` (the default) a few small patches bring localstripe
    closer to the real API where our code depends on it (see `_install_compat`):
    `Idempotency-Key` is honoured; PaymentIntents accept `description`,
    `receipt_email`, `statement_descriptor`, `cancellation_reason`, have
    `amount_received`, give `latest_charge` as an id (expandable) and can be
    listed with `created[gte]` etc.; refunds carry `payment_intent` and
    `reason`, refuse to refund more than is left, and send `refund.created` and
    `charge.refunded`; cancelling sends `payment_intent.canceled`; events come
    newest first with `request` and `pending_webhooks`; charges' balance
    transactions carry a fee (`fee_percent` % + `fee_fixed` minor units).
    `compat=False` is localstripe as published.

    pytest: `localstripe_server()` is an undecorated generator; register it in
    a conftest with
    ``localstripe_server = pytest.fixture(scope="session")(stripe_harness.localstripe_server)``.

Webhooks
    `sign_payload()` builds a `Stripe-Signature` header by hand (t=..,v1=..);
    `event_payload()` builds the event envelope; `payment_intent_object()`,
    `charge_object()`, `refund_object()` and `dispute_object()` build the
    objects in Stripe's shapes (API version 2024-06-20). `WebhookReceiver` is
    a loopback HTTP server that records what localstripe delivers.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import os
import secrets
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

HOST = "127.0.0.1"
API_KEY = "sk_test_localstripe_harness"
PUBLISHABLE_KEY = "pk_test_localstripe_harness"
DEFAULT_API_VERSION = "2024-06-20"
STARTUP_TIMEOUT = 15.0

# Card numbers localstripe treats specially (localstripe/resources.py,
# PaymentMethod._requires_authentication / _attaching_is_declined /
# _charging_is_declined). Everything else succeeds.
CARD_OK = "4242424242424242"
# Charging fails with card_declined (402); attaching to a customer succeeds.
CARD_DECLINED = "4000000000000341"
# Confirming leaves the PaymentIntent in requires_action (3-D Secure); see
# LocalStripe.authenticate_3ds(). Also 4000002500003155, 4000002760003184,
# 4000000000003063.
CARD_3DS = "4000000000003220"
# 3-D Secure, then the charge is declined after authentication.
CARD_3DS_THEN_DECLINED = "4000008260003178"
# Only attaching it to a customer is declined: in localstripe a PaymentIntent
# confirmed with it SUCCEEDS (in real Stripe it is the generic decline card).
CARD_DECLINED_ON_ATTACH = "4000000000000002"

PAYMENT_INTENT_STATUSES = frozenset(
    {
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
        "processing",
        "requires_capture",
        "canceled",
        "succeeded",
    }
)
CHARGE_STATUSES = frozenset({"succeeded", "pending", "failed"})
REFUND_STATUSES = frozenset({"pending", "requires_action", "succeeded", "failed", "canceled"})
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer", "expired_uncaptured_charge"})
DISPUTE_STATUSES = frozenset(
    {
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
        "prevented",
    }
)
DISPUTE_REASONS = frozenset(
    {
        "bank_cannot_process",
        "check_returned",
        "credit_not_processed",
        "customer_initiated",
        "debit_not_authorized",
        "duplicate",
        "fraudulent",
        "general",
        "incorrect_account_details",
        "insufficient_funds",
        "product_not_received",
        "product_unacceptable",
        "subscription_canceled",
        "unrecognized",
    }
)

_ALNUM = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """An id in Stripe's style: `pi_3PqZ...`."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def card_params(number: str = CARD_OK, *, exp_month: int = 12, exp_year: int = 2034, cvc: str = "123") -> dict:
    """Params for `client.v1.payment_methods.create`. localstripe wants
    exactly these four card fields (a raw card number, as Stripe.js would
    tokenise it), and no others."""
    return {"type": "card", "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}}


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


class LocalStripeError(RuntimeError):
    pass


class LocalStripe:
    """localstripe in a subprocess on 127.0.0.1. `start()` (or `with`) runs it,
    `stop()` ends it; `reset()` forgets every object and webhook between tests."""

    def __init__(
        self,
        *,
        compat: bool = True,
        fee_percent: Decimal | str = "2.9",
        fee_fixed: int = 30,
        webhook_delay: float | None = 0.1,
        startup_timeout: float = STARTUP_TIMEOUT,
        api_key: str = API_KEY,
    ) -> None:
        """`webhook_delay`: seconds between an event and its delivery
        (localstripe's own is 1; None keeps it). `fee_percent`/`fee_fixed`
        only apply with `compat`."""
        self.compat = compat
        self.fee_percent = Decimal(fee_percent) if compat else Decimal(0)
        self.fee_fixed = int(fee_fixed) if compat else 0
        self.webhook_delay = webhook_delay
        self.startup_timeout = startup_timeout
        self.api_key = api_key
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None
        self._log = None
        # Talk to localstripe directly, never through a proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> LocalStripe:
        if self.process is not None:
            raise LocalStripeError("localstripe is already running")
        started = time.monotonic()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((HOST, 0))
            listener.listen(128)
            self.port = listener.getsockname()[1]
            # Lives as long as the server; closed by stop().
            self._log = tempfile.TemporaryFile(prefix="localstripe-", suffix=".log")  # noqa: SIM115
            command = [sys.executable, "-P", os.path.abspath(__file__), "--serve", "--fd", str(listener.fileno())]
            command += ["--compat" if self.compat else "--no-compat"]
            command += ["--fee-percent", str(self.fee_percent), "--fee-fixed", str(self.fee_fixed)]
            if self.webhook_delay is not None:
                command += ["--webhook-delay", str(self.webhook_delay)]
            try:
                self.process = subprocess.Popen(
                    command,
                    pass_fds=(listener.fileno(),),
                    stdin=subprocess.DEVNULL,
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    cwd=tempfile.gettempdir(),
                )
            except BaseException:
                self._log.close()
                self._log = None
                raise
        finally:
            listener.close()  # the child holds its own copy
        try:
            self._wait_until_ready(started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_until_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise LocalStripeError(f"localstripe exited with {self.process.returncode}:\n{self.log()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LocalStripeError(f"localstripe did not answer within {self.startup_timeout}s:\n{self.log()}")
            try:
                # Unauthenticated on purpose: any answer (401) means the app is serving.
                self._opener.open(f"{self.base_url}/v1/balance", timeout=min(1.0, remaining)).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.05)

    def stop(self, timeout: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalStripe:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """What the server printed (requests, webhook deliveries, tracebacks)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    # -- addresses and clients --------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LocalStripeError("localstripe is not started")
        return f"http://{HOST}:{self.port}"

    def settings(self) -> dict[str, str]:
        """Django settings that point the app's Stripe client here."""
        return {"STRIPE_API_BASE": self.base_url, "STRIPE_SECRET_KEY": self.api_key}

    def client(self, *, api_key: str | None = None, max_network_retries: int = 0, timeout: float = 10.0):
        """A `stripe.StripeClient` for this server: `client.v1.payment_intents...`.
        No retries and a 10 s timeout, so a failing test fails fast; requests
        ignore any proxy set in the environment."""
        import requests
        import stripe

        session = requests.Session()
        session.trust_env = False
        return stripe.StripeClient(
            api_key or self.api_key,
            base_addresses={"api": self.base_url},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout, session=session),
        )

    # -- localstripe's /_config endpoints ------------------------------------

    def _request(self, method: str, path: str, body: dict | None = None, *, form: dict | None = None) -> bytes:
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = self.base_url + path  # always http://127.0.0.1:<port>/...
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with self._opener.open(request, timeout=10) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise LocalStripeError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None

    def register_webhook(
        self, url: str, secret: str, events: list[str] | None = None, *, webhook_id: str | None = None
    ) -> str:
        """Have localstripe POST every event (or only `events`) to `url`, signed
        with `secret`. Returns the webhook's id, for `remove_webhook`."""
        webhook_id = webhook_id or new_id("we_", 14)
        body: dict[str, Any] = {"url": url, "secret": secret}
        if events is not None:
            body["events"] = list(events)
        self._request("POST", f"/_config/webhooks/{webhook_id}", body)
        return webhook_id

    def remove_webhook(self, webhook_id: str) -> None:
        self._request("DELETE", f"/_config/webhooks/{webhook_id}")

    def flush(self) -> None:
        """Forget every object and event (localstripe's DELETE /_config/data).
        Webhooks stay registered."""
        self._request("DELETE", "/_config/data")

    def reset(self) -> None:
        """`flush()`, remove every webhook and drop deliveries not yet made,
        forget the idempotency keys."""
        self._request("DELETE", "/_config/webhooks")
        self.flush()

    def authenticate_3ds(self, payment_intent_id: str, client_secret: str, *, success: bool = True) -> dict:
        """Play the customer in the 3-D Secure step of a PaymentIntent in
        requires_action (what localstripe's Stripe.js does)."""
        form = {"key": PUBLISHABLE_KEY, "client_secret": client_secret, "success": "true" if success else "false"}
        return json.loads(self._request("POST", f"/v1/payment_intents/{payment_intent_id}/_authenticate", form=form))

    def expected_fee(self, amount: int) -> int:
        """The fee the compat patch puts on a charge's balance transaction."""
        fee = Decimal(amount) * self.fee_percent / 100 + self.fee_fixed
        return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def localstripe_server() -> Iterator[LocalStripe]:
    """Session fixture body: one localstripe per pytest process (each xdist
    worker gets its own). Register it with
    `pytest.fixture(scope="session")(localstripe_server)`; call `reset()` in
    a function fixture when tests must not see each other's objects."""
    server = LocalStripe().start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------
# Receiving webhooks
# --------------------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (own thread) that answers 200 to every POST
    and records it. `url` is what to give `LocalStripe.register_webhook`."""

    def __init__(self, status: int = 200) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    receiver.deliveries.append((dict(self.headers.items()), body))
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}/stripe/webhook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def wait_for(
        self, predicate: Callable[[dict, dict[str, str], bytes], bool] | str, timeout: float = 10.0
    ) -> tuple[dict, dict[str, str], bytes]:
        """The first delivery whose parsed event matches: `predicate(event,
        headers, body)`, or an event type. Raises TimeoutError after `timeout`."""
        if isinstance(predicate, str):
            event_type = predicate

            def matches(event, headers, body):
                return event.get("type") == event_type
        else:
            matches = predicate

        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for headers, body in self.deliveries:
                    event = json.loads(body)
                    if matches(event, headers, body):
                        return event, headers, body
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    types = [json.loads(body).get("type") for _, body in self.deliveries]
                    raise TimeoutError(f"no matching webhook within {timeout}s; received {types}")
                self._changed.wait(remaining)


# --------------------------------------------------------------------------
# Signing and payloads
# --------------------------------------------------------------------------


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send with `payload`:
    `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed with secret>`."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if timestamp is None:
        timestamp = int(time.time())
    signed = str(int(timestamp)).encode("ascii") + b"." + payload
    signature = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={int(timestamp)},v1={signature}"


def event_payload(
    event_type: str,
    obj: dict,
    *,
    event_id: str | None = None,
    created: int | None = None,
    api_version: str = DEFAULT_API_VERSION,
    previous_attributes: dict | None = None,
    pending_webhooks: int = 1,
) -> bytes:
    """A webhook body: the event envelope around `obj`, as JSON bytes (sign it
    with `sign_payload`)."""
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    event = {
        "id": event_id or new_id("evt_"),
        "object": "event",
        "api_version": api_version,
        "created": int(time.time()) if created is None else int(created),
        "data": data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(event, indent=2).encode("utf-8")


def signed_event(
    event_type: str, obj: dict, secret: str, *, timestamp: int | None = None, **kwargs
) -> tuple[bytes, str]:
    """`event_payload(...)` and its `Stripe-Signature` header, signed at
    `timestamp` (default: the event's `created`)."""
    payload = event_payload(event_type, obj, **kwargs)
    if timestamp is None:
        timestamp = json.loads(payload)["created"]
    return payload, sign_payload(payload, secret, timestamp)


def _check(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r} is not a Stripe {what}: {sorted(allowed)}")
    return value


def _now(created: int | None) -> int:
    return int(time.time()) if created is None else int(created)


def payment_intent_object(
    *,
    amount: int,
    currency: str = "usd",
    status: str = "succeeded",
    id: str | None = None,
    metadata: dict | None = None,
    latest_charge: str | dict | None = None,
    amount_received: int | None = None,
    payment_method: str | None = None,
    description: str | None = None,
    last_payment_error: dict | None = None,
    cancellation_reason: str | None = None,
    created: int | None = None,
    **extra: Any,
) -> dict:
    """A PaymentIntent. Succeeded ones get a charge id and amount_received =
    amount unless given."""
    _check(status, PAYMENT_INTENT_STATUSES, "PaymentIntent status")
    id = id or new_id("pi_")
    if latest_charge is None and status in {"succeeded", "requires_capture"}:
        latest_charge = new_id("ch_")
    if amount_received is None:
        amount_received = amount if status == "succeeded" else 0
    obj = {
        "id": id,
        "object": "payment_intent",
        "amount": int(amount),
        "amount_capturable": int(amount) if status == "requires_capture" else 0,
        "amount_details": {"tip": {}},
        "amount_received": int(amount_received),
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": _now(created) if status == "canceled" else None,
        "cancellation_reason": cancellation_reason,
        "capture_method": "automatic",
        "client_secret": f"{id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic",
        "created": _now(created),
        "currency": currency.lower(),
        "customer": None,
        "description": description,
        "invoice": None,
        "last_payment_error": last_payment_error,
        "latest_charge": latest_charge,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method or (new_id("pm_") if status != "requires_payment_method" else None),
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }
    obj.update(extra)
    return obj


def charge_object(
    *,
    amount: int,
    currency: str = "usd",
    status: str = "succeeded",
    id: str | None = None,
    payment_intent: str | None = None,
    metadata: dict | None = None,
    amount_refunded: int | None = None,
    refunds: list[dict] | None = None,
    balance_transaction: str | dict | None = None,
    captured: bool = True,
    disputed: bool = False,
    failure_code: str | None = None,
    failure_message: str | None = None,
    created: int | None = None,
    **extra: Any,
) -> dict:
    """A Charge. `refunds` (refund objects) is included, as an expanded list,
    only when given: since API version 2022-11-15 a charge no longer embeds
    its refunds. `amount_refunded` defaults to their sum."""
    _check(status, CHARGE_STATUSES, "Charge status")
    id = id or new_id("ch_")
    if amount_refunded is None:
        amount_refunded = sum(r["amount"] for r in refunds or () if r.get("status") in {"succeeded", "pending"})
    if balance_transaction is None and status == "succeeded" and captured:
        balance_transaction = new_id("txn_")
    if status == "failed" and failure_code is None:
        failure_code, failure_message = "card_declined", failure_message or "Your card was declined."
    obj = {
        "id": id,
        "object": "charge",
        "amount": int(amount),
        "amount_captured": int(amount) if status == "succeeded" and captured else 0,
        "amount_refunded": int(amount_refunded),
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": "UNVTF TRAFFICKING",
        "captured": bool(captured),
        "created": _now(created),
        "currency": currency.lower(),
        "customer": None,
        "description": None,
        "disputed": bool(disputed),
        "failure_balance_transaction": None,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network" if status != "failed" else "declined_by_network",
            "reason": None if status != "failed" else "generic_decline",
            "risk_level": "normal",
            "seller_message": "Payment complete."
            if status != "failed"
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if status != "failed" else "issuer_declined",
        },
        "paid": status == "succeeded",
        "payment_intent": payment_intent,
        "payment_method": new_id("pm_"),
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "funding": "credit",
                "last4": "4242",
                "network": "visa",
            },
            "type": "card",
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": int(amount_refunded) >= int(amount),
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }
    if refunds is not None:
        obj["refunds"] = {
            "object": "list",
            "data": list(refunds),
            "has_more": False,
            "total_count": len(refunds),
            "url": f"/v1/charges/{id}/refunds",
        }
    obj.update(extra)
    return obj


def refund_object(
    *,
    amount: int,
    charge: str,
    currency: str = "usd",
    status: str = "succeeded",
    id: str | None = None,
    payment_intent: str | None = None,
    reason: str | None = None,
    metadata: dict | None = None,
    balance_transaction: str | None = None,
    created: int | None = None,
    **extra: Any,
) -> dict:
    """A Refund of (part of) `charge`."""
    _check(status, REFUND_STATUSES, "Refund status")
    if reason is not None:
        _check(reason, REFUND_REASONS, "refund reason")
    obj = {
        "id": id or new_id("re_"),
        "object": "refund",
        "amount": int(amount),
        "balance_transaction": balance_transaction or (new_id("txn_") if status == "succeeded" else None),
        "charge": charge,
        "created": _now(created),
        "currency": currency.lower(),
        "destination_details": {
            "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"},
            "type": "card",
        },
        "metadata": dict(metadata or {}),
        "payment_intent": payment_intent,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }
    obj.update(extra)
    return obj


def dispute_object(
    *,
    amount: int,
    charge: str,
    currency: str = "usd",
    status: str = "needs_response",
    reason: str = "fraudulent",
    id: str | None = None,
    payment_intent: str | None = None,
    metadata: dict | None = None,
    balance_transactions: list[dict] | None = None,
    evidence_due_by: int | None = None,
    created: int | None = None,
    **extra: Any,
) -> dict:
    """A Dispute of `charge` (for charge.dispute.created/updated/closed...)."""
    _check(status, DISPUTE_STATUSES, "dispute status")
    _check(reason, DISPUTE_REASONS, "dispute reason")
    created = _now(created)
    evidence_keys = [
        "access_activity_log",
        "billing_address",
        "cancellation_policy",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_communication",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "customer_signature",
        "duplicate_charge_documentation",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "receipt",
        "refund_policy",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "service_documentation",
        "shipping_address",
        "shipping_carrier",
        "shipping_date",
        "shipping_documentation",
        "shipping_tracking_number",
        "uncategorized_file",
        "uncategorized_text",
    ]
    obj = {
        "id": id or new_id("dp_"),
        "object": "dispute",
        "amount": int(amount),
        "balance_transactions": list(balance_transactions or []),
        "charge": charge,
        "created": created,
        "currency": currency.lower(),
        "evidence": dict.fromkeys(evidence_keys),
        "evidence_details": {
            "due_by": evidence_due_by if evidence_due_by is not None else created + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": status.startswith("warning_"),
        "livemode": False,
        "metadata": dict(metadata or {}),
        "payment_intent": payment_intent,
        "payment_method_details": {"card": {"brand": "visa", "network_reason_code": "10.4"}, "type": "card"},
        "reason": reason,
        "status": status,
    }
    obj.update(extra)
    return obj


# --------------------------------------------------------------------------
# The child process: localstripe's app on the inherited socket
# --------------------------------------------------------------------------


def _install_compat(resources, webhooks, *, fee_percent: Decimal, fee_fixed: int) -> None:
    """Patch localstripe 1.15.10 (in the child only) where it differs from the
    real API in ways our code meets. Must run before `localstripe.server` is
    imported, which builds its routes from these classes."""
    UserError = resources.UserError
    Charge, Event, PaymentIntent = resources.Charge, resources.Event, resources.PaymentIntent
    Refund, BalanceTransaction, StripeObject = resources.Refund, resources.BalanceTransaction, resources.StripeObject
    store, schedule_webhook = resources.store, resources.schedule_webhook

    def created_filters(created):
        if created is None:
            return []
        if isinstance(created, str | int):
            value = resources.try_convert_to_int(created)
            if not isinstance(value, int):
                raise UserError(400, "Bad created")
            return [lambda o: o.created == value]
        if not isinstance(created, dict) or not created or set(created) - {"gt", "gte", "lt", "lte"}:
            raise UserError(400, "Bad created")
        ops = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
        filters = []
        for op, raw in created.items():
            value = resources.try_convert_to_int(raw)
            if not isinstance(value, int):
                raise UserError(400, "Bad created")
            filters.append(lambda o, f=ops[op], v=value: f(o.created, v))
        return filters

    def newest_first(items):
        # Stable sort of the reversed insertion order: newest first, ties too.
        return sorted(reversed(items), key=lambda o: o.created, reverse=True)

    # -- PaymentIntent -----------------------------------------------------
    pi_extra = ("description", "receipt_email", "statement_descriptor", "statement_descriptor_suffix")
    original_pi_init = PaymentIntent.__init__

    def pi_init(self, *args, **kwargs):
        extra = {key: kwargs.pop(key) for key in pi_extra if key in kwargs}
        if any(value is not None and not isinstance(value, str) for value in extra.values()):
            raise UserError(400, "Bad request")
        original_pi_init(self, *args, **kwargs)
        for key in pi_extra:
            setattr(self, key, extra.get(key))
        self.cancellation_reason = None
        self.canceled_at = None

    def pi_amount_received(self):
        charge = self.latest_charge
        if charge is not None and charge.status == "succeeded" and charge.captured:
            return charge.amount
        return 0

    original_pi_export = PaymentIntent._export

    def pi_export(self, expand=None):
        # latest_charge is an id, as in the real API; expand=["latest_charge"] embeds it.
        if expand is None:
            expand = []
        if not isinstance(expand, list):
            return original_pi_export(self, expand=expand)  # which answers 400
        mine = [e for e in expand if isinstance(e, str) and e.split(".", 1)[0] == "latest_charge"]
        obj = original_pi_export(self, expand=[e for e in expand if e not in mine])
        if isinstance(obj.get("latest_charge"), dict):
            obj["latest_charge"] = obj["latest_charge"]["id"]
            if mine:
                deeper = [e.split(".", 1)[1] for e in mine if "." in e]
                obj["latest_charge"] = self.latest_charge._export(expand=deeper)
        return obj

    def pi_list_all(cls, url, created=None, customer=None, limit=None, starting_after=None, **kwargs):
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        filters = created_filters(created)
        if customer is not None:
            filters.append(lambda o: o.customer == customer)
        li = StripeObject._api_list_all.__func__(cls, url, limit=limit, starting_after=starting_after)
        li._list = newest_first([o for o in li._list if all(f(o) for f in filters)])
        return li

    original_pi_cancel = PaymentIntent._api_cancel.__func__

    def pi_cancel(cls, id, cancellation_reason=None, **kwargs):
        if cancellation_reason not in (None, "duplicate", "fraudulent", "requested_by_customer", "abandoned"):
            raise UserError(400, "Bad cancellation_reason")
        obj = original_pi_cancel(cls, id, **kwargs)
        obj.cancellation_reason = cancellation_reason
        obj.canceled_at = int(time.time())
        schedule_webhook(Event("payment_intent.canceled", obj))
        return obj

    PaymentIntent.__init__ = pi_init
    PaymentIntent.amount_received = property(pi_amount_received)
    PaymentIntent._export = pi_export
    PaymentIntent._api_list_all = classmethod(pi_list_all)
    PaymentIntent._api_cancel = classmethod(pi_cancel)

    # -- Refund ------------------------------------------------------------
    original_refund_init = Refund.__init__

    def refund_init(self, charge=None, payment_intent=None, amount=None, metadata=None, reason=None, **kwargs):
        if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
            raise UserError(400, "Bad reason")
        charge_id = charge
        if charge_id is None and isinstance(payment_intent, str):
            intent = store.get("payment_intent:" + payment_intent)
            if intent is not None and intent.latest_charge is not None:
                charge_id = intent.latest_charge.id
        charge_obj = store.get("charge:" + charge_id) if isinstance(charge_id, str) else None
        if charge_obj is not None and charge_obj.status == "succeeded":
            left = charge_obj.amount - charge_obj.amount_refunded
            wanted = resources.try_convert_to_int(amount) if amount is not None else left
            if left <= 0:
                raise UserError(
                    400, f"Charge {charge_obj.id} has already been refunded.", {"code": "charge_already_refunded"}
                )
            if isinstance(wanted, int) and wanted > left:
                raise UserError(400, f"Refund amount ({wanted}) is greater than unrefunded amount on charge ({left})")
            amount = wanted  # without an amount, what is left (localstripe: the whole charge again)
        original_refund_init(
            self, charge=charge, payment_intent=payment_intent, amount=amount, metadata=metadata, **kwargs
        )
        self.reason = reason
        charge_obj = Charge._api_retrieve(self.charge)
        if self.payment_intent is None:
            self.payment_intent = charge_obj.payment_intent
        schedule_webhook(Event("refund.created", self))
        schedule_webhook(Event("charge.refunded", charge_obj))

    Refund.__init__ = refund_init

    # -- Events ------------------------------------------------------------
    original_event_init = Event.__init__

    def event_init(self, type, data):
        original_event_init(self, type, data)
        self.request = {"id": None, "idempotency_key": None}
        self.pending_webhooks = sum(
            1 for hook in webhooks._webhooks.values() if hook.events is None or type in hook.events
        )

    original_event_list = Event._api_list_all.__func__

    def event_list_all(cls, url, **kwargs):
        li = original_event_list(cls, url, **kwargs)
        li._list = newest_first(li._list)
        return li

    Event.__init__ = event_init
    Event._api_list_all = classmethod(event_list_all)

    # -- Fees --------------------------------------------------------------
    original_txn_init = BalanceTransaction.__init__

    def txn_init(self, *args, **kwargs):
        original_txn_init(self, *args, **kwargs)
        if self.type == "charge" and (fee_percent or fee_fixed):
            fee = Decimal(self.amount) * fee_percent / 100 + fee_fixed
            self.fee = int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            self.fee_details = [
                {
                    "amount": self.fee,
                    "application": None,
                    "currency": self.currency,
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]

    BalanceTransaction.__init__ = txn_init

    # Routes taken from `extra_apis` hold bound methods captured at import:
    # rebind them so the patched classmethods above are the ones served.
    resources.extra_apis[:] = [
        (
            method,
            url,
            getattr(func.__self__, func.__name__) if isinstance(getattr(func, "__self__", None), type) else func,
        )
        for method, url, func in resources.extra_apis
    ]


def _idempotency_middleware(web, server):
    """Real Stripe's `Idempotency-Key`: a POST repeated with the same key and
    the same body gets the first response back (`Idempotent-Replayed: true`);
    another body gets a 400 idempotency_error. Like Stripe, only results of
    requests that ran are kept (2xx, and 402 card errors), not validation errors."""
    saved: dict[tuple[str, str], tuple[tuple[str, str], int, bytes]] = {}
    running: set[tuple[str, str]] = set()

    @web.middleware
    async def middleware(request, handler):
        if request.method == "DELETE" and request.path == "/_config/data":
            saved.clear()
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or request.path.startswith("/_config/"):
            return await handler(request)
        scope = (request.headers.get("Authorization", ""), key)
        fingerprint = (request.path, hashlib.sha256(await request.read()).hexdigest())
        if scope in saved:
            first, status, body = saved[scope]
            if first != fingerprint:
                message = (
                    "Keys for idempotent requests can only be used with the same parameters they were first "
                    f"used with. Try using a key other than '{key}' if you meant to execute a different request."
                )
                return server.json_response({"error": {"type": "idempotency_error", "message": message}}, status=400)
            return web.Response(
                body=body,
                status=status,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
            )
        if scope in running:
            message = "There is currently another in-progress request using this Idempotent Key."
            return server.json_response({"error": {"type": "idempotency_error", "message": message}}, status=409)
        running.add(scope)
        try:
            try:
                response = await handler(request)
            except server.UserError as error:
                response = error.to_response()
        finally:
            running.discard(scope)
        if (response.status < 400 or response.status == 402) and isinstance(response.body, bytes):
            saved[scope] = (fingerprint, response.status, response.body)
        response.headers["Idempotency-Key"] = key
        return response

    return middleware


def _serve(argv: list[str]) -> None:
    import argparse
    import asyncio
    import logging
    import signal

    parser = argparse.ArgumentParser(prog="stripe_harness --serve")
    parser.add_argument("--fd", type=int, required=True, help="a listening socket inherited from the parent")
    parser.add_argument("--compat", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--fee-percent", type=Decimal, default=Decimal(0))
    parser.add_argument("--fee-fixed", type=int, default=0)
    parser.add_argument("--webhook-delay", type=float, default=None)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")

    from aiohttp import web
    from localstripe import resources, webhooks

    # No /tmp/localstripe.pickle: not read at start, not rewritten on each write.
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None

    if args.webhook_delay is not None:
        delay = args.webhook_delay

        class _Asyncio:  # localstripe's webhooks module sleeps 1 s before each delivery
            def __getattr__(self, name):
                return getattr(asyncio, name)

            @staticmethod
            def sleep(_seconds, *a, **kw):
                return asyncio.sleep(delay, *a, **kw)

        webhooks.asyncio = _Asyncio()

    # Keep hold of scheduled deliveries, so that removing the webhooks also
    # drops deliveries not yet made (a test's events must not reach the next
    # test's webhook). resources.py imported schedule_webhook by name.
    deliveries = set()

    def schedule_webhook(event):
        task = asyncio.ensure_future(webhooks._send_webhook(event))
        deliveries.add(task)
        task.add_done_callback(deliveries.discard)

    webhooks.schedule_webhook = resources.schedule_webhook = schedule_webhook

    if args.compat:
        _install_compat(resources, webhooks, fee_percent=args.fee_percent, fee_fixed=args.fee_fixed)

    from localstripe import server

    app = server.app
    if args.compat:
        app.middlewares.insert(1, _idempotency_middleware(web, server))  # inside error_middleware

    async def remove_webhook(request):
        webhooks._webhooks.pop(request.match_info["id"], None)
        return web.Response()

    async def remove_webhooks(request):
        webhooks._webhooks.clear()
        for task in list(deliveries):
            task.cancel()
        return web.Response()

    app.router.add_delete("/_config/webhooks/{id}", remove_webhook)
    app.router.add_delete("/_config/webhooks", remove_webhooks)

    parent = os.getppid()
    watchers = []

    async def watch_parent(_app):
        async def watch():
            while os.getppid() == parent:
                await asyncio.sleep(1)
            os.kill(os.getpid(), signal.SIGTERM)  # the test run died: do not linger

        watchers.append(asyncio.get_running_loop().create_task(watch()))

    app.on_startup.append(watch_parent)
    sock = socket.socket(fileno=args.fd)
    web.run_app(app, sock=sock, print=None, access_log=logging.getLogger("aiohttp.access"), shutdown_timeout=1)


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    # Started with `python -P`, so tests/ is not put first on sys.path.
    with contextlib.suppress(KeyboardInterrupt):
        _serve(sys.argv[2:])
