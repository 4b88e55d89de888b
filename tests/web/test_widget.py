"""The embeddable totals widget: its script and iframe page over HTTP, then
in a real browser (Debian's chromium driven by playwright) on a host page
served from another origin with a strict CSP and hostile CSS.

Screenshots of each page are kept under artifacts/ (git-ignored)."""

import gzip
import http.server
import re
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from pledges.cldr import money as cldr_money
from pledges.widget.views import LABELS, SCRIPT_PATH
from tests.helpers import bank_payment_body

SCRIPT = "/widget/v1/totals.js"
FRAME = "/widget/v1/totals/"
TOTALS = "/api/v1/public/totals/"
FIGURES = "/widget/v1/figures.json"
ELSEWHERE = "https://www.un.org"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


# --- Over HTTP ----------------------------------------------------------------------


def test_script_is_served_cross_origin_with_etag_and_304(client):
    response = client.get(SCRIPT, headers={"Origin": ELSEWHERE})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=3600" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    etag = response["ETag"]

    again = client.get(SCRIPT, headers={"Origin": ELSEWHERE, "If-None-Match": etag})
    assert again.status_code == 304
    assert again["Access-Control-Allow-Origin"] == "*"
    assert again["ETag"] == etag
    # A plain <script src> sends no Origin: the header is there all the same.
    assert client.get(SCRIPT)["Access-Control-Allow-Origin"] == "*"


def test_script_is_small_and_writes_no_markup(client):
    body = client.get(SCRIPT).content
    assert body == SCRIPT_PATH.read_bytes()
    assert len(gzip.compress(body)) < 10 * 1024
    text = body.decode()
    assert "innerHTML" not in text
    assert "insertAdjacentHTML" not in text
    assert 'createElement("style")' not in text
    assert "adoptedStyleSheets" in text


def test_script_labels_match_the_iframe_page():
    script = SCRIPT_PATH.read_text()
    for language, words in LABELS.items():
        line = re.search(rf"^\s*{language}: \[(.*)\],?$", script, re.MULTILINE)
        assert line, language
        assert [word.strip().strip('"') for word in line.group(1).split('", "')] == list(words)


@pytest.mark.django_db
def test_public_totals_allow_the_widget_to_revalidate_cross_origin(api):
    preflight = api.options(
        TOTALS,
        headers={
            "Origin": ELSEWHERE,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 200
    assert "if-none-match" in preflight["Access-Control-Allow-Headers"].lower()
    first = api.get(TOTALS, headers={"Origin": ELSEWHERE})
    again = api.get(TOTALS, headers={"Origin": ELSEWHERE, "If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again["Access-Control-Allow-Origin"] == "*"
    assert "etag" in again["Access-Control-Expose-Headers"].lower()


def _figures_pledges():
    from tests.factories import DonorFactory, PledgeFactory

    PledgeFactory(
        amount=Decimal("250000.00"),
        amount_received_usd=Decimal("100000.00"),
        public_name=True,
        public_amount=True,
        donor=DonorFactory(name="Kingdom of Norway"),
    )
    PledgeFactory(amount=Decimal("50000.00"), public_name=False, public_amount=False)
    return PledgeFactory(
        amount=Decimal("1234.50"),
        public_name=True,
        public_amount=True,
        donor=DonorFactory(name="Fondation <b>Lumière</b>"),
        pledged_on=timezone.localdate() - timedelta(days=1),
    )


@pytest.mark.django_db
def test_iframe_page_shows_the_api_figures_and_may_be_framed(client, api, settings):
    _figures_pledges()
    totals = api.get(TOTALS).json()
    response = client.get(FRAME, {"campaign": "vtf-2012", "lang": "fr"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert '<html lang="fr" dir="ltr">' in html
    for field in ("pledged", "received", "goal"):
        assert money(totals[field], "fr") in html, field
    assert f'aria-valuenow="{totals["progress"] * 100:.1f}"' in html
    assert "Kingdom of Norway" in html
    assert "Donateur anonyme" in html
    assert "Montant non communiqué" in html
    assert "Fondation &lt;b&gt;Lumière&lt;/b&gt;" in html
    assert '<meta http-equiv="refresh" content="60">' in html

    settings.WIDGET_FRAME_ANCESTORS = "https://www.un.org https://www.unodc.org"
    restricted = client.get(FRAME, {"campaign": "vtf-2012", "lang": "fr"})
    assert restricted["Content-Security-Policy"].endswith("frame-ancestors https://www.un.org https://www.unodc.org")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lang", "html_lang", "direction"),
    [("ar", "ar", "rtl"), ("zh-Hans", "zh-Hans", "ltr"), ("ru", "ru", "ltr"), ("xx", "en", "ltr"), ("", "en", "ltr")],
)
def test_iframe_page_language_is_validated(client, lang, html_lang, direction):
    response = client.get(FRAME, {"lang": lang, "refresh": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{html_lang}" dir="{direction}">' in html
    assert '<meta http-equiv="refresh" content="15">' in html  # not faster than every 15 s


@pytest.mark.django_db
def test_iframe_page_for_an_unknown_campaign_is_a_polite_404(client):
    response = client.get(FRAME, {"campaign": "no-such-campaign", "lang": "es"})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Estas cifras no están disponibles." in response.content.decode()
    assert "X-Frame-Options" not in response


@pytest.mark.django_db
def test_demo_page_gives_both_snippets_with_this_origin(client):
    response = client.get("/widget/", {"lang": "fr"})
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "&lt;script src=&quot;http://testserver/widget/v1/totals.js&quot; data-campaign=&quot;vtf-2012&quot; "
        "data-lang=&quot;fr&quot; async&gt;&lt;/script&gt;"
    ) in html
    assert "&lt;iframe src=&quot;http://testserver/widget/v1/totals/?campaign=vtf-2012&amp;lang=fr" in html
    assert response["X-Frame-Options"] == "DENY"  # only the iframe page may be framed


# --- In a browser, on another origin ----------------------------------------------


class HostSite:
    """A web site of someone else's: http.server on 127.0.0.1, another port."""

    def __init__(self):
        self.pages: dict[str, tuple[str, str, dict]] = {}
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                page = site.pages.get(self.path.split("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                content_type, body, headers = page
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page(self, path: str, body: str, csp: str | None = None, content_type: str = "text/html; charset=utf-8"):
        self.pages[path] = (content_type, body, {"Content-Security-Policy": csp} if csp else {})
        return self.url + path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


HOSTILE_CSS = """
* { color: rgb(255, 0, 0) !important; font-size: 40px !important; display: block;
    font-family: serif !important; border: 3px solid lime !important; background: yellow !important; }
"""


@pytest.fixture
def browser(chromium):
    """The session's chromium (tests/web/conftest.py): one playwright per
    process, since its sync API keeps an event loop in the thread."""
    return chromium


@pytest.fixture
def host(browser, live_server, transactional_db):
    """Another origin's web site, with a hostile stylesheet."""
    ARTIFACTS.mkdir(exist_ok=True)
    site = HostSite()
    site.page("/host.css", HOSTILE_CSS, content_type="text/css")
    yield site
    site.close()


def host_page(site: HostSite, live: str, embed: str, path: str = "/") -> str:
    csp = (
        f"default-src 'self'; script-src 'self' {live}; connect-src {live}; style-src 'self'; frame-src {live}; "
        "img-src 'self'"
    )
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A host page</title>
<link rel="stylesheet" href="/host.css"></head>
<body><h1>Somebody else's page</h1>
{embed}
<p>The rest of the host page.</p></body></html>"""
    return site.page(path, html, csp)


def snippet(live: str, lang: str = "en", campaign: str = "vtf-2012") -> str:
    return (
        f'<script src="{live}{SCRIPT}" data-campaign="{campaign}" data-lang="{lang}" data-refresh="15" async></script>'
    )


def money(amount: str, lang: str = "en", currency: str = "USD") -> str:
    """What the server (CLDR, pledges.cldr) writes: the widget shows it as is."""
    return cldr_money(amount, currency, {"zh": "zh-hans"}.get(lang, lang))


def widget_text(page, field: str) -> str:
    return page.locator(f"vtf-pledge-totals .{field}").text_content()


def csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else 0)
    return errors


def test_widget_on_another_origin_shows_and_updates_the_api_figures(browser, host, live_server, api, client_for):
    from tests.factories import PledgeFactory

    live = live_server.url
    paying = PledgeFactory(amount=Decimal("500000.00"), public_name=True, public_amount=True)
    _figures_pledges()
    url = host_page(host, live, snippet(live))

    context = browser.new_context(viewport={"width": 900, "height": 900})
    page = context.new_page()
    violations = csp_errors(page)
    totals_statuses: list[int] = []
    page.on("response", lambda r: totals_statuses.append(r.status) if FIGURES in r.url else 0)
    page.goto(url)
    page.wait_for_selector("vtf-pledge-totals[data-state=ok]")

    totals = api.get(TOTALS).json()
    assert widget_text(page, "pledged") == money(totals["pledged"])
    assert widget_text(page, "received") == money(totals["received"])
    assert widget_text(page, "goal") == money(totals["goal"])
    assert widget_text(page, "donors") == str(totals["donors"])
    bar = page.locator("vtf-pledge-totals [role=progressbar]")
    assert float(bar.get_attribute("aria-valuenow")) == pytest.approx(totals["progress"] * 100, abs=0.05)
    names = page.locator("vtf-pledge-totals li").all_text_contents()
    assert len(names) == 4
    assert any("Fondation <b>Lumière</b>" in name for name in names)  # text, never markup
    assert any("Anonymous donor" in name and "Amount not disclosed" in name for name in names)

    # Right after the script, inside a shadow root the host's CSS cannot reach.
    assert page.evaluate("document.querySelector('script[data-campaign]').nextElementSibling.localName") == (
        "vtf-pledge-totals"
    )
    assert page.evaluate("!!document.querySelector('vtf-pledge-totals').shadowRoot")
    style = page.locator("vtf-pledge-totals .pledged").evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).fontSize, getComputedStyle(e).fontFamily]"
    )
    assert style[0] != "rgb(255, 0, 0)"
    assert style[1] != "40px"
    assert style[2] != "serif"
    assert page.locator("h1").evaluate("e => getComputedStyle(e).color") == "rgb(255, 0, 0)"
    assert page.locator("p").evaluate("e => getComputedStyle(e).fontSize") == "40px"  # and it left the host alone
    assert violations == []

    # Nothing changed: the widget revalidates with its ETag and gets a 304.
    page.evaluate("document.querySelector('vtf-pledge-totals').refresh()")
    assert totals_statuses[-1] == 304

    # A payment comes in; the next refresh shows it.
    reconciler_client = client_for(_reconciler())
    body = bank_payment_body(paying, "200000.00", "WIDGET-TEST-1")
    response = reconciler_client.post("/api/v1/payments/", body, format="json")
    assert response.status_code == 201, response.content
    after = api.get(TOTALS).json()
    assert Decimal(after["received"]) == Decimal(totals["received"]) + Decimal("200000.00")
    page.evaluate("document.querySelector('vtf-pledge-totals').refresh()")
    assert widget_text(page, "received") == money(after["received"])
    assert totals_statuses[-1] == 200
    page.locator("vtf-pledge-totals").screenshot(path=str(ARTIFACTS / "widget-element.png"))
    page.screenshot(path=str(ARTIFACTS / "widget-host-page.png"), full_page=True)

    # The service goes down: the last figures stay, dated.
    page.route(f"{live}/widget/v1/figures.json**", lambda route: route.abort())
    page.evaluate("document.querySelector('vtf-pledge-totals').refresh()")
    page.wait_for_selector("vtf-pledge-totals[data-state=stale]")
    assert widget_text(page, "received") == money(after["received"])
    assert widget_text(page, "n").startswith("Figures as of ")
    # ... and after a reload too (localStorage).
    page.reload()
    page.wait_for_selector("vtf-pledge-totals[data-state=stale]")
    assert widget_text(page, "pledged") == money(after["pledged"])
    page.locator("vtf-pledge-totals").screenshot(path=str(ARTIFACTS / "widget-offline-last-known.png"))
    assert violations == []
    context.close()

    # A visitor who never saw it load gets nothing at all, not a broken box.
    fresh = browser.new_context()
    page = fresh.new_page()
    page.route(f"{live}/widget/v1/figures.json**", lambda route: route.abort())
    page.goto(url)
    page.wait_for_function(
        "() => { const e = document.querySelector('vtf-pledge-totals'); return e && e.shadowRoot"
        " && e.shadowRoot.querySelector('.w'); }"
    )
    page.evaluate("document.querySelector('vtf-pledge-totals').refresh()")
    assert page.locator("vtf-pledge-totals").get_attribute("data-state") == "empty"
    assert page.locator("vtf-pledge-totals").bounding_box()["height"] == 0
    fresh.close()


def _reconciler():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username="rico.widget", password="not-used-in-tests")
    user.groups.add(Group.objects.get(name="reconciler"))
    return user


def test_widget_in_arabic_is_right_to_left_and_iframe_renders(browser, host, live_server, api):
    _figures_pledges()
    live = live_server.url
    frame = (
        f'<iframe src="{live}{FRAME}?campaign=vtf-2012&amp;lang=fr" title="totals" width="560" height="420"></iframe>'
    )
    url = host_page(host, live, snippet(live, "ar") + frame)
    totals = api.get(TOTALS).json()

    context = browser.new_context(viewport={"width": 1000, "height": 1100})
    page = context.new_page()
    violations = csp_errors(page)
    page.goto(url)
    page.wait_for_selector("vtf-pledge-totals[data-state=ok]")
    assert page.locator("vtf-pledge-totals .w").get_attribute("dir") == "rtl"
    assert page.locator("vtf-pledge-totals .k").first.text_content() == LABELS["ar"][0]
    assert widget_text(page, "pledged") == money(totals["pledged"], "ar")
    assert page.locator("vtf-pledge-totals .w").evaluate("e => getComputedStyle(e).direction") == "rtl"

    inside = page.frame_locator("iframe")
    assert inside.locator("dd.pledged").text_content() == money(totals["pledged"], "fr")
    assert inside.locator("dd.received").text_content() == money(totals["received"], "fr")
    assert inside.locator("dt").first.text_content() == LABELS["fr"][0]
    assert inside.locator("li").count() == 3
    assert violations == []
    page.screenshot(path=str(ARTIFACTS / "widget-arabic-and-iframe.png"), full_page=True)
    page.locator("iframe").screenshot(path=str(ARTIFACTS / "widget-iframe.png"))
    context.close()


def test_demo_page_embeds_both_versions(browser, host, live_server, api):
    _figures_pledges()
    totals = api.get(TOTALS).json()
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    page.goto(f"{live_server.url}/widget/")
    page.wait_for_selector("vtf-pledge-totals[data-state=ok]")
    assert live_server.url + SCRIPT in page.locator("#script-snippet").text_content()
    assert page.frame_locator("iframe").locator("dd.pledged").text_content() == money(totals["pledged"], "en")
    page.screenshot(path=str(ARTIFACTS / "widget-demo-page.png"), full_page=True)
    context.close()


@pytest.mark.django_db
def test_figures_document_is_formatted_for_its_language_cacheable_and_cross_origin(client, api):
    _figures_pledges()
    totals = api.get(TOTALS).json()
    response = client.get(FIGURES, {"campaign": "vtf-2012", "lang": "fr"}, headers={"Origin": ELSEWHERE})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    figures = response.json()
    assert figures["pledged"] == money(totals["pledged"], "fr")
    assert figures["title"].startswith("Fonds de contributions volontaires")  # the French title
    assert "Donateur anonyme" in [row["donor"] for row in figures["latest"]]
    again = client.get(FIGURES, {"campaign": "vtf-2012", "lang": "fr"}, headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304
    assert client.get(FIGURES, {"campaign": "nope", "lang": "es"}).status_code == 404


def test_script_widget_and_iframe_write_the_same_figures_alike(browser, host, live_server, api):
    """The issue's KWD 14,000.000 / KWD14,000.000: one formatting for both."""
    from tests.factories import DonorFactory, PledgeFactory

    PledgeFactory(
        amount=Decimal("14000.000"),
        currency="KWD",
        public_name=True,
        public_amount=True,
        donor=DonorFactory(name="State of Kuwait"),
    )
    _figures_pledges()
    live = live_server.url
    for lang in ("en", "ar", "zh"):
        src = f"{live}{FRAME}?campaign=vtf-2012&amp;lang={lang}"
        frame = f'<iframe src="{src}" title="totals" width="560" height="420"></iframe>'
        url = host_page(host, live, snippet(live, lang) + frame, path=f"/same-{lang}")
        context = browser.new_context(viewport={"width": 1000, "height": 1100})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("vtf-pledge-totals[data-state=ok]")
        inside = page.frame_locator("iframe")
        for field in ("pledged", "received", "goal", "donors"):
            assert widget_text(page, field) == inside.locator(f"dd.{field}").text_content(), (lang, field)
        script_rows = page.locator("vtf-pledge-totals li .a").all_text_contents()
        frame_rows = inside.locator("li .a").all_text_contents()
        assert script_rows == frame_rows
        assert money("14000.000", lang, "KWD") in script_rows
        assert page.locator("vtf-pledge-totals .t").text_content() == inside.locator(".t").text_content()
        page.screenshot(path=str(ARTIFACTS / f"widget-same-{lang}.png"), full_page=True)
        context.close()
