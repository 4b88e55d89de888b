"""Amounts as people write them, in each of the six languages, in a real
browser: typed key by key or pasted, never rewritten by the page, read by
the server with the page language's separators (and plain 1000.50
everywhere), refused with a message in that language when they are
ambiguous, negative, in exponent form or too precise for the currency, and
otherwise shown back, formatted for the currency, to confirm."""

import re
from decimal import Decimal

import pytest
from django.utils import translation

from pledges.cldr import money
from pledges.models import Pledge
from pledges.web import forms
from tests.web.test_form import ARTIFACTS

LANGUAGES = {"ar": "ar", "zh": "zh-hans", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}

# (typed, currency, what the server makes of it in every language)
EVERYWHERE = [
    ("1000.50", "USD", Decimal("1000.50")),
    ("1000.50", "JPY", ("amount-decimals", {"currency": "JPY", "places": 0})),
    ("0.001", "JPY", ("amount-decimals", {"currency": "JPY", "places": 0})),
    ("1,000.50", "USD", Decimal("1000.50")),
    ("1e3", "USD", ("amount-exponent", {})),
    ("-5", "USD", ("amount-negative", {})),
    ("١٢٣٫٤٥", "USD", Decimal("123.45")),  # Arabic-Indic digits and decimal separator
    ("١٬٠٠٠٫٥٠", "USD", Decimal("1000.50")),
    ("۱۲۳", "USD", Decimal("123")),  # Eastern Arabic-Indic (Persian) digits
    ("１２３４", "USD", Decimal("1234")),  # full-width digits
    ("100050", "JPY", Decimal("100050")),
    ("14000.000", "KWD", Decimal("14000.000")),
    ("abc", "USD", ("amount-invalid", {})),
]
# What depends on the page's language (CLDR's separators).
BY_LANGUAGE = {
    "ar": [("1 000,50", "USD", ("amount-invalid", {})), ("1,000", "USD", Decimal("1000"))],
    "zh": [("1 000,50", "USD", ("amount-invalid", {})), ("1,000", "USD", Decimal("1000"))],
    "en": [("1 000,50", "USD", ("amount-invalid", {})), ("1,000", "USD", Decimal("1000"))],
    "fr": [
        ("1 000,50", "USD", Decimal("1000.50")),
        ("1\u202f000,50", "USD", Decimal("1000.50")),
        ("1,5", "USD", Decimal("1.5")),
        ("1,000", "USD", ("amount-ambiguous", {})),
    ],
    "ru": [("1 000,50", "USD", Decimal("1000.50")), ("1,000", "USD", ("amount-ambiguous", {}))],
    "es": [
        ("1.000,50", "USD", Decimal("1000.50")),
        ("1.000", "USD", ("amount-ambiguous", {})),
        ("1,000", "USD", ("amount-ambiguous", {})),
    ],
}


def fill_the_rest(page) -> None:
    page.fill("#donor_name", "Permanent Mission")
    page.select_option("#donor_type", "member_state")
    page.select_option("#donor_country", "NO")
    page.fill("#donor_email", "mission@example.org")
    page.check("#payment_method_bank_transfer")


def expected_message(code: str, params: dict, language: str) -> str:
    """The page's words for the refusal's code, in the page's language."""
    with translation.override(language):
        example = money("1000.50", "USD", language)
        return forms.message(code, field="amount", **{"example": example, **params})


def enter_amount(page, typed: str, currency: str, *, paste: bool) -> None:
    page.select_option("#currency", currency)
    page.click("#amount")
    if paste:
        page.evaluate("text => navigator.clipboard.writeText(text)", typed)
        page.keyboard.press("Control+V")
    else:
        page.keyboard.type(typed)  # key by key
    # The page keeps exactly what was typed or pasted, whatever the currency.
    assert page.input_value("#amount") == typed


def to_the_check_step(page, url: str, typed: str, currency: str) -> None:
    """Open the form at `url`, answer everything (the amount typed key by
    key) and send it: the check step is shown."""
    page.goto(url)
    fill_the_rest(page)
    enter_amount(page, typed, currency, paste=False)
    page.click("#submit")
    page.wait_for_selector("#confirm-form")


@pytest.fixture
def amount_page(chromium, form_server):
    context = chromium.new_context(viewport={"width": 1000, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=form_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.mark.parametrize("prefix", list(LANGUAGES))
def test_amounts_as_typed_and_pasted_in_each_language(form_server, amount_page, prefix, settings):
    settings.PLEDGE_THROTTLE_RATE = "1000/minute"
    page = amount_page
    language = LANGUAGES[prefix]
    cases = EVERYWHERE + BY_LANGUAGE[prefix]
    for number, (typed, currency, expected) in enumerate(cases):
        paste = number % 2 == 1  # every other one pasted
        page.goto(f"{form_server.url}/{prefix}/pledge/")
        fill_the_rest(page)
        enter_amount(page, typed, currency, paste=paste)
        page.click("#submit")
        page.wait_for_load_state()
        if isinstance(expected, Decimal):
            page.wait_for_selector("#confirm-form")
            understood = page.inner_text("#amount-understood")
            assert understood == money(expected, currency, language), (prefix, typed)
            assert page.inner_text(".typed") == typed
        else:
            code, params = expected
            page.wait_for_selector("#error-summary")
            assert page.input_value("#amount") == typed, (prefix, typed)  # kept as typed
            assert page.get_attribute("#amount", "aria-invalid") == "true"
            shown = page.inner_text("#amount-error").strip()
            if code == "amount-ambiguous":
                assert shown.startswith(expected_message(code, {"first": "X", "second": "Y"}, language)[:8])
            else:
                assert shown == expected_message(code, params, language), (prefix, typed)
    assert not Pledge.objects.exists()  # nothing is sent before it is confirmed


@pytest.mark.parametrize(
    ("prefix", "typed", "currency", "amount"),
    [
        ("ar", "١٬٠٠٠٫٥٠", "USD", Decimal("1000.50")),
        ("zh", "１００，０５０", "JPY", Decimal("100050")),
        ("en", "1,000.50", "USD", Decimal("1000.50")),
        ("fr", "1 000,50", "EUR", Decimal("1000.50")),
        ("ru", "250 000", "USD", Decimal("250000")),
        ("es", "1.000,50", "EUR", Decimal("1000.50")),
    ],
)
def test_a_confirmed_amount_is_the_one_the_person_meant(form_server, amount_page, prefix, typed, currency, amount):
    page = amount_page
    language = LANGUAGES[prefix]
    to_the_check_step(page, f"{form_server.url}/{prefix}/pledge/", typed, currency)
    assert page.inner_text("#amount-understood") == money(amount, currency, language)
    page.screenshot(path=str(ARTIFACTS / f"amount-check-{prefix}.png"), full_page=True)
    page.click("#confirm")
    page.wait_for_url(re.compile(rf"/{prefix}/pledge/done/"))
    pledge = Pledge.objects.get()
    assert (pledge.amount, pledge.currency, pledge.donor.language) == (amount, currency, language)
    assert page.inner_text("#amount-pledged") == money(amount, currency, language)
    page.screenshot(path=str(ARTIFACTS / f"amount-done-{prefix}.png"), full_page=True)


def test_switching_the_currency_keeps_the_amount_and_the_server_says_why_it_is_refused(form_server, amount_page):
    page = amount_page
    page.goto(f"{form_server.url}/en/pledge/")
    fill_the_rest(page)
    enter_amount(page, "12.50", "USD", paste=False)
    page.select_option("#currency", "JPY")
    assert page.input_value("#amount") == "12.50"  # not silently 12
    page.click("#submit")
    page.wait_for_selector("#error-summary")
    assert page.input_value("#amount") == "12.50"
    assert page.inner_text("#amount-error").strip() == "JPY amounts have no decimal places."


def test_changing_an_answer_from_the_check_step_keeps_every_answer(form_server, amount_page):
    page = amount_page
    to_the_check_step(page, f"{form_server.url}/fr/pledge/", "1 000,50", "EUR")
    page.click("#change")
    page.wait_for_selector("#pledge-form")
    assert page.input_value("#amount") == "1 000,50"
    assert page.input_value("#donor_email") == "mission@example.org"
    page.fill("#amount", "")
    page.keyboard.type("2 000")
    page.click("#submit")
    page.wait_for_selector("#confirm-form")
    assert page.inner_text("#amount-understood") == money(Decimal("2000"), "EUR", "fr")
    assert not Pledge.objects.exists()


def test_switching_language_on_the_check_step_keeps_the_answers(form_server, amount_page):
    page = amount_page
    to_the_check_step(page, f"{form_server.url}/en/pledge/", "1,000.50", "USD")
    page.click("nav.languages button[lang=ar]")
    page.wait_for_selector("#pledge-form")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.input_value("#amount") == "1,000.50"  # still as typed
    page.click("#submit")
    page.wait_for_selector("#confirm-form")
    assert page.inner_text("#amount-understood") == money(Decimal("1000.50"), "USD", "ar")
    assert not Pledge.objects.exists()
