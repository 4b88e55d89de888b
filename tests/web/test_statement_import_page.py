"""The statement import page in a real browser, used as a reconciler would:
sign in by typing, choose the bank's file, preview it, import it and read
the outcome; each step checked with axe-core against WCAG 2.2 AA."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from pledges.models import PledgeStatus, StatementLine
from tests.statements import FIXTURES, confirmed_pledge
from tests.web.axe import axe_violations


@pytest.fixture
def reconciler_page(live_server, transactional_db, settings, tmp_path, page):
    settings.MEDIA_ROOT = tmp_path
    user = User.objects.create_user("rita", password="a long pass phrase", is_staff=True)
    user.groups.add(Group.objects.get(name="reconciler"))
    page.goto(f"{live_server.url}/admin/login/")
    page.click("#id_username")
    page.keyboard.type("rita")
    page.click("#id_password")
    page.keyboard.type("a long pass phrase")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return page


def test_a_reconciler_imports_a_german_mt940_from_the_page(reconciler_page, live_server, tmp_path):
    page = reconciler_page
    pledge = confirmed_pledge("2500.00", "EUR", donor="Stadt Wien")
    statement = tmp_path / "umsatz.sta"
    statement.write_bytes(
        (FIXTURES / "mt940_german_structured.sta").read_bytes().replace(b"{RF}", pledge.reference.encode())
    )

    page.goto(f"{live_server.url}/admin/pledges/bankstatement/")
    with page.expect_navigation():
        page.get_by_role("link", name="Import a statement").click()
    assert axe_violations(page) == []
    page.set_input_files("#id_file", str(statement))
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()

    assert "Preview: mt940" in page.content()
    assert page.get_by_role("cell", name="Stadt Wien Magistratsabteilung 5").is_visible()
    assert axe_violations(page) == []
    assert not StatementLine.objects.exists()

    with page.expect_navigation():
        page.get_by_role("button", name="Import this file").click()

    assert page.get_by_role("heading", name="Statement imported").is_visible()
    row = page.get_by_role("row").filter(has_text="STARTUMSE/00042/001 2024-11-05")
    assert row.get_by_role("cell").all_inner_texts()[3:9] == ["2", "1", "0", "0", "1", "0"]
    assert axe_violations(page) == []
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, Decimal("2500.00"))
