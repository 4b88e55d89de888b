"""Campaign, event and session titles in six languages (django-modeltranslation):
the 2012 dialogue's in all six from the data migration, edited by staff in
the admin with a visible English fallback, and shown wherever people read
them: the form, the check step, the status page, the widget, reports."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.utils import translation

from pledges.models import Campaign, Event, EventSession
from reports import render
from reports.figures import report_figures
from reports.models import Report
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db

LANGUAGES = ("en", "ar", "zh_hans", "fr", "ru", "es")


def test_the_2012_dialogue_has_its_titles_in_all_six_languages():
    for row in (
        Campaign.objects.get(slug="vtf-2012"),
        Event.objects.get(slug="ga-dialogue-2012"),
        *EventSession.objects.filter(event__slug="ga-dialogue-2012"),
    ):
        titles = [getattr(row, f"title_{code}") for code in LANGUAGES]
        assert all(titles), row
        assert len(set(titles)) == 6, row  # six different texts, not six copies
    panel = EventSession.objects.get(slug="panel-1")
    with translation.override("ru"):
        assert panel.title.startswith("Дискуссионная группа I")
    with translation.override("zh-hans"):
        assert panel.title.startswith("第一小组")


def test_a_missing_translation_reads_as_english():
    session = EventSession.objects.get(slug="closing")
    session.title_fr = None
    session.save()
    with translation.override("fr"):
        assert EventSession.objects.get(pk=session.pk).title == "Closing remarks"


@pytest.mark.parametrize(
    ("prefix", "title"), [("ar", "حلقة النقاش الأولى"), ("es", "Mesa redonda I"), ("en", "Panel I")]
)
def test_the_form_offers_sessions_in_its_language(client, prefix, title):
    html = client.get(f"/{prefix}/pledge/").content.decode()
    assert re.search(rf'<option value="panel-1"[^>]*>{title}', html)


def test_the_widget_shows_the_campaign_title_in_its_language(client):
    figures = client.get("/widget/v1/figures.json", {"lang": "ru"}).json()
    assert figures["title"].startswith("Целевой фонд добровольных взносов")
    frame = client.get("/widget/v1/totals/", {"lang": "zh"}).content.decode()
    assert "<title>联合国人口贩运活动受害者特别是妇女和儿童自愿信托基金：2012年认捐</title>" in frame


def test_reports_show_titles_in_each_of_their_languages():
    PledgeFactory(amount=Decimal("1000.00"))
    event = Event.objects.get(slug="ga-dialogue-2012")
    report = Report.objects.create(
        campaign=event.campaign, kind="event", event=event, key="event:test", as_of=event.campaign.created_at
    )
    figures = report_figures(report)
    for language, expected in (("fr", "Lutter contre la traite"), ("ar", "مكافحة الاتجار"), ("en", "Fighting Human")):
        html = render.render_html(figures, language).decode()
        # The cover's title line (isolated for the page's direction) names the event in the report's language.
        assert re.search(rf'<p class="title" dir="[a-z]+"><bdi>[^<]*{expected}', html), language
    spanish = render.render_html(figures, "es").decode()
    assert "Mesa redonda II: asistencia a las víctimas de la trata" in spanish
    assert "Mesa redonda II" in render.render_csv(figures, "es").decode("utf-8-sig")


def test_staff_edit_each_language_in_the_admin_and_see_what_falls_back(client):
    user = User.objects.create_user("titles-admin", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="fund_admin"))
    client.force_login(user)
    campaign = Campaign.objects.create(
        slug="vtf-2027", title_en="2027 pledges", title_fr="Contributions 2027", goal_usd=1, starts_on="2027-01-01"
    )

    listing = client.get("/admin/pledges/campaign/").content.decode()
    assert "Shown in English (no translation)" in listing
    row = re.search(r"vtf-2027.*?</tr>", listing, re.S)[0]
    assert "العربية, 中文, Русский, Español" in row  # what reads as English today

    form = client.get(f"/admin/pledges/campaign/{campaign.pk}/change/").content.decode()
    for code in LANGUAGES:
        assert f'name="title_{code}"' in form
    assert "Empty: the English text is shown in this language." in form


def test_donor_type_and_earmark_labels_come_from_what_staff_wrote(client):
    from pledges.models import ChoiceLabel

    children = ChoiceLabel.objects.get(kind="earmark", value="children")
    assert (children.text_ar, children.text_zh_hans) == ("مساعدة الأطفال ضحايا الاتجار", "援助被贩运儿童")
    children.text_es = "Niñas y niños víctimas de la trata"
    children.text_fr = None  # no French: English shows
    children.save()

    spanish = client.get("/es/pledge/").content.decode()
    assert re.search(r'<label for="earmark_children">Niñas y niños víctimas de la trata</label>', spanish)
    french = client.get("/fr/pledge/").content.decode()
    assert re.search(r'<label for="earmark_children">Assistance to trafficked children</label>', french)
    arabic = client.get("/ar/pledge/").content.decode()
    assert '<option value="member_state">دولة عضو</option>' in arabic


def test_staff_edit_labels_in_the_admin_but_not_their_codes(client):
    from pledges.models import ChoiceLabel

    user = User.objects.create_user("labels-admin", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="fund_admin"))
    client.force_login(user)
    label = ChoiceLabel.objects.get(kind="donor_type", value="individual")
    form = client.get(f"/admin/pledges/choicelabel/{label.pk}/change/").content.decode()
    assert 'name="text_ru"' in form and 'name="value"' not in form
    assert client.get("/admin/pledges/choicelabel/add/").status_code == 403
