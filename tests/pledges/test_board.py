"""The live board's page and document, and the session under way that
staff set from the admin. (The browser test is tests/web/test_board.py.)"""

import json

import pytest
from django.core.cache import cache

from pledges.audit import Actor
from pledges.board.selectors import board_document
from pledges.board.services import campaign_session_under_way_set
from pledges.errors import InvalidInput
from pledges.models import AuditEvent, Campaign, EventSession
from pledges.public_cache import DOCUMENT_TTL_SECONDS, public_cache_invalidate, public_document_polled
from tests.conftest import run_at_once
from tests.factories import CampaignFactory, PledgeFactory
from tests.helpers import CountedBuild

LIVE = "/en/board/vtf-2012/live.json"


@pytest.fixture
def campaign(db) -> Campaign:
    return Campaign.objects.get(slug="vtf-2012")


def _session(slug: str) -> EventSession:
    return EventSession.objects.get(event__campaign__slug="vtf-2012", slug=slug)


def _plain_spaces(text: str) -> str:
    # French groups digits with narrow no-break spaces; compare with plain ones.
    return text.replace("\\u202f", " ").replace("\\u00a0", " ")


def test_staff_mark_the_session_under_way_with_an_audit_record(campaign, reconciler):
    panel = _session("panel-1")
    campaign_session_under_way_set(campaign=campaign, session=panel, actor=Actor.staff(reconciler))
    campaign_session_under_way_set(campaign=campaign, session=panel, actor=Actor.staff(reconciler))
    campaign_session_under_way_set(campaign=campaign, session=None, actor=Actor.staff(reconciler))

    campaign.refresh_from_db()
    assert campaign.session_under_way is None and campaign.session_under_way_since is None
    events = AuditEvent.objects.filter(action="campaign.session_under_way.changed").order_by("id")
    assert [(e.old_values["session_under_way"], e.new_values["session_under_way"]) for e in events] == [
        (None, panel.pk),
        (panel.pk, None),
    ]
    assert {e.actor_user for e in events} == {reconciler}


def test_a_session_of_another_campaign_is_refused(campaign, reconciler):
    other = CampaignFactory()
    with pytest.raises(InvalidInput) as refused:
        campaign_session_under_way_set(campaign=other, session=_session("opening"), actor=Actor.staff(reconciler))
    assert "session" in refused.value.errors
    other.refresh_from_db()
    assert other.session_under_way is None
    assert not AuditEvent.objects.filter(action="campaign.session_under_way.changed").exists()


def test_the_admin_action_marks_one_session_under_way(client, reconciler, campaign):
    reconciler.is_staff = True
    reconciler.save()
    client.force_login(reconciler)
    panel = _session("panel-2")
    response = client.post(
        "/admin/pledges/eventsession/", {"action": "mark_under_way", "_selected_action": [panel.pk]}, follow=True
    )
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.session_under_way == panel
    assert AuditEvent.objects.filter(action="campaign.session_under_way.changed", actor_user=reconciler).count() == 1

    two = [panel.pk, _session("closing").pk]
    client.post("/admin/pledges/eventsession/", {"action": "mark_under_way", "_selected_action": two})
    campaign.refresh_from_db()
    assert campaign.session_under_way == panel


def test_a_viewer_cannot_mark_a_session(client, viewer, campaign):
    viewer.is_staff = True
    viewer.save()
    client.force_login(viewer)
    client.post(
        "/admin/pledges/eventsession/", {"action": "mark_under_way", "_selected_action": [_session("opening").pk]}
    )
    campaign.refresh_from_db()
    assert campaign.session_under_way is None


def test_the_document_shows_the_session_and_the_pledges_as_consented(campaign, reconciler):
    campaign_session_under_way_set(campaign=campaign, session=_session("panel-1"), actor=Actor.staff(reconciler))
    PledgeFactory(
        donor__name="Kingdom of Norway", amount="250000.00", public_name=True, public_amount=True,
        session=_session("panel-1"), status="announced",
    )  # fmt: skip
    PledgeFactory(donor__name="Jane Private", donor__email="jane@example.org", public_name=False, public_amount=False)
    PledgeFactory(donor__name="Unverified Web", status="submitted")

    document = json.loads(_plain_spaces(json.dumps(board_document("vtf-2012", "fr"), default=str)))
    text = json.dumps(document, ensure_ascii=False)
    # The French board names the session in French (the dialogue's titles are translated).
    assert document["session"]["title"].startswith("Table ronde I")
    # The amount is isolated left to right inside the sentence (LRI ... PDI).
    assert document["session"]["pledged"] == "Annoncé pendant cette séance : \u2066250 000 $US\u2069"
    assert [row["donor"] for row in document["pledges"]] == ["Donateur anonyme", "Kingdom of Norway"]
    assert document["pledges"][0]["amount"] == "Montant non communiqué"
    assert document["figures"]["announced"] == "250 000 $US"
    assert document["figures"]["pledged"] == "1 000 $US"
    for private in ("Jane Private", "jane@example.org", "Unverified Web"):
        assert private not in text


def test_the_document_revalidates_with_its_etag_and_changes_after_a_pledge(
    client, campaign, django_capture_on_commit_callbacks
):
    first = client.get(LIVE)
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    assert client.get(LIVE, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        PledgeFactory(donor__name="Republic of Korea", status="announced", public_name=True, public_amount=True)
    second = client.get(LIVE, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200
    assert "Republic of Korea" in second.json()["pledges"][0]["donor"]


def test_an_unchanged_board_costs_no_database_query(client, campaign, django_assert_num_queries):
    etag = client.get(LIVE)["ETag"]
    with django_assert_num_queries(0):
        assert client.get(LIVE, HTTP_IF_NONE_MATCH=etag).status_code == 304
        assert client.get(LIVE).status_code == 200


def test_after_a_change_one_request_rebuilds_while_the_others_get_the_last_version():
    # Only the cache (Redis) is involved: twenty threads, like twenty screens.
    build = CountedBuild()

    def screen() -> int:
        return json.loads(public_document_polled("board:test", build)[0])["build"]

    public_document_polled("board:test", build)
    public_cache_invalidate()
    bodies = run_at_once(*[screen] * 20)
    assert build.count == 2  # the first version, then one rebuild for all twenty
    assert set(bodies) <= {1, 2}


def test_when_the_document_merely_expires_one_request_rebuilds_it():
    if not hasattr(cache, "ttl"):
        pytest.skip("needs the Redis cache (django-redis) to read the keys' time to live")
    build = CountedBuild()

    public_document_polled("board:idle", build)
    # DOCUMENT_TTL_SECONDS without a change: what expires by then is gone.
    for key in cache.keys("public:*"):
        ttl = cache.ttl(key)
        if ttl is not None and ttl <= DOCUMENT_TTL_SECONDS:
            cache.delete(key)
    run_at_once(*[lambda: public_document_polled("board:idle", build)] * 20)
    assert build.count == 2


@pytest.mark.parametrize(
    ("path", "lang", "direction"),
    [
        ("/board/vtf-2012/", "en", "ltr"),
        ("/ar/board/vtf-2012/", "ar", "rtl"),
        ("/zh/board/vtf-2012/", "zh-Hans", "ltr"),
    ],
)
def test_the_page_is_served_in_six_languages(client, campaign, path, lang, direction):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert "live.json" in html
    # No inline script or style (CSP): only static files.
    assert "<style" not in html and "style=" not in html and " on" + "click" not in html
    assert html.count("<script") == 1 and 'src="/static/pledges/board/board.js"' in html


def test_the_page_follows_accept_language(client, campaign):
    html = client.get("/board/vtf-2012/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert 'lang="es"' in html and "Tablero de promesas en directo" in html


def test_an_unknown_campaign_or_language_is_not_found(client, campaign):
    assert client.get("/board/no-such-campaign/").status_code == 404
    assert client.get("/de/board/vtf-2012/").status_code == 404
    assert client.get("/en/board/no-such-campaign/live.json").status_code == 404
