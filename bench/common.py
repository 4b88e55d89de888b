"""What every bench script shares: the bench's own database and Redis, the
settings it runs under, the data set's vocabulary, COPY from model
instances, the outputs (table, Markdown, JSON) and the in-process profile.

The scripts import it as `common` (bench/ is on sys.path when a script in
it runs). Django is imported lazily: settings must be set before
django.setup(), which each script calls itself.
"""

import argparse
import cProfile
import os
import platform
import pstats
import random
import re
import sys
import time
import tracemalloc
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
CAMPAIGN = "vtf-2012"  # the campaign the migrations create; the public endpoints default to it
DB_NAME = re.compile(r"[a-z0-9_]*bench[a-z0-9_]*")

# --- The data set's vocabulary -------------------------------------------------------------
# Currency units per USD; SEK has no rate on purpose (pledges awaiting a rate).
RATES = {"EUR": "0.862", "GBP": "0.741", "JPY": "151.2", "NOK": "10.1", "CHF": "0.79", "KWD": "0.307"}
# The mix of bench/run.py and bench/reports.py (reconciliation.py has mostly open pledges).
CURRENCY_WEIGHTS = {"USD": 50, "EUR": 18, "GBP": 8, "JPY": 5, "NOK": 5, "CHF": 6, "KWD": 2, "SEK": 6}
STATUS_WEIGHTS = {
    "submitted": 5,
    "announced": 10,
    "confirmed": 22,
    "partially_paid": 15,
    "paid": 38,
    "cancelled": 5,
    "lapsed": 5,
}
DONOR_TYPE_WEIGHTS = {
    "member_state": 10,
    "observer_state": 1,
    "intergovernmental": 2,
    "un_entity": 1,
    "private_sector": 15,
    "foundation": 8,
    "civil_society": 13,
    "individual": 50,
}
COUNTRIES = ["NO", "SE", "DE", "FR", "GB", "US", "CA", "JP", "KW", "QA", "BY", "BR", "NG", "IT", "NL", "AU", "VA"]
EARMARKS = ["unrestricted", "children", "women_and_girls", "direct_assistance"]
USD_RATES = {"USD": Decimal(1), **{code: Decimal(rate) for code, rate in RATES.items()}}
FIRST_DAY = date(2012, 4, 3)
RATE_DATE = date(2012, 1, 1)
CENT = Decimal("0.01")
BANK_ACCOUNT = "485-001802"  # the bench Fund's account (FUND_BANK_ACCOUNT_NUMBER)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def redis_url(default_db: int) -> str:
    """BENCH_REDIS_URL lets two working copies bench side by side, each on a Redis of its own."""
    return os.environ.get("BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{default_db}")


def check_db_name(parser: argparse.ArgumentParser, name: str) -> None:
    """The bench empties its database's tables before a load: never let it near another one."""
    if not DB_NAME.fullmatch(name):
        parser.error("--db-name must be lower-case letters, digits and _, and contain 'bench'")


def configure(db_name: str, redis: str, env: dict[str, str], *, unset: tuple[str, ...] = ()) -> None:
    """The environment backend.settings reads, set before django.setup().
    These override whatever the shell exports, so a stray DATABASE_URL
    cannot point the bench at real data; `env` adds the script's own."""
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DJANGO_SECRET_KEY": "bench-only",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_DEBUG": "false",
            # What production must name (backend/settings.py): the bench's
            # bank account; card payments off, as the bench pays by transfer.
            "CARD_PAYMENTS": "false",
            "FUND_BANK_BENEFICIARY": "Bench Fund",
            "FUND_BANK_NAME": "Bench Bank",
            "FUND_BANK_ADDRESS": "1 Bench Street",
            "FUND_BANK_ACCOUNT_NUMBER": BANK_ACCOUNT,
            "FUND_BANK_SWIFT": "BENCHXXX",
            "DATABASE_URL": f"{PG_SERVER}/{db_name}",
            "REDIS_URL": redis,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DEFAULT_CAMPAIGN_SLUG": CAMPAIGN,
            "LOG_LEVEL": "WARNING",
            **env,
        }
    )
    for name in unset:
        os.environ.pop(name, None)
    # WhiteNoise warns once when collectstatic has not been run; the bench serves no static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)


def ensure_database(name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                log(f"Creating database {name}")
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        sys.exit(f"PostgreSQL is not reachable at {PG_SERVER}: {error}")


def migrate_and_clear_cache() -> None:
    """After django.setup(): the bench database migrated, and the bench's
    own Redis database emptied (old documents, throttle history, tasks)."""
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command

    log(f"Migrating {settings.DATABASES['default']['NAME']}")
    call_command("migrate", verbosity=0, interactive=False)
    try:
        cache.clear()
    except Exception as error:
        sys.exit(f"Redis is not reachable at {os.environ['REDIS_URL']}: {error}")


def versions(*extra: str) -> str:
    """The machine and the versions, for a script's header line."""
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [f"nproc {cpus}", f"Python {platform.python_version()}", f"PostgreSQL {pg}", *extra]
    return ", ".join([*parts, f"Django {django.get_version()}", platform.machine()])


def execute(sql: str, params=None) -> list | None:
    """One statement through Django's connection; its rows, if it returns any."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def choices(rng: random.Random, weights: dict, k: int) -> list[str]:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


def reference(index: int) -> str:
    """A valid ISO 11649 reference, unique per index (same shape as reference_new)."""
    from stdnum.iso7064 import mod_97_10

    from pledges.references import BODY_ALPHABET, BODY_PREFIX, BODY_RANDOM_LENGTH

    digits = []
    while index:
        index, digit = divmod(index, len(BODY_ALPHABET))
        digits.append(BODY_ALPHABET[digit])
    body = BODY_PREFIX + "".join(reversed(digits)).rjust(BODY_RANDOM_LENGTH, "0")
    return "RF" + mod_97_10.calc_check_digits(body + "RF") + body


_CONCRETE: dict = {}


def row(model, **values):
    """A model instance for copy_rows, built without Model.__init__ (its
    descriptors and signals were half of generating a million pledges): each
    concrete field from `values` by attname (`campaign_id`, not `campaign`),
    or its default, as __init__ would give it; an unknown name is refused."""
    from django.db.models.base import ModelState

    fields = _CONCRETE.get(model)
    if fields is None:
        # A callable default (a random secret) is called for every row; any other is one value.
        fields = _CONCRETE[model] = [
            (f.attname, f.get_default if f.has_default() and callable(f.default) else None, f.get_default())
            for f in model._meta.concrete_fields
        ]
    obj = model.__new__(model)
    state = obj.__dict__
    state["_state"] = ModelState()
    for attname, factory, default in fields:
        if attname in values:
            state[attname] = values.pop(attname)
        else:
            state[attname] = factory() if factory else default
    if values:
        raise TypeError(f"{model.__name__} has no field {', '.join(values)}")
    return obj


def copy_rows(model, objects: list, table: str | None = None) -> None:
    """COPY model instances into `table` (the model's own by default), every
    concrete field (primary keys included) as Model.save() would prepare it,
    so a column a migration adds gets its Python default.

    On PostgreSQL, get_db_prep_save returns strings, numbers, dates and
    booleans as they are; calling it 30 times a row was most of the
    generation time, so it is called only for the other fields (and checked
    to change nothing on the batch's first row for the rest)."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.models import BooleanField, CharField, DateField, DecimalField, ForeignKey, IntegerField, TextField

    if not objects:
        return
    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    native = (BooleanField, CharField, DateField, DecimalField, IntegerField, TextField, ForeignKey)
    fields = list(model._meta.concrete_fields)
    first = objects[0]
    prepared = [
        not isinstance(f, native)
        or f.get_db_prep_save(getattr(first, f.attname), connection) != getattr(first, f.attname)
        for f in fields
    ]
    plain = [f.attname for f, prepare in zip(fields, prepared, strict=True) if not prepare]
    slow = [f for f, prepare in zip(fields, prepared, strict=True) if prepare]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields if f.attname in plain)
    columns += "".join(f", {quote(f.column)}" for f in slow)
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {quote(table or model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for obj in objects:
            values = obj.__dict__
            copy.write_row(
                [values[name] for name in plain] + [f.get_db_prep_save(values[f.attname], connection) for f in slow]
            )


def exchange_rates() -> list:
    """The rates of RATES, valid from RATE_DATE, as ExchangeRate rows 1..n."""
    from pledges.models import ExchangeRate

    return [
        ExchangeRate(id=i, currency=code, rate=Decimal(rate), valid_from=RATE_DATE)
        for i, (code, rate) in enumerate(RATES.items(), 1)
    ]


FIRM = ("confirmed", "partially_paid", "paid", "lapsed")  # statuses of a pledge the donor confirmed


def donor(i: int, donor_type: str, **fields):
    """Donor `i` of the bench, named and addressed after its number; `fields`
    gives its country, language and creation."""
    from pledges.models import Donor

    name = f"Bench {donor_type.replace('_', ' ')} {i}"
    return row(Donor, id=i, name=name, donor_type=donor_type, email=f"donor{i}@example.org", **fields)


def currency_for(status: str, currency: str) -> str:
    """Money only arrives in currencies with a rate here: a pledge that
    was (partly) paid in one without is made a USD pledge."""
    paid = status in ("partially_paid", "paid", "lapsed")
    return "USD" if paid and currency not in USD_RATES else currency


def donor_of(donors: int, draw: float) -> int:
    """One of the first `donors` donors, skewed towards the first: a few
    donors make most of the pledges."""
    return 1 + int(donors * draw**1.5)


def pledge(pid: int, *, status: str, amount: Decimal, currency: str, **fields):
    """Pledge `pid` with what follows from its terms, as the services would
    have written it: the reference, the USD amount at the rate (none for a
    currency without one), the rate fixed once firm, its moments (created
    `second` seconds into `pledged_on`, confirmed `confirm_days` after it at
    15:00 but not after `today`, updated `updated_after` later but not after
    `now` (None: never updated, even when created later today), verified
    `verified_after` later if it came from the web) and the close of a
    cancelled or lapsed pledge 400 days on. `fields` gives the
    rest (donor, campaign, source, consent)."""
    from datetime import UTC, datetime, timedelta

    from pledges.models import Pledge

    pledged_on, today, now = fields["pledged_on"], fields.pop("today"), fields.pop("now")
    created_at = datetime.combine(pledged_on, datetime.min.time(), tzinfo=UTC) + timedelta(seconds=fields.pop("second"))
    confirm_days, verified_after = fields.pop("confirm_days"), fields.pop("verified_after")
    updated_after = fields.pop("updated_after")
    confirmed_on = None if confirm_days is None else min(today, pledged_on + timedelta(days=confirm_days))
    closed = status in ("cancelled", "lapsed")
    rate = USD_RATES.get(currency)
    session = fields.pop("session")
    return row(
        Pledge,
        campaign_id=fields.pop("campaign").pk,
        session_id=None if session is None else session.pk,
        id=pid,
        reference=reference(pid),
        status=status,
        amount=amount,
        currency=currency,
        amount_usd=None if rate is None else (amount / rate).quantize(CENT, rounding=ROUND_HALF_UP),
        usd_rate=rate,
        usd_rate_date=None if rate is None else (pledged_on if currency == "USD" else RATE_DATE),
        usd_rate_fixed=status in FIRM,
        created_at=created_at,
        updated_at=created_at if updated_after is None else min(now, created_at + updated_after),
        verified_at=created_at + verified_after if fields["source"] == "web" and status != "submitted" else None,
        confirmed_on=confirmed_on,
        confirmed_at=(
            datetime.combine(confirmed_on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)
            if confirmed_on
            else None
        ),
        closed_at=min(now, created_at + timedelta(days=400)) if closed else None,
        close_reason="Closed by the bench data set" if closed else "",
        **fields,
    )


@dataclass(frozen=True)
class PledgeMix:
    """What PledgeDraw draws of a data set's pledges besides their status,
    currency, amount and date: where a pledge came from (one of `sources`;
    a submitted one always from the web), its payment method (`methods`: a
    web pledge's and the others' to draw from, or None: all by bank
    transfer, nothing drawn), the share that come with a statement, the
    days within which it was last updated (None: never updated) and how
    long after its creation a web pledge was verified."""

    sources: tuple[str, ...]
    methods: tuple[tuple[str, ...], tuple[str, ...]] | None
    statement_share: float
    updated_days: int | None
    verified_after: timedelta


# The mix of bench/run.py and bench/reports.py.
MIX = PledgeMix(
    sources=("web", "floor", "staff", "web", "staff"),
    methods=(("card", "bank_transfer", "bank_transfer"), ("bank_transfer", "bank_transfer", "other", "")),
    statement_share=0.1,
    updated_days=90,
    verified_after=timedelta(days=1),
)
STATEMENT = "We stand with the survivors of trafficking."


@dataclass(frozen=True)
class PledgeDraw:
    """A data set's pledges drawn with `rng` after `mix`: from `donors`
    donors (donor_of), in `campaign` and its `sessions`, as of `today` and
    `now` (see pledge)."""

    rng: random.Random
    mix: PledgeMix
    donors: int
    campaign: object
    sessions: list
    today: date
    now: datetime

    def __call__(self, pid: int, *, status: str, currency: str, amount: Decimal, pledged_on: date):
        """Pledge `pid` with the status, currency, amount and date its script
        drew (each draws them its own way and order), and the rest drawn
        here, in this order, so that a seed gives the rows it always gave:
        the second of its day, the source, the payment method, the days to
        confirmation (a firm pledge), the donor, the session (from the
        floor), the earmark, the consents to name the donor and the amount,
        the statement and the last update."""
        rng, mix = self.rng, self.mix
        second = rng.randint(0, 86_399)
        source = "web" if status == "submitted" else rng.choice(mix.sources)
        if mix.methods is None:
            method = "bank_transfer"
        else:
            method = rng.choice(mix.methods[0] if source == "web" else mix.methods[1])
        return pledge(
            pid,
            status=status,
            amount=amount,
            currency=currency,
            confirm_days=rng.randint(0, 60) if status in FIRM else None,
            donor_id=donor_of(self.donors, rng.random()),
            campaign=self.campaign,
            session=rng.choice(self.sessions) if source == "floor" and self.sessions else None,
            source=source,
            payment_method=method,
            pledged_on=pledged_on,
            earmark=rng.choice(EARMARKS),
            public_name=rng.random() < 0.7,
            public_amount=rng.random() < 0.6,
            statement=STATEMENT if mix.statement_share and rng.random() < mix.statement_share else "",
            second=second,
            updated_after=None if mix.updated_days is None else timedelta(days=rng.randint(0, mix.updated_days)),
            verified_after=mix.verified_after,
            today=self.today,
            now=self.now,
        )


def instalment_plan(pledge, count: int, first_id: int) -> list:
    """The pledge's amount in `count` instalments (ids from `first_id`), due
    30 days after its date and every 180 days after that, the last taking
    what rounding leaves; none when it is too small to split (a tiny JPY
    amount), as the donor then pays in one go."""
    from datetime import timedelta

    from pledges.models import Instalment
    from pledges.money import minor_unit

    amount = pledge.amount
    share = (amount / count).quantize(minor_unit(pledge.currency), rounding=ROUND_HALF_UP)
    if share * (count - 1) >= amount:
        return []
    return [
        row(
            Instalment,
            id=first_id + k,
            pledge_id=pledge.id,
            due_date=pledge.pledged_on + timedelta(days=30 + 180 * k),
            amount=share if k < count - 1 else amount - share * (count - 1),
        )
        for k in range(count)
    ]


def payment(pledge_id: int, part: Decimal, *, currency: str, rate: Decimal, method: str, **fields):
    """A payment of `part` on a pledge, its USD amount and (by card) the
    2.9% fee derived as the services derive them, rounded half-up: what
    every data set's payments are made of. `fields` gives the rest
    (received_on, external_reference, created_at, id)."""
    from pledges.models import Payment
    from pledges.money import minor_unit

    fee = (part * Decimal("0.029")).quantize(minor_unit(currency), rounding=ROUND_HALF_UP) if method == "card" else 0
    return row(
        Payment,
        pledge_id=pledge_id,
        method=method,
        amount=part,
        currency=currency,
        amount_applied=part,
        amount_usd=(part / rate).quantize(CENT, rounding=ROUND_HALF_UP),
        usd_rate=rate,
        fee=fee,
        fee_usd=(Decimal(fee) / rate).quantize(CENT, rounding=ROUND_HALF_UP),
        bank_account=BANK_ACCOUNT if method == "bank_transfer" else "",
        **fields,
    )


def pay_in_parts(pledge, parts: list[Decimal], *, method: str, today: date, hour: int | None = None) -> list:
    """The payments of `parts` on a pledge, received 20 days after its date
    and every 180 days after that (never after `today`), recorded at
    midnight or from `hour` o'clock on; and the pledge's paid, received
    and fee amounts set to their sums, as the services keep them."""
    from datetime import UTC, datetime, timedelta

    method = method if method in ("card", "bank_transfer", "other") else "bank_transfer"
    payments = []
    for k, part in enumerate(parts):
        received_on = min(today, pledge.pledged_on + timedelta(days=20 + 180 * k))
        recorded = datetime.combine(received_on, datetime.min.time(), tzinfo=UTC)
        payments.append(
            payment(
                pledge.id,
                part,
                currency=pledge.currency,
                rate=pledge.usd_rate,
                method=method,
                received_on=received_on,
                external_reference=f"pi_bench{pledge.id}x{k}" if method == "card" else f"BENCH-{pledge.id}-{k}",
                created_at=recorded if hour is None else recorded + timedelta(hours=hour + k),
            )
        )
    pledge.amount_paid = sum(parts, Decimal(0))
    pledge.amount_received_usd = sum((made.amount_usd for made in payments), Decimal(0))
    pledge.fees_usd = sum((made.fee_usd for made in payments), Decimal(0))
    return payments


def truncate(models) -> None:
    """Empty these tables. TRUNCATE fires no row trigger, so the append-only
    audit trail can go too (it refuses row deletes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in models)} RESTART IDENTITY CASCADE")


def after_load(models) -> None:
    """Sequences past the ids the load wrote, and the planner's statistics fresh."""
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
        for model in models:
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def traced(fn: Callable[[], object]) -> int:
    """Peak of Python allocations (tracemalloc) during one call."""
    import gc

    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def emit(args: argparse.Namespace, report: str, json_fields: dict | None = None) -> None:
    """The script's table to stdout, and to --markdown and --json when asked."""
    if json_fields is not None and getattr(args, "json", None):
        from results import write_json  # bench/results.py

        write_json(args.json, **json_fields)
    print(report, flush=True)
    if args.markdown:
        args.markdown.write_text(report + "\n")


# --- The in-process profile of a row that misses its target ------------------------------------

PROFILE_TOP = 12  # functions by cumulative time, wherever they are
PROFILE_OURS = 8  # and those of our own code
OUR_PACKAGES = ("pledges", "reports", "backend")
PROFILE_THROUGH = 0.9  # functions with this share or more are left out: every call passes through them


def _where(filename: str) -> str:
    """Our code by its path in the project, a library by its path in
    site-packages, the standard library by its path there."""
    if filename.startswith(("~", "<")):
        return "built-in"  # C functions (cProfile files them under "~") and generated code
    parts = Path(filename).parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :])
    path = Path(filename).resolve()
    if path.is_relative_to(ROOT):
        return str(path.relative_to(ROOT))
    stdlib = [i for i, part in enumerate(parts) if re.fullmatch(r"python3\.\d+", part)]
    return "stdlib " + "/".join(parts[stdlib[-1] + 1 :]) if stdlib else filename


def _package(where: str) -> str:
    if where.startswith("stdlib "):
        return "Python's standard library"
    if where == "built-in":
        return "built-in (C) functions"
    return where.split("/")[0].removesuffix(".py")


def profile(fn: Callable[[], object], calls: int, what: str, between: Callable[[], object] | None = None) -> dict:
    """cProfile `calls` calls of `fn` in this process (`between` runs after
    each, unprofiled: the undoing of what it wrote). Returns the top
    functions by cumulative time and the self time by package, each as a
    share of the whole, for bench/table.py to print under a missed row."""
    profiler = cProfile.Profile()
    wall = 0.0
    for _ in range(calls):
        started = time.perf_counter()
        profiler.enable()
        try:
            fn()
        finally:
            profiler.disable()
            wall += time.perf_counter() - started
        if between:
            between()
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    total = sum(tottime for _, _, tottime, _, _ in stats.values()) or 1e-9
    top = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)
    functions, ours = [], []
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in top:
        harness = filename.startswith(str(ROOT / "bench")) or "_lsprof" in name
        if harness or cumtime >= total * PROFILE_THROUGH:
            continue  # the harness, and the dispatch every call goes through: they say nothing of where
        where = _where(filename)
        row = {
            "function": f"{where}:{line} {name}" if line else name,
            "cumulative": cumtime / total,
            "own": tottime / total,
            "calls": ncalls,
        }
        if len(functions) < PROFILE_TOP:
            functions.append(row)
        if len(ours) < PROFILE_OURS and where.split("/")[0] in OUR_PACKAGES:
            ours.append(row)
    packages: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.items():
        if not filename.startswith(str(ROOT / "bench")):
            packages[_package(_where(filename))] += tottime / total
    by_package = sorted(packages.items(), key=lambda item: item[1], reverse=True)[:8]
    return {
        "what": what,
        "calls": calls,
        "seconds": wall,
        "functions": functions,
        "ours": ours,
        "packages": [{"package": name, "own": share} for name, share in by_package],
    }
