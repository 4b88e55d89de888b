"""The domain's refusals, all in one place: the one exception base and every
problem type a service can raise, each with its HTTP status, its stable
`code` (part of the public contract) and its title. `backend.problems` maps
each to an RFC 9457 problem response; services raise them and views never
catch them. Declare a new one here, under its part of the domain, so the
list of codes a client may meet is this file (tests/test_errors.py checks
that no module declares one elsewhere and that no two share a code).

Every refusal of a field carries a stable code next to its English message
(`Refusal`), so pages and clients show their own words for it without
matching the English text. The problem response lists the codes under
`codes`, path by path, in the order of the messages under `errors`.
"""


class Refusal(str):
    """An English message for the API, with a stable code for everyone else.
    A `str`, so it goes wherever a message goes; DRF keeps its code."""

    code: str

    def __new__(cls, message: str, code: str) -> "Refusal":
        refusal = super().__new__(cls, message)
        refusal.code = code
        return refusal

    def __reduce__(self):
        return (Refusal, (str(self), self.code))


def code_of(message: str) -> str:
    """A message's stable code: its own, DRF's (`required`, `max_length`,
    with hyphens), or `invalid`."""
    code = getattr(message, "code", None) or "invalid"
    return str(code).replace("_", "-")


class DomainError(Exception):
    """A rule of the domain refused the request."""

    status = 409
    code = "conflict"
    title = "The request conflicts with the current state"

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class InvalidInput(DomainError):
    status = 400
    code = "invalid-input"
    title = "The request has invalid fields"

    def __init__(self, errors: dict[str, list[str]]):
        fields = ", ".join(sorted(errors))
        super().__init__(f"Check these fields: {fields}.", errors=errors)


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class TransitionNotAllowed(DomainError):
    status = 409
    code = "transition-not-allowed"
    title = "This status change is not allowed"


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency-key-reused"
    title = "The Idempotency-Key was already used with a different request"


# Card payments and Stripe


class StripeUnavailable(DomainError):
    status = 503
    code = "payment-provider-unavailable"
    title = "The card payment provider cannot be reached"


class StripeRefused(DomainError):
    status = 502
    code = "payment-provider-refused"
    title = "The card payment provider refused the request"


class SignatureInvalid(DomainError):
    status = 400
    code = "signature-invalid"
    title = "The Stripe-Signature header does not match the payload"


class CurrencyNotChargeable(DomainError):
    status = 422
    code = "currency-not-chargeable"
    title = "This amount cannot be charged by card"


class EventMalformed(DomainError):
    status = 400
    code = "event-malformed"
    title = "The Stripe event is not well formed"


# Money received


class DuplicatePayment(DomainError):
    status = 409
    code = "duplicate-payment"
    title = "This payment is already recorded"


# Bank statements


class StatementAlreadyImported(DomainError):
    status = 409
    code = "statement-already-imported"
    title = "This statement was already imported"


class StatementLineConflict(DomainError):
    status = 409
    code = "statement-line-conflict"
    title = "A line of this file has the bank reference of a different line already imported"


class StatementTooLarge(DomainError):
    status = 413
    code = "request-too-large"
    title = "The statement file is too large"


# Reports


class ReportNotReady(DomainError):
    status = 409
    code = "report-not-ready"
    title = "The report is not built yet"
