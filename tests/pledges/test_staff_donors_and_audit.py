"""Donor records (search, merging duplicates, erasing a person's details)
and the audit trail, which staff can read and filter but never change."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.models import AuditEvent, Donor, DonorType, Payment, Pledge, PledgeStatus
from tests.conftest import pledge_body
from tests.factories import DonorFactory, PaymentFactory, PledgeFactory
from tests.helpers import PROBLEM, bank_payment_body

pytestmark = pytest.mark.django_db


# --- the donor list ----------------------------------------------------------------------


@pytest.fixture
def donors() -> dict[str, Donor]:
    return {
        "norway": DonorFactory(
            name="Kingdom of Norway", donor_type=DonorType.MEMBER_STATE, email="mission@norway.example"
        ),
        "fund": DonorFactory(
            name="Norwegian Refugee Foundation", donor_type=DonorType.FOUNDATION, email="info@nrf.example"
        ),
        "person": DonorFactory(
            name="Jane Doe", donor_type=DonorType.INDIVIDUAL, country="GB", email="jane@example.org"
        ),
    }


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [d["name"] for d in response.json()["results"]]


def test_donors_can_be_searched_by_name(reader, donors):
    assert names(reader.get("/api/v1/donors/", {"q": "norw"})) == ["Kingdom of Norway", "Norwegian Refugee Foundation"]


def test_donors_can_be_found_by_their_exact_email(reader, donors):
    assert names(reader.get("/api/v1/donors/", {"q": "JANE@example.org"})) == ["Jane Doe"]
    assert names(reader.get("/api/v1/donors/", {"q": "jane@"})) == []


def test_donors_can_be_filtered_by_type(reader, donors):
    assert names(reader.get("/api/v1/donors/", {"type": "foundation"})) == ["Norwegian Refugee Foundation"]
    assert names(reader.get("/api/v1/donors/?type=foundation&type=individual")) == [
        "Jane Doe",
        "Norwegian Refugee Foundation",
    ]


def test_an_unknown_donor_type_is_refused(reader, donors):
    response = reader.get("/api/v1/donors/", {"type": "pirate"})

    assert response.status_code == 400
    assert "type" in response.json()["errors"]


def test_merged_donors_are_hidden_unless_asked_for(reader, donors):
    DonorFactory(name="Norway (duplicate)", merged_into=donors["norway"])

    assert "Norway (duplicate)" not in names(reader.get("/api/v1/donors/"))
    assert "Norway (duplicate)" in names(reader.get("/api/v1/donors/", {"include_merged": "true"}))
    assert "Norway (duplicate)" not in names(reader.get("/api/v1/donors/", {"include_merged": "false"}))


def test_a_donor_can_be_read_with_its_contact_details(reader, donors):
    response = reader.get(f"/api/v1/donors/{donors['person'].pk}/")

    assert response.status_code == 200
    assert (response.json()["email"], response.json()["type"]) == ("jane@example.org", "individual")


# --- merging duplicates ---------------------------------------------------------------------


@pytest.fixture
def duplicates():
    keep = DonorFactory(name="Kingdom of Norway", email="mission@norway.example", phone="")
    first = DonorFactory(name="Norway", email="other@norway.example", phone="+47 22 00 00 00")
    second = DonorFactory(name="Norway, Kingdom of", email="")
    pledges = {
        "kept": PledgeFactory(donor=keep),
        "first": [PledgeFactory(donor=first), PledgeFactory(donor=first)],
        "second": PledgeFactory(donor=second),
    }
    return keep, first, second, pledges


def merge(client, keep: Donor, ids: list[int], reason: str = "same mission"):
    return client.post(f"/api/v1/donors/{keep.pk}/merge/", {"duplicates": ids, "reason": reason}, format="json")


def test_merging_moves_the_duplicates_pledges_to_the_kept_donor(admin, fund_admin, duplicates):
    keep, first, second, pledges = duplicates

    response = merge(admin, keep, [first.pk, second.pk])

    assert response.status_code == 200
    assert response.json()["id"] == keep.pk
    assert Pledge.objects.filter(donor=keep).count() == 4
    assert not Pledge.objects.filter(donor__in=[first, second]).exists()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.merged_into, second.merged_into) == (keep, keep)

    moved = AuditEvent.objects.filter(action="pledge.donor.changed")
    assert sorted((e.pledge_id, e.old_values["donor_id"]) for e in moved) == sorted(
        [(p.pk, first.pk) for p in pledges["first"]] + [(pledges["second"].pk, second.pk)]
    )
    assert {e.new_values["donor_id"] for e in moved} == {keep.pk}
    assert {(e.actor_user, e.reason) for e in moved} == {(fund_admin, "same mission")}
    merged = AuditEvent.objects.filter(action="donor.merged")
    assert sorted(int(e.object_id) for e in merged) == sorted([first.pk, second.pk])
    assert {e.new_values["merged_into"] for e in merged} == {keep.pk}


def test_merging_fills_in_contact_details_the_kept_donor_lacks(admin, duplicates):
    keep, first, second, _ = duplicates

    merge(admin, keep, [first.pk, second.pk])

    keep.refresh_from_db()
    assert keep.phone == "+47 22 00 00 00"
    assert keep.email == "mission@norway.example"
    event = AuditEvent.objects.get(action="donor.merged", object_id=str(first.pk))
    assert event.new_values["contact_fields_taken"] == ["phone"]
    assert "+47 22 00 00 00" not in str(event.new_values)


def test_merged_donors_leave_the_list_and_their_pledges_show_the_kept_donor(admin, reader, duplicates):
    keep, first, second, pledges = duplicates

    merge(admin, keep, [first.pk, second.pk])

    listed = reader.get("/api/v1/donors/", {"q": "norway"})
    assert names(listed) == ["Kingdom of Norway"]
    detail = reader.get(f"/api/v1/pledges/{pledges['second'].reference}/").json()
    assert detail["donor"]["id"] == keep.pk


def test_a_donor_cannot_be_merged_into_itself(admin, duplicates):
    keep, first, _, _ = duplicates

    response = merge(admin, keep, [keep.pk, first.pk])

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert "duplicates" in response.json()["errors"]
    assert Pledge.objects.filter(donor=first).count() == 2
    assert not Donor.objects.filter(merged_into__isnull=False).exists()
    assert not AuditEvent.objects.exists()


def test_an_unknown_duplicate_is_refused_and_nothing_moves(admin, duplicates):
    keep, first, _, _ = duplicates

    response = merge(admin, keep, [first.pk, 999_999])

    assert response.status_code == 400
    assert "duplicates" in response.json()["errors"]
    assert Pledge.objects.filter(donor=first).count() == 2
    assert not AuditEvent.objects.exists()


def test_a_donor_already_merged_cannot_be_merged_again(admin, duplicates):
    keep, first, second, _ = duplicates
    merge(admin, keep, [first.pk])
    events = AuditEvent.objects.count()

    response = merge(admin, second, [first.pk])

    assert response.status_code == 409
    assert response.json()["type"] == "urn:vtf-pledges:problem:transition-not-allowed"
    first.refresh_from_db()
    assert first.merged_into == keep
    assert AuditEvent.objects.count() == events


def test_nothing_can_be_merged_into_a_merged_donor(admin, duplicates):
    keep, first, second, _ = duplicates
    merge(admin, keep, [first.pk])

    response = merge(admin, first, [second.pk])

    assert response.status_code == 409
    assert Pledge.objects.filter(donor=second).count() == 1


# --- erasing a person's details ------------------------------------------------------------


@pytest.fixture
def person(client_for) -> Donor:
    """An individual who pledged through the public form, consenting to
    show their name, and paid part of it."""
    body = pledge_body(
        donor={"name": "Jane Doe", "type": "individual", "country": "GB", "email": "jane@example.org"},
        amount="500.00",
        instalments=[],
        public_name=True,
    )
    response = client_for(None).post("/api/v1/pledges/", body, format="json")
    assert response.status_code == 201
    pledge = Pledge.objects.get(reference=response.json()["reference"])
    donor = pledge.donor
    donor.contact_name = "Jane Doe"
    donor.phone = "+44 20 7946 0000"
    donor.save()
    PaymentFactory(pledge=pledge, amount=Decimal("100.00"))
    return donor


def erase(client, donor: Donor, reason: str = "her request of 3 May"):
    return client.post(f"/api/v1/donors/{donor.pk}/erase/", {"reason": reason}, format="json")


def test_erasing_a_person_clears_their_contact_details_and_pseudonymises_their_name(admin, person):
    before = timezone.now()

    response = erase(admin, person)

    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["contact_name"], body["phone"]) == ("", "", "")
    assert body["name"] == f"Donor {person.pk}"
    person.refresh_from_db()
    assert (person.email, person.contact_name, person.phone) == ("", "", "")
    assert person.name == f"Donor {person.pk}"
    assert person.erased_at >= before


def test_erasing_keeps_the_financial_record_but_stops_showing_the_name(admin, person):
    pledge = person.pledges.get()

    erase(admin, person)

    pledge.refresh_from_db()
    assert pledge.public_name is False
    assert (pledge.amount, pledge.donor_id) == (Decimal("500.00"), person.pk)
    assert Payment.objects.filter(pledge=pledge).count() == 1


def test_the_audit_trail_keeps_no_trace_of_what_was_erased(admin, reader, fund_admin, person):
    erase(admin, person)

    event = AuditEvent.objects.get(action="donor.erased")
    assert (event.object_id, event.actor_user, event.reason) == (str(person.pk), fund_admin, "her request of 3 May")
    assert sorted(event.old_values["fields"]) == ["contact_name", "email", "name", "phone"]
    trail = reader.get("/api/v1/audit/", {"page_size": 500}).content.decode()
    assert "donor.erased" in trail
    for secret in ("jane@example.org", "Jane Doe", "+44 20 7946 0000"):
        assert secret not in trail
        for row in AuditEvent.objects.all():
            assert secret not in f"{row.old_values} {row.new_values} {row.reason}"


def test_erasing_takes_the_name_off_the_public_list_at_once(admin, client_for, django_capture_on_commit_callbacks):
    person = DonorFactory(name="Jane Doe", donor_type=DonorType.INDIVIDUAL, country="GB")
    PledgeFactory(donor=person, status=PledgeStatus.ANNOUNCED, public_name=True, public_amount=True)
    public = client_for(None)
    assert [p["donor"] for p in public.get("/api/v1/public/pledges/").json()["results"]] == ["Jane Doe"]

    with django_capture_on_commit_callbacks(execute=True):
        erase(admin, person)

    shown = public.get("/api/v1/public/pledges/").json()["results"]
    assert [(p["donor"], p["country"]) for p in shown] == [("Anonymous donor", None)]


def test_an_erased_person_cannot_be_found_by_their_old_email(admin, reader, person):
    erase(admin, person)

    assert names(reader.get("/api/v1/donors/", {"q": "jane@example.org"})) == []
    assert names(reader.get("/api/v1/donors/", {"q": "Jane"})) == []


def test_erasing_an_organisations_contact_keeps_its_name(admin):
    state = DonorFactory(name="Kingdom of Norway", contact_name="Ola Nordmann", phone="+47 1")
    pledge = PledgeFactory(donor=state, public_name=True)

    erase(admin, state)

    state.refresh_from_db()
    pledge.refresh_from_db()
    assert (state.name, state.email, state.contact_name, state.phone) == ("Kingdom of Norway", "", "", "")
    assert pledge.public_name is True


def test_erasing_twice_returns_quietly(admin, person):
    erase(admin, person)
    first = Donor.objects.get(pk=person.pk).erased_at

    response = erase(admin, person)

    assert response.status_code == 200
    assert Donor.objects.get(pk=person.pk).erased_at == first
    assert AuditEvent.objects.filter(action="donor.erased").count() == 1


def test_erasing_needs_a_reason(admin, person):
    response = erase(admin, person, reason="")

    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    person.refresh_from_db()
    assert (person.email, person.erased_at) == ("jane@example.org", None)


# --- the audit trail ---------------------------------------------------------------------------


@pytest.fixture
def history(client_for, reconciler, fund_admin) -> dict[str, Pledge]:
    """A confirmed pledge paid and reversed by the reconciler, another
    cancelled by the fund admin."""
    now = timezone.now()
    paid = PledgeFactory(status=PledgeStatus.ANNOUNCED, verified_at=now)
    dropped = PledgeFactory(status=PledgeStatus.ANNOUNCED, verified_at=now)
    clerk, admin = client_for(reconciler), client_for(fund_admin)
    assert clerk.post(f"/api/v1/pledges/{paid.reference}/confirm/", {}, format="json").status_code == 200
    payment = clerk.post("/api/v1/payments/", bank_payment_body(paid, "100.00", "CHASUS33-AUDIT"), format="json").json()
    assert (
        clerk.post(f"/api/v1/payments/{payment['id']}/reverse/", {"reason": "wrong pledge"}, format="json").status_code
        == 201
    )
    assert (
        admin.post(f"/api/v1/pledges/{dropped.reference}/cancel/", {"reason": "withdrawn"}, format="json").status_code
        == 200
    )
    return {"paid": paid, "dropped": dropped}


def actions(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(e["action"] for e in response.json()["results"])


def test_the_trail_can_be_read_for_one_pledge(reader, history):
    response = reader.get("/api/v1/audit/", {"pledge": history["paid"].reference.lower()})

    assert actions(response) == ["pledge.confirmed", "pledge.payment.recorded", "pledge.payment.reversed"]
    assert {e["pledge"] for e in response.json()["results"]} == {history["paid"].reference}


def test_the_trail_can_be_filtered_by_an_action_prefix(reader, history):
    assert actions(reader.get("/api/v1/audit/", {"action": "pledge.payment"})) == [
        "pledge.payment.recorded",
        "pledge.payment.reversed",
    ]
    assert actions(reader.get("/api/v1/audit/", {"action": "pledge.cancelled"})) == ["pledge.cancelled"]


def test_the_trail_can_be_filtered_by_actor(reader, history):
    assert actions(reader.get("/api/v1/audit/", {"actor": "ada.fundadmin"})) == ["pledge.cancelled"]
    assert len(actions(reader.get("/api/v1/audit/", {"actor": "rico.reconciler"}))) == 3


def test_the_trail_can_be_filtered_by_object_and_time(reader, history):
    payment = Payment.objects.get(reverses__isnull=True)
    by_object = reader.get("/api/v1/audit/", {"object_type": "payment", "object_id": str(payment.pk)})
    future = (timezone.now() + timedelta(hours=1)).isoformat()

    assert actions(by_object) == ["pledge.payment.recorded", "pledge.payment.reversed"]
    assert actions(reader.get("/api/v1/audit/", {"occurred_from": future})) == []
    assert len(actions(reader.get("/api/v1/audit/", {"occurred_until": future}))) == 4


def test_a_bad_time_filter_is_refused(reader, history):
    response = reader.get("/api/v1/audit/", {"occurred_from": "last tuesday"})

    assert response.status_code == 400
    assert "occurred_from" in response.json()["errors"]


def test_each_entry_says_who_what_and_why(reader, history):
    entry = reader.get("/api/v1/audit/", {"action": "pledge.cancelled"}).json()["results"][0]

    assert (entry["actor_kind"], entry["actor"], entry["object_type"]) == ("staff", "ada.fundadmin", "pledge")
    assert (entry["pledge"], entry["reason"]) == (history["dropped"].reference, "withdrawn")
    assert (entry["old_values"], entry["new_values"]["status"]) == ({"status": "announced"}, "cancelled")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("who", ["viewer", "fund_admin"])
def test_the_api_offers_no_way_to_change_the_trail(client_for, request, history, method, who):
    client = client_for(request.getfixturevalue(who))
    rows = list(AuditEvent.objects.values_list("pk", "action", "old_values", "new_values", "reason"))
    target = AuditEvent.objects.first()

    on_list = getattr(client, method)("/api/v1/audit/", {"action": "tampered"}, format="json")
    on_row = getattr(client, method)(f"/api/v1/audit/{target.pk}/", {"action": "tampered"}, format="json")

    assert on_list.status_code in (403, 405)
    assert on_row.status_code in (403, 404, 405)
    assert list(AuditEvent.objects.values_list("pk", "action", "old_values", "new_values", "reason")) == rows


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/audit/?occurred_from=0334-08-14T20:18:47-20:42", "occurred_from"),
        ("/api/v1/pledges/?created_until=2012-04-03T10:00:00%2B15:30", "created_until"),
        ("/api/v1/reminders/?sent_from=2012-04-03T10:00:00-16:00", "sent_from"),
    ],
)
def test_a_moment_with_an_impossible_time_zone_offset_is_refused_by_name(client_for, fund_admin, path, name):
    response = client_for(fund_admin).get(path)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert name in response.json()["errors"]
