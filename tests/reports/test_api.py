"""The reports API: request (202), status and files, publish, roles, bad
input, and the public list, files and Atom feed (published reports only)."""

from datetime import timedelta

import pytest
from defusedxml import ElementTree
from django.utils import timezone

from reports.models import Report

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def body(**overrides) -> dict:
    today = timezone.localdate()
    values = {
        "kind": "period",
        "campaign": "vtf-2012",
        "period_start": str(today - timedelta(days=6)),
        "period_end": str(today),
        "languages": ["en"],
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def built(client_for, fund_admin, mixed_pledges, django_capture_on_commit_callbacks):
    """A report requested through the API and built (the task runs in-process)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(fund_admin).post("/api/v1/reports/", body(), format="json")
    assert response.status_code == 202, response.content
    return response.json()


def test_a_fund_admin_requests_a_report_and_follows_it_until_built(built, client_for, viewer):
    assert built["status"] == "queued"
    detail = client_for(viewer).get(f"/api/v1/reports/{built['id']}/").json()

    assert detail["status"] == "done", detail["error"]
    assert {(f["language"], f["format"]) for f in detail["files"]} == {
        (None, "json"),
        ("en", "csv"),
        ("en", "html"),
        ("en", "pdf"),
    }
    json_file = next(f for f in detail["files"] if f["format"] == "json")
    assert "/api/v1/reports/" in json_file["url"]
    download = client_for(viewer).get(json_file["url"])
    assert download.status_code == 200
    import hashlib

    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == json_file["sha256"]


def test_asking_again_gives_the_same_report(built, client_for, fund_admin):
    again = client_for(fund_admin).post("/api/v1/reports/", body(), format="json")
    assert again.status_code == 202 and again.json()["id"] == built["id"]
    assert Report.objects.count() == 1


def test_drafts_are_not_public_until_published(built, client_for, fund_admin, api, django_capture_on_commit_callbacks):
    report_id = built["id"]
    name = f"report-{report_id}.json"
    assert api.get(f"/api/v1/public/reports/{report_id}/files/{name}").status_code == 404
    assert api.get("/api/v1/public/reports/").json()["results"] == []
    assert b"urn:vtf-pledges:report:" not in api.get("/api/v1/public/reports/feed.atom").content

    with django_capture_on_commit_callbacks(execute=True):  # publishing refreshes the public cache
        published = client_for(fund_admin).post(f"/api/v1/reports/{report_id}/publish/")
    assert published.status_code == 200 and published.json()["published_at"]

    listed = api.get("/api/v1/public/reports/").json()["results"]
    assert [r["id"] for r in listed] == [report_id]
    files = {f["name"]: f for f in listed[0]["files"]}
    response = api.get(files[name]["url"])
    assert response.status_code == 200 and response["X-Content-SHA256"] == files[name]["sha256"]
    sums = api.get(listed[0]["sha256sums"]).content.decode()
    assert f"{files[name]['sha256']}  {name}" in sums

    feed = ElementTree.fromstring(api.get("/api/v1/public/reports/feed.atom").content)
    # The feed's other entry is the IATI activity file (issue 16).
    entries = [
        e for e in feed.findall(f"{ATOM}entry") if e.find(f"{ATOM}id").text.startswith("urn:vtf-pledges:report:")
    ]
    assert len(entries) == 1
    assert entries[0].find(f"{ATOM}id").text == f"urn:vtf-pledges:report:{report_id}"
    assert files[name]["sha256"] in entries[0].find(f"{ATOM}summary").text


def test_a_correction_replaces_a_published_report(
    built, client_for, fund_admin, api, django_capture_on_commit_callbacks
):
    admin = client_for(fund_admin)
    assert admin.post(f"/api/v1/reports/{built['id']}/publish/").status_code == 200
    refused = admin.post("/api/v1/reports/", body(replaces=built["id"]), format="json")
    assert refused.status_code == 400 and "correction_note" in refused.json()["errors"]
    with django_capture_on_commit_callbacks(execute=True):
        correction = admin.post(
            "/api/v1/reports/", body(replaces=built["id"], correction_note="A payment was posted twice."), format="json"
        ).json()
    assert correction["id"] != built["id"] and correction["replaces"] == built["id"]
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/api/v1/reports/{correction['id']}/publish/")
    listed = {r["id"]: r for r in api.get("/api/v1/public/reports/").json()["results"]}
    assert listed[built["id"]]["replaced_by"] == correction["id"]
    assert listed[correction["id"]]["replaces"] == built["id"]


def test_a_report_not_built_cannot_be_published(client_for, fund_admin):
    created = client_for(fund_admin).post("/api/v1/reports/", body(), format="json").json()
    response = client_for(fund_admin).post(f"/api/v1/reports/{created['id']}/publish/")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"


def test_roles(client_for, viewer, reconciler, api):
    assert api.post("/api/v1/reports/", body(), format="json").status_code == 401
    assert client_for(viewer).post("/api/v1/reports/", body(), format="json").status_code == 403
    assert client_for(reconciler).post("/api/v1/reports/", body(), format="json").status_code == 403
    assert client_for(viewer).get("/api/v1/reports/").status_code == 200
    assert api.get("/api/v1/reports/").status_code == 401


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"period_start": str(timezone.localdate()), "period_end": str(timezone.localdate() - timedelta(days=3))},
            "period_end",
        ),
        (
            {
                "period_start": str(timezone.localdate() + timedelta(days=1)),
                "period_end": str(timezone.localdate() + timedelta(days=7)),
            },
            "period_start",
        ),
        ({"languages": ["en", "de"]}, "languages.1"),
        ({"kind": "quarterly"}, "kind"),
        ({"kind": "event", "period_start": None, "period_end": None, "event": "no-such-event"}, "event"),
        ({"campaign": "no-such-campaign"}, "campaign"),
        ({"period_end": "31/12/2025"}, "period_end"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(client_for, fund_admin, overrides, field):
    response = client_for(fund_admin).post("/api/v1/reports/", body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_an_event_report_shows_each_session(client_for, fund_admin, campaign, django_capture_on_commit_callbacks):
    from pledges.models import EventSession, PledgeStatus
    from tests.factories import DonorFactory, PledgeFactory

    session = EventSession.objects.filter(event__campaign=campaign).order_by("starts_at").first()
    PledgeFactory(campaign=campaign, session=session, status=PledgeStatus.ANNOUNCED, donor=DonorFactory(name="A"))
    PledgeFactory(campaign=campaign, session=session, status=PledgeStatus.CONFIRMED, donor=DonorFactory(name="B"))
    with django_capture_on_commit_callbacks(execute=True):
        created = (
            client_for(fund_admin)
            .post(
                "/api/v1/reports/",
                {"kind": "event", "event": session.event.slug, "languages": ["en"]},
                format="json",
            )
            .json()
        )
    report = Report.objects.get(pk=created["id"])
    assert report.status == "done", report.error
    sessions = {row["session"]: row for row in report.figures["sessions"]}
    assert sessions[session.slug]["announced_then"] == "2000.00"
    assert sessions[session.slug]["pledged"] == "1000.00"
    assert sessions[session.slug]["turned_into_commitments"] == 0.5
