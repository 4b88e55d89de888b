"""The front page at / and /<lang>/: what the Fund is, where to pledge, the
live totals, the published reports, and links for developers and staff."""

from decimal import Decimal

import pytest
from django.utils import timezone

from reports.models import Report, ReportFile
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db


def test_the_root_address_is_the_front_page_in_the_browsers_language(client):
    response = client.get("/", headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="es" dir="ltr">' in html
    assert 'href="/es/pledge/"' in html
    assert 'href="/api/docs/"' in html and 'href="/admin/"' in html
    assert "Accept-Language" in response["Vary"]


@pytest.mark.parametrize("prefix", ["ar", "zh", "en", "fr", "ru", "es"])
def test_the_front_page_exists_in_six_languages(client, prefix):
    html = client.get(f"/{prefix}/").content.decode()
    assert 'id="pledge-now"' in html and 'id="totals"' in html
    if prefix == "ar":
        assert 'dir="rtl"' in html


def test_it_shows_the_live_totals_and_published_reports(client):
    PledgeFactory(amount=Decimal("250000.00"))
    report = Report.objects.create(
        campaign_id=PledgeFactory().campaign_id,
        kind="period",
        period_start="2026-01-01",
        period_end="2026-01-31",
        key="period:front",
        as_of=timezone.now(),
        published_at=timezone.now(),
        status="done",
    )
    ReportFile.objects.create(report=report, language="fr", format="pdf", name="r-fr.pdf", path="x", sha256="0", size=1)
    ReportFile.objects.create(report=report, language="en", format="pdf", name="r-en.pdf", path="x", sha256="0", size=1)

    html = client.get("/fr/").content.decode()
    assert "251\u202f000,00\xa0$US" in html  # pledged (confirmed) so far
    assert f"/api/v1/public/reports/{report.pk}/files/r-fr.pdf" in html
    assert "r-en.pdf" not in html  # the files in the page's language
    assert "1 janvier 2026" in html


def test_the_admin_view_site_link_leads_somewhere(client):
    assert client.get("/").status_code == 200
