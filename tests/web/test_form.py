"""The public pledge form in a real browser (Debian's chromium through
playwright), plus a few checks through Django's test client.

Screenshots of each page (desktop and a 390 px phone) are kept under
artifacts/ at the repository root."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from pledges.models import CardPaymentIntent, Pledge
from tests.helpers import form_answers, form_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PHONE = {"width": 390, "height": 844}
REFERENCE_PRINTED = re.compile(r"RF\d\d( [0-9A-Z]{1,4})+")

FAKE_STRIPE = """
window.Stripe = function (publishableKey, options) {
  var fake = window.__fakeStripe = { publishableKey: publishableKey, options: options };
  return {
    elements: function (opts) {
      fake.clientSecret = opts.clientSecret;
      return { create: function (type) { return { mount: function (selector) {
        document.querySelector(selector).innerHTML = '<p data-fake-element>' + type + ' element</p>';
      } }; } };
    },
    confirmPayment: function (opts) {
      fake.returnUrl = opts.confirmParams.return_url;
      if (window.__fakeStripeDecline) {
        var declined = { type: "card_error", code: "card_declined", message: "Your card was declined." };
        return Promise.resolve({ error: declined });
      }
      var intent = fake.clientSecret.split("_secret_")[0];
      window.location.assign(fake.returnUrl + "?payment_intent=" + intent +
        "&payment_intent_client_secret=" + encodeURIComponent(fake.clientSecret) + "&redirect_status=succeeded");
      return new Promise(function () {});
    },
  };
};
"""


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"pledge-{name}.png"), full_page=True)


def fill_bank_pledge(page, *, amount="250000.00", instalments=True):
    page.fill("#donor_name", "Kingdom of Norway")
    page.select_option("#donor_type", "member_state")
    page.select_option("#donor_country", "NO")
    page.fill("#donor_email", "mission@example.org")
    page.fill("#amount", amount)
    page.select_option("#currency", "USD")
    page.select_option("#session", "panel-1")
    page.check("#earmark_children")
    page.check("#payment_method_bank_transfer")
    if instalments:
        page.fill("#inst_0_due_date", str(timezone.localdate() + timedelta(days=30)))
        page.fill("#inst_0_amount", "125000.00")
        page.fill("#inst_1_due_date", str(timezone.localdate() + timedelta(days=365)))
        page.fill("#inst_1_amount", "125000.00")
    page.check("#public_name")
    page.check("#public_amount")
    page.fill("#statement", "Norway stands with the survivors of trafficking.")


def check_and_confirm(page, screenshot_name: str = "") -> None:
    """Continue to the check step, look at it, and confirm."""
    page.click("#submit")
    page.wait_for_selector("#confirm-form")
    if screenshot_name:
        screenshot(page, screenshot_name)
    page.click("#confirm")


def test_bank_transfer_pledge_end_to_end(form_server, page):
    page.goto(f"{form_server.url}/en/pledge/")
    screenshot(page, "form-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "form-phone")
    # Nothing is wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 900})

    fill_bank_pledge(page)
    page.click("#submit")
    page.wait_for_selector("#confirm-form")
    # The check step: the amount as understood, the answers, nothing saved yet.
    assert page.inner_text("#amount-understood") == "$250,000.00"
    assert "Kingdom of Norway" in page.inner_text("#answers")
    assert not Pledge.objects.exists()
    screenshot(page, "check-desktop")
    page.click("#confirm")
    page.wait_for_url(re.compile(r"/en/pledge/done/[\w-]+/$"))

    printed = page.inner_text("#reference")
    assert REFERENCE_PRINTED.fullmatch(printed)
    pledge = Pledge.objects.select_related("donor", "session").get()
    assert printed.replace(" ", "") == pledge.reference
    assert (pledge.donor.name, pledge.donor.country, pledge.donor.language) == ("Kingdom of Norway", "NO", "en")
    assert (pledge.amount, pledge.currency, pledge.payment_method) == (Decimal("250000"), "USD", "bank_transfer")
    assert pledge.session.slug == "panel-1" and pledge.earmark == "children"
    assert pledge.instalments.count() == 2 and pledge.public_name and pledge.public_amount
    body = page.inner_text("main")
    assert "How to pay by bank transfer" in body and "CHASUS33" in body
    assert page.get_attribute(".status-link a", "href").endswith(
        f"/api/v1/pledges/status/{pledge.status_secret}/?lang=en"
    )
    assert "Campaign" in body and "2012 pledges" in body
    assert page.is_visible("#print")  # JavaScript shows the Print button
    screenshot(page, "done-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "done-phone")
    page.emulate_media(media="print")
    assert not page.is_visible("#print")
    screenshot(page, "done-print")


def test_validation_error_next_to_its_field(form_server, page):
    page.goto(f"{form_server.url}/en/pledge/")
    fill_bank_pledge(page, instalments=False)
    page.fill("#donor_email", "not an address")
    # What is typed stays as typed: no masking, whatever the currency.
    page.fill("#amount", "")
    page.type("#amount", "1.001")
    assert page.input_value("#amount") == "1.001"
    page.select_option("#currency", "JPY")
    assert page.input_value("#amount") == "1.001"
    page.select_option("#currency", "USD")

    page.click("#submit")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_attribute("#error-summary", "role") == "alert"
    email = page.locator("#donor_email")
    assert email.get_attribute("aria-invalid") == "true"
    assert "donor_email-error" in email.get_attribute("aria-describedby").split()
    assert "valid email" in page.inner_text("#donor_email-error")
    assert page.input_value("#donor_name") == "Kingdom of Norway"  # what was typed is kept
    assert page.input_value("#amount") == "1.001"
    assert page.inner_text("#amount-error").strip() == "USD amounts have 2 decimal places at most."
    page.click("#error-summary a[href='#donor_email']")
    screenshot(page, "errors-desktop")
    assert not Pledge.objects.exists()


def test_too_many_decimals_refused_by_the_server_without_javascript(form_server, chromium):
    context = chromium.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{form_server.url}/fr/pledge/")
    fill_bank_pledge(page, amount="1.001", instalments=False)
    page.click("#submit")
    page.wait_for_selector("#error-summary")
    assert page.get_attribute("#amount", "aria-invalid") == "true"
    assert page.get_attribute("#amount", "aria-describedby").split()[0] == "amount-error"
    # In the page's language.
    assert page.inner_text("#amount-error").strip() == "Les montants en USD ont au plus 2 décimales."
    assert page.get_attribute("#error-summary", "autofocus") is not None
    screenshot(page, "errors-fr-nojs")
    context.close()
    assert not Pledge.objects.exists()


def test_bank_transfer_without_javascript(form_server, chromium):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{form_server.url}/es/pledge/")
    fill_bank_pledge(page)
    check_and_confirm(page)
    page.wait_for_url(re.compile(r"/es/pledge/done/"))
    assert REFERENCE_PRINTED.fullmatch(page.inner_text("#reference"))
    assert "Cómo pagar por transferencia bancaria" in page.inner_text("main")
    assert Pledge.objects.get().donor.language == "es"
    screenshot(page, "done-es-nojs")
    context.close()


def test_card_pledge_without_javascript_offers_bank_transfer(form_server, chromium):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{form_server.url}/en/pledge/")
    fill_bank_pledge(page, amount="100.00", instalments=False)
    page.check("#payment_method_card")
    check_and_confirm(page)
    page.wait_for_url(re.compile(r"/en/pledge/done/"))
    text = page.inner_text("main")
    assert "unavailable right now" in text or "needs JavaScript" in text
    assert "How to pay by bank transfer" in text
    assert Pledge.objects.get().payment_method == "card"
    context.close()


def test_arabic_form_is_right_to_left(form_server, chromium):
    context = chromium.new_context(locale="ar", viewport=PHONE)
    page = context.new_page()
    page.goto(f"{form_server.url}/ar/pledge/")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ar"
    assert page.inner_text("label[for=donor_name]") == "اسم المانح"
    assert page.inner_text("h1") == "قدّم تعهدًا"
    # The name field starts at the right-hand side.
    box = page.locator("#donor_name").bounding_box()
    label = page.locator("label[for=donor_name]").bounding_box()
    assert label["x"] + label["width"] == pytest.approx(box["x"] + box["width"], abs=2)
    screenshot(page, "form-ar-phone")
    context.close()


def test_arabic_check_and_bank_details_sit_beside_their_labels(form_server, chromium):
    # Numbers, codes and the email are left-to-right text inside right-to-left
    # rows: each must still start at the right, beside its label, not drift to
    # the far left of the page.
    context = chromium.new_context(locale="ar")
    page = context.new_page()
    page.goto(f"{form_server.url}/ar/pledge/")
    fill_bank_pledge(page, instalments=False)
    page.fill("#donor_name", "Acme Holdings Inc.")
    page.select_option("#donor_type", "private_sector")
    page.click("#submit")
    page.wait_for_selector("#confirm-form")
    on_the_check_page = _right_edges_of_values(page, "main dl")
    name_on_the_check_page = _last_character_is_rightmost(page, "Acme Holdings")
    page.click("#confirm")
    page.wait_for_url(re.compile(r"/ar/pledge/done/"))
    on_the_bank_details = _right_edges_of_values(page, "dl.bank")
    name_on_the_done_page = _last_character_is_rightmost(page, "Acme Holdings")
    screenshot(page, "done-ar")

    for ends in (on_the_check_page, on_the_bank_details):
        assert len(ends) >= 5
        assert max(ends) - min(ends) <= 2, ends
    # A Latin name in an Arabic page keeps its full stop at its end, not before it.
    assert name_on_the_check_page and name_on_the_done_page
    context.close()


def _last_character_is_rightmost(page, starting: str) -> bool:
    """Whether the last character of the value that starts with `starting`
    is drawn at the right end of that value, as left-to-right text is."""
    return page.eval_on_selector_all(
        "main dd",
        """(dds, starting) => dds.filter(dd => dd.textContent.trim().startsWith(starting)).every(dd => {
          const range = document.createRange();
          range.selectNodeContents(dd);
          const whole = range.getBoundingClientRect();
          const walker = document.createTreeWalker(dd, NodeFilter.SHOW_TEXT);
          let text = null;
          while (walker.nextNode()) if (walker.currentNode.textContent.trim()) text = walker.currentNode;
          const end = text.textContent.trimEnd().length;
          range.setStart(text, end - 1);
          range.setEnd(text, end);
          return Math.abs(range.getBoundingClientRect().right - whole.right) <= 1;
        }) && dds.some(dd => dd.textContent.trim().startsWith(starting))""",
        starting,
    )


def _right_edges_of_values(page, dl: str) -> list[int]:
    """Where the text of each value of the list ends on the right."""
    return page.eval_on_selector_all(
        f"{dl} dd",
        """dds => dds.map(dd => {
          const range = document.createRange();
          range.selectNodeContents(dd);
          return Math.round(range.getBoundingClientRect().right);
        })""",
    )


def test_accept_language_picks_the_language(form_server, chromium):
    context = chromium.new_context(extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = context.new_page()
    page.goto(f"{form_server.url}/pledge/")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.inner_text("h1") == "认捐"
    context.close()


def test_keyboard_only_completion(form_server, page):
    page.goto(f"{form_server.url}/en/pledge/")
    visited: list[str] = []

    def tab_to(element_id: str) -> None:
        for _ in range(60):
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.id")
            visited.append(focused)
            if focused == element_id:
                return
        raise AssertionError(f"Tab never reached #{element_id}; visited {visited}")

    # (field, what is typed, key pressed there): the whole form from the keyboard.
    keystrokes = [
        ("donor_name", "Kingdom of Norway", None),
        ("donor_type", "Member", None),
        ("donor_country", "Norway", None),
        ("donor_email", "mission@example.org", None),
        ("amount", "5000", None),
        ("earmark_unrestricted", "", "ArrowDown"),  # the next earmark: children
        ("payment_method_bank_transfer", "", None),
        ("public_name", "", "Space"),
        ("statement", "With the survivors.", None),
        ("submit", "", "Enter"),
    ]
    for field, text, key in keystrokes:
        tab_to(field)
        if text:
            page.keyboard.type(text)
        if key:
            page.keyboard.press(key)
    page.wait_for_selector("#confirm-form")
    tab_to("confirm")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/en/pledge/done/"))

    order = [i for i in dict.fromkeys(visited) if i]
    expected = ["donor_name", "donor_type", "donor_country", "donor_email", "amount", "currency", "session"]
    assert order[order.index("donor_name") : order.index("donor_name") + len(expected)] == expected
    assert "website" not in visited  # the honeypot is never reached
    pledge = Pledge.objects.select_related("donor").get()
    assert (pledge.donor.name, pledge.donor.donor_type, pledge.donor.country) == (
        "Kingdom of Norway",
        "member_state",
        "NO",
    )
    assert (pledge.amount, pledge.earmark, pledge.public_name) == (Decimal("5000"), "children", True)
    assert page.inner_text("#reference").replace(" ", "") == pledge.reference


def test_honeypot_rejects_a_bot(form_server, page):
    page.goto(f"{form_server.url}/en/pledge/")
    fill_bank_pledge(page)
    page.fill("#website", "http://spam.example", force=True)
    page.click("#submit")
    page.wait_for_selector("#notice")
    assert "has not been sent" in page.inner_text("#notice")
    assert not Pledge.objects.exists()


def test_form_sent_too_fast_is_redisplayed(form_server, page, settings):
    settings.PLEDGE_FORM_MIN_SECONDS = 60
    page.goto(f"{form_server.url}/en/pledge/")
    fill_bank_pledge(page)
    page.click("#submit")
    page.wait_for_selector("#notice")
    assert page.input_value("#donor_email") == "mission@example.org"
    assert not Pledge.objects.exists()


def test_card_payment_with_stripe_faked(form_server, page, stripe_on, stripe_client):
    from tests.conftest import stripe_card_pay

    page.route(
        "https://js.stripe.com/**",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=FAKE_STRIPE),
    )
    page.goto(f"{form_server.url}/fr/pledge/")
    fill_bank_pledge(page, amount="100.00", instalments=False)
    page.check("#payment_method_card")
    check_and_confirm(page)
    page.wait_for_selector("[data-fake-element]")
    assert page.is_hidden("#confirm-form")
    assert page.evaluate("document.activeElement.id") == "card-title"

    pledge = Pledge.objects.get()
    intent = CardPaymentIntent.objects.get(pledge=pledge)
    fake = page.evaluate("window.__fakeStripe")
    assert fake["publishableKey"] == stripe_on_key(stripe_on)
    assert fake["options"] == {"locale": "fr"}
    assert fake["clientSecret"].startswith(intent.payment_intent_id + "_secret")
    screenshot(page, "card-fr")

    # A decline: the message in the alert region, and the donor can retry.
    page.evaluate("window.__fakeStripeDecline = true")
    page.click("#card-pay")
    page.wait_for_function("document.getElementById('card-error').textContent.length > 0")
    assert page.inner_text("#card-error") == "Your card was declined."
    assert page.get_attribute("#card-error", "role") == "alert"
    assert page.is_enabled("#card-pay")

    # Success: Stripe takes the card, then sends the donor back.
    stripe_card_pay(stripe_client, intent.payment_intent_id)
    page.evaluate("window.__fakeStripeDecline = false")
    page.click("#card-pay")
    page.wait_for_url(re.compile(r"/fr/pledge/done/.*redirect_status=succeeded"))
    assert "Votre paiement par carte a réussi" in page.inner_text("main")
    assert page.inner_text("#reference").replace(" ", "") == pledge.reference
    screenshot(page, "done-card-fr")


def stripe_on_key(_localstripe) -> str:
    from tests.conftest import STRIPE_PUBLISHABLE_KEY

    return STRIPE_PUBLISHABLE_KEY


# --- Without a browser ---


@pytest.mark.django_db
def test_confirmation_page_is_private(client, settings):
    settings.PLEDGE_FORM_MIN_SECONDS = 0
    answers = form_answers(client, amount="5000", currency="JPY")
    response = client.post("/en/pledge/", answers)
    assert response.status_code == 200  # the check step
    assert not Pledge.objects.exists()
    assert "¥5,000" in response.content.decode()
    response = client.post("/en/pledge/", {**answers, "action": "confirm", "token": form_token(response)})
    assert response.status_code == 302
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert done["Cache-Control"] == "private, no-store"
    assert done["Referrer-Policy"] == "no-referrer"
    assert client.get("/en/pledge/done/not-a-real-secret-at-all-xxxx/").status_code == 404
    assert client.get("/de/pledge/").status_code == 404


@pytest.mark.django_db
def test_throttled_page(client, settings):
    settings.PLEDGE_THROTTLE_RATE = "1/minute"
    assert client.post("/en/pledge/", {}).status_code == 400
    response = client.post("/en/pledge/", {})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


@pytest.mark.django_db
def test_csrf_is_enforced():
    from django.test import Client

    assert Client(enforce_csrf_checks=True).post("/en/pledge/", {}).status_code == 403


@pytest.mark.django_db
def test_confirming_twice_makes_one_pledge(client, settings):
    settings.PLEDGE_FORM_MIN_SECONDS = 0
    monaco = ("Principauté de Monaco", "member_state", "MC", "mission@example.mc")
    answers = form_answers(client, "fr", donor=monaco, amount="50 000", currency="EUR")
    token = form_token(client.post("/fr/pledge/", answers))

    first = client.post("/fr/pledge/", {**answers, "action": "confirm", "token": token})
    second = client.post("/fr/pledge/", {**answers, "action": "confirm", "token": token})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    pledge = Pledge.objects.get()
    assert pledge.amount == Decimal("50000")


@pytest.mark.django_db
def test_answers_changed_after_the_check_step_are_shown_again_not_sent(client, settings):
    settings.PLEDGE_FORM_MIN_SECONDS = 0
    answers = form_answers(client)
    token = form_token(client.post("/en/pledge/", answers))

    response = client.post("/en/pledge/", {**answers, "amount": "100000", "action": "confirm", "token": token})

    assert response.status_code == 200
    assert "Your answers changed" in response.content.decode()
    assert "$100,000.00" in response.content.decode()
    assert not Pledge.objects.exists()
