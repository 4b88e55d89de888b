"""Build time and peak memory of a visibility report at 10,000, 100,000 and
1,000,000 pledges, next to the bare SQL aggregation over the same rows.

    .venv/bin/python bench/reports.py                          # 10k, 100k and 1M pledges
    .venv/bin/python bench/reports.py --sizes 10000,100000     # a quicker one

Runs against the real local PostgreSQL (its own database,
`vtf_bench_reports`) and Redis (its own database number, 12), never against
the development or test databases. Sizes are measured in increasing order.
The rows are generated once, with COPY from model instances, into reserve
tables in the same database (only as many as the largest size asked for
so far), and for each size the campaign's tables are emptied and refilled
with pledges 1..N from the reserve by INSERT ... SELECT. So the 1M rows are
generated once and reused by every later run. Reports are built through
`reports.services` in this process (no worker), each for a period not
built before. See the "Reports" section of bench/README.md.
"""

import argparse
import gc
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import copy_rows, log

REDIS_URL = common.redis_url(12)
DEFAULT_SIZES = "10000,100000,1000000"
MIB = 2**20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"pledge counts, comma-separated, measured in increasing order ({DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--db-name", default="vtf_bench_reports", help="PostgreSQL database of the bench (default vtf_bench_reports)"
    )
    parser.add_argument(
        "--period",
        choices=("week", "campaign"),
        default="week",
        help="week: a past Monday-to-Sunday week, the report beat requests (default); campaign: from the "
        "campaign's start to a past Sunday, which lists every named pledge",
    )
    parser.add_argument("--rounds", type=int, default=3, help="at most this many timed builds per size (3)")
    parser.add_argument(
        "--budget", type=float, default=60, help="seconds of timed rounds per size (60): at least one round"
    )
    parser.add_argument(
        "--page-processes",
        type=int,
        default=0,
        help="REPORTS_PAGE_PROCESSES: processes rendering the languages' pages (0, the default: one a core; "
        "1: all in this process, which times charts, HTML and PDF apart)",
    )
    parser.add_argument("--reload", action="store_true", help="generate the data set again, even the reserve")
    parser.add_argument("--seed", type=int, default=2012, help="random seed of the data set")
    parser.add_argument("--profile", type=Path, help="also cProfile one build at the largest size into this file")
    parser.add_argument(
        "--profile-figures", action="store_true", help="also cProfile report_figures at the largest size, into the JSON"
    )
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    parser.add_argument("--json", type=Path, help="also write the results as JSON (for bench/table.py)")
    args = parser.parse_args()
    try:
        args.sizes = sorted({int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()})
    except ValueError:
        parser.error("--sizes: comma-separated whole numbers, e.g. 10000,100000,1000000")
    if not args.sizes or args.sizes[0] < 1000:
        parser.error("--sizes must each be at least 1000")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    common.check_db_name(parser, args.db_name)
    return args


def configure(args: argparse.Namespace, media_root: Path) -> None:
    env = {
        "CELERY_BROKER_URL": REDIS_URL,
        # The built files go to a temporary directory on local disk, removed at the end.
        "MEDIA_ROOT": str(media_root),
        "STORAGE_BACKEND": "",
        "STORAGE_OPTIONS": "",
        "REPORTS_PAGE_PROCESSES": str(args.page_processes),
    }
    # The project's defaults, whatever the shell exports.
    unset = ("CELERY_TASK_ALWAYS_EAGER", "REPORTS_MAX_LISTED_DONORS", "REPORTS_BUILD_TIME_LIMIT")
    common.configure(args.db_name, REDIS_URL, env, unset=unset)


# --- The data set ---------------------------------------------------------------
#
# Generated in blocks of BLOCK ids, each from its own seeded generator, so
# pledge 123,456 is the same row whether the reserve was filled at once or
# grown from a smaller size. Donors are generated the same way; pledge p
# picks among the first max(100, p // 4) donors, skewed towards the first.
# Dates run up to the day the reserve was started (kept with it).

BLOCK = 10_000
RESERVE = {
    "donor": "bench_reserve_donor",
    "pledge": "bench_reserve_pledge",
    "payment": "bench_reserve_payment",
    "status_change": "bench_reserve_statuschange",
}
META_TABLE = "bench_reserve_meta"


def n_donors(n_pledges: int) -> int:
    return max(100, n_pledges // 4)


class Picker:
    """rng.choices over fixed weights, without rebuilding the lists each call."""

    def __init__(self, weights: dict[str, int]):
        self.population = list(weights)
        total, self.cumulative = 0, []
        for weight in weights.values():
            total += weight
            self.cumulative.append(total)

    def __call__(self, rng: random.Random) -> str:
        return rng.choices(self.population, cum_weights=self.cumulative)[0]


def pick(population, draw: float):
    """One of `population` for a uniform `draw` in [0, 1)."""
    return population[int(draw * len(population))]


MIX = common.MIX  # sources, methods, statements, updates: those of bench/run.py
STATUS = Picker(common.STATUS_WEIGHTS)
CURRENCY = Picker(common.CURRENCY_WEIGHTS)
DONOR_TYPE = Picker(common.DONOR_TYPE_WEIGHTS)


def generate_donors(first: int, last: int, seed: int, now: datetime) -> Iterator[list]:
    """Donors first..last (ids), in blocks."""

    for block in range((first - 1) // BLOCK, (last - 1) // BLOCK + 1):
        rng = random.Random(f"{seed}-donors-{block}")
        donors = []
        for i in range(block * BLOCK + 1, (block + 1) * BLOCK + 1):
            donor_type = DONOR_TYPE(rng)
            country = "" if donor_type in ("intergovernmental", "un_entity") else rng.choice(common.COUNTRIES)
            language = rng.choice(["en", "fr", "es", "ar", "ru", "zh-hans", ""])
            days = rng.randint(0, 5000)
            if first <= i <= last:
                donors.append(
                    common.donor(
                        i, donor_type, country=country, language=language, created_at=now - timedelta(days=days)
                    )
                )
        yield donors


def generate_pledges(first: int, last: int, seed: int, today: date, now: datetime, campaign, sessions):
    """Pledges first..last (ids) with their payments and status history, in
    blocks: a realistic mix of statuses, donor types, currencies (one
    without a rate), consent flags, payments on what was paid, and the
    derived amounts (amount_usd, amount_paid, amount_received_usd, fees_usd)
    consistent with the payments they derive from, rounded half-up to the
    cent."""
    from pledges.money import minor_unit
    from pledges.status import status_history_implied

    units = {code: minor_unit(code) for code in common.CURRENCY_WEIGHTS}
    span_days = (today - common.FIRST_DAY).days
    for block in range((first - 1) // BLOCK, (last - 1) // BLOCK + 1):
        rng = random.Random(f"{seed}-pledges-{block}")
        pledges, payments, changes = [], [], []
        for pid in range(block * BLOCK + 1, (block + 1) * BLOCK + 1):
            # Every draw happens for every id, so a row depends only on its block and id.
            status = STATUS(rng)
            currency = CURRENCY(rng)
            draws = [rng.random() for _ in range(16)]
            size = rng.lognormvariate(8.5, 1.8)
            share = rng.uniform(0.1, 0.9)
            n_parts = rng.randint(1, 3)
            if not first <= pid <= last:
                continue
            currency = common.currency_for(status, currency)
            rate = common.USD_RATES.get(currency)
            unit = units[currency]
            usd_size = Decimal(str(round(min(5e7, max(10.0, size)), 2)))
            amount = (usd_size * (rate or Decimal("10.5"))).quantize(unit, rounding=ROUND_HALF_UP)
            pledged_on = common.FIRST_DAY + timedelta(days=int(span_days * draws[0] ** 0.7))
            source = "web" if status == "submitted" else pick(MIX.sources, draws[2])
            method = pick(MIX.methods[0] if source == "web" else MIX.methods[1], draws[3])
            pledge = common.pledge(
                pid,
                status=status,
                amount=amount,
                currency=currency,
                confirm_days=int(60 * draws[4]) if status in common.FIRM else None,
                donor_id=common.donor_of(n_donors(pid), draws[5]),
                campaign=campaign,
                session=pick(sessions, draws[6]) if source == "floor" and sessions else None,
                source=source,
                payment_method=method,
                pledged_on=pledged_on,
                earmark=pick(common.EARMARKS, draws[7]),
                public_name=draws[8] < 0.7,
                public_amount=draws[9] < 0.6,
                statement=common.STATEMENT if draws[10] < MIX.statement_share else "",
                second=int(86_399 * draws[1]),
                updated_after=timedelta(days=int(MIX.updated_days * draws[11])),
                verified_after=MIX.verified_after,
                today=today,
                now=now,
            )

            if status == "paid":  # in one to three payments
                part = (amount / n_parts).quantize(unit, rounding=ROUND_HALF_UP)
                parts = [part] * (n_parts - 1) + [amount - part * (n_parts - 1)]
                if parts[-1] <= 0:  # a tiny JPY amount split too thin: paid in one go
                    parts = [amount]
            elif status == "partially_paid" or (status == "lapsed" and draws[12] < 0.5):
                paid = (amount * Decimal(str(round(share, 4)))).quantize(unit, rounding=ROUND_HALF_UP)
                parts = [paid] if 0 < paid < amount else []
            else:
                parts = []
            if status == "partially_paid" and not parts:
                pledge.status = "confirmed"  # too small to split: nothing paid yet
            made = common.pay_in_parts(pledge, parts, method=method, today=today, hour=10)
            payments.extend(made)
            pledges.append(pledge)
            changes.extend(status_history_implied(pledge, made, actor_label="bench"))
        yield pledges, payments, changes


# --- Live tables and reserve ------------------------------------------------------


_execute = common.execute


def _columns(table: str) -> list[str]:
    rows = _execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in rows]


def _live_tables() -> dict[str, str]:
    from pledges.models import Donor, Payment, Pledge, PledgeStatusChange

    return {
        "donor": Donor._meta.db_table,
        "pledge": Pledge._meta.db_table,
        "payment": Payment._meta.db_table,
        "status_change": PledgeStatusChange._meta.db_table,
    }


def reserve_state(seed: int) -> tuple[int, date | None]:
    """How many pledges the reserve holds, and the day they were first
    generated (their dates run up to it). (0, None) when it must be
    generated again: missing, another seed, or columns that no longer match
    the live tables after a migration."""
    live = _live_tables()
    if not _columns(META_TABLE):
        return 0, None
    meta = dict(_execute(f"SELECT key, value FROM {META_TABLE}"))
    if meta.get("seed") != str(seed):
        return 0, None
    for kind, table in RESERVE.items():
        if sorted(_columns(table)) != sorted(_columns(live[kind])):
            return 0, None
    return int(meta.get("pledges", 0)), date.fromisoformat(meta["day"])


def reserve_reset(seed: int, day: date) -> None:
    live = _live_tables()
    for kind, table in RESERVE.items():
        _execute(f"DROP TABLE IF EXISTS {table}")
        # No index but the primary key: the reserve is only read in id ranges.
        _execute(f"CREATE TABLE {table} (LIKE {live[kind]} INCLUDING DEFAULTS)")
        _execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
    _execute(f"DROP TABLE IF EXISTS {META_TABLE}")
    _execute(f"CREATE TABLE {META_TABLE} (key text PRIMARY KEY, value text NOT NULL)")
    _execute(
        f"INSERT INTO {META_TABLE} VALUES ('seed', %s), ('day', %s), ('pledges', '0')", [str(seed), day.isoformat()]
    )


def reserve_generate(have: int, want: int, seed: int, day: date) -> None:
    """Generate pledges have+1..want (and their donors and payments) into
    the reserve, dated up to `day` (the day the reserve was started)."""
    from django.db import transaction
    from django.utils import timezone

    from pledges.models import Campaign, Donor, EventSession, Payment, Pledge, PledgeStatusChange

    started = time.perf_counter()
    now = min(timezone.now(), datetime.combine(day, datetime.max.time(), tzinfo=UTC))
    campaign = Campaign.objects.get(slug=common.CAMPAIGN)
    sessions = list(EventSession.objects.filter(event__campaign=campaign).order_by("pk"))
    # From the reserve's last donor: an interrupted run may have written donors for pledges it did not.
    first_donor = _execute(f"SELECT coalesce(max(id), 0) FROM {RESERVE['donor']}")[0][0] + 1
    if first_donor <= n_donors(want):
        for donors in generate_donors(first_donor, n_donors(want), seed, now):
            copy_rows(Donor, donors, RESERVE["donor"])
    next_payment = (_execute(f"SELECT coalesce(max(id), 0) FROM {RESERVE['payment']}")[0][0] or 0) + 1
    next_change = (_execute(f"SELECT coalesce(max(id), 0) FROM {RESERVE['status_change']}")[0][0] or 0) + 1
    done = have
    for pledges, payments, changes in generate_pledges(have + 1, want, seed, day, now, campaign, sessions):
        for payment in payments:
            payment.id = next_payment
            next_payment += 1
        for change in changes:
            change.id = next_change
            next_change += 1
        with transaction.atomic():
            copy_rows(Pledge, pledges, RESERVE["pledge"])
            copy_rows(Payment, payments, RESERVE["payment"])
            copy_rows(PledgeStatusChange, changes, RESERVE["status_change"])
            done = pledges[-1].id
            _execute(f"UPDATE {META_TABLE} SET value = %s WHERE key = 'pledges'", [str(done)])
        elapsed = time.perf_counter() - started
        if done % 50_000 == 0 or done == want:
            rate = (done - have) / elapsed
            log(
                f"    generated {done:>9,}/{want:,} pledges "
                f"({elapsed:5.0f} s, {rate:,.0f}/s, ~{(want - done) / rate:.0f} s left)"
            )


def live_size() -> tuple[int, int]:
    from pledges.models import Pledge

    count, top = _execute(f"SELECT count(*), coalesce(max(id), 0) FROM {Pledge._meta.db_table}")[0]
    return count, top


def live_reset() -> None:
    """Empty the tables the data set and the bench's reports wrote. TRUNCATE
    fires no row trigger, so the append-only audit trail goes too (its
    report.requested rows, and its rows about pledges)."""
    from pledges.models import AuditEvent, Donor, ExchangeRate, Payment, Pledge, PledgeStatusChange
    from reports.models import Report, ReportFile

    common.truncate((ReportFile, Report, PledgeStatusChange, Payment, AuditEvent, Pledge, Donor, ExchangeRate))


def live_fill(size: int) -> None:
    """Empty the live tables and copy pledges 1..size, their donors,
    payments and status history from the reserve. Pledges, payments and
    status changes are written in the order of their moments, the order inserts over the years leave them in, so
    the table's physical order (which the planner's index-scan costs depend
    on) does not depend on how the rows were generated."""
    from django.db import connection, transaction

    from pledges.models import Donor, ExchangeRate, Payment, Pledge, PledgeStatusChange

    live = _live_tables()
    live_reset()
    copy_rows(ExchangeRate, common.exchange_rates())
    selections = {
        "donor": ("id <= %s", n_donors(size), "id"),
        "pledge": ("id <= %s", size, "created_at, id"),
        "payment": ("pledge_id <= %s", size, "created_at, id"),
        "status_change": ("pledge_id <= %s", size, "at, id"),
    }
    with transaction.atomic():
        # The reserve's rows were generated consistent (every donor, campaign
        # and session they point to exists): skip the foreign-key triggers,
        # which were most of the copy's time. Needs a superuser, as the
        # local `postgres` is.
        _execute("SET LOCAL session_replication_role = replica")
        for kind in ("donor", "pledge", "payment", "status_change"):
            where, bound, order = selections[kind]
            columns = ", ".join(connection.ops.quote_name(c) for c in _columns(live[kind]))
            started = time.perf_counter()
            _execute(
                f"INSERT INTO {live[kind]} ({columns}) SELECT {columns} FROM {RESERVE[kind]} "
                f"WHERE {where} ORDER BY {order}",
                [bound],
            )
            log(f"    {kind}s copied in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    common.after_load([ExchangeRate, Donor, Pledge, Payment, PledgeStatusChange])
    log(f"    VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")


def dataset_ensure(size: int, args: argparse.Namespace, today: date) -> tuple[str, date]:
    """Make the campaign hold exactly pledges 1..size. Returns how, and the
    day the data set's dates run up to."""
    started = time.perf_counter()
    count, top = live_size()
    reserved, day = (0, None) if args.reload else reserve_state(args.seed)
    if day is not None and count == size and top == size and reserved >= size:
        return f"reused: the {size:,} pledges were already loaded", day
    args.reload = False  # once per run
    how = []
    if day is None:
        log("  (re)creating the reserve tables")
        day = today
        reserve_reset(args.seed, day)
        live_reset()
        reserved = 0
    if reserved < size:
        log(f"  generating pledges {reserved + 1:,}..{size:,} into the reserve")
        reserve_generate(reserved, size, args.seed, day)
        how.append(f"generated {size - reserved:,} into the reserve")
    log(f"  copying pledges 1..{size:,} into {common.CAMPAIGN}")
    live_fill(size)
    how.append(f"copied pledges 1..{size:,} from the reserve")
    return f"{' and '.join(how)} in {time.perf_counter() - started:.0f} s", day


# --- Measuring -------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux 4.0+),
    so that getrusage's ru_maxrss afterwards is the peak since now."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


@dataclass
class Op:
    size: int
    label: str
    key: str | None = None  # "sql" on the baseline
    samples: list[float] = field(default_factory=list)
    peak_bytes: int | None = None
    rss_growth_kib: list[int] = field(default_factory=list)
    child_max_rss_kib: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


class Steps:
    """Where a build's time goes: the report's own functions wrapped with
    timers for the duration of the bench (module attributes, which the
    services and renderers look up at each call; no app code changes).
    Inside report_figures, every SQL statement is timed too
    (connection.execute_wrapper), and under tracemalloc the figures' own
    peak is taken."""

    def __init__(self):
        self.current: dict[str, float] = defaultdict(float)
        self.queries: list[float] = []
        self.patched: list[tuple[object, str, object]] = []
        self.peak_outside_figures = 0  # tracemalloc's peak before report_figures reset it
        self.figures_peak: int | None = None

    def _wrap(self, module, name: str, step: str, figures: bool = False):
        original = getattr(module, name)

        def timed(*args, **kwargs):
            tracing = figures and tracemalloc.is_tracing()
            if tracing:
                current, peak = tracemalloc.get_traced_memory()
                self.peak_outside_figures = max(self.peak_outside_figures, peak)
                tracemalloc.reset_peak()
            started = time.perf_counter()
            try:
                if not figures:
                    return original(*args, **kwargs)
                from django.db import connection

                with connection.execute_wrapper(self._query_timer):
                    return original(*args, **kwargs)
            finally:
                self.current[step] += time.perf_counter() - started
                if tracing:
                    self.figures_peak = tracemalloc.get_traced_memory()[1] - current

        self.patched.append((module, name, original))
        setattr(module, name, timed)

    def _query_timer(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.current["figures: SQL"] += elapsed
            self.queries.append(elapsed)

    def _wrap_pages(self, module, name: str, step: str):
        """A generator's time: what its consumer waits in it (the pages of
        the languages come from their processes while the build stores the
        ones already done)."""
        original = getattr(module, name)

        def timed(*args, **kwargs):
            pages = original(*args, **kwargs)
            try:
                while True:
                    started = time.perf_counter()
                    try:
                        page = next(pages)
                    except StopIteration:
                        return
                    finally:
                        self.current[step] += time.perf_counter() - started
                    yield page
            finally:
                pages.close()

        self.patched.append((module, name, original))
        setattr(module, name, timed)

    @contextmanager
    def installed(self):
        from reports import charts, render, services

        self._wrap(services, "report_figures", "figures", figures=True)
        self._wrap_pages(render, "render_pages", "pages")
        self._wrap(render, "render_json", "JSON")
        self._wrap(render, "render_csv", "CSV")
        self._wrap(render, "render_html", "HTML")
        self._wrap(render, "render_pdf", "PDF")
        self._wrap(charts, "pledged_vs_received", "charts")
        self._wrap(charts, "cumulative_against_goal", "charts")
        try:
            yield self
        finally:
            for module, name, original in reversed(self.patched):
                setattr(module, name, original)
            self.patched.clear()

    def take(self) -> dict[str, float]:
        """The seconds of each step since the last take, in milliseconds,
        with the figures split into SQL and Python and the charts taken out
        of the HTML (they are drawn while it renders)."""
        taken, self.current = dict(self.current), defaultdict(float)
        taken["figures: Python"] = taken.get("figures", 0) - taken.get("figures: SQL", 0)
        taken["HTML"] = taken.get("HTML", 0) - taken.get("charts", 0)
        # In page processes, charts, HTML and PDF are timed there, not here.
        for step in ("HTML", "charts", "PDF"):
            if taken.get(step, 0) <= 0:
                taken.pop(step, None)
        return {step: seconds * 1000 for step, seconds in taken.items()}


# The statements of report_figures for a period report, in the order it sends them.
QUERY_LABELS = [
    "overall aggregate",
    "by donor type",
    "by country",
    "received over time",
    "period: new pledges",
    "period: receipts",
    "named donors (server-side cursor)",
    "anonymous donors",
]
STEP_ROWS = [
    ("figures: SQL", "↳ figures: the SQL statements"),
    ("figures: Python", "↳ figures: Python (rows into dicts)"),
    ("JSON", "↳ JSON"),
    ("CSV", "↳ CSV × {n}"),
    ("pages", "↳ pages × {n}: charts, HTML and PDF in {p} process(es), wall time waited"),
    ("HTML", "  ↳ HTML × {n} (template, charts apart; in this process only)"),
    ("charts", "  ↳ charts × {n2} (matplotlib SVG; in this process only)"),
    ("PDF", "  ↳ PDF × {n} (WeasyPrint; in this process only)"),
    ("rest", "↳ the rest: claim, storage, SHA-256, rows"),
]


def run(args: argparse.Namespace) -> tuple[list[str], list[Op], list[str], dict]:
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.utils import timezone

    from pledges.audit import Actor
    from pledges.models import Campaign
    from reports import render, services
    from reports.models import REPORT_LANGUAGES, Report, ReportFile, ReportKind, ReportStatus
    from reports.services import ReportRequest, last_complete_week

    locale_root = Path(settings.LOCALE_PATHS[0])
    stale = [
        po
        for po in locale_root.glob("*/LC_MESSAGES/*.po")
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        log(f"Compiling {len(stale)} translation catalogue(s)")
        call_command("compile_translations", verbosity=0)

    common.migrate_and_clear_cache()  # Redis DB 12 is the bench's own

    # Reports of earlier runs would make the same periods "already built".
    ReportFile.objects.all().delete()
    Report.objects.all().delete()

    today = timezone.localdate()
    campaign = Campaign.objects.get(slug=common.CAMPAIGN)
    actor = Actor.task("bench")
    steps = Steps()
    ops: list[Op] = []
    notes: list[str] = []
    weeks_back = iter(range(10_000))
    data_day = {"day": today}
    can_reset_rss = reset_peak_rss()
    n_languages = len(REPORT_LANGUAGES)
    n_processes = render.page_processes(n_languages)

    def request_report() -> Report:
        """A report queued through the service, for a period not built before:
        the last complete week before the data set's day, then the one
        before, and so on (or from the campaign's start to that week's end)."""
        start, end = last_complete_week(data_day["day"] - timedelta(days=7 * next(weeks_back)))
        if args.period == "campaign":
            start = campaign.starts_on
        report, queued = services.report_request(
            ReportRequest(campaign=campaign, kind=ReportKind.PERIOD, period_start=start, period_end=end), actor=actor
        )
        assert queued and report.status == ReportStatus.QUEUED, f"{report.key} was built before"
        return report

    def build(report: Report) -> None:
        outcome = services.report_build(report.pk)
        assert outcome == "done", outcome

    baseline_sql = (
        "SELECT p.status, d.donor_type, CASE WHEN p.public_name THEN d.country ELSE '' END, "
        "sum(p.amount_usd), sum(p.amount_received_usd), count(*) "
        "FROM pledges_pledge p JOIN pledges_donor d ON d.id = p.donor_id "
        "WHERE p.campaign_id = %s GROUP BY 1, 2, 3"
    )

    def sql_aggregation():
        return common.execute(baseline_sql, [campaign.pk])

    load_before = os.getloadavg()[0]
    with steps.installed():
        for index, size in enumerate(args.sizes):
            log(f"{size:,} pledges")
            how, data_day["day"] = dataset_ensure(size, args, today)
            notes.append(f"{size:,} pledges: data set {how}, dated up to {data_day['day']}")
            sql_op = Op(size, "bare SQL GROUP BY status, donor type, country (baseline)", key="sql")
            figures_op = Op(size, "report figures (report_figures, timed in each build)")
            build_op = Op(size, f"full build: JSON + CSV, HTML, PDF × {n_languages} languages")
            step_samples: dict[str, list[float]] = defaultdict(list)

            # Warm-up, untimed: the rows into the caches; at the first size
            # also the fonts, WeasyPrint and matplotlib.
            started = time.perf_counter()
            sql_aggregation()
            sql_calls = max(3, min(25, int(0.5 / max(time.perf_counter() - started, 1e-4))))
            if index == 0:
                log("  warm-up build")
                build(request_report())
            steps.take()

            deadline = time.perf_counter() + args.budget
            round_cost = 0.0
            while len(build_op.samples) < args.rounds and (
                not build_op.samples or time.perf_counter() + round_cost < deadline
            ):
                round_started = time.perf_counter()
                for _ in range(sql_calls):
                    started = time.perf_counter()
                    sql_aggregation()
                    sql_op.samples.append((time.perf_counter() - started) * 1000)

                report = request_report()
                steps.queries.clear()
                gc.collect()
                rss_before = rss_kib()
                reset_peak_rss()
                started = time.perf_counter()
                build(report)
                build_op.samples.append((time.perf_counter() - started) * 1000)
                build_op.rss_growth_kib.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before)
                # The largest page process so far (each build forks its own).
                build_op.child_max_rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                taken = steps.take()
                taken["rest"] = build_op.samples[-1] - sum(
                    taken.get(step, 0) for step in ("figures", "JSON", "CSV", "pages")
                )
                figures_op.samples.append(taken["figures"])
                for step, ms in taken.items():
                    step_samples[step].append(ms)
                queries = list(steps.queries)
                round_cost = time.perf_counter() - round_started
                log(
                    f"  round {len(build_op.samples)}: SQL {statistics.median(sql_op.samples[-sql_calls:]):.0f} ms, "
                    f"build {build_op.samples[-1]:.0f} ms (figures {taken['figures']:.0f}, "
                    f"charts {taken.get('charts', 0):.0f}, PDF {taken.get('PDF', 0):.0f})"
                )

            # Peak Python memory: once more each under tracemalloc, untimed.
            log("  under tracemalloc")
            report = request_report()
            gc.collect()
            tracemalloc.start()
            try:
                sql_aggregation()
                sql_op.peak_bytes = tracemalloc.get_traced_memory()[1]
                tracemalloc.clear_traces()
                tracemalloc.reset_peak()
                steps.peak_outside_figures = 0
                build(report)
                build_op.peak_bytes = max(steps.peak_outside_figures, tracemalloc.get_traced_memory()[1])
                figures_op.peak_bytes = steps.figures_peak
            finally:
                tracemalloc.stop()
            steps.take()
            log(
                f"  peak Python memory: figures {figures_op.peak_bytes / MIB:.1f} MiB, "
                f"build {build_op.peak_bytes / MIB:.1f} MiB"
            )

            ops.extend([sql_op, figures_op, build_op])
            for step, label in STEP_ROWS:
                if step in ("HTML", "charts", "PDF") and step not in step_samples:
                    continue  # rendered in the page processes
                label = label.format(n=n_languages, n2=2 * n_languages, p=n_processes)
                ops.append(Op(size, label, samples=step_samples.get(step, [0.0])))

            report.refresh_from_db()
            named = len(report.figures["donors"]["named"])
            files: dict[str, int] = defaultdict(int)
            for file in report.files.all():
                files[file.format] += file.size
            file_sizes = ", ".join(f"{fmt.upper()} {total / 1024:,.0f} KiB" for fmt, total in sorted(files.items()))
            labels = QUERY_LABELS if len(queries) == len(QUERY_LABELS) else [f"#{i + 1}" for i in range(len(queries))]
            slowest = sorted(zip(queries, labels, strict=True), reverse=True)[:3]
            notes.append(
                f"{size:,} pledges: a report counts {report.figures['headline']['pledges']:,} pledges and names "
                f"{named:,} (HTML and PDF list at most {settings.REPORTS_MAX_LISTED_DONORS}); "
                f"files of one build: {file_sizes}; the figures send {len(queries)} SQL statements, slowest: "
                + ", ".join(f"{label} {seconds * 1000:,.0f} ms" for seconds, label in slowest)
            )
            rss = "getrusage, high-water mark reset before each build" if can_reset_rss else "getrusage"
            notes.append(
                f"{size:,} pledges: max RSS growth of the building process during a build ({rss}): "
                f"{max(0, *build_op.rss_growth_kib) / 1024:,.0f} MiB; "
                + (
                    f"largest page process so far ({n_processes} a build, forked from it, sharing its pages "
                    f"until written): max RSS {build_op.child_max_rss_kib / 1024:,.0f} MiB"
                    if n_processes > 1
                    else "pages rendered in the building process"
                )
            )

        if args.profile:
            import cProfile

            log(f"Profiling one build at {args.sizes[-1]:,} pledges into {args.profile}")
            profiler = cProfile.Profile()
            profiler.runcall(build, request_report())
            profiler.dump_stats(args.profile)

    profiles = {}
    if args.profile_figures:
        from reports.figures import report_figures

        log(f"Profiling report_figures at {args.sizes[-1]:,} pledges")
        report = request_report()
        what = f"report_figures of one week report at {args.sizes[-1]:,} pledges"
        profiles["figures"] = common.profile(lambda: report_figures(report), 1, what)
    load_after = os.getloadavg()[0]
    notes.append(f"1-minute load average {load_before:.2f} before the timed part, {load_after:.2f} after")
    cache.clear()
    return header(args), ops, notes, profiles


def header(args: argparse.Namespace) -> list[str]:
    import matplotlib
    import weasyprint

    from reports import render
    from reports.models import REPORT_LANGUAGES

    processes = f"pages in {render.page_processes(len(REPORT_LANGUAGES))} process(es)"
    return [
        f"bench/reports.py {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.period} reports of {common.CAMPAIGN} at "
        f"{', '.join(f'{s:,}' for s in args.sizes)} pledges, at most {args.rounds} builds in "
        f"{args.budget:.0f} s a size; "
        + common.versions(processes, f"WeasyPrint {weasyprint.__version__}", f"matplotlib {matplotlib.__version__}")
    ]


def render(lines: list[str], ops: list[Op], notes: list[str]) -> str:
    baselines = {op.size: op for op in ops if op.key == "sql"}
    out = [*lines, ""]
    out.append("| pledges | operation | n | median ms | ratio vs SQL baseline | peak MiB |")
    out.append("|---:|---|---:|---:|---:|---:|")
    for op in ops:
        base = baselines[op.size]
        ratio = "1.00× (baseline)" if op is base else f"{op.median / base.median:,.2f}×"
        peak = "" if op.peak_bytes is None else f"{op.peak_bytes / MIB:,.2f}"
        out.append(f"| {op.size:,} | {op.label} | {len(op.samples)} | {op.median:,.1f} | {ratio} | {peak} |")
    out.append("")
    out.extend(f"- {note}" for note in notes)
    return "\n".join(out)


def main() -> None:
    args = parse_args()
    media_root = Path(tempfile.mkdtemp(prefix="vtf-bench-reports-"))
    try:
        configure(args, media_root)
        common.ensure_database(args.db_name)
        started = time.perf_counter()
        lines, ops, notes, profiles = run(args)
        lines[0] += f"; whole run {time.perf_counter() - started:.0f} s"
    finally:
        shutil.rmtree(media_root, ignore_errors=True)
    common.emit(args, render(lines, ops, notes), {"lines": lines, "ops": ops, "notes": notes, "profiles": profiles})


if __name__ == "__main__":
    main()
