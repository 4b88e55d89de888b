"""The statement import page in a real browser, used as a reconciler would:
sign in by typing, choose the bank's file, preview it, import it and read
the outcome; each step checked with axe-core against WCAG 2.2 AA."""

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

from pledges.models import PledgeStatus, StatementLine
from tests.pledges.test_reconciliation_import import FIXTURES, confirmed_pledge

AXE_DIR = Path.home() / ".cache" / "vtf-axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core 4 from npm, installed once into a cache directory."""
    if not AXE.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed, so axe-core cannot be")
        subprocess.run(["npm", "install", "--silent", "--prefix", str(AXE_DIR), "axe-core@4"], check=True, timeout=300)
    return AXE


def violations(page, axe_script: Path) -> list:
    page.add_script_tag(path=str(axe_script))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


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


def test_a_reconciler_imports_a_german_mt940_from_the_page(reconciler_page, live_server, axe_script, tmp_path):
    page = reconciler_page
    pledge = confirmed_pledge("2500.00", "EUR", donor="Stadt Wien")
    statement = tmp_path / "umsatz.sta"
    statement.write_bytes(
        (FIXTURES / "mt940_german_structured.sta").read_bytes().replace(b"{RF}", pledge.reference.encode())
    )

    page.goto(f"{live_server.url}/admin/pledges/bankstatement/")
    with page.expect_navigation():
        page.get_by_role("link", name="Import a statement").click()
    assert violations(page, axe_script) == []
    page.set_input_files("#id_file", str(statement))
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()

    assert "Preview: mt940" in page.content()
    assert page.get_by_role("cell", name="Stadt Wien Magistratsabteilung 5").is_visible()
    assert violations(page, axe_script) == []
    assert not StatementLine.objects.exists()

    with page.expect_navigation():
        page.get_by_role("button", name="Import this file").click()

    assert page.get_by_role("heading", name="Statement imported").is_visible()
    row = page.get_by_role("row").filter(has_text="STARTUMSE/00042/001 2024-11-05")
    assert row.get_by_role("cell").all_inner_texts()[3:9] == ["2", "1", "0", "0", "1", "0"]
    assert violations(page, axe_script) == []
    pledge.refresh_from_db()
    assert (pledge.status, pledge.amount_paid) == (PledgeStatus.PAID, Decimal("2500.00"))
