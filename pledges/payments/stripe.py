"""The one module that talks to Stripe. Everything else under `pledges/`
goes through these functions, which take and return plain values.

`STRIPE_API_BASE` points the client at another server (localstripe in
tests). Network failures and Stripe's own errors become `StripeUnavailable`
or `StripeRefused`, so callers never see the SDK's exception types.
"""

import json
import time
from decimal import Decimal
from functools import cache
from typing import Any

import stripe
from django.conf import settings

from pledges.errors import CurrencyNotChargeable, SignatureInvalid, StripeRefused, StripeUnavailable

# Stripe's own minor units differ from ISO 4217 for a few currencies
# (https://docs.stripe.com/currencies): these take no decimals...
ZERO_DECIMAL = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]
)
# ...these three, with the last digit 0...
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
# ...and these are sent with two decimals that must be zero.
WHOLE_UNITS_IN_TWO_DECIMALS = frozenset(["HUF", "ISK", "TWD", "UGX"])

# How far a webhook's timestamp may be from our clock. Older deliveries are
# replays as far as we can tell; newer ones (beyond normal clock skew) can
# only come from a forged or badly clocked sender. Stripe's own SDK only
# checks the first.
SIGNATURE_TOLERANCE_SECONDS = 300


@cache
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    kwargs: dict[str, Any] = {"max_network_retries": 2}
    if api_base:
        kwargs["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **kwargs)


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise StripeUnavailable("Card payments are not configured (STRIPE_SECRET_KEY is empty).")
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def _call(operation, *args, **kwargs):
    """Run one SDK call, turning its errors into ours."""
    try:
        return operation(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeUnavailable(f"Stripe cannot be reached: {error.user_message or error}") from None
    except stripe.StripeError as error:
        if error.http_status and error.http_status >= 500:
            raise StripeUnavailable(f"Stripe failed: {error.user_message or error}") from None
        raise StripeRefused(f"Stripe refused: {error.user_message or error}") from None


def minor_units(amount: Decimal, currency: str) -> int:
    """The amount in Stripe's integer minor units: 5000000 JPY is 5000000,
    12.50 USD is 1250, 1.500 KWD is 1500. Raises CurrencyNotChargeable
    when Stripe cannot represent the amount exactly."""
    code = currency.upper()
    places = _stripe_decimals(code)
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise CurrencyNotChargeable(f"{amount} {code} cannot be charged by card: Stripe takes {places} decimals.")
    minor = int(scaled)
    if code in THREE_DECIMAL and minor % 10:
        raise CurrencyNotChargeable(f"Stripe charges {code} only in multiples of 0.010.")
    if code in WHOLE_UNITS_IN_TWO_DECIMALS and minor % 100:
        raise CurrencyNotChargeable(f"Stripe charges {code} only in whole units.")
    return minor


def from_minor_units(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-_stripe_decimals(currency.upper()))


def _stripe_decimals(code: str) -> int:
    """The decimals of Stripe's minor unit for a currency (its code in
    capitals): Stripe's list, not ISO 4217's."""
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def payment_intent_create(*, amount_minor: int, currency: str, reference: str, idempotency_key: str) -> Any:
    """A PaymentIntent for a pledge. Its metadata holds the pledge reference
    and nothing personal; the idempotency key makes a retry return the same
    PaymentIntent instead of a second charge."""
    return _call(
        client().v1.payment_intents.create,
        params={
            "amount": amount_minor,
            "currency": currency.lower(),
            "payment_method_types": ["card"],
            "metadata": {"pledge": reference},
            "description": f"Pledge {reference} to the UN Voluntary Trust Fund for Victims of Trafficking",
        },
        options={"idempotency_key": idempotency_key},
    )


def payment_intent_cancel(payment_intent_id: str) -> Any:
    return _call(client().v1.payment_intents.cancel, payment_intent_id)


def payment_intent_retrieve(payment_intent_id: str) -> Any:
    return _call(client().v1.payment_intents.retrieve, payment_intent_id)


# The repair job reads at most this many objects of a kind per run.
MAX_LISTED = 10_000


def _all_pages(page) -> list[Any]:
    """Every object of a list, following Stripe's pagination (bounded)."""
    items: list[Any] = []
    iterator = page.auto_paging_iter()
    while len(items) < MAX_LISTED:
        try:
            items.append(_call(next, iterator))
        except StopIteration:
            break
    return items


def payment_intents_list(*, created_since: int) -> list[Any]:
    page = _call(client().v1.payment_intents.list, params={"created": {"gte": created_since}, "limit": 100})
    return _all_pages(page)


def charge_retrieve(charge_id: str) -> Any:
    return _call(client().v1.charges.retrieve, charge_id)


def balance_transaction_retrieve(balance_transaction_id: str) -> Any | None:
    try:
        return _call(client().v1.balance_transactions.retrieve, balance_transaction_id)
    except StripeRefused:
        return None  # not every account (or fake) exposes them


def refunds_list(charge_id: str) -> list[Any]:
    """Every refund of a charge, fetched from the API: newer API versions
    no longer embed them in the charge."""
    page = _call(client().v1.refunds.list, params={"charge": charge_id, "limit": 100})
    return _all_pages(page)


def events_list(*, created_since: int) -> list[bytes]:
    """Recent events (every page), each as the JSON body a webhook would
    have carried."""
    page = _call(client().v1.events.list, params={"created": {"gte": created_since}, "limit": 100})
    return [json.dumps(event).encode() for event in _all_pages(page)]


def webhook_verify(payload: bytes, signature_header: str, *, now: float | None = None) -> None:
    """Check a webhook's `Stripe-Signature` with Stripe's own verifier and
    our timestamp policy: refused when missing, wrong, for a tampered body,
    older than SIGNATURE_TOLERANCE_SECONDS, or more than that in the future.
    Raises SignatureInvalid."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise SignatureInvalid("Webhooks are not configured (STRIPE_WEBHOOK_SECRET is empty).")
    if not signature_header:
        raise SignatureInvalid("The Stripe-Signature header is missing.")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature_header,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise SignatureInvalid(str(error).split("\n")[0]) from None
    timestamp = _signature_timestamp(signature_header)
    if timestamp > (now or time.time()) + SIGNATURE_TOLERANCE_SECONDS:
        raise SignatureInvalid("The signature's timestamp is in the future.")


def _signature_timestamp(header: str) -> int:
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    raise SignatureInvalid("The Stripe-Signature header has no timestamp.")
