"""Speed and memory of the pledge tracker's hot paths.

    .venv/bin/python bench/run.py --pledges 100000     # the standard run
    .venv/bin/python bench/run.py --pledges 10000      # a quick one

Runs against the real local PostgreSQL (its own database, `vtf_bench`) and
Redis (its own database number, 8), never against the development or test
databases. The data set is bulk-loaded with COPY the first time and reused
while the number of pledges matches. Every figure is printed next to a
baseline measured in the same run, so the ratios stay comparable across
machines even when the milliseconds are not. See bench/README.md.
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import copy_rows, log

REDIS_URL = common.redis_url(8)
INTAKE_CAMPAIGN = "bench-intake"  # where the POST benchmark's pledges go, so the data set stays N rows
STAFF_USER = "bench-admin"
BATCH = 10_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=100_000, help="pledges in the data set (default 100000)")
    parser.add_argument("--db-name", default="vtf_bench", help="PostgreSQL database of the bench (default vtf_bench)")
    parser.add_argument("--reload", action="store_true", help="load the data set again even if its size matches")
    parser.add_argument("--seed", type=int, default=2012, help="random seed of the data set")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds spent timing each operation (default 3)")
    parser.add_argument("--posts", type=int, default=200, help="sequential POSTs per intake row (default 200)")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    if args.pledges < 1000:
        parser.error("--pledges must be at least 1000")
    common.check_db_name(parser, args.db_name)
    return args


def configure(args: argparse.Namespace) -> None:
    """The settings of bench/run.py and bench/server.py. Celery stays as in
    production: the acknowledgement task is published to the broker (Redis
    DB 8) after commit, not run in the request."""
    common.configure(
        args.db_name,
        REDIS_URL,
        {"CELERY_BROKER_URL": REDIS_URL, "PLEDGE_THROTTLE_RATE": "1000000/minute"},
        unset=("CELERY_TASK_ALWAYS_EAGER",),
    )


ensure_database = common.ensure_database


def dataset_size(campaign: str = common.CAMPAIGN) -> int:
    from pledges.models import Pledge

    return Pledge.objects.filter(campaign__slug=campaign).count()


def dataset_reset() -> None:
    """Empty every table the data set (and earlier bench runs) wrote."""
    from pledges.models import AuditEvent, Donor, ExchangeRate, IdempotencyRecord, Instalment, Payment, Pledge

    common.truncate((Payment, Instalment, AuditEvent, IdempotencyRecord, Pledge, Donor, ExchangeRate))


def dataset_load(n_pledges: int, seed: int) -> None:
    """A realistic mix: statuses, donor types, currencies (one without a rate),
    ~30% of pledges in 2-4 instalments, payments on what was paid, and the
    derived amounts (amount_usd, amount_paid, amount_received_usd, fees_usd)
    consistent with the rows they derive from."""
    from django.utils import timezone

    from pledges.models import (
        Campaign,
        Donor,
        EventSession,
        ExchangeRate,
        Instalment,
        Payment,
        Pledge,
        PledgeStatusChange,
    )
    from pledges.money import minor_unit
    from pledges.status import status_history_implied

    rng = random.Random(seed)
    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    campaign = Campaign.objects.get(slug=common.CAMPAIGN)
    sessions = list(EventSession.objects.filter(event__campaign=campaign))

    copy_rows(ExchangeRate, common.exchange_rates())

    n_donors = max(100, n_pledges // 4)
    donor_types = common.choices(rng, common.DONOR_TYPE_WEIGHTS, n_donors)
    donors = []
    for i in range(1, n_donors + 1):
        donor_type = donor_types[i - 1]
        donors.append(
            common.donor(
                i,
                donor_type,
                country="" if donor_type in ("intergovernmental", "un_entity") else rng.choice(common.COUNTRIES),
                language=rng.choice(["en", "fr", "es", ""]),
                created_at=now - timedelta(days=rng.randint(0, 5000)),
            )
        )
    copy_rows(Donor, donors)
    log(f"  donors {n_donors:>7} ({time.perf_counter() - started:5.1f} s)")

    span_days = (today - common.FIRST_DAY).days
    draw = common.PledgeDraw(rng, common.MIX, n_donors, campaign, sessions, today, now)
    instalment_id = payment_id = change_id = 0
    for batch_start in range(1, n_pledges + 1, BATCH):
        batch_end = min(batch_start + BATCH, n_pledges + 1)
        pledges, instalments, payments, changes = [], [], [], []
        for pid in range(batch_start, batch_end):
            status = common.choices(rng, common.STATUS_WEIGHTS, 1)[0]
            currency = common.choices(rng, common.CURRENCY_WEIGHTS, 1)[0]
            currency = common.currency_for(status, currency)
            rate = common.USD_RATES.get(currency)
            unit = minor_unit(currency)
            usd_size = Decimal(str(min(5e7, max(10.0, rng.lognormvariate(8.5, 1.8)))))
            amount = (usd_size * (rate or Decimal("10.5"))).quantize(unit, rounding=ROUND_HALF_UP)
            pledged_on = common.FIRST_DAY + timedelta(days=int(span_days * rng.random() ** 0.7))
            pledge = draw(pid, status=status, currency=currency, amount=amount, pledged_on=pledged_on)

            # 30% of pledges are paid in 2-4 instalments.
            plan = common.instalment_plan(pledge, rng.randint(2, 4), instalment_id + 1) if rng.random() < 0.3 else []
            instalment_id += len(plan)
            instalments.extend(plan)

            if status == "paid":
                parts = [i.amount for i in plan] if plan else [amount]
            elif status == "partially_paid" or (status == "lapsed" and rng.random() < 0.5):
                paid = (amount * Decimal(str(rng.uniform(0.1, 0.9)))).quantize(unit, rounding=ROUND_HALF_UP)
                parts = [paid] if 0 < paid < amount else []
            else:
                parts = []
            if status == "partially_paid" and not parts:
                pledge.status = "confirmed"  # too small to split: nothing paid yet
            made = common.pay_in_parts(pledge, parts, method=pledge.payment_method, today=today)
            for one in made:
                payment_id += 1
                one.id = payment_id
            payments.extend(made)
            pledges.append(pledge)
            # The status history the services would have written, as the reports read it.
            for change in status_history_implied(pledge, made, actor_label="bench"):
                change_id += 1
                change.id = change_id
                changes.append(change)

        copy_rows(Pledge, pledges)
        copy_rows(Instalment, instalments)
        copy_rows(Payment, payments)
        copy_rows(PledgeStatusChange, changes)
        log(
            f"  pledges {batch_end - 1:>7}/{n_pledges} "
            f"(+{len(instalments)} instalments, +{len(payments)} payments, {time.perf_counter() - started:5.1f} s)"
        )

    log("  VACUUM ANALYZE")
    common.after_load([ExchangeRate, Donor, Pledge, Instalment, Payment, PledgeStatusChange])
    log(f"  loaded in {time.perf_counter() - started:.1f} s")


def fixtures() -> dict:
    """What the requests need besides the data set: the intake campaign with
    a session, and a fund admin with an API token."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from knox.models import AuthToken

    from pledges.models import Campaign, Event, EventSession
    from pledges.roles import FUND_ADMIN

    intake, _ = Campaign.objects.get_or_create(
        slug=INTAKE_CAMPAIGN,
        defaults={"title": "Bench intake", "goal_usd": Decimal("1000000.00"), "starts_on": common.FIRST_DAY},
    )
    event, _ = Event.objects.get_or_create(
        slug="bench-intake-event", defaults={"campaign": intake, "title": "Bench intake", "held_on": common.FIRST_DAY}
    )
    start = datetime(2012, 4, 3, 15, tzinfo=UTC)
    EventSession.objects.get_or_create(
        event=event,
        slug="panel-1",
        defaults={"title": "Panel I", "starts_at": start, "ends_at": start + timedelta(hours=2)},
    )
    user, created = get_user_model().objects.get_or_create(username=STAFF_USER)
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name=FUND_ADMIN))
    _, token = AuthToken.objects.create(user=user)
    return {"token": token}


# --- Measuring -------------------------------------------------------------------


@dataclass
class Op:
    """One measured operation. `setup` runs (untimed) before every call,
    `prepare` (untimed) before each round's calls of this operation."""

    label: str
    fn: Callable[[], object]
    setup: Callable[[], object] | None = None
    prepare: Callable[[], object] | None = None
    key: str | None = None  # set on a baseline
    baseline: str | None = None  # the key of the baseline this one is compared with
    per_round: int | None = None  # calls per round; sized from the warm-up when None
    samples: list[float] = field(default_factory=list)
    peak_bytes: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        if len(self.samples) < 2:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=20, method="inclusive")[18]

    def call(self) -> float:
        if self.setup:
            self.setup()
        started = time.perf_counter()
        self.fn()
        return (time.perf_counter() - started) * 1000


def measure_group(
    name: str,
    ops: list[Op],
    *,
    budget: float,
    min_rounds: int = 5,
    max_rounds: int = 1000,
    warmup: int = 2,
    max_per_round: int = 25,
    round_share: float = 0.25,
) -> list[Op]:
    """Time a group of operations interleaved, round after round, with the
    group's baseline among them: load from outside the bench (a test run
    next door) then slows the baseline and the operations alike, and the
    ratios hold. Each round calls every operation `per_round` times, so a
    fast operation gets about as much time as the slowest, or as
    `round_share` seconds if that is less (at most `max_per_round` calls).
    Rounds go on until `budget` seconds have passed (after `min_rounds`, at
    most `max_rounds`). Then each operation runs once more under
    tracemalloc for its peak of Python memory."""
    log(name)
    costs = []
    for op in ops:
        if op.prepare:
            op.prepare()
        costs.append(statistics.median(op.call() for _ in range(max(1, warmup))))
    share = min(max(costs), round_share * 1000)
    for op, cost in zip(ops, costs, strict=True):
        if op.per_round is None:
            op.per_round = max(1, min(max_per_round, int(share / max(cost, 1e-3))))
    gc.collect()
    started = time.perf_counter()
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() - started < budget):
        for op in ops:
            if op.prepare:
                op.prepare()
            op.samples.extend(op.call() for _ in range(op.per_round))
        rounds += 1
    for op in ops:
        if op.prepare:
            op.prepare()
        if op.setup:
            op.setup()
        op.peak_bytes = common.traced(op.fn)
        log(f"  {op.label}: median {op.median:.2f} ms over {len(op.samples)}")
    return ops


def queries_of(op: Op) -> int:
    """SQL statements one call of `op` sends (BEGIN/COMMIT not counted)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if op.prepare:
        op.prepare()
    if op.setup:
        op.setup()
    with CaptureQueriesContext(connection) as captured:
        op.fn()
    return len(captured.captured_queries)


def expect(response, status: int):
    if response.status_code != status:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        raise RuntimeError(
            f"{response.request['PATH_INFO']}: {response.status_code}, expected {status}: {body[:500]!r}"
        )
    return response


def run(args: argparse.Namespace) -> tuple[list[str], list[Op], list[str]]:
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from pledges.filters import PledgeFilter
    from pledges.models import Campaign
    from pledges.public_cache import public_cache_invalidate
    from pledges.selectors import pledges_for_staff, public_totals
    from pledges.staff_api import EXPORT_COLUMNS

    common.migrate_and_clear_cache()  # Redis DB 8 is the bench's own

    size = dataset_size()
    # The POSTs of earlier runs stay (the audit trail cannot be deleted row
    # by row); past 5% of the data set they are cleared with a reload.
    intake = dataset_size(INTAKE_CAMPAIGN)
    if size != args.pledges or intake > args.pledges * 0.05 or args.reload:
        log(f"Loading {args.pledges} pledges (found {size}, and {intake} from earlier intake runs)")
        dataset_reset()
        dataset_load(args.pledges, args.seed)
    else:
        log(f"Reusing the {size} pledges already loaded, {intake} from earlier intake runs (--reload to start over)")
    context = fixtures()
    load_before = os.getloadavg()[0]

    campaign = Campaign.objects.get(slug=common.CAMPAIGN)
    client = Client()
    staff = {"Authorization": f"Token {context['token']}"}
    notes: list[str] = []

    def get(path: str, status: int = 200, headers: Callable[[], dict] = dict):
        return lambda: expect(client.get(path, headers=headers()), status)

    # --- A: reads, against the bare SQL aggregation over the same rows ---------------------
    baseline_sql = (
        "SELECT status, sum(amount_usd), sum(amount_received_usd), count(*), count(DISTINCT donor_id) "
        "FROM pledges_pledge WHERE campaign_id = %s GROUP BY status"
    )

    def sql_aggregation():
        return common.execute(baseline_sql, [campaign.pk])

    totals = "/api/v1/public/totals/"
    recent = "/api/v1/public/pledges/?limit=20"
    overdue = "/api/v1/pledges/?overdue=true&page_size=50"
    staff_page = "/api/v1/pledges/?page_size=50"
    etag = {}

    def prime_totals():
        etag["value"] = expect(client.get(totals), 200)["ETag"]

    reads = [
        Op("A: bare SQL GROUP BY status (baseline A)", sql_aggregation, key="A"),
        Op("public_totals() selector, uncached", lambda: public_totals(campaign), baseline="A"),
        Op("GET public/totals/ cold (cache invalidated)", get(totals), setup=public_cache_invalidate, baseline="A"),
        Op("GET public/totals/ warm (from Redis)", get(totals), prepare=get(totals), baseline="A"),
        Op(
            "GET public/totals/ If-None-Match → 304",
            get(totals, 304, lambda: {"If-None-Match": etag["value"]}),
            prepare=prime_totals,
            baseline="A",
        ),
        Op("GET public/pledges/?limit=20 cold", get(recent), setup=public_cache_invalidate, baseline="A"),
        Op("GET public/pledges/?limit=20 warm", get(recent), prepare=get(recent), baseline="A"),
        Op("GET pledges/?overdue=true&page_size=50 (staff)", get(overdue, headers=lambda: staff), baseline="A"),
        Op("GET pledges/?page_size=50 (staff, no filter)", get(staff_page, headers=lambda: staff), baseline="A"),
    ]
    measure_group("Reads", reads, budget=args.budget * len(reads), min_rounds=10)
    notes.append(f"overdue pledges (staff list count): {client.get(overdue, headers=staff).json()['count']}")

    # --- B: the public intake, against a trivial request ------------------------------------
    today = timezone.localdate()
    body = json.dumps(
        {
            "donor": {"name": "Kingdom of Norway", "type": "member_state", "country": "NO", "email": "m@example.org"},
            "amount": "250000.00",
            "currency": "USD",
            "payment_method": "bank_transfer",
            "campaign": INTAKE_CAMPAIGN,
            "session": "panel-1",
            "earmark": "children",
            "instalments": [
                {"due_date": str(today + timedelta(days=30)), "amount": "125000.00"},
                {"due_date": str(today + timedelta(days=365)), "amount": "125000.00"},
            ],
            "public_name": True,
            "public_amount": True,
            "statement": "Norway stands with the survivors of trafficking.",
        }
    )

    def post(headers: Callable[[], dict] = dict, status: int = 201):
        return lambda: expect(
            client.post("/api/v1/pledges/", body, content_type="application/json", headers=headers()), status
        )

    # The least a pledge can cost: bench/server.py's bare view, in process.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_bare_insert (id bigserial PRIMARY KEY, body text NOT NULL)")

    def bare_insert():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_bare_insert (body) VALUES (%s) RETURNING id", [body])
            return cursor.fetchone()[0]

    replay_key = str(uuid.uuid4())
    post(lambda: {"Idempotency-Key": replay_key})()
    writes = [
        Op("B: GET /health/ (baseline B)", get("/health/"), key="B"),
        Op("I: bare INSERT of the body in a transaction (baseline I)", bare_insert, key="I"),
        Op("POST pledges/, no Idempotency-Key", post(), per_round=1, baseline="I"),
        Op(
            "POST pledges/ + new Idempotency-Key",
            post(lambda: {"Idempotency-Key": str(uuid.uuid4())}),
            per_round=1,
            baseline="I",
        ),
        Op(
            "POST pledges/, replayed Idempotency-Key",
            post(lambda: {"Idempotency-Key": replay_key}),
            per_round=1,
            baseline="I",
        ),
    ]
    measure_group(
        f"Intake ({args.posts} sequential POSTs of each kind)",
        writes,
        budget=0,
        min_rounds=args.posts,
        max_rounds=args.posts,
    )

    # --- C: the CSV export, against materialising the same rows --------------------------------
    export_qs = PledgeFilter({"campaign": common.CAMPAIGN}, queryset=pledges_for_staff().order_by("pk")).qs
    export_values = export_qs.values_list(*[source for _, source in EXPORT_COLUMNS])
    export_stats = {}

    def materialise():
        return len(list(export_values.all()))

    def export():
        response = expect(client.get(f"/api/v1/pledges/export/?campaign={common.CAMPAIGN}", headers=staff), 200)
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += 1
        response.close()
        export_stats.update(bytes=size, rows=lines - 1)

    exports = [
        Op("C: list(qs.values_list(...)) of the export rows (baseline C)", materialise, key="C", per_round=1),
        Op("GET pledges/export/ CSV, streamed and counted", export, baseline="C", per_round=1),
    ]
    measure_group("Export", exports, budget=args.budget * 2, min_rounds=5, warmup=1)
    materialised, streamed = exports
    notes.append(
        f"export: {export_stats['rows']} rows, {export_stats['bytes'] / 2**20:.1f} MiB of CSV; "
        f"peak Python memory (tracemalloc) {streamed.peak_bytes / 2**20:.1f} MiB streamed vs "
        f"{materialised.peak_bytes / 2**20:.1f} MiB for the materialised list "
        f"({streamed.peak_bytes / materialised.peak_bytes:.0%})"
    )

    log("Counting queries")
    counted = [reads[2], reads[3], reads[5], reads[7], reads[8], writes[1], writes[2], writes[3], exports[1]]
    notes.append("SQL statements per request: " + "; ".join(f"{op.label} {queries_of(op)}" for op in counted))
    load_after = os.getloadavg()[0]
    notes.append(f"1-minute load average {load_before:.2f} before the timed part, {load_after:.2f} after")

    cache.clear()  # the documents, throttle history and acknowledgement tasks the run queued
    return header(size=dataset_size()), [*reads, *writes, *exports], notes


def header(*, size: int) -> list[str]:
    from django_redis import get_redis_connection

    redis_version = get_redis_connection("default").info("server")["redis_version"]
    return [
        f"bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {size} pledges in {common.CAMPAIGN}; "
        + common.versions(f"Redis {redis_version}")
    ]


def render(lines: list[str], ops: list[Op], notes: list[str]) -> str:
    baselines = {op.key: op for op in ops if op.key}
    out = [*lines, ""]
    out.append("| operation | n | median ms | p95 ms | ops/s | ratio vs baseline | peak MiB |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for op in ops:
        base = baselines[op.key or op.baseline]
        ratio = f"{op.median / base.median:.2f}× {base.key}" + (" (baseline)" if op.key else "")
        peak = "" if op.peak_bytes is None else f"{op.peak_bytes / 2**20:.2f}"
        out.append(
            f"| {op.label} | {len(op.samples)} | {op.median:.2f} | {op.p95:.2f} | "
            f"{1000 / op.median:,.1f} | {ratio} | {peak} |"
        )
    out.append("")
    out.extend(f"- {note}" for note in notes)
    return "\n".join(out)


def main() -> None:
    args = parse_args()
    configure(args)
    ensure_database(args.db_name)
    started = time.perf_counter()
    lines, ops, notes = run(args)
    lines[0] += f"; whole run {time.perf_counter() - started:.0f} s"
    common.emit(args, render(lines, ops, notes))


if __name__ == "__main__":
    main()
