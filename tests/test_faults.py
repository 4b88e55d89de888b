"""Fault tests against real processes of the test's own: a PostgreSQL cluster
and a Redis on spare ports, gunicorn, a Celery worker and beat, each started
and stopped by its PID. Afterwards every accepted pledge, payment and queued
task exists exactly once.

Bounded: each wait has a limit; the module takes about a minute or two."""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from pledges.outbox import BROKER_RETRY_AFTER_SECONDS
from tests.conftest import pledge_body
from tests.processes import PG_BIN, PostgresServer, RedisServer, port_open, stop_pid, wait_until

# One xdist worker runs every test that starts servers on the spare ports.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("spare-ports")]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_PORT = 5513
REDIS_PORT = 6513
DATABASE = "vtf_fault"

if not (PG_BIN / "initdb").exists() or not (BIN / "gunicorn").exists():
    pytest.skip("needs PostgreSQL 15's server binaries and gunicorn", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """The production processes, configured from the environment as in compose."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.postgres = PostgresServer(PG_PORT)
        self.redis = RedisServer(REDIS_PORT)
        self.web_port = free_port()
        self.mail = folder / "mail"
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CARD_PAYMENTS": "false",
            "FUND_BANK_BENEFICIARY": "Test Fund",
            "FUND_BANK_NAME": "Test Bank",
            "FUND_BANK_ADDRESS": "1 Test Street",
            "FUND_BANK_ACCOUNT_NUMBER": "485-001802",
            "FUND_BANK_SWIFT": "TESTXXXX",
            "DATABASE_URL": self.postgres.url(DATABASE),
            "DATABASE_CONN_MAX_AGE": "60",
            "REDIS_URL": self.redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail),
            "PLEDGE_THROTTLE_RATE": "100000/minute",
            "OUTBOX_RELAY_AFTER_SECONDS": "1",
            "OUTBOX_SWEEP_SECONDS": "2",
            "SERVICE_UNAVAILABLE_RETRY_AFTER": "7",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def spawn(self, name: str, *command: str) -> None:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            stop_pid(process.pid, sig, 60)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def start_web(self) -> None:
        self.spawn(
            "web",
            str(BIN / "gunicorn"),
            "backend.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.web_port}",
            "--workers",
            "2",
            "--timeout",
            "30",
        )
        wait_until(lambda: port_open(self.web_port), 60, "gunicorn listening")

    def start_worker(self) -> None:
        self.spawn(
            "worker",
            str(BIN / "celery"),
            "-A",
            "backend",
            "worker",
            "-l",
            "info",
            "--concurrency",
            "1",
            "-n",
            f"fault-{self.web_port}@%h",
        )

    def start_beat(self) -> None:
        self.spawn("beat", str(BIN / "celery"), "-A", "backend", "beat", "-l", "info", "-s", str(self.folder / "beat"))

    def sql(self, query: str, *params):
        with psycopg.connect(self.postgres.url(DATABASE), connect_timeout=5) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def request(self, method: str, path: str, body: dict | None = None, token: str = "") -> tuple[int, dict, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}{path}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                return response.status, dict(response.headers), json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if port_open(PG_PORT) or port_open(REDIS_PORT):
        pytest.skip(f"the spare ports {PG_PORT} and {REDIS_PORT} are taken")
    stack = Stack(tmp_path_factory.mktemp("stack"))
    try:
        stack.postgres.init()
        stack.postgres.start()
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", DATABASE],
            check=True,
            capture_output=True,
            timeout=60,
        )
        stack.redis.start()
        stack.manage("migrate", "--noinput")
        output = stack.manage("staff_user_create", "ops", "--role", "reconciler")
        stack.token = re.search(r"token: (\S+)", output).group(1)
        stack.start_web()
        stack.start_worker()
        stack.start_beat()
        yield stack
    finally:
        for name in list(stack.processes):
            stack.stop(name)
        stack.redis.stop()
        stack.postgres.remove()


def submit(stack: Stack, count: int, tag: str) -> list[tuple[int, dict, dict]]:
    return [
        stack.request(
            "POST",
            "/api/v1/pledges/",
            pledge_body(
                donor={
                    "name": f"Donor {tag} {n}",
                    "type": "foundation",
                    "country": "NO",
                    "email": f"{tag}{n}@example.org",
                },
                amount=f"{1000 + n}.00",
                instalments=[],
            ),
        )
        for n in range(count)
    ]


def acknowledged(stack: Stack, references: list[str]) -> int:
    rows = stack.sql(
        "SELECT count(*) FROM pledges_pledge WHERE reference = ANY(%s) AND acknowledged_at IS NOT NULL", references
    )
    return rows[0][0]


def emails_naming(stack: Stack, reference: str) -> int:
    """How many e-mails sent (the file backend's messages) name the reference."""
    if not stack.mail.exists():
        return 0
    text = "".join(path.read_text(errors="replace") for path in sorted(stack.mail.iterdir()))
    messages = text.split("\n" + "-" * 79 + "\n")
    printed = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))  # as on bank instructions
    return sum(f"Pledge reference: {printed}\n" in message for message in messages)


def assert_each_exactly_once(stack: Stack, references: list[str]) -> None:
    stored = dict(
        stack.sql("SELECT reference, count(*) FROM pledges_pledge WHERE reference = ANY(%s) GROUP BY 1", references)
    )
    assert stored == dict.fromkeys(references, 1)
    queued = stack.sql(
        "SELECT o.args, count(*), bool_and(o.done_at IS NOT NULL) FROM pledges_outboxmessage o "
        "JOIN pledges_pledge p ON o.args = jsonb_build_array(p.id) "
        "WHERE o.task = 'pledges.tasks.pledge_acknowledge' AND p.reference = ANY(%s) GROUP BY 1",
        references,
    )
    assert len(queued) == len(references)
    assert all(count == 1 and done for _, count, done in queued)


def test_with_redis_stopped_pledges_are_taken_and_acknowledged_once_each_after_it_returns(stack):
    stack.redis.stop()

    answers = submit(stack, 12, "redis")
    totals = stack.request("GET", "/api/v1/public/totals/")

    assert [status for status, _, _ in answers] == [201] * 12
    assert totals[0] == 200
    references = [body["reference"] for _, _, body in answers]
    assert acknowledged(stack, references) == 0  # nothing reached a worker meanwhile

    stack.redis.start()  # empty, as a restarted Redis is
    wait_until(lambda: acknowledged(stack, references) == len(references), 120, "every acknowledgement sent")

    assert_each_exactly_once(stack, references)
    assert [emails_naming(stack, reference) for reference in references] == [1] * len(references)


def test_with_postgresql_stopped_requests_get_503_with_retry_after_and_nothing_half_written(stack):
    before = stack.sql("SELECT count(*) FROM pledges_pledge")[0][0]
    stack.postgres.stop()

    refused = submit(stack, 3, "pgdown")
    health = stack.request("GET", "/health/")
    live = stack.request("GET", "/health/live/")

    assert [status for status, _, _ in refused] == [503] * 3
    assert all(headers["Content-Type"] == "application/problem+json" for _, headers, _ in refused)
    assert all(headers["Retry-After"] == "7" for _, headers, _ in refused)
    assert health[0] == 503 and health[2]["checks"]["database"]["status"] == "down"
    assert live[0] == 200

    stack.postgres.start()
    accepted = submit(stack, 5, "pgup")

    assert [status for status, _, _ in accepted] == [201] * 5
    references = [body["reference"] for _, _, body in accepted]
    assert stack.sql("SELECT count(*) FROM pledges_pledge")[0][0] == before + 5
    wait_until(lambda: acknowledged(stack, references) == 5, 120, "acknowledgements after the restart")
    assert_each_exactly_once(stack, references)


def test_a_staff_payment_during_a_redis_outage_is_answered_and_recorded_once(stack):
    status, _, created = submit(stack, 1, "payment")[0]
    assert status == 201
    pledge_id = stack.sql("SELECT id FROM pledges_pledge WHERE reference = %s", created["reference"])[0][0]
    stack.sql(
        "UPDATE pledges_pledge SET status = 'confirmed', verified_at = now(), confirmed_at = now(), "
        "confirmed_on = current_date WHERE id = %s",
        pledge_id,
    )
    stack.redis.stop()
    try:
        body = {
            "pledge": created["reference"],
            "amount": "100.00",
            "currency": "USD",
            "received_on": time.strftime("%Y-%m-%d"),
            "method": "bank_transfer",
            "bank_reference": "CHASUS33-FAULT-1",
        }
        answer = stack.request("POST", "/api/v1/payments/", body, token=stack.token)
    finally:
        stack.redis.start()

    assert answer[0] == 201, answer
    assert stack.sql("SELECT count(*) FROM pledges_payment WHERE pledge_id = %s", pledge_id) == [(1,)]


def test_health_reports_the_database_redis_and_the_workers(stack):
    wait_until(
        lambda: stack.request("GET", "/health/")[2]["checks"]["workers"].get("count", 0) >= 1, 60, "a worker heartbeat"
    )
    status, _, body = stack.request("GET", "/health/")

    assert status == 200
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "workers": "ok",
        "outbox": "ok",
    }


def test_status_link_secrets_and_emails_stay_out_of_the_logs(stack):
    _, _, created = submit(stack, 1, "logs")[0]
    secret = created["status_url"].rstrip("/").rsplit("/", 1)[1]
    assert stack.request("GET", f"/api/v1/pledges/status/{secret}/")[0] == 200
    assert stack.request("GET", f"/api/v1/pledges/status/{secret}x/")[0] == 404
    time.sleep(1)  # let gunicorn's workers flush their lines

    web_log = stack.log("web")
    assert secret not in web_log
    assert "logs0@example.org" not in web_log and "logs0@example.org" not in stack.log("worker")
    lines = [json.loads(line) for line in web_log.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line.get("event") == "request_finished" and "/status/" in line["request"]]
    assert finished and all("/status/[redacted]" in line["request"] for line in finished)
    assert all(line.get("request_id") for line in finished)


def test_a_task_logs_the_request_id_of_the_request_that_queued_it(stack):
    # After the Redis outages of the tests above, a web process leaves what
    # it queues to beat's relay for BROKER_RETRY_AFTER_SECONDS (by design);
    # this test is about the web process's own publish, so it waits that out.
    time.sleep(BROKER_RETRY_AFTER_SECONDS)
    status, _, created = submit(stack, 1, "traced")[0]
    assert status == 201
    wait_until(lambda: acknowledged(stack, [created["reference"]]) == 1, 60, "the acknowledgement")
    time.sleep(1)  # let the processes flush their lines

    def events(name: str) -> list[dict]:
        return [json.loads(line) for line in stack.log(name).splitlines() if line.startswith("{")]

    enqueued = [
        line
        for line in events("web")
        if line["event"] == "task_enqueued" and line.get("child_task_name") == "pledges.tasks.pledge_acknowledge"
    ][-1]
    started = [line for line in events("worker") if line["event"] == "task_started"]
    task = next(line for line in started if line.get("task_id") == enqueued["child_task_id"])
    assert task["request_id"] == enqueued["request_id"]
