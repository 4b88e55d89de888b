"""The board's document: what the screens in the room show, formatted for
one language. Built from the same public figures as the widget and the API
(`public_totals`), so the room and the public site never disagree."""

from decimal import Decimal
from typing import Any

from babel import Locale
from babel.numbers import format_currency
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from pledges.board.labels import LABELS
from pledges.models import PUBLIC_STATUSES, Campaign, Pledge
from pledges.money import USD
from pledges.selectors import campaign_get, public_totals
from reports.formatting import babel_locale, money, percent

# How many of the latest pledges a board lists.
BOARD_PLEDGES = 8
# The board's language segment -> Django's language code.
DJANGO_LANGUAGES = {"zh": "zh-hans"}


def django_language(language: str) -> str:
    return DJANGO_LANGUAGES.get(language, language)


def whole_money(amount: str | Decimal, language: str, currency: str = USD) -> str:
    """A total as the locale writes money, rounded to whole units: the back
    of the room needs "$1,250,000", not the cents."""
    locale: Locale = babel_locale(language)
    pattern = locale.currency_formats["standard"].pattern.replace("0.00", "0")
    text = format_currency(
        Decimal(str(amount)).quantize(Decimal(1)), currency, format=pattern, locale=locale, currency_digits=False
    )
    return text.replace("\u200f", "").replace("\u200e", "")


def isolated(text: str) -> str:
    """An amount set inside a sentence, isolated left to right (Unicode
    LRI ... PDI), so that Arabic text around it does not reorder it."""
    return f"\u2066{text}\u2069"


def _pledge_key(pk: int) -> str:
    # Lets the page tell a new pledge from one it already shows, without
    # publishing database ids.
    return salted_hmac("pledges.board.pledge", str(pk)).hexdigest()[:16]


def _latest_pledges(campaign: Campaign, language: str, words: dict[str, str]) -> list[dict[str, Any]]:
    pledges = (
        Pledge.objects.filter(campaign=campaign, status__in=PUBLIC_STATUSES)
        .select_related("donor", "session")
        .order_by("-created_at", "-pk")[:BOARD_PLEDGES]
    )
    rows = []
    for pledge in pledges:
        shown = pledge.public_amount
        rows.append(
            {
                "key": _pledge_key(pledge.pk),
                "donor": pledge.donor.name if pledge.public_name else words["anonymous"],
                "amount": money(pledge.amount, language, pledge.currency) if shown else words["undisclosed"],
                "usd": (
                    words["in_usd"].format(isolated(whole_money(pledge.amount_usd, language)))
                    if shown and pledge.amount_usd is not None and pledge.currency != USD
                    else ""
                ),
                "session": pledge.session.title if pledge.session is not None else "",
            }
        )
    return rows


def _session_block(campaign: Campaign, language: str, words: dict[str, str]) -> dict[str, Any] | None:
    session = campaign.session_under_way
    if session is None:
        return None
    at_session = Pledge.objects.filter(campaign=campaign, session=session, status__in=PUBLIC_STATUSES).aggregate(
        usd=Sum("amount_usd")
    )["usd"] or Decimal("0")
    return {
        "title": session.title,
        "event": session.event.title,
        "since": campaign.session_under_way_since,
        "pledged": words["at_session"].format(isolated(whole_money(at_session, language))),
    }


def board_document(slug: str, language: str) -> dict[str, Any]:
    """Everything one board shows, already formatted for `language` (one of
    labels.LANGUAGES). Raises NotFound for an unknown campaign."""
    locale = django_language(language)
    words = LABELS[language]
    with translation.override(locale):
        campaign = campaign_get(slug, field="")
        campaign = Campaign.objects.select_related("session_under_way__event").get(pk=campaign.pk)
        totals = public_totals(campaign)
        goal = Decimal(totals["goal"])
        announced_or_firm = Decimal(totals["announced"]) + Decimal(totals["pledged"])
        share = min(Decimal(1), announced_or_firm / goal) if goal else Decimal(0)
        return {
            "campaign": campaign.slug,
            "title": campaign.title,
            "session": _session_block(campaign, locale, words),
            "figures": {
                "announced": whole_money(totals["announced"], locale),
                "pledged": whole_money(totals["pledged"], locale),
                "received": whole_money(totals["received"], locale),
                "goal": whole_money(totals["goal"], locale),
                "donors": str(totals["donors"]),
                "goal_share": words["goal_share"].format(isolated(percent(float(share), locale))),
            },
            # Shares of the goal (0..100) for the bar: firm pledges, and firm
            # plus announced ones.
            "bar": {
                "pledged": float(min(Decimal(100), Decimal(totals["pledged"]) / goal * 100).quantize(Decimal("0.1")))
                if goal
                else 0,
                "announced": float((share * 100).quantize(Decimal("0.1"))),
            },
            "awaiting_rate": (
                words["awaiting_rate"].format(totals["awaiting_rate"]["pledges"])
                if totals["awaiting_rate"]["pledges"]
                else ""
            ),
            "pledges": _latest_pledges(campaign, locale, words),
            "generated_at": timezone.now(),
        }
