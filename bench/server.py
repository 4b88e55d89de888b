"""The service under HTTP load, next to baselines served in the same run.

    .venv/bin/python bench/server.py                    # the standard run (about 3 min)
    .venv/bin/python bench/server.py --duration 4 --rounds 1   # a quick one

Starts, on loopback ports of its own, and stops again by PID:

* the service: `gunicorn backend.wsgi` with `--workers 2` (sync), the
  production settings (DEBUG off) on the bench database `vtf_bench` and
  Redis database 8, as bench/run.py sets them;
* the bare Django baseline: bench/bare_django.py under the same gunicorn,
  returning the very bytes of the public totals, and inserting one row in
  a transaction;
* nginx serving the same bytes from a file (what a CDN or a proxy cache in
  front of the service would do).

Then drives each with `wrk -t2 -c32` (Debian's wrk) for `--duration`
seconds, `--rounds` times, interleaved, and prints one table: requests per
second, p50 and p99, the ratio to the baseline and the target of each row.
Freshness is measured under load: a payment recorded through the service
layer, then the time until the totals served by gunicorn show it.

Needs the data set of bench/run.py (loaded if missing, 100,000 pledges by
default). Traffic goes to 127.0.0.1 only; every wrk run is bounded.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import run as dataset
from common import ROOT, log

VENV_BIN = Path(sys.executable).parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=100_000, help="pledges in the data set (default 100000)")
    parser.add_argument("--db-name", default="vtf_bench", help="PostgreSQL database of the bench (default vtf_bench)")
    parser.add_argument("--duration", type=int, default=8, help="seconds of each wrk run (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs of each row; the median is shown (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--json", type=Path, help="also write the results as JSON (for bench/table.py)")
    parser.add_argument(
        "--profile-posts", type=int, default=0, help="also cProfile this many POST pledges/ in process, into the JSON"
    )
    args = parser.parse_args()
    if not 1 <= args.duration <= 60 or not 1 <= args.rounds <= 5 or not 1 <= args.connections <= 256:
        parser.error("--duration 1..60, --rounds 1..5, --connections 1..256 (the load stays bounded)")
    common.check_db_name(parser, args.db_name)
    args.reload, args.seed = False, 2012
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{url}: the server exited with {process.returncode}; see its log")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback only)
            return
        time.sleep(0.2)
    sys.exit(f"{url} did not answer within {limit:.0f} s")


@dataclass
class Servers:
    workdir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict, health: str) -> None:
        log_file = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        wait_until_up(health, process)
        log(f"{name} is up (PID {process.pid}): {health}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def gunicorn(port: int, app: str, *extra: str) -> list[str]:
    return [str(VENV_BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "sync",
            "--log-level", "warning", *extra]  # fmt: skip


NGINX_CONF = """
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
user root;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ application/json json; }}
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location / {{ add_header Cache-Control "public, max-age=5"; }}
    }}
}}
"""


# --- wrk ---------------------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx/3xx answers and socket errors


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def wrk(url: str, *, duration: int, connections: int, script: Path | None = None) -> Load:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad += sum(int(n) for n in errors.groups()) if errors else 0
    return Load(rps, p50, p99, bad)


def lua(path: Path, *, method: str = "GET", body: str = "", headers: dict[str, str] | None = None) -> Path:
    lines = [f"wrk.method = {json.dumps(method)}"]
    if body:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


# --- The table ---------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    url: str
    script: Path | None = None
    baseline: str | None = None  # label of the row it is compared with
    target: float | None = None  # ratio to reach (service / baseline), higher is better
    loads: list[Load] = field(default_factory=list)

    @property
    def median(self) -> Load:
        return Load(
            statistics.median(load.rps for load in self.loads),
            statistics.median(load.p50_ms for load in self.loads),
            statistics.median(load.p99_ms for load in self.loads),
            sum(load.bad for load in self.loads),
        )


def render(header: str, rows: list[Row], extra: list[str]) -> str:
    by_label = {row.label: row for row in rows}
    out = [
        header,
        "",
        "| path | req/s | p50 ms | p99 ms | bad | ratio | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        m = row.median
        ratio = target = met = ""
        if row.baseline:
            ratio_value = m.rps / by_label[row.baseline].median.rps
            ratio = f"{ratio_value:.2f}× {row.baseline}"
            if row.target is not None:
                target = f"≥ {row.target:.1f}×"
                met = "yes" if ratio_value >= row.target else "**no**"
        out.append(
            f"| {row.label} | {m.rps:,.0f} | {m.p50_ms:.1f} | {m.p99_ms:.1f} | {m.bad} | {ratio} | {target} | {met} |"
        )
    out.append("")
    out.extend(f"- {line}" for line in extra)
    return "\n".join(out)


# --- Freshness -----------------------------------------------------------------------------------


def freshness(totals_url: str, *, duration: int, connections: int) -> float:
    """Seconds from recording a payment (its commit included) to the totals
    served over HTTP showing it, while wrk keeps loading the same endpoint."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from pledges.audit import Actor
    from pledges.models import Pledge, PledgeStatus
    from pledges.payments.services import PaymentDetails, payment_record

    pledge = (
        Pledge.objects.filter(campaign__slug=common.CAMPAIGN, status=PledgeStatus.CONFIRMED, currency="USD")
        .order_by("pk")
        .first()
    )
    load = subprocess.Popen(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", totals_url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1)
        actor = Actor.staff(get_user_model().objects.get(username=dataset.STAFF_USER))

        def pay() -> None:
            details = PaymentDetails(
                amount=Decimal("1.00"),
                currency="USD",
                received_on=timezone.localdate() - timedelta(days=1),
                method="bank_transfer",
                bank_reference=f"BENCH-FRESH-{time.time_ns()}",
            )
            payment_record(pledge=pledge, details=details, actor=actor)

        # The first payment of a process pays for its imports and first
        # queries (about 0.7 s): made once, untimed, so the figure is the
        # service's own delay.
        pay()
        time.sleep(1)
        before = json.load(urllib.request.urlopen(totals_url, timeout=5))["received"]  # noqa: S310
        started = time.monotonic()
        pay()
        committed = time.monotonic()
        while time.monotonic() - committed < 10:
            now = json.load(urllib.request.urlopen(totals_url, timeout=5))["received"]  # noqa: S310
            if now != before:
                return time.monotonic() - started
            time.sleep(0.01)
        return float("inf")
    finally:
        load.wait(timeout=duration + 30)


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install wrk nginx-light)")
    dataset.configure(args)
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    dataset.ensure_database(args.db_name)

    import django
    from django.db import connection

    django.setup()
    common.migrate_and_clear_cache()
    if dataset.dataset_size() != args.pledges:
        log(f"Loading {args.pledges} pledges")
        dataset.dataset_reset()
        dataset.dataset_load(args.pledges, args.seed)
    dataset.fixtures()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_bare_insert (id bigserial PRIMARY KEY, body text NOT NULL)")
        cursor.execute("TRUNCATE bench_bare_insert")
    connection.close()

    workdir = Path(tempfile.mkdtemp(prefix="vtf-bench-server-"))
    servers = Servers(workdir)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        app_port, bare_port, nginx_port = free_port(), free_port(), free_port()
        app = f"http://127.0.0.1:{app_port}"
        servers.start("service", gunicorn(app_port, "backend.wsgi:application"), env, f"{app}/health/")
        totals_url = f"{app}/api/v1/public/totals/"
        with urllib.request.urlopen(totals_url, timeout=30) as response:  # noqa: S310
            document, etag = response.read(), response.headers["ETag"]
            cache_control = response.headers["Cache-Control"]
        (workdir / "www").mkdir()
        (workdir / "www" / "totals.json").write_bytes(document)
        (workdir / "totals.json").write_bytes(document)

        bare_env = {**env, "BENCH_DOCUMENT": str(workdir / "totals.json")}
        bare = f"http://127.0.0.1:{bare_port}"
        servers.start("bare-django", gunicorn(bare_port, "bare_django:application", "--chdir", str(ROOT / "bench")),
                      bare_env, f"{bare}/document/")  # fmt: skip
        (workdir / "nginx.conf").write_text(NGINX_CONF.format(dir=workdir, port=nginx_port))
        servers.start("nginx", ["nginx", "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"], env,
                      f"http://127.0.0.1:{nginx_port}/totals.json")  # fmt: skip

        pledge = json.dumps(
            {
                "donor": {
                    "name": "Kingdom of Norway",
                    "type": "member_state",
                    "country": "NO",
                    "email": "m@example.org",
                },
                "amount": "250000.00",
                "currency": "USD",
                "payment_method": "bank_transfer",
                "campaign": dataset.INTAKE_CAMPAIGN,
                "session": "panel-1",
                "earmark": "children",
                "public_name": True,
                "public_amount": True,
            }
        )
        post = {"Content-Type": "application/json"}
        bare_doc, bare_insert = "bare Django view, same bytes", "bare Django view inserting one row"
        rows = [
            Row("nginx, same bytes from a file", f"http://127.0.0.1:{nginx_port}/totals.json", baseline=bare_doc),
            Row(bare_doc, f"{bare}/document/"),
            Row("GET public/totals/ (cached)", totals_url, baseline=bare_doc, target=1.0),
            Row(
                "GET public/totals/ If-None-Match → 304",
                totals_url,
                lua(workdir / "inm.lua", headers={"If-None-Match": etag}),
                baseline=bare_doc,
                target=1.2,
            ),
            Row("GET public/pledges/?limit=20 (cached)", f"{app}/api/v1/public/pledges/?limit=20", baseline=bare_doc),
            Row(bare_insert, f"{bare}/insert/", lua(workdir / "bare.lua", method="POST", body=pledge, headers=post)),
            Row(
                "POST pledges/",
                f"{app}/api/v1/pledges/",
                lua(workdir / "post.lua", method="POST", body=pledge, headers=post),
                baseline=bare_insert,
                target=0.5,
            ),
        ]
        for round_number in range(args.rounds):
            for row in rows:
                log(f"round {round_number + 1}/{args.rounds}: {row.label}")
                row.loads.append(wrk(row.url, duration=args.duration, connections=args.connections, script=row.script))
        seconds = freshness(totals_url, duration=args.duration, connections=args.connections)
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    header = dataset.header(size=dataset.dataset_size())[0].replace("bench ", "bench/server.py ", 1)
    header += f"; wrk -t2 -c{args.connections} -d{args.duration}s, median of {args.rounds}; gunicorn --workers 2 (sync)"
    extra = [
        f"freshness under load: a payment recorded → shown by GET public/totals/ after {seconds:.2f} s (target ≤ 2 s)",
        f"Cache-Control of GET public/totals/ (what a CDN or nginx in front reads): {cache_control}",
        "bad = answers that were not 2xx/3xx plus socket errors (POST pledges/ counts throttled 429s here)",
        f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
    ]
    profiles = {}
    if args.profile_posts:
        profiles["post"] = post_profile(pledge, args.profile_posts)
        # The cached GETs are cheap: ten of them for each POST profiled.
        profiles["totals"] = totals_profile(conditional=False, calls=10 * args.profile_posts)
        profiles["304"] = totals_profile(conditional=True, calls=10 * args.profile_posts)
    measured = {
        "lines": [header],
        "ops": [
            {"label": row.label, "baseline": row.baseline, "target": row.target, **vars(row.median)} for row in rows
        ],
        "notes": extra,
        "profiles": profiles,
    }
    extras = {"freshness_seconds": seconds, "cache_control": cache_control, "pledges": args.pledges}
    common.emit(args, render(header, rows, extra), measured | extras)


def totals_profile(*, conditional: bool, calls: int) -> dict:
    """cProfile of the cached GET public/totals/ (conditional: with the
    current ETag in If-None-Match, the 304) through backend.wsgi.application
    in process: the WSGI front that answers before Django, as gunicorn calls
    it, without the socket."""
    from django.test import Client, RequestFactory

    from backend.wsgi import application

    # The totals changed since the wrk rows (the freshness payments): their ETag now.
    etag = Client().get("/api/v1/public/totals/")["ETag"]
    headers = {"HTTP_IF_NONE_MATCH": etag} if conditional else {}
    status = "304" if conditional else "200"
    factory = RequestFactory()
    # Built beforehand, so the profile holds the request and not the test client making it.
    environs = iter(
        [
            factory._base_environ(PATH_INFO="/api/v1/public/totals/", REQUEST_METHOD="GET", **headers)
            for _ in range(calls + 3)
        ]
    )

    def get() -> None:
        environ = next(environs)
        answered = []
        body = application(environ, lambda code, _headers, *_: answered.append(code))
        b"".join(body)
        if not answered[0].startswith(status):
            raise RuntimeError(f"GET public/totals/: {answered[0]}, expected {status}")

    time.sleep(1)  # past the front's local window (PUBLIC_CACHE_LOCAL_SECONDS), so it reads that ETag
    for _ in range(3):
        get()  # untimed: the first requests fill the cache and the front's headers
    what = f"{calls:,} GET public/totals/{' with If-None-Match' if conditional else ''} through backend.wsgi in process"
    log(f"Profiling {what}")
    return common.profile(get, calls, what)


def post_profile(body: str, calls: int) -> dict:
    """cProfile of POST pledges/ through the whole stack in this process
    (django.test.Client: the middleware, DRF, the service, the commit and
    the task published), on the same data and body as the wrk row."""
    from django.test import Client

    client = Client()

    def post() -> None:
        dataset.expect(client.post("/api/v1/pledges/", body, content_type="application/json"), 201)

    post()  # untimed: what the first request imports
    log(f"Profiling {calls} POST pledges/ in process")
    return common.profile(post, calls, f"{calls} POST pledges/ in process (django.test.Client, no HTTP server)")


if __name__ == "__main__":
    main()
