"""An anonymous donor's statement is published only when the donor says so
on the form; the check step says which it will be."""

import re

import pytest

from pledges.models import Pledge
from tests.helpers import form_answers

pytestmark = pytest.mark.django_db


def _through_the_check_step(client, **answers) -> tuple[str, Pledge]:
    form = form_answers(
        client,
        donor=("Anna Lindqvist", "individual", "SE", "anna@example.org"),
        amount="150",
        public_amount="on",
        statement="For every survivor who found her way out.",
        **answers,
    )
    check = client.post("/en/pledge/", form).content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', check))
    client.post("/en/pledge/", {**hidden, "action": "confirm"})
    return check, Pledge.objects.get(donor__email="anna@example.org")


@pytest.fixture(autouse=True)
def _no_wait(settings):
    settings.PLEDGE_FORM_MIN_SECONDS = 0


def test_an_anonymous_donor_who_allows_it_has_the_statement_published(client):
    check, pledge = _through_the_check_step(client, public_statement="on")

    assert re.search(r"<dt>Publish our statement</dt><dd>Yes</dd>", check)
    assert (pledge.public_name, pledge.public_statement) == (False, True)


def test_an_anonymous_donor_who_does_not_keeps_the_statement_private(client):
    check, pledge = _through_the_check_step(client)

    assert "No: kept private, as the name is not shown" in check
    assert (pledge.public_name, pledge.public_statement) == (False, False)
    assert pledge.statement == "For every survivor who found her way out."
