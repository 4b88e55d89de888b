"""axe-core finds no WCAG 2.2 AA violation on the donor's pages, in English
and in Arabic (right to left): the front page, the form (also with its
errors), the check step, the done page, the status page and the widget's
iframe. Screenshots of each are kept under artifacts/."""

import re

import pytest

from tests.web.axe import AxeUnavailable, axe_install, axe_violations
from tests.web.test_amounts import fill_the_rest
from tests.web.test_form import ARTIFACTS


@pytest.fixture(scope="module")
def axe():
    try:
        return axe_install()
    except AxeUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture
def a11y_page(chromium, form_server, axe):
    # The pages' own CSP (nonces) must not keep the test's axe script out.
    context = chromium.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def assert_accessible(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"a11y-{name}.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


@pytest.mark.parametrize("prefix", ["en", "ar"])
def test_the_donors_path_has_no_wcag_violation(form_server, a11y_page, prefix):
    page = a11y_page
    url = form_server.url
    page.goto(f"{url}/{prefix}/")
    assert_accessible(page, f"front-{prefix}")

    page.goto(f"{url}/{prefix}/pledge/")
    assert_accessible(page, f"form-{prefix}")

    page.fill("#amount", "1,000.001")
    page.click("#submit")
    page.wait_for_selector("#error-summary")
    assert_accessible(page, f"form-errors-{prefix}")

    fill_the_rest(page)
    page.fill("#amount", "")
    page.keyboard.type("250000")
    page.select_option("#session", "panel-2")
    page.click("#submit")
    page.wait_for_selector("#confirm-form")
    assert_accessible(page, f"check-{prefix}")

    page.click("#confirm")
    page.wait_for_url(re.compile(rf"/{prefix}/pledge/done/"))
    assert_accessible(page, f"done-{prefix}")

    page.goto(page.get_attribute(".status-link a", "href"))
    page.wait_for_selector("#status-words")
    assert_accessible(page, f"status-{prefix}")

    page.goto(f"{url}/widget/v1/totals/?lang={prefix}&refresh=0")
    assert_accessible(page, f"iframe-{prefix}")
    # Reloading itself (the default, how a page without script stays live) is
    # the one rule left, on purpose: the README says why.
    page.goto(f"{url}/widget/v1/totals/?lang={prefix}")
    assert [v["id"] for v in axe_violations(page)] == ["meta-refresh"]
