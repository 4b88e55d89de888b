"""The public documents answered from the cache before DRF
(pledges/public_fast.py), and the cache itself (pledges/public_cache.py):
the same bytes and headers as the full path, problems for what it does not
understand, one build after a change, and the per-process window."""

import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from pledges import public_cache
from pledges.api import PublicPledgesView, PublicTotalsView
from pledges.board import views as board_views
from pledges.models import PledgeStatus
from pledges.public_cache import GENERATION_KEY, public_cache_invalidate, public_document
from pledges.public_fast import PublicDocumentFront
from pledges.widget import views as widget_views
from tests.conftest import run_at_once
from tests.factories import PledgeFactory
from tests.helpers import CountedBuild

TOTALS = "/api/v1/public/totals/"
PLEDGES = "/api/v1/public/pledges/?limit=5"
LIVE = "/en/board/vtf-2012/live.json"
FIGURES_FR = "/widget/v1/figures.json?lang=fr"
FIGURES_AR = "/widget/v1/figures.json?campaign=vtf-2012&lang=ar"
ORIGIN = "https://www.unodc.org"


@pytest.fixture
def confirmed(db):
    return PledgeFactory(status=PledgeStatus.CONFIRMED, public_name=True, public_amount=True, amount=Decimal("1000.00"))


@pytest.fixture
def full_path_off(monkeypatch):
    """From here on, reaching a view is an error: what answers is the fast path."""

    def refuse(*args, **kwargs):
        raise AssertionError("the request reached the view")

    monkeypatch.setattr(PublicTotalsView, "get", refuse)
    monkeypatch.setattr(PublicPledgesView, "get", refuse)
    monkeypatch.setattr(board_views, "_document", refuse)
    monkeypatch.setattr(widget_views, "public_document", refuse)


def _headers(response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.items()}


@pytest.mark.parametrize("path", [TOTALS, PLEDGES, LIVE, FIGURES_FR, FIGURES_AR])
@pytest.mark.parametrize("origin", [None, ORIGIN])
def test_a_cached_hit_has_the_bytes_and_headers_of_the_full_path(api, confirmed, path, origin, request):
    extra = {"headers": {"Origin": origin}} if origin else {}
    full = api.get(path, **extra)
    full_304 = api.get(path, headers={**extra.get("headers", {}), "If-None-Match": full["ETag"]})
    assert (full.status_code, full_304.status_code) == (200, 304)
    request.getfixturevalue("full_path_off")

    fast = api.get(path, **extra)
    fast_304 = api.get(path, headers={**extra.get("headers", {}), "If-None-Match": full["ETag"]})

    assert fast.status_code == 200
    assert fast.content == full.content
    assert _headers(fast) == _headers(full)
    assert fast_304.status_code == 304
    assert fast_304.content == b""
    assert _headers(fast_304) == _headers(full_304)


def test_the_contract_headers_of_a_fast_answer(api, confirmed, monkeypatch, settings):
    settings.PUBLIC_CACHE_MAX_AGE = 10
    etag = api.get(TOTALS, headers={"Origin": ORIGIN})["ETag"]
    assert api.get(TOTALS, headers={"Origin": ORIGIN, "If-None-Match": etag}).status_code == 304
    monkeypatch.setattr(PublicTotalsView, "get", lambda *a, **k: pytest.fail("reached the view"))

    response = api.get(TOTALS, headers={"Origin": ORIGIN, "If-None-Match": f'"stale", W/{etag}'})

    assert response.status_code == 304
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"public", "max-age=10", "s-maxage=10", "stale-while-revalidate=60"} <= directives
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "etag" in response["Access-Control-Expose-Headers"].lower()
    assert "accept-encoding" in response["Vary"].lower()
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_an_unchanged_document_costs_no_database_query(api, confirmed, django_assert_num_queries):
    etag = api.get(TOTALS)["ETag"]
    with django_assert_num_queries(0):
        assert api.get(TOTALS).status_code == 200
        assert api.get(TOTALS, headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("limit", ["0", "101", "abc", "", "1.5", "-1"])
def test_a_bad_limit_is_still_a_400_problem_naming_it_when_documents_are_cached(api, confirmed, limit):
    assert api.get(PLEDGES).status_code == 200
    assert api.get("/api/v1/public/pledges/?limit=20").status_code == 200

    response = api.get(f"/api/v1/public/pledges/?limit={limit}")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "limit" in response.json()["errors"]


@pytest.mark.parametrize(
    ("query", "status"),
    [("?campaign=vtf-2012&x=1", 200), ("?campaign=vtf%2D2012", 200), ("?campaign=vtf-2012&campaign=other", 404)],
)
def test_a_query_the_fast_path_does_not_know_goes_to_the_view(api, confirmed, monkeypatch, query, status):
    api.get(TOTALS)
    api.get(TOTALS + "?campaign=vtf-2012")
    calls = []
    real = PublicTotalsView.get
    monkeypatch.setattr(PublicTotalsView, "get", lambda self, request: calls.append(1) or real(self, request))

    response = api.get(TOTALS + query)

    assert calls == [1]
    assert response.status_code == status  # the view takes the last of two values, as it always did


def test_an_unknown_campaign_is_still_a_404_problem(api, confirmed):
    api.get(TOTALS)
    response = api.get(TOTALS + "?campaign=no-such-campaign")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_change_is_served_at_once_after_it_commits(api, confirmed, django_capture_on_commit_callbacks):
    before = api.get(TOTALS)
    with django_capture_on_commit_callbacks(execute=True):
        PledgeFactory(status=PledgeStatus.CONFIRMED, amount=Decimal("500.00"))

    after = api.get(TOTALS)

    assert after["ETag"] != before["ETag"]
    assert Decimal(after.json()["pledged"]) == Decimal(before.json()["pledged"]) + Decimal("500.00")
    assert api.get(TOTALS, headers={"If-None-Match": before["ETag"]}).status_code == 200


def test_with_the_cache_away_the_fast_path_steps_aside_and_the_view_builds_from_the_database(
    api, confirmed, monkeypatch
):
    api.get(TOTALS)

    tried = []

    def away(*args, **kwargs):
        tried.append(1)
        raise RedisConnectionError("Redis is away")

    monkeypatch.setattr(cache, "get_many", away)
    monkeypatch.setattr(cache, "get", away)
    monkeypatch.setattr(cache, "add", away)

    response = api.get(TOTALS)

    assert response.status_code == 200
    assert response.json()["pledged"] == "1000.00"
    assert len(tried) == 1  # a hung Redis costs one timeout, not one in the fast path and one in the view


# --- The cache ------------------------------------------------------------------------


def test_concurrent_misses_after_a_change_build_the_document_once(db):
    build = CountedBuild()

    def reader() -> int:
        return json.loads(public_document("totals:stampede", build)[0])["build"]

    public_document("totals:stampede", build)
    public_cache_invalidate()
    bodies = run_at_once(*[reader] * 20)  # twenty readers released together

    assert build.count == 2  # the first version, then one build for all twenty
    assert bodies == [2] * 20  # nobody is answered with the version before the change


def test_a_build_that_fails_leaves_the_next_request_free_to_build(db):
    def broken() -> dict:
        raise LookupError("no such campaign")

    with pytest.raises(LookupError):
        public_document("totals:broken", broken)
    assert json.loads(public_document("totals:broken", lambda: {"ok": True})[0]) == {"ok": True}


def test_a_lost_generation_starts_above_every_one_before(db):
    public_document("totals:x", lambda: {"n": 1})
    for _ in range(3):
        public_cache_invalidate()
    before = cache.get(GENERATION_KEY)
    cache.clear()

    assert json.loads(public_document("totals:x", lambda: {"n": 2})[0]) == {"n": 2}
    assert cache.get(GENERATION_KEY) > before


def test_within_the_window_a_hit_costs_no_cache_round_trip(db, settings, monkeypatch):
    settings.PUBLIC_CACHE_LOCAL_SECONDS = 60
    public_cache.local_clear()
    public_document("totals:window", lambda: {"n": 1})
    monkeypatch.setattr(cache, "get_many", lambda *a, **k: pytest.fail("a round trip to the cache"))

    assert json.loads(public_document("totals:window", lambda: {"n": 2})[0]) == {"n": 1}
    public_cache.local_clear()


def test_a_change_in_this_process_clears_the_window_at_once(db, settings):
    settings.PUBLIC_CACHE_LOCAL_SECONDS = 60
    public_cache.local_clear()
    public_document("totals:window", lambda: {"n": 1})

    public_cache_invalidate()

    assert json.loads(public_document("totals:window", lambda: {"n": 2})[0]) == {"n": 2}
    public_cache.local_clear()


def test_a_change_made_by_another_process_shows_when_the_window_ends(db, settings, monkeypatch):
    settings.PUBLIC_CACHE_LOCAL_SECONDS = 0.5
    public_cache.local_clear()
    now = [1000.0]
    monkeypatch.setattr(public_cache.time, "monotonic", lambda: now[0])
    public_document("totals:window", lambda: {"n": 1})
    cache.incr(GENERATION_KEY)  # another process's change: this one's copy is not cleared

    now[0] += 0.4
    within = json.loads(public_document("totals:window", lambda: {"n": 2})[0])
    now[0] += 0.2
    after = json.loads(public_document("totals:window", lambda: {"n": 2})[0])

    assert (within, after) == ({"n": 1}, {"n": 2})
    public_cache.local_clear()


# --- In front of Django (backend/wsgi.py) ---------------------------------------------


@pytest.fixture
def front(db):
    """backend/wsgi.py's application, the test's database connection kept
    open across requests as the test client keeps it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    reached = []
    django = WSGIHandler()

    def counted(environ, start_response):
        reached.append(environ["PATH_INFO"])
        return django(environ, start_response)

    def get(path: str, **headers) -> tuple[str, dict[str, str], bytes]:
        environ = RequestFactory().get(path, headers=headers).environ
        answer = {}

        def start_response(status, response_headers, exc_info=None):
            answer.update(status=status, headers={name.lower(): value for name, value in response_headers})

        body = b"".join(PublicDocumentFront(counted)(environ, start_response))
        return answer["status"], answer["headers"], body

    yield get, reached
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("path", [TOTALS, PLEDGES, LIVE, FIGURES_FR, FIGURES_AR])
@pytest.mark.parametrize("origin", [None, ORIGIN])
def test_in_front_of_django_a_hit_has_the_status_bytes_and_headers_django_gave(front, confirmed, path, origin):
    get, reached = front
    extra = {"Origin": origin} if origin else {}
    full = get(path, **extra)
    full_304 = get(path, **extra, If_None_Match=full[1]["etag"])
    assert [full[0], full_304[0]] == ["200 OK", "304 Not Modified"]
    assert len(reached) == 2

    fast = get(path, **extra)
    fast_304 = get(path, **extra, If_None_Match=full[1]["etag"])

    assert len(reached) == 2  # Django was not reached again
    assert fast == full
    assert fast_304 == full_304
    assert fast_304[2] == b""


def test_in_front_of_django_what_it_does_not_understand_goes_to_django(front, confirmed):
    get, reached = front
    get(TOTALS)
    get("/api/v1/public/pledges/?limit=20")

    status, _headers, body = get("/api/v1/public/pledges/?limit=0")
    assert status.startswith("400")
    assert "limit" in json.loads(body)["errors"]
    assert get(TOTALS + "?campaign=no-such-campaign")[0].startswith("404")
    assert len(reached) == 4


def test_in_front_of_django_a_change_is_served_at_once(front, confirmed, django_capture_on_commit_callbacks):
    get, _reached = front
    before = get(TOTALS)
    get(TOTALS)
    with django_capture_on_commit_callbacks(execute=True):
        PledgeFactory(status=PledgeStatus.CONFIRMED, amount=Decimal("500.00"))

    _status, headers, body = get(TOTALS)

    assert headers["etag"] != before[1]["etag"]
    assert Decimal(json.loads(body)["pledged"]) == Decimal("1500.00")


def test_in_front_of_django_an_https_request_is_not_answered_with_the_headers_of_a_plain_one(
    front, confirmed, settings
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_SCHEME", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    get, reached = front
    plain = get(TOTALS)
    get(TOTALS)
    assert len(reached) == 1

    _status, headers, _body = get(TOTALS, X_Forwarded_Scheme="https")

    assert len(reached) == 2
    assert "strict-transport-security" not in plain[1]
    assert headers["strict-transport-security"].startswith("max-age=")
