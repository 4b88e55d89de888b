"""The donor's status link in a browser: an HTML page in the donor's
language at the same URL that answers JSON to API clients; private, never
cached by shared caches or leaked through a referrer."""

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from pledges.models import PledgeStatus
from tests.conftest import pledge_body
from tests.factories import DonorFactory, PaymentFactory, PledgeFactory

pytestmark = pytest.mark.django_db

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def status_path(pledge) -> str:
    return f"/api/v1/pledges/status/{pledge.status_secret}/"


@pytest.fixture
def arabic_pledge():
    pledge = PledgeFactory(
        donor=DonorFactory(name="State of Qatar", language="ar", country="QA"),
        amount=Decimal("250000.00"),
        status=PledgeStatus.PARTIALLY_PAID,
        amount_paid=Decimal("100000.00"),
    )
    pledge.instalments.create(due_date="2027-03-01", amount=Decimal("150000.00"))
    pledge.instalments.create(due_date="2027-09-01", amount=Decimal("100000.00"))
    PaymentFactory(pledge=pledge, amount=Decimal("100000.00"), received_on="2026-11-20")
    return pledge


def test_a_browser_gets_the_page_in_the_donors_language(client, arabic_pledge):
    response = client.get(status_path(arabic_pledge), headers={"Accept": BROWSER})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "<h1>تعهدكم</h1>" in html
    assert "مدفوع جزئيًا" in html or "مدفوع" in html  # the status in words
    assert "1 مارس 2027" in html  # dates as Arabic writes them, not ISO
    assert "2027-03-01</time>" not in html
    assert "\u2066US$\u2069" in html  # the currency symbol kept whole
    assert "صندوق الأمم المتحدة الاستئماني" in re.search(r'id="campaign-title">([^<]+)<', html)[1]
    assert "20 نوفمبر 2026" in html  # the payment received
    assert "CHASUS33" in html  # still owed: the bank instructions


def test_the_same_url_answers_json_to_api_clients(client, api, arabic_pledge):
    for response in (
        api.get(status_path(arabic_pledge)),
        client.get(status_path(arabic_pledge), headers={"Accept": "application/json"}),
        client.get(status_path(arabic_pledge), headers={"Accept": "*/*"}),
    ):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert (body["amount"], body["amount_paid"], body["amount_outstanding"]) == (
            "250000.00",
            "100000.00",
            "150000.00",
        )
        assert "Accept" in response["Vary"]


def test_the_language_switcher_keeps_the_secret_and_the_choice_wins(client, arabic_pledge):
    html = client.get(status_path(arabic_pledge), headers={"Accept": BROWSER}).content.decode()
    links = re.findall(r'<a href="([^"]+)" lang="[^"]+" hreflang', html)
    assert links == [f"{status_path(arabic_pledge)}?lang={prefix}" for prefix in ("ar", "zh", "en", "fr", "ru", "es")]

    french = client.get(links[3], headers={"Accept": BROWSER})
    assert '<html lang="fr" dir="ltr">' in french.content.decode()
    assert "1 mars 2027" in french.content.decode()
    assert "250\u202f000,00\xa0$US" in french.content.decode()


def test_the_page_is_private(client, arabic_pledge):
    response = client.get(status_path(arabic_pledge), headers={"Accept": BROWSER})

    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex"
    assert {"Accept", "Accept-Language"} <= {v.strip() for v in response["Vary"].split(",")}
    assert "mission@" not in response.content.decode()  # no e-mail address on the page
    wrong = client.get(status_path(arabic_pledge).replace(arabic_pledge.status_secret[:8], "x" * 8))
    assert wrong.status_code == 404


def test_a_card_pledge_still_owed_offers_the_card_button_when_stripe_is_on(client, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = "sk_test_x", "pk_test_x"
    pledge = PledgeFactory(payment_method="card", status=PledgeStatus.SUBMITTED)
    html = client.get(status_path(pledge), headers={"Accept": BROWSER}).content.decode()
    assert f'data-card-start="/api/v1/pledges/status/{pledge.status_secret}/payment/"' in html
    assert '<script src="https://js.stripe.com/v3/"' in html

    paid = PledgeFactory(payment_method="card", status=PledgeStatus.PAID, amount_paid=Decimal("1000.00"))
    html = client.get(status_path(paid), headers={"Accept": BROWSER}).content.decode()
    assert "data-card-start" not in html and "js.stripe.com" not in html
    assert "CHASUS33" not in html  # nothing left to pay


def test_the_status_link_handed_out_opens_in_the_form_language(api, client):
    created = api.post("/api/v1/pledges/", pledge_body(language="zh-hans"), format="json").json()
    html = client.get(urlsplit(created["status_url"]).path, headers={"Accept": BROWSER}).content.decode()
    assert '<html lang="zh-hans" dir="ltr">' in html
    assert "2012年认捐" in html  # the Chinese campaign title
    assert "第一小组" in html  # and session title
