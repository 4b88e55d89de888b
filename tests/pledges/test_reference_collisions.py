"""A new pledge's reference is drawn at random; when the draw hits a
reference already taken (about one in 10^13 per pair), the pledge is made
under the next draw, once, on every path that makes pledges."""

import pytest

from pledges import services
from pledges.models import AuditEvent, Instalment, Pledge
from pledges.references import reference_new
from tests.conftest import pledge_body
from tests.factories import PledgeFactory
from tests.pledges.test_staff_pledge_transitions import announced_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def first_draw_taken(monkeypatch):
    """The first reference drawn is one a pledge already has; the draws after
    it are fresh. Returns the references drawn, in order."""
    taken = PledgeFactory().reference
    drawn: list[str] = []

    def draw() -> str:
        drawn.append(taken if not drawn else reference_new())
        return drawn[-1]

    monkeypatch.setattr(services, "reference_new", draw)
    return drawn


def test_a_public_pledge_whose_first_reference_is_taken_is_made_once_under_the_next(api, first_draw_taken):
    response = api.post("/api/v1/pledges/", pledge_body(), format="json")

    assert response.status_code == 201
    taken, fresh = first_draw_taken
    assert response.json()["reference"] == fresh
    made = Pledge.objects.get(reference=fresh)
    assert Pledge.objects.filter(reference=taken).count() == 1
    assert Pledge.objects.count() == 2
    assert Instalment.objects.filter(pledge=made).count() == len(pledge_body()["instalments"])
    assert AuditEvent.objects.filter(action="pledge.submitted").count() == 1
    assert made.donor.name == "Kingdom of Norway"


def test_a_pledge_from_the_floor_whose_first_reference_is_taken_is_made_once_under_the_next(
    client_for, reconciler, first_draw_taken
):
    response = client_for(reconciler).post("/api/v1/pledges/announced/", announced_body(), format="json")

    assert response.status_code == 201
    taken, fresh = first_draw_taken
    assert response.json()["reference"] == fresh
    assert Pledge.objects.filter(reference=taken).count() == 1
    assert Pledge.objects.count() == 2
    assert AuditEvent.objects.filter(action="pledge.announced").get().pledge.reference == fresh
