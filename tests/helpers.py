"""Small helpers the test modules share: dates relative to today, the
problem response type and a refusal's problem document, a pledge as
`pledge_confirm` leaves it, and the body a reconciler posts for a bank
transfer."""

import re
import time
from datetime import date, timedelta

from django.utils import timezone

from pledges.models import Pledge, PledgeStatus
from tests.factories import PledgeFactory

PROBLEM = "application/problem+json"


def today() -> date:
    return timezone.localdate()


def days_ago(days: int) -> date:
    return today() - timedelta(days=days)


def wait_for(condition, seconds: float, every: float = 0.1) -> bool:
    """Whether `condition()` comes true within `seconds`, asked every `every`
    seconds: for work a real worker does in the background."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def confirmed_pledge(**fields) -> Pledge:
    """A pledge as `pledge_confirm` leaves it (factories skip services):
    confirmed today, USD 1,000.00 unless `fields` say otherwise."""
    now = timezone.now()
    defaults = {"status": PledgeStatus.CONFIRMED, "verified_at": now, "confirmed_at": now, "confirmed_on": today()}
    return PledgeFactory(**(defaults | fields))


def problem(response, status: int, code: str) -> dict:
    """The problem document of a refused request, checked: its HTTP status,
    media type, `status`, type (`code`), title and detail."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:vtf-pledges:problem:{code}"
    assert body["title"] and body["detail"]
    return body


def pick(body: dict, *keys: str) -> tuple:
    """The values of `keys` in a response body, to compare several fields in one line."""
    return tuple(body[key] for key in keys)


def bank_payment_body(pledge: Pledge, amount: str, bank_reference: str, **fields) -> dict:
    """POST /api/v1/payments/: a bank transfer for `pledge`, in its
    currency, received today; override any field."""
    body = {
        "pledge": pledge.reference,
        "amount": amount,
        "currency": pledge.currency,
        "received_on": str(today()),
        "method": "bank_transfer",
        "bank_reference": bank_reference,
    }
    return body | fields


# --- The public pledge form, posted without a browser ---


def form_answers(client, language: str = "en", *, donor: tuple[str, str, str, str] | None = None, **answers) -> dict:
    """What a donor sends from a fresh /<language>/pledge/ page: its spam-trap
    `started` stamp and a bank-transfer pledge of USD 1,000 by UNODC; `donor`
    (name, type, country, email) answers who pledges instead; override any
    answer."""
    page = client.get(f"/{language}/pledge/").content.decode()
    started = re.search(r'name="started" value="([^"]+)"', page)[1]
    if donor:
        answers = dict(zip(("donor_name", "donor_type", "donor_country", "donor_email"), donor, strict=True)) | answers
    defaults = {
        "donor_name": "UNODC",
        "donor_type": "un_entity",
        "donor_email": "fund@example.org",
        "amount": "1000",
        "currency": "USD",
        "payment_method": "bank_transfer",
    }
    return {"started": started, **defaults, **answers}


def form_token(check_page) -> str:
    """The signed token of the check step (a response or its text)."""
    text = check_page if isinstance(check_page, str) else check_page.content.decode()
    return re.search(r'name="token" value="([^"]+)"', text)[1]


# --- The public cache ---


class CountedBuild:
    """A public document builder that counts its calls: each document says
    which build made it, so a test can tell a rebuild from a cached copy."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> dict:
        self.count += 1
        return {"build": self.count}
