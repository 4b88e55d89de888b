"""The Fund's 2012 campaign and the 3 April 2012 interactive dialogue of the
General Assembly, with its four sessions (times are New York's, EDT)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import migrations

NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2012, 4, 3)
SESSIONS = [
    ("opening", "Opening remarks", "10:00", "11:00"),
    ("panel-1", "Panel I: Protecting the Victims of Trafficking: Partnerships and Innovation", "11:00", "13:00"),
    (
        "panel-2",
        "Panel II: Assistance to the Victims of Trafficking: the Role of Governments, International "
        "Organizations, Private Sector and Civil Society",
        "15:00",
        "17:45",
    ),
    ("closing", "Closing remarks", "17:45", "18:00"),
]


def at(clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=NEW_YORK)


def create(apps, schema_editor):
    Campaign = apps.get_model("pledges", "Campaign")
    Event = apps.get_model("pledges", "Event")
    EventSession = apps.get_model("pledges", "EventSession")
    campaign, _ = Campaign.objects.get_or_create(
        slug="vtf-2012",
        defaults={
            "title": "UN Voluntary Trust Fund for Victims of Trafficking in Persons, especially Women and Children: 2012 pledges",
            "goal_usd": Decimal("10000000.00"),
            "starts_on": DAY,
        },
    )
    event, _ = Event.objects.get_or_create(
        slug="ga-dialogue-2012",
        defaults={
            "campaign": campaign,
            "title": (
                "Fighting Human Trafficking: Partnership and Innovation to End Violence against Women and Children "
                "(interactive dialogue of the General Assembly)"
            ),
            "venue": "Conference Room 2, United Nations Headquarters, New York",
            "held_on": DAY,
            "convened_by": "The President of the General Assembly, with UNODC and the Group of Friends United against Human Trafficking",
        },
    )
    for slug, title, starts, ends in SESSIONS:
        EventSession.objects.get_or_create(
            event=event, slug=slug, defaults={"title": title, "starts_at": at(starts), "ends_at": at(ends)}
        )


class Migration(migrations.Migration):
    dependencies = [("pledges", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
