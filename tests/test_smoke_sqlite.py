"""The embedded default, as `make run` starts it: DJANGO_DEBUG=true, SQLite, no
Redis (an in-process cache, Celery tasks run in-process).

The rest of the suite runs on tests.settings, on PostgreSQL and Redis where
they answer; this runs manage.py in a subprocess with a clean environment and
the plain backend.settings, so the default a newcomer gets is checked too. It
takes a few seconds and runs everywhere the suite runs, CI included.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import pledge_body

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_MARK = "SMOKE-RESULT "

# Runs inside `manage.py shell -c`: the public pledge intake, the donor's
# status link and the public figures, through Django's test client.
CLIENT_SCRIPT = f"""
import json, os
from urllib.parse import urlsplit
from django.test import Client

client = Client()
created = client.post("/api/v1/pledges/", os.environ["SMOKE_PLEDGE"], content_type="application/json")
result = {{"created": {{"status": created.status_code, "body": created.json()}}}}
if created.status_code == 201:
    status = client.get(urlsplit(created.json()["status_url"]).path)
    result["status"] = {{"status": status.status_code, "body": status.json()}}
for name, path in [("totals", "/api/v1/public/totals/"), ("public_pledges", "/api/v1/public/pledges/")]:
    response = client.get(path)
    result[name] = {{"status": response.status_code, "body": json.loads(response.content)}}
print({OUTPUT_MARK!r} + json.dumps(result))
"""


def clean_environment(workdir: Path) -> dict[str, str]:
    """Nothing from this process (tests.settings fills os.environ with its
    own DATABASE_URL, REDIS_URL and secrets): only what a shell would have."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DJANGO_DEBUG="true",
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        DJANGO_ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        STATIC_ROOT=str(workdir / "staticfiles"),
        MEDIA_ROOT=str(workdir / "media"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, (
            f"manage.py {' '.join(args)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> SimpleNamespace:
    """A migrated SQLite database in a temporary directory, with the demo data
    loaded when the demo_data command exists."""
    workdir = tmp_path_factory.mktemp("embedded")
    env = clean_environment(workdir)
    manage(env, "migrate", "--noinput")
    has_demo_data = manage(env, "help", "demo_data", check=False).returncode == 0
    demo_output = manage(env, "demo_data").stdout if has_demo_data else None
    return SimpleNamespace(env=env, workdir=workdir, demo_output=demo_output)


def count_pledges(env: dict[str, str]) -> int:
    script = "from pledges.models import Pledge; print(Pledge.objects.count())"
    return int(manage(env, "shell", "-c", script).stdout.split()[-1])


def test_demo_data_loads_idempotently_and_names_the_demo_login(embedded):
    if embedded.demo_output is None:
        pytest.skip("manage.py demo_data does not exist yet")
    from pledges.management.commands.demo_data import DEMO_USER

    loaded = count_pledges(embedded.env)
    again = manage(embedded.env, "demo_data")

    assert loaded > 0
    assert count_pledges(embedded.env) == loaded
    assert DEMO_USER in embedded.demo_output, embedded.demo_output
    assert DEMO_USER in again.stdout, again.stdout


def test_a_pledge_is_taken_and_the_public_figures_answer(embedded):
    env = {**embedded.env, "SMOKE_PLEDGE": json.dumps(pledge_body())}

    output = manage(env, "shell", "-c", CLIENT_SCRIPT).stdout
    lines = [line for line in output.splitlines() if line.startswith(OUTPUT_MARK)]
    assert lines, output
    result = json.loads(lines[-1].removeprefix(OUTPUT_MARK))

    created = result["created"]
    assert created["status"] == 201, created
    assert created["body"]["reference"].startswith("RF"), created
    assert created["body"]["bank_instructions"]["reference"] == created["body"]["reference"]
    assert result["status"]["status"] == 200, result["status"]
    assert result["status"]["body"]["reference"] == created["body"]["reference"]
    assert result["totals"]["status"] == 200, result["totals"]
    assert result["totals"]["body"]["campaign"] == "vtf-2012"
    assert result["public_pledges"]["status"] == 200, result["public_pledges"]
    assert result["public_pledges"]["body"]["campaign"] == "vtf-2012"


REPORT_SCRIPT = """
from pledges.audit import Actor
from pledges.models import Campaign, Event
from reports.models import Report
from reports.services import ReportRequest, report_build, report_request

campaign = Campaign.objects.get(slug="vtf-2012")
request = ReportRequest(campaign=campaign, kind="event", event=Event.objects.get(), languages=("ar", "en"))
report, _ = report_request(request, actor=Actor.system("smoke"))
report_build(report.pk)
report.refresh_from_db()
print(report.status, sorted(f"{f.language or '-'}.{f.format}" for f in report.files.all()))
"""


def test_a_report_builds_on_the_embedded_default(embedded):
    """The report figures' history lookups (JSON in the audit trail) must
    run on SQLite as well as on PostgreSQL."""
    manage(embedded.env, "compile_translations")

    output = manage(embedded.env, "shell", "-c", REPORT_SCRIPT).stdout.strip().splitlines()[-1]

    assert output.startswith("done"), output
    assert "ar.pdf" in output and "en.html" in output and "-.json" in output, output
