"""The IATI 2.03 activity file: one activity per campaign, reported by the
Fund, with the money coming in as transactions.

- each counted pledge is an incoming pledge (transaction type 13) on the
  day it was made;
- each firm one (confirmed, partially paid, paid) is also an incoming
  commitment (11) on the day of its written confirmation; a lapsed pledge
  that had been confirmed gives back its unpaid remainder as a negative
  commitment, so its commitments add up to what it paid, as the public
  totals count it;
- each payment is incoming funds (1) on the day it was received; refunds
  and money taken back after a lost dispute are negative incoming funds.
  A wrong entry and the entry that reversed it are both left out.

Values are in the currency of the pledge or payment. Each also carries,
in our own namespace (the Standard allows it), `vtf:usd`: its value in
USD as the public totals count it, and `vtf:counted-in`: which public
total that is (announced, pledged or received), so that a reader can add
the file up to the figures on the widget.

What the public does not see stays out: web submissions staff have not
verified, cancelled pledges, contact details. The provider is named, with
its IATI organisation identifier when staff entered one, only when the
donor agreed to be named; otherwise "Anonymous donor", with no identifier
or type. Pledges whose amount is not public are reported together, in
USD, per month and transaction type, with no provider.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from lxml import etree

from pledges.models import (
    ANNOUNCED_STATUSES,
    PLEDGED_STATUSES,
    PUBLIC_STATUSES,
    Campaign,
    DonorType,
    Payment,
    PaymentStatus,
    Pledge,
    PledgeStatus,
)
from pledges.money import USD, format_amount

IATI_VERSION = "2.03"
VTF_NAMESPACE = "urn:un:vtf-trafficking:pledges:iati-extension:1"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Django's language codes -> ISO 639-1, as IATI's xml:lang wants them.
IATI_LANGUAGES = {"zh-hans": "zh"}

INCOMING_FUNDS = "1"
INCOMING_COMMITMENT = "11"
INCOMING_PLEDGE = "13"

# IATI OrganisationType codes for our donor types.
ORGANISATION_TYPES: dict[str, str] = {
    DonorType.MEMBER_STATE: "10",  # Government
    DonorType.OBSERVER_STATE: "10",
    DonorType.INTERGOVERNMENTAL: "40",  # Multilateral
    DonorType.UN_ENTITY: "40",
    DonorType.PRIVATE_SECTOR: "70",  # Private Sector
    DonorType.FOUNDATION: "60",  # Foundation
    DonorType.CIVIL_SOCIETY: "21",  # International NGO
    DonorType.INDIVIDUAL: "90",  # Other
}
MULTILATERAL = "40"
ACTIVITY_STATUS_IMPLEMENTATION = "2"
ACTIVITY_DATE_ACTUAL_START = "2"
ACTIVITY_DATE_PLANNED_END = "3"
# DAC 5-digit sector 15180, "Ending violence against women and girls".
SECTOR = "15180"
# DAC region 998, "Developing countries, unspecified": the Fund gives grants worldwide.
REGION = "998"
ANONYMOUS = "Anonymous donor"
UNDISCLOSED = "Donors who did not make the amount public (total for the month)"


@dataclass(frozen=True)
class Transaction:
    type: str
    on: date
    amount: Decimal
    currency: str
    usd: Decimal | None
    counted_in: str
    ref: str
    description: str
    donor_name: str = ""
    donor_ref: str = ""
    donor_type: str = ""


def _key(kind: str, pk: int) -> str:
    # Stable transaction references that publish no database ids.
    return f"{kind}-{salted_hmac('pledges.iati.' + kind, str(pk)).hexdigest()[:12]}"


def _day(moment: datetime | None, fallback: date) -> date:
    return timezone.localdate(moment) if moment is not None else fallback


def _pledge_transactions(pledge: Pledge) -> list[Transaction]:
    key = _key("pledge", pledge.pk)
    what = pledge.get_earmark_display()
    session = f", announced at {pledge.session.title}" if pledge.session is not None else ""
    lines = [
        Transaction(
            INCOMING_PLEDGE,
            pledge.pledged_on,
            pledge.amount,
            pledge.currency,
            pledge.amount_usd,
            "announced" if pledge.status in ANNOUNCED_STATUSES else "",
            f"{key}-pledge",
            f"Pledge ({what}){session}",
        )
    ]
    confirmed_on = pledge.confirmed_on or _day(pledge.confirmed_at, pledge.pledged_on)
    if pledge.status in PLEDGED_STATUSES:
        lines.append(_written_commitment(pledge, key, confirmed_on, what))
    elif pledge.status == PledgeStatus.LAPSED:
        lines += _lapsed_commitments(pledge, key, confirmed_on, what)
    return lines


def _written_commitment(pledge: Pledge, key: str, confirmed_on: date, what: str) -> Transaction:
    """The pledge's full amount, committed on the day it was confirmed in writing."""
    return Transaction(
        INCOMING_COMMITMENT,
        confirmed_on,
        pledge.amount,
        pledge.currency,
        pledge.amount_usd,
        "pledged",
        f"{key}-commitment",
        f"Pledge confirmed in writing ({what})",
    )


def _lapsed_commitments(pledge: Pledge, key: str, confirmed_on: date, what: str) -> list[Transaction]:
    """A lapsed pledge counts in `pledged` with what it paid: its full
    commitment (when it had been confirmed) less the remainder given up."""
    closed_on = _day(pledge.closed_at, confirmed_on)
    if pledge.confirmed_on is None and pledge.confirmed_at is None:
        if not pledge.amount_paid:
            return []
        return [
            Transaction(
                INCOMING_COMMITMENT,
                closed_on,
                pledge.amount_paid,
                pledge.currency,
                pledge.amount_received_usd,
                "pledged",
                f"{key}-commitment",
                f"Paid part of a pledge whose remainder lapsed ({what})",
            )
        ]
    remainder_usd = None if pledge.amount_usd is None else pledge.amount_received_usd - pledge.amount_usd
    return [
        _written_commitment(pledge, key, confirmed_on, what),
        Transaction(
            INCOMING_COMMITMENT,
            closed_on,
            pledge.amount_paid - pledge.amount,
            pledge.currency,
            remainder_usd,
            "pledged",
            f"{key}-lapsed",
            "Unpaid remainder of the pledge given up (lapsed)",
        ),
    ]


def _payment_transactions(pledge: Pledge) -> list[Transaction]:
    lines = []
    for payment in pledge.payments.all():
        # A wrong entry and its reversing entry cancel out: neither was money.
        if payment.status == PaymentStatus.REVERSED or payment.reverses_id is not None:
            continue
        refund = payment.amount < 0
        lines.append(
            Transaction(
                INCOMING_FUNDS,
                payment.received_on,
                payment.amount,
                payment.currency,
                payment.amount_usd,
                "received",
                _key("payment", payment.pk),
                "Refund to the donor" if refund else f"Payment received ({payment.get_method_display()})",
            )
        )
    return lines


def _with_provider(line: Transaction, pledge: Pledge) -> Transaction:
    donor = pledge.donor
    if not pledge.public_name:
        return Transaction(**{**line.__dict__, "donor_name": ANONYMOUS})
    return Transaction(
        **{
            **line.__dict__,
            "donor_name": donor.name,
            "donor_ref": donor.iati_org_ref,
            "donor_type": ORGANISATION_TYPES.get(donor.donor_type, "90"),
        }
    )


def _undisclosed_totals(lines: list[Transaction]) -> list[Transaction]:
    """Transactions of pledges whose amount is not public, added up in USD
    per month, type and public total. Those without a USD value yet (no
    rate) are left out: the public totals do not count them either."""
    groups: dict[tuple, list[Transaction]] = defaultdict(list)
    for line in lines:
        if line.usd is not None:
            groups[(line.on.strftime("%Y-%m"), line.type, line.counted_in)].append(line)
    totals = []
    for (month, kind, counted_in), members in sorted(groups.items()):
        usd = sum((member.usd for member in members if member.usd is not None), Decimal("0"))
        totals.append(
            Transaction(
                kind,
                max(member.on for member in members),
                usd,
                USD,
                usd,
                counted_in,
                f"undisclosed-{month}-{kind}-{counted_in or 'not-counted'}",
                f"{len(members)} transactions whose donors did not make the amount public, in USD",
                donor_name=UNDISCLOSED,
            )
        )
    return totals


def campaign_transactions(campaign: Campaign) -> list[Transaction]:
    pledges = (
        Pledge.objects.filter(campaign=campaign, status__in=PUBLIC_STATUSES)
        .select_related("donor", "session")
        .prefetch_related(Prefetch("payments", queryset=Payment.objects.order_by("received_on", "pk")))
        .order_by("pledged_on", "pk")
    )
    shown, undisclosed = [], []
    for pledge in pledges:
        lines = _pledge_transactions(pledge) + _payment_transactions(pledge)
        if pledge.public_amount:
            shown += [_with_provider(line, pledge) for line in lines]
        else:
            undisclosed += lines
    return sorted(shown + _undisclosed_totals(undisclosed), key=lambda line: (line.on, line.type, line.ref))


def _narrative(parent: etree._Element, tag: str, text: str, **attributes) -> etree._Element:
    element = etree.SubElement(parent, tag, **attributes)
    etree.SubElement(element, "narrative").text = text
    return element


def _titles(activity: etree._Element, campaign: Campaign) -> None:
    """The campaign's title in English, then in each other UN language in
    which it reads differently (titles are translated per language)."""
    title = etree.SubElement(activity, "title")
    with translation.override("en"):
        english = campaign.title
    etree.SubElement(title, "narrative").text = english
    for code, _ in settings.LANGUAGES:
        with translation.override(code):
            text = campaign.title
        if code != "en" and text != english:
            etree.SubElement(title, "narrative", {XML_LANG: IATI_LANGUAGES.get(code, code)}).text = text


def _transaction(activity: etree._Element, line: Transaction) -> None:
    element = etree.SubElement(activity, "transaction", ref=line.ref)
    etree.SubElement(element, "transaction-type", code=line.type)
    etree.SubElement(element, "transaction-date", {"iso-date": line.on.isoformat()})
    value = etree.SubElement(element, "value", {"currency": line.currency, "value-date": line.on.isoformat()})
    value.text = format_amount(line.amount, line.currency)
    if line.usd is not None:
        value.set(f"{{{VTF_NAMESPACE}}}usd", str(line.usd.quantize(Decimal("0.01"))))
    if line.counted_in:
        value.set(f"{{{VTF_NAMESPACE}}}counted-in", line.counted_in)
    _narrative(element, "description", line.description)
    provider = {"ref": line.donor_ref} if line.donor_ref else {}
    if line.donor_type:
        provider["type"] = line.donor_type
    _narrative(element, "provider-org", line.donor_name, **provider)


def _activity(root: etree._Element, campaign: Campaign, lines: list[Transaction]) -> None:
    reporting_ref = settings.IATI_REPORTING_ORG_REF
    activity = etree.SubElement(
        root,
        "iati-activity",
        {
            "last-updated-datetime": _last_updated(campaign).isoformat(timespec="seconds"),
            XML_LANG: "en",
            "default-currency": USD,
            "hierarchy": "1",
        },
    )
    etree.SubElement(activity, "iati-identifier").text = f"{reporting_ref}-{campaign.slug}"
    _narrative(activity, "reporting-org", settings.IATI_REPORTING_ORG_NAME, ref=reporting_ref, type=MULTILATERAL)
    _titles(activity, campaign)
    _narrative(
        activity,
        "description",
        f"Money pledged, committed and paid to the Fund in the campaign {campaign.title!r} (goal "
        f"{format_amount(campaign.goal_usd, USD)} USD), as published on the Fund's public totals. The Fund "
        "gives grants to organisations that directly assist victims of trafficking in persons.",
        type="1",
    )
    _narrative(activity, "participating-org", settings.IATI_REPORTING_ORG_NAME, ref=reporting_ref, role="2")
    etree.SubElement(activity, "activity-status", code=ACTIVITY_STATUS_IMPLEMENTATION)
    etree.SubElement(
        activity, "activity-date", {"iso-date": campaign.starts_on.isoformat(), "type": ACTIVITY_DATE_ACTUAL_START}
    )
    if campaign.ends_on:
        etree.SubElement(
            activity, "activity-date", {"iso-date": campaign.ends_on.isoformat(), "type": ACTIVITY_DATE_PLANNED_END}
        )
    etree.SubElement(activity, "recipient-region", code=REGION, vocabulary="1", percentage="100")
    etree.SubElement(activity, "sector", code=SECTOR, vocabulary="1", percentage="100")
    for line in lines:
        _transaction(activity, line)


def _last_updated(campaign: Campaign) -> datetime:
    moments = [campaign.created_at]
    latest_pledge = campaign.pledges.filter(status__in=PUBLIC_STATUSES).order_by("-updated_at").first()
    if latest_pledge is not None:
        moments.append(latest_pledge.updated_at)
    latest_payment = (
        Payment.objects.filter(pledge__campaign=campaign, pledge__status__in=PUBLIC_STATUSES)
        .order_by("-created_at")
        .first()
    )
    if latest_payment is not None:
        moments.append(latest_payment.created_at)
    return timezone.localtime(max(moments))


def iati_activities_xml() -> bytes:
    """The whole file, one activity per campaign, oldest campaign first."""
    root = etree.Element(
        "iati-activities",
        {"version": IATI_VERSION, "generated-datetime": timezone.localtime().isoformat(timespec="seconds")},
        nsmap={"vtf": VTF_NAMESPACE},
    )
    for campaign in Campaign.objects.order_by("starts_on", "slug"):
        _activity(root, campaign, campaign_transactions(campaign))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
