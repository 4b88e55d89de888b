"""The status page in a browser: a card pledge still owed is paid from its
private status link (Stripe's Payment Element, faked in the page; the
PaymentIntent is localstripe's), and the page says the payment succeeded."""

import re
from decimal import Decimal

from pledges.models import CardPaymentIntent, PledgeStatus
from tests.factories import DonorFactory, PledgeFactory
from tests.web.test_form import ARTIFACTS, FAKE_STRIPE


def test_a_card_pledge_is_paid_from_its_status_page(form_server, page, stripe_on, stripe_client):
    from tests.conftest import stripe_card_pay

    pledge = PledgeFactory(
        donor=DonorFactory(language="es", name="Reino de España"),
        payment_method="card",
        status=PledgeStatus.SUBMITTED,
        amount=Decimal("500.00"),
        currency="EUR",
        amount_usd=None,
    )
    page.route(
        "https://js.stripe.com/**",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=FAKE_STRIPE),
    )
    page.goto(f"{form_server.url}/api/v1/pledges/status/{pledge.status_secret}/")
    assert page.get_attribute("html", "lang") == "es"
    assert page.inner_text("#amount-outstanding") == "500,00\xa0€"
    page.click("#card-start")
    page.wait_for_selector("[data-fake-element]")
    assert page.evaluate("window.__fakeStripe.options") == {"locale": "es"}
    intent = CardPaymentIntent.objects.get(pledge=pledge)
    page.screenshot(path=str(ARTIFACTS / "status-card-es.png"), full_page=True)

    stripe_card_pay(stripe_client, intent.payment_intent_id)
    page.click("#card-pay")
    page.wait_for_url(re.compile(r"/status/[\w-]+/\?payment_intent="))
    assert page.inner_text(".notice.success") == "Su pago con tarjeta se realizó correctamente. Gracias."
    page.screenshot(path=str(ARTIFACTS / "status-card-paid-es.png"), full_page=True)
