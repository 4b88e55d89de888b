"""Throughput of bank-statement reconciliation: parsing, import and matching.

    .venv/bin/python bench/reconciliation.py                  # 100,000 lines against 1,000,000 pledges
    .venv/bin/python bench/reconciliation.py --size small     # 10,000 lines against 100,000 pledges

Runs against the local PostgreSQL, in a database of its own (`vtf_bench_recon`,
or `vtf_bench_recon_small` for the small size), and Redis database 9, never
against the development, test or `bench/run.py` databases. The pledges are
bulk-loaded with COPY the first time and reused while their number matches.
The statement (camt.053.001.08, and the same lines as CSV) is generated for
each run into a temporary directory. Every figure is printed next to a
baseline measured in the same run, in the same rounds. See bench/README.md.
"""

import argparse
import csv
import gc
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import BANK_ACCOUNT as ACCOUNT
from common import CAMPAIGN, CENT, COUNTRIES, FIRST_DAY, RATES, ROOT, log

REDIS_URL = common.redis_url(9)
SNAPSHOT_TABLE = "bench_recon_snapshot"  # money fields of the pledges a match run may change
HELD = "bench: held out of this matching run (--match-lines)"
SIZES = {
    # size: (pledges, statement lines, database, repetitions of parse/import, of matching, lines matched)
    "big": (1_000_000, 100_000, "vtf_bench_recon", 3, 1, 2_000),
    "small": (100_000, 10_000, "vtf_bench_recon_small", 5, 2, 2_000),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", choices=SIZES, default="big", help="big: 100,000 lines vs 1,000,000 pledges (default)"
    )
    parser.add_argument("--pledges", type=int, help="pledges in the data set (default from --size)")
    parser.add_argument("--lines", type=int, help="lines in the statement (default from --size)")
    parser.add_argument("--db-name", help="PostgreSQL database (default from --size; must contain 'bench')")
    parser.add_argument("--reps", type=int, help="repetitions of parsing and import (default 3 big, 5 small)")
    parser.add_argument("--match-reps", type=int, help="repetitions of matching (default 1 big, 2 small)")
    parser.add_argument(
        "--match-lines",
        type=int,
        help="match only the first N credit lines of the stored statement, 0 for all "
        "(default 2000, one batch of statement_match: all 100,000 lines take hours at 1,000,000 pledges)",
    )
    parser.add_argument("--load-only", action="store_true", help="load (or check) the data set, measure nothing")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs (peak MiB)")
    parser.add_argument(
        "--profile-lines", type=int, default=0, help="also cProfile the import of this many lines into the JSON (0)"
    )
    parser.add_argument(
        "--profile-match", action="store_true", help="also cProfile one statement_match of the same lines into the JSON"
    )
    parser.add_argument("--reload", action="store_true", help="load the data set again even if its size matches")
    parser.add_argument("--seed", type=int, default=2012, help="random seed of the data set and statement")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    parser.add_argument("--json", type=Path, help="also write the results as JSON (for bench/table.py)")
    args = parser.parse_args()
    pledges, lines, db_name, reps, match_reps, match_lines = SIZES[args.size]
    args.pledges = args.pledges or pledges
    args.lines = args.lines or lines
    args.db_name = args.db_name or db_name
    args.reps = args.reps or reps
    args.match_reps = args.match_reps or match_reps
    args.match_lines = match_lines if args.match_lines is None else args.match_lines
    if args.pledges < 10_000:
        parser.error("--pledges must be at least 10000")
    if not 100 <= args.lines <= args.pledges // 5:
        parser.error("--lines must be at least 100 and at most a fifth of --pledges")
    if not (1 <= args.reps <= 20 and 1 <= args.match_reps <= 10 and args.match_lines >= 0):
        parser.error("--reps is 1 to 20, --match-reps 1 to 10, --match-lines 0 or more")
    common.check_db_name(parser, args.db_name)
    return args


def configure(args: argparse.Namespace) -> None:
    # statement_import queues statement_match after commit. With an
    # in-memory broker and no eager mode the message is published to this
    # process's memory and never consumed, so import and matching are timed
    # apart (checked after each import).
    env = {
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PLEDGE_THROTTLE_RATE": "1000000/minute",
    }
    common.configure(args.db_name, REDIS_URL, env)


# --- Names -------------------------------------------------------------------------


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


FIRST_NAMES = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Maria Anna Hans Ingrid Lars Astrid Pierre Claire Jean Sophie Marco Giulia "
    "Luca Chiara Carlos Lucia Javier Carmen Miguel Elena Ahmed Fatima Omar Aisha Yusuf Leila Hiroshi Yuki Kenji "
    "Sakura Wei Li Ming Mei Raj Priya Arjun Ananya Olga Ivan Natasha Dmitri Kwame Ama Chinedu Ngozi Thabo Zanele "
    "Mateus Beatriz Tomasz Agnieszka Jan Eva Mikko Aino Sven Karin Erik Helga Pedro Ines Nikos Eleni Mehmet Ayse "
    "Daniel Laura Paul Julia Peter Monika Stefan Sabine Andreas Petra Martin Katarina Jonas Emma Noah Olivia Liam "
    "Ava Lucas Mia Felix Clara Oscar Alice Hugo Louise Arthur Rose Leo Zoe Samuel Nora Adam Hannah Elias Lea"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann "
    "Dubois Durand Lefebvre Moreau Laurent Simon Michel Rossi Russo Ferrari Esposito Bianchi Romano Colombo "
    "Fernandez Gomez Diaz Alvarez Romero Navarro Silva Santos Oliveira Souza Pereira Costa Hansen Johansen Olsen "
    "Larsen Andersen Nilsson Lindqvist Eriksson Virtanen Korhonen Kowalski Nowak Wisniewski Novak Horvat Ivanov "
    "Petrov Smirnov Yilmaz Kaya Demir Tanaka Suzuki Takahashi Watanabe Ito Yamamoto Nakamura Kim Park Choi Wang "
    "Zhang Liu Chen Yang Huang Zhao Patel Sharma Singh Kumar Gupta Khan Ali Hassan Hussein Mensah Okafor Adeyemi "
    "Nkosi Dlamini Mwangi Otieno Haddad Nasser Cohen Levi Murphy Kelly OBrien Walsh Byrne Ryan Jensen Christensen "
    "Van Dijk De Jong Bakker Visser Janssen Peeters Maes Jacobs Mertens Keller Huber Gruber Steiner Moser Brunner"
)
COUNTRY_NAMES = _words(
    "Norway|Sweden|Denmark|Finland|Iceland|Germany|France|Italy|Spain|Portugal|the Netherlands|Belgium|Luxembourg|"
    "Austria|Switzerland|Liechtenstein|Monaco|Andorra|Poland|Czechia|Slovakia|Hungary|Romania|Bulgaria|Greece|"
    "Cyprus|Malta|Croatia|Slovenia|Serbia|Albania|Belarus|Ukraine|Kazakhstan|Turkey|Israel|Egypt|Morocco|Tunisia|"
    "Nigeria|Ghana|Kenya|South Africa|Ethiopia|Qatar|Kuwait|Saudi Arabia|the United Arab Emirates|Bahrain|Oman|"
    "Japan|the Republic of Korea|China|India|Indonesia|Thailand|the Philippines|Australia|New Zealand|Canada|"
    "the United States of America|Mexico|Brazil|Argentina|Chile|Colombia|Peru|the Holy See|Ireland|Estonia",
    "|",
)
STATE_FORMS = ("Government of", "Ministry of Foreign Affairs of", "Permanent Mission of", "Embassy of")
INDUSTRIES = _words(
    "Logistics Consulting Textiles Shipping Energy Foods Pharma Software Hotels Airlines Mining Retail Insurance "
    "Media Telecom Chemicals Apparel Fisheries Construction Finance"
)
COMPANY_FORMS = ("Ltd", "GmbH", "AG", "SA", "Inc", "LLC", "plc", "S.p.A.", "BV", "AS", "AB", "Oy", "& Co", "KK")
CITIES = _words(
    "Vienna Geneva Oslo Stockholm Berlin Paris Rome Madrid Lisbon Amsterdam Brussels Warsaw Prague Budapest Athens "
    "Cairo Lagos Accra Nairobi Doha Tokyo Seoul Manila Sydney Toronto Chicago Boston Denver Austin Lima Bogota"
)
CIVIL_FORMS = (
    "{city} Anti-Trafficking Network",
    "Friends of the Survivors {city}",
    "{last} Solidarity Association",
    "{city} Women's Shelter Association",
    "Rotary Club of {city}",
    "{city} Lions Club",
)
FOUNDATION_FORMS = ("{last} Family Foundation", "The {last} Foundation", "{city} Community Foundation")
INTERGOVERNMENTAL = (
    "European Union",
    "European Commission DG HOME",
    "Organization for Security and Co-operation in Europe",
    "Council of Europe",
    "African Union Commission",
    "Organization of American States",
)
UN_ENTITIES = ("UNODC", "UN Women", "UNICEF", "IOM", "UNHCR", "UNDP")
# People and firms that are nobody's donor: the unknown lines.
UNKNOWN_NAMES = (
    "PAYPAL EUROPE SARL",
    "STRIPE PAYMENTS UK",
    "WISE PAYMENTS LTD",
    "UNKNOWN REMITTER",
    "REFUND DESK",
    "CLEARING ACCOUNT",
    "ZENITH PROPERTY MGMT",
    "ORBITAL CATERING",
    "NORTHWIND TRADERS",
    "CONTOSO HOLDINGS",
)
UNKNOWN_FIRST = _words("Quentin Ottilie Ezequiel Perpetua Radomir Svanhild Bartholomew Wilhelmina Ignatius Clementine")
UNKNOWN_LAST = _words("Quisenberry Oberholtzer Zwanziger Featherstonehaugh Vanderpump Kowalczykowski Ramsbottom")
GRANTEES = (
    "La Strada International",
    "Casa Alianza",
    "Anti-Slavery International",
    "Free the Slaves",
    "ECPAT International",
    "Hagar International",
)


def donor_name(rng: random.Random, donor_type: str) -> str:
    if donor_type in ("member_state", "observer_state"):
        return f"{rng.choice(STATE_FORMS)} {rng.choice(COUNTRY_NAMES)}"
    if donor_type == "intergovernmental":
        return rng.choice(INTERGOVERNMENTAL)
    if donor_type == "un_entity":
        return rng.choice(UN_ENTITIES)
    if donor_type == "private_sector":
        return f"{rng.choice(LAST_NAMES)} {rng.choice(INDUSTRIES)} {rng.choice(COMPANY_FORMS)}"
    if donor_type == "foundation":
        return rng.choice(FOUNDATION_FORMS).format(last=rng.choice(LAST_NAMES), city=rng.choice(CITIES))
    if donor_type == "civil_society":
        return rng.choice(CIVIL_FORMS).format(last=rng.choice(LAST_NAMES), city=rng.choice(CITIES))
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def debtor_like(rng: random.Random, name: str) -> str:
    """How a bank writes a donor's name as the debtor: upper case, a title,
    the family name first, a typo, cut at 35 characters (SWIFT MT103)."""
    words = name.split()
    roll = rng.random()
    if roll < 0.15 and len(words) == 2:
        words = [f"{rng.choice(('MR', 'MRS', 'MS', 'DR'))}", *words]
    elif roll < 0.30 and len(words) == 2:
        words = [words[1] + ",", words[0]]
    elif roll < 0.42:
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        word = words[longest]
        if len(word) > 4:
            at = rng.randrange(1, len(word) - 2)
            words[longest] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    text = " ".join(words)
    return (text.upper() if rng.random() < 0.7 else text)[:35]


# --- The data set ----------------------------------------------------------------------

# bench/common.py's mix with these differences: a little more EUR, less SEK;
CURRENCY_WEIGHTS = {**common.CURRENCY_WEIGHTS, "EUR": 20, "SEK": 4}
# most pledges open, as a statement is matched against what is still owed
# (confirmed 45 against 22, paid 17 against 38; only "submitted" is as there);
STATUS_WEIGHTS = {
    **common.STATUS_WEIGHTS,
    "announced": 12,
    "confirmed": 45,
    "partially_paid": 13,
    "paid": 17,
    "cancelled": 4,
    "lapsed": 4,
}
# a quarter of the pledges past "submitted" from the web (there two fifths), all
# paid by bank transfer, none with a statement or updated, verified sooner.
MIX = common.PledgeMix(
    sources=("web", "floor", "staff", "staff"),
    methods=None,
    statement_share=0,
    updated_days=None,
    verified_after=timedelta(hours=2),
)
OPEN = ("submitted", "announced", "confirmed", "partially_paid")
# A donor mix of its own: more individuals than common's.
DONOR_TYPE_WEIGHTS = {
    "member_state": 3,
    "observer_state": 0.2,
    "intergovernmental": 0.4,
    "un_entity": 0.4,
    "private_sector": 12,
    "foundation": 6,
    "civil_society": 8,
    "individual": 70,
}
LOAD_BATCH = 20_000


def _round_significant(amount: Decimal, digits: int) -> Decimal:
    """5,234.17 -> 5,200: people pledge round sums."""
    exponent = amount.adjusted() - digits + 1
    return amount.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)


def dataset_size() -> int:
    from pledges.models import Pledge

    return Pledge.objects.count()


def dataset_reset() -> None:
    """Empty every table the data set and earlier runs wrote."""
    from pledges.models import (
        AuditEvent,
        BankStatement,
        Donor,
        ExchangeRate,
        IdempotencyRecord,
        Instalment,
        LineMatch,
        Payment,
        Pledge,
        StatementLine,
    )

    snapshot_drop()
    common.truncate(
        (LineMatch, StatementLine, BankStatement, Payment, Instalment, AuditEvent, IdempotencyRecord, Pledge, Donor,
         ExchangeRate)
    )  # fmt: skip


def dataset_load(n_pledges: int, seed: int) -> float:
    """Donors with generated names, pledges (most open) in several
    currencies, ~25% of them in 2-4 instalments, one payment on what was
    paid, and the derived amounts consistent with those payments."""
    from django.db import connection, transaction
    from django.utils import timezone

    from pledges.models import Campaign, Donor, EventSession, ExchangeRate, Instalment, Payment, Pledge
    from pledges.money import minor_unit

    rng = random.Random(seed)
    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    campaign = Campaign.objects.get(slug=CAMPAIGN)
    sessions = list(EventSession.objects.filter(event__campaign=campaign))
    units = {code: minor_unit(code) for code in CURRENCY_WEIGHTS}

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
        common.copy_rows(ExchangeRate, common.exchange_rates())
        n_donors = max(100, n_pledges // 4)
        donor_types = common.choices(rng, DONOR_TYPE_WEIGHTS, n_donors)
        for start in range(1, n_donors + 1, LOAD_BATCH):
            batch = []
            for i in range(start, min(start + LOAD_BATCH, n_donors + 1)):
                donor_type = donor_types[i - 1]
                batch.append(
                    common.row(
                        Donor,
                        id=i,
                        name=donor_name(rng, donor_type),
                        donor_type=donor_type,
                        country="" if donor_type in ("intergovernmental", "un_entity") else rng.choice(COUNTRIES),
                        email=f"donor{i}@example.org",
                        language=rng.choice(["en", "fr", "es", ""]),
                        created_at=now - timedelta(days=rng.randint(0, 5000)),
                    )
                )
            common.copy_rows(Donor, batch)
        log(f"  donors {n_donors:>9,} ({time.perf_counter() - started:5.1f} s)")

        span_days = (today - FIRST_DAY).days
        draw = common.PledgeDraw(rng, MIX, n_donors, campaign, sessions, today, now)
        statuses = common.choices(rng, STATUS_WEIGHTS, n_pledges)
        currencies = common.choices(rng, CURRENCY_WEIGHTS, n_pledges)
        instalment_id = payment_id = 0
        for batch_start in range(1, n_pledges + 1, LOAD_BATCH):
            batch_end = min(batch_start + LOAD_BATCH, n_pledges + 1)
            pledges, instalments, payments = [], [], []
            for pid in range(batch_start, batch_end):
                status = statuses[pid - 1]
                currency = currencies[pid - 1]
                currency = common.currency_for(status, currency)
                rate = common.USD_RATES.get(currency)
                unit = units[currency]
                usd_size = Decimal(min(5e7, max(10.0, rng.lognormvariate(7.5, 1.9)))).quantize(CENT)
                amount = usd_size * (rate or Decimal("10.5"))
                if rng.random() < 0.4:
                    amount = _round_significant(amount, 2)
                amount = amount.quantize(unit, rounding=ROUND_HALF_UP)
                pledged_on = today - timedelta(days=int(span_days * rng.random() ** 2))
                pledge = draw(pid, status=status, currency=currency, amount=amount, pledged_on=pledged_on)

                # 25% of pledges are paid in 2-4 instalments.
                plan = (
                    common.instalment_plan(pledge, rng.randint(2, 4), instalment_id + 1) if rng.random() < 0.25 else []
                )
                instalment_id += len(plan)
                instalments.extend(plan)

                if status == "paid":
                    paid = amount
                elif status == "partially_paid" or (status == "lapsed" and rng.random() < 0.5):
                    if plan:  # the first instalments, as donors on a plan pay
                        paid = sum((i.amount for i in plan[: rng.randint(1, len(plan) - 1)]), Decimal(0))
                    else:
                        paid = (amount * Decimal(rng.uniform(0.1, 0.9))).quantize(unit, rounding=ROUND_HALF_UP)
                    if not 0 < paid < amount:
                        paid = Decimal(0)
                else:
                    paid = Decimal(0)
                if status == "partially_paid" and not paid:
                    pledge.status = "confirmed"  # too small to split: nothing paid yet
                if paid:
                    payment_id += 1
                    received_on = min(today, pledged_on + timedelta(days=rng.randint(20, 200)))
                    made = common.payment(
                        pid,
                        paid,
                        currency=currency,
                        rate=rate,
                        method="bank_transfer",
                        id=payment_id,
                        received_on=received_on,
                        external_reference=f"LOAD-{pid}",
                        created_at=datetime.combine(received_on, datetime.min.time(), tzinfo=UTC),
                    )
                    payments.append(made)
                    pledge.amount_received_usd = made.amount_usd
                pledge.amount_paid = paid
                pledges.append(pledge)

            common.copy_rows(Pledge, pledges)
            common.copy_rows(Instalment, instalments)
            common.copy_rows(Payment, payments)
            if (batch_end - 1) % 100_000 == 0 or batch_end > n_pledges:
                log(
                    f"  pledges {batch_end - 1:>9,}/{n_pledges:,} ({instalment_id:,} instalments, "
                    f"{payment_id:,} payments, {time.perf_counter() - started:5.1f} s)"
                )
    log(f"  committed ({time.perf_counter() - started:5.1f} s); VACUUM ANALYZE")
    common.after_load([Donor, Pledge, Instalment, Payment, ExchangeRate])
    elapsed = time.perf_counter() - started
    log(f"  loaded in {elapsed:.1f} s")
    return elapsed


def reconciliation_reset() -> None:
    """Undo what imports and matching wrote: the pledges a match run paid
    get their money fields back from the snapshot, the payments matching
    posted (their note starts "Statement ") go, and the statement tables
    and the audit trail are emptied. Also repairs a run that was stopped."""
    from django.db import connection, transaction

    from pledges.models import AuditEvent, BankStatement, LineMatch, Payment, Pledge, StatementLine

    pledge_table, payment_table = Pledge._meta.db_table, Payment._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [SNAPSHOT_TABLE])
        if cursor.fetchone()[0] is not None:
            cursor.execute(
                f"UPDATE {pledge_table} p SET status = s.status, amount_paid = s.amount_paid, "
                f"amount_received_usd = s.amount_received_usd, fees_usd = s.fees_usd, updated_at = s.updated_at "
                f"FROM {SNAPSHOT_TABLE} s WHERE p.id = s.id"
            )
        tables = [m._meta.db_table for m in (LineMatch, StatementLine, BankStatement, AuditEvent)]
        # CASCADE: the import jobs' link table refers to the statements.
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        cursor.execute(f"DELETE FROM {payment_table} WHERE note LIKE 'Statement %%'")


def snapshot_take(pledge_ids: list[int]) -> None:
    from django.db import connection

    from pledges.models import Pledge

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SNAPSHOT_TABLE}")
        cursor.execute(
            f"CREATE TABLE {SNAPSHOT_TABLE} AS SELECT id, status, amount_paid, amount_received_usd, fees_usd, "
            f"updated_at FROM {Pledge._meta.db_table} WHERE id = ANY(%s)",
            [pledge_ids],
        )


def snapshot_drop() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SNAPSHOT_TABLE}")


# --- The statement ------------------------------------------------------------------

KINDS = ("reference, CdtrRefInf", "reference, in Ustrd text", "donor name + amount", "unknown", "debit")
KIND_SHARES = (0.30, 0.30, 0.20, 0.15, 0.05)
NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


@dataclass
class Line:
    kind: str
    bank_reference: str
    direction: str  # "CRDT" / "DBIT"
    amount: Decimal
    currency: str
    charges: Decimal
    booked: date
    debtor: str
    ustrd: str
    creditor_reference: str
    pledge_id: int | None  # the pledge the line was made for
    reference: str  # that pledge's reference, on the lines that carry one


def _mangled_reference(rng: random.Random, reference: str) -> str:
    """A reference as people type it in free text."""
    from pledges.references import reference_for_print

    printed = reference_for_print(reference)
    roll = rng.random()
    if roll < 0.35:
        shown = printed.lower()
    elif roll < 0.55:
        shown = printed.replace(" ", "-")
    elif roll < 0.75:
        shown = reference.lower()
    elif roll < 0.9:
        shown = printed
    else:
        shown = reference[:2] + " " + reference[2:]
    before = rng.choice(("Pledge", "VTF contribution", "Payment ref", "UN Trust Fund", "contribution ref:", "/RFB/"))
    after = rng.choice(("", "", "thank you", "instalment", "2ND TRANCHE", "/INV/2291"))
    return f"{before} {shown} {after}".strip()


def _fmt(amount: Decimal, currency: str) -> str:
    from pledges.money import format_amount

    return format_amount(amount, currency)


def statement_lines(n_lines: int, n_pledges: int, seed: int) -> list[Line]:
    """The statement's lines, generated from pledges sampled in the data set."""
    from django.db import connection
    from django.utils import timezone

    from pledges.money import minor_unit, round_to_currency

    rng = random.Random(seed + 1)
    today = timezone.localdate()
    counts = [round(n_lines * share) for share in KIND_SHARES]
    counts[3] += n_lines - sum(counts)
    n_ref, n_donor = counts[0] + counts[1], counts[2]
    # Donor lines need open pledges with nothing paid: draw enough to find them.
    sample = rng.sample(range(1, n_pledges + 1), n_ref + 3 * n_donor)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.reference, p.status, p.amount, p.amount_paid, p.currency, d.name "
            "FROM pledges_pledge p JOIN pledges_donor d ON d.id = p.donor_id WHERE p.id = ANY(%s)",
            [sample],
        )
        pledges = {row[0]: row for row in cursor.fetchall()}
        cursor.execute(
            "SELECT pledge_id, amount FROM pledges_instalment WHERE pledge_id = ANY(%s) ORDER BY pledge_id, due_date",
            [sample],
        )
        plans: dict[int, list[Decimal]] = {}
        for pledge_id, amount in cursor.fetchall():
            plans.setdefault(pledge_id, []).append(amount)

    lines: list[Line] = []
    number = 0

    def add(kind: str, **values) -> None:
        nonlocal number
        number += 1
        values.setdefault("charges", Decimal(0))
        values.setdefault("creditor_reference", "")
        values.setdefault("pledge_id", None)
        values.setdefault("reference", "")
        values.setdefault("direction", "CRDT")
        lines.append(
            Line(
                kind=kind,
                bank_reference=f"B{seed}R{number:08d}",
                booked=today - timedelta(days=rng.randint(0, 27)),
                **values,
            )
        )

    # 1. A pledge's reference, half structured, half typed in the free text.
    for index, pid in enumerate(sample[:n_ref]):
        _, reference, status, amount, paid, currency, name = pledges[pid]
        kind = KINDS[0] if index < counts[0] else KINDS[1]
        outstanding = amount - paid
        due = outstanding
        plan = plans.get(pid)
        if plan and status in OPEN and rng.random() < 0.6:
            running, left = Decimal(0), paid  # the next unpaid instalment
            for part in plan:
                taken = min(left, part)
                left -= taken
                if part - taken > 0:
                    due = part - taken
                    break
                running += part
        charges = Decimal(0)
        roll = rng.random()
        send_currency = currency
        if status not in OPEN or due <= 0:
            due = amount  # money for a pledge already paid or closed
        elif roll < 0.12:
            due = round_to_currency(due * Decimal(rng.uniform(0.3, 0.9)), currency) or due  # a part only
        elif roll < 0.27:
            fee = Decimal(rng.choice((10, 15, 25, 35))) * Decimal(RATES.get(currency, 1))
            charges = round_to_currency(fee, currency)
            if charges * 4 < due:
                due -= charges  # what arrives is net of the sender's bank charges
            else:
                charges = Decimal(0)
        elif roll < 0.32 and currency not in ("USD", "SEK") and due / Decimal(RATES[currency]) >= 1:
            send_currency = "USD"  # sent in dollars: converted at the value date's rate
            due = round_to_currency(due / Decimal(RATES[currency]), "USD")
        add(
            kind,
            amount=due,
            currency=send_currency,
            charges=charges,
            debtor=debtor_like(rng, name),
            ustrd=_mangled_reference(rng, reference) if kind == KINDS[1] else rng.choice(("Contribution", "", "VTF")),
            creditor_reference=reference if kind == KINDS[0] else "",
            pledge_id=pid,
            reference=reference,
        )

    # 2. No reference: a debtor named like the donor, the amount of the pledge or an instalment.
    wanted = n_donor
    for pid in sample[n_ref:]:
        if wanted == 0:
            break
        _, reference, status, amount, paid, currency, name = pledges[pid]
        if status not in ("submitted", "announced", "confirmed") or paid:
            continue
        plan = plans.get(pid)
        add(
            KINDS[2],
            amount=plan[0] if plan and rng.random() < 0.5 else amount,
            currency=currency,
            debtor=debtor_like(rng, name),
            ustrd=rng.choice(("Donation", "Contribution 2026", "", "Spende", "Don", "Pledge payment")),
            pledge_id=pid,
        )
        wanted -= 1
    if wanted:
        raise RuntimeError(f"found too few open unpaid pledges for the donor lines ({wanted} missing)")

    # 3. Nobody's: names no donor has, any amount.
    currencies = common.choices(rng, CURRENCY_WEIGHTS, counts[3])
    for currency in currencies:
        if rng.random() < 0.5:
            name = rng.choice(UNKNOWN_NAMES)
        else:
            name = f"{rng.choice(UNKNOWN_FIRST)} {rng.choice(UNKNOWN_LAST)}".upper()
        usd = Decimal(min(1e6, max(5.0, rng.lognormvariate(6, 1.5))))
        amount = (usd * Decimal(RATES.get(currency, "10.5"))).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
        add(
            KINDS[3],
            amount=amount,
            currency=currency,
            debtor=name if rng.random() < 0.9 else "",
            ustrd=rng.choice(("Refund", "Transfer", f"INV-{rng.randint(1000, 99999)}", "Salary", "")),
        )

    # 4. Money going out.
    for _ in range(counts[4]):
        add(
            KINDS[4],
            direction="DBIT",
            amount=Decimal(rng.randint(500, 250_000)),
            currency="USD",
            debtor=rng.choice(GRANTEES),
            ustrd=f"Grant VTF-G-{rng.randint(2020, 2026)}-{rng.randint(1, 99):02d} tranche",
        )
    rng.shuffle(lines)
    return lines


def write_camt053(path: Path, lines: list[Line], statement_id: str) -> None:
    """One camt.053.001.08 statement, written entry by entry."""
    opened = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NAMESPACE}">\n<BkToCstmrStmt>\n'
            f"<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{opened}</CreDtTm></GrpHdr>\n"
            f"<Stmt><Id>{statement_id}</Id><CreDtTm>{opened}</CreDtTm>\n"
            f"<Acct><Id><Othr><Id>{ACCOUNT}</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id><Ccy>USD</Ccy></Acct>\n"
        )
        for line in lines:
            amount = f'<Amt Ccy="{line.currency}">{_fmt(line.amount, line.currency)}</Amt>'
            day = line.booked.isoformat()
            party = "Dbtr" if line.direction == "CRDT" else "Cdtr"
            parts = [
                f"<Ntry><NtryRef>{line.bank_reference[-8:]}</NtryRef>{amount}<CdtDbtInd>{line.direction}</CdtDbtInd>"
                f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
                f"<AcctSvcrRef>{line.bank_reference}</AcctSvcrRef>"
                f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{'RCDT' if line.direction == 'CRDT' else 'ICDT'}</Cd>"
                f"<SubFmlyCd>XBCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            ]
            if line.charges:
                parts.append(
                    f'<Chrgs><Rcrd><Amt Ccy="{line.currency}">{_fmt(line.charges, line.currency)}</Amt>'
                    f"<CdtDbtInd>DBIT</CdtDbtInd><ChrgInclInd>true</ChrgInclInd><Tp><Cd>COMM</Cd></Tp></Rcrd></Chrgs>"
                )
            parts.append(
                f"<NtryDtls><TxDtls><Refs><EndToEndId>E2E-{line.bank_reference}</EndToEndId></Refs>{amount}"
                f"<CdtDbtInd>{line.direction}</CdtDbtInd>"
            )
            if line.debtor:
                parts.append(f"<RltdPties><{party}><Pty><Nm>{escape(line.debtor)}</Nm></Pty></{party}></RltdPties>")
            if line.ustrd or line.creditor_reference:
                parts.append("<RmtInf>")
                if line.ustrd:
                    parts.append(f"<Ustrd>{escape(line.ustrd)}</Ustrd>")
                if line.creditor_reference:
                    parts.append(
                        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                        f"<Ref>{line.creditor_reference}</Ref></CdtrRefInf></Strd>"
                    )
                parts.append("</RmtInf>")
            parts.append("</TxDtls></NtryDtls></Ntry>\n")
            out.write("".join(parts))
        out.write("</Stmt>\n</BkToCstmrStmt>\n</Document>\n")


def _csv_amount(amount: Decimal, currency: str) -> str:
    """The CSV reader refuses "63.386" in a three-decimal currency (KWD) as
    ambiguous (a thousands separator, or a decimal point?), so such an
    amount is written with a fourth, zero, decimal, which it reads."""
    text = _fmt(amount, currency)
    if re.fullmatch(r"[1-9][0-9]{0,2}\.[0-9]{3}", text):
        text += "0"
    return text


def write_csv(path: Path, lines: list[Line]) -> None:
    """The lines as CSV, under the column names the CSV reader knows by default."""
    from pledges.reconciliation.csv_statement import COLUMNS

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for line in lines:
            day = line.booked.isoformat()
            writer.writerow(
                {
                    "booking_date": day,
                    "value_date": day,
                    "amount": _csv_amount(line.amount, line.currency),
                    "currency": line.currency,
                    "direction": "C" if line.direction == "CRDT" else "D",
                    "bank_reference": line.bank_reference,
                    "debtor_name": line.debtor,
                    "remittance": line.ustrd,
                    "creditor_reference": line.creditor_reference,
                    "charges": _csv_amount(line.charges, line.currency) if line.charges else "",
                }
            )


# --- Measuring ----------------------------------------------------------------------


@dataclass
class Op:
    label: str
    fn: Callable[[], int]  # returns the number of lines it handled
    key: str | None = None  # set on a baseline
    baseline: str | tuple[str, ...] | None = None  # the key(s) of the baseline(s) it is compared with
    after: Callable[[bool], object] | None = None  # untimed, after each call; gets "is this the last call"
    seconds: list[float] = field(default_factory=list)
    handled: int = 0
    peak_bytes: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(name: str, ops: list[Op], reps: int) -> None:
    """Call each operation once per round, `reps` rounds, interleaved with
    the group's baseline, so outside load slows them alike."""
    for rep in range(reps):
        for op in ops:
            gc.collect()
            started = time.perf_counter()
            op.handled = op.fn()
            op.seconds.append(time.perf_counter() - started)
            if op.after:
                op.after(rep == reps - 1)
        log(f"{name} round {rep + 1}/{reps}: " + ", ".join(f"{op.seconds[-1]:.2f} s" for op in ops))


traced = common.traced


class QueryCounter:
    """connection.execute_wrapper: counts the statements sent, by first word."""

    def __init__(self):
        self.counts: Counter = Counter()

    def __call__(self, execute, sql, params, many, context):
        self.counts[sql.lstrip()[:12].split(None, 1)[0].upper()] += 1
        return execute(sql, params, many, context)


class StageTimer:
    """Wall time spent in the stages of statement_match, by wrapping (for
    the bench only, restored on exit) the functions it calls per line.
    Functions the services module does not have (it changes) are skipped."""

    # (module, attribute path, label); the first is the outer stage, the others run inside it.
    STAGES = (
        ("pledges.reconciliation.services", "_batch_match", "a batch in its own transaction, all told"),
        ("pledges.reconciliation.matching", "propose_by_reference", "rule 1, reference"),
        ("pledges.reconciliation.matching", "donor_candidates_for", "rule 2's candidates for the batch (reads)"),
        ("pledges.reconciliation.matching", "donor_candidates", "rule 2 asked again for one line (reads)"),
        ("pledges.reconciliation.matching", "best_donor", "rule 2's name comparison (rapidfuzz)"),
        ("pledges.reconciliation.services", "_BatchWrites.__init__", "the batch's payment sums and posted payments"),
        ("pledges.reconciliation.services", "_BatchWrites.save", "writing the batch in bulk"),
    )

    def __init__(self):
        self.reset()
        self.present: list[str] = []

    def reset(self) -> None:
        self.seconds = Counter()
        self.calls = Counter()

    def _wrap(self, fn, label):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        return timed

    def __enter__(self):
        import importlib

        self._saved = []
        self.present = []
        for module_name, path, label in self.STAGES:
            module = importlib.import_module(module_name)
            *owners, name = path.split(".")
            for owner in owners:
                module = getattr(module, owner, None)
            original = getattr(module, name, None) if module is not None else None
            if original is None:
                continue
            self._saved.append((module, name, original))
            self.present.append(label)
            setattr(module, name, self._wrap(original, label))
        return self

    def __exit__(self, *exc) -> None:
        for module, name, original in self._saved:
            setattr(module, name, original)

    def summary(self, total: float) -> str:
        parts = [
            f"{label} {self.seconds[label]:.1f} s over {self.calls[label]:,} calls "
            f"({1000 * self.seconds[label] / max(1, self.calls[label]):.1f} ms each)"
            for label in self.present
        ]
        outer = self.STAGES[0][2]
        if outer in self.present:
            per_line = self.seconds[outer]
        else:
            per_line = sum(self.seconds[label] for _, _, label in self.STAGES[1:] if label in self.present)
        return (
            f"where statement_match's {total:.1f} s went: "
            + "; ".join(parts)
            + f"; outside the batches (claiming lines, counting, progress) {total - per_line:.1f} s"
        )


def run(args: argparse.Namespace) -> tuple[list[str], list[Op], list[str], list[str], dict]:
    import importlib

    import django

    django.setup()
    from xml.etree.ElementTree import iterparse as plain_iterparse

    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    from pledges.audit import Actor
    from pledges.models import BankStatement, StatementLine
    from pledges.reconciliation.camt053 import iter_camt053
    from pledges.reconciliation.csv_statement import iter_csv_statement
    from pledges.reconciliation.parsing import LineError
    from pledges.reconciliation.services import statement_import, statement_match

    # Imported here, untimed: the services import the tasks (and with them
    # the Stripe SDK, seconds of imports) on their first call only.
    importlib.import_module("pledges.tasks")
    assert not settings.CELERY_TASK_ALWAYS_EAGER and settings.CELERY_BROKER_URL.startswith("memory://")
    common.migrate_and_clear_cache()  # Redis DB 9 is this bench's own

    reconciliation_reset()
    size = dataset_size()
    load_seconds = None
    if size != args.pledges or args.reload:
        log(f"Loading {args.pledges:,} pledges (found {size:,})")
        dataset_reset()
        load_seconds = dataset_load(args.pledges, args.seed)
    else:
        log(f"Reusing the {size:,} pledges already loaded (--reload to start over)")
    if args.load_only:
        return header(args), [], [], [], {}

    notes: list[str] = []
    profiles: dict = {}
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vtf-bench-recon-") as tmp:
        started = time.perf_counter()
        statement_id = f"BENCH-RECON-{args.lines}-{args.seed}"
        lines = statement_lines(args.lines, args.pledges, args.seed)
        camt_path, csv_path = Path(tmp) / "statement.xml", Path(tmp) / "statement.csv"
        write_camt053(camt_path, lines, statement_id)
        write_csv(csv_path, lines)
        log(
            f"Statement of {len(lines):,} lines generated in {time.perf_counter() - started:.1f} s: "
            f"camt.053 {camt_path.stat().st_size / 2**20:.1f} MiB, CSV {csv_path.stat().st_size / 2**20:.1f} MiB"
        )
        notes.append(
            f"statement: {len(lines):,} lines, camt.053.001.08 {camt_path.stat().st_size / 2**20:.1f} MiB, "
            f"CSV {csv_path.stat().st_size / 2**20:.1f} MiB; "
            + ", ".join(f"{kind} {sum(1 for line in lines if line.kind == kind):,}" for kind in KINDS)
        )
        load_before = os.getloadavg()[0]
        phases["statement generated"] = time.perf_counter() - started

        # --- P: parsing alone --------------------------------------------------------------
        ntry_tag = f"{{{NAMESPACE}}}Ntry"

        def xml_scan() -> int:
            n = 0
            with camt_path.open("rb") as stream:
                for _, elem in plain_iterparse(stream, events=("end",)):  # noqa: S314 (our own generated file)
                    if elem.tag == ntry_tag:
                        n += 1
                        elem.clear()
            return n

        def camt_parse() -> int:
            with camt_path.open("rb") as stream:
                parsed = list_count(iter_camt053(stream))
            return parsed

        def csv_scan() -> int:
            with csv_path.open(newline="", encoding="utf-8") as stream:
                return sum(1 for _ in csv.reader(stream)) - 1

        def csv_parse() -> int:
            with csv_path.open("rb") as stream:
                return list_count(
                    iter_csv_statement(stream, statement_id="csv-bench", account=ACCOUNT, date_order="auto")
                )

        parsing = [
            Op("P: xml.etree iterparse, each Ntry counted and cleared (baseline P)", xml_scan, key="P"),
            Op("iter_camt053: camt.053.001.08 → StatementLine", camt_parse, baseline="P"),
            Op("Q: csv.reader over the file (baseline Q)", csv_scan, key="Q"),
            Op("iter_csv_statement: CSV → StatementLine", csv_parse, baseline="Q"),
        ]
        started = time.perf_counter()
        measure("Parsing", parsing, args.reps)
        phases["parsing"] = time.perf_counter() - started
        started = time.perf_counter()
        if not args.no_trace:
            for op in parsing:
                if not op.key:  # the baselines' peaks tell nothing
                    op.peak_bytes = traced(op.fn)
        phases["tracemalloc runs"] = time.perf_counter() - started

        # --- I: import (parse + store) --------------------------------------------------
        actor = Actor.system("bench")
        with csv_path.open("rb") as stream:
            parsed = [
                line
                for line in iter_csv_statement(stream, statement_id="copy-baseline", account=ACCOUNT)
                if not isinstance(line, LineError)
            ]
        copy_fields = [f for f in StatementLine._meta.concrete_fields if f.name != "id"]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in copy_fields)

        def copy_lines() -> int:
            """The least storing these lines takes: one statement row, then
            one COPY of the lines as already-parsed values."""
            statement = BankStatement.objects.create(
                statement_id="copy-baseline", account=ACCOUNT, file_format="csv", file_sha256="-"
            )
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {quote(StatementLine._meta.db_table)} ({columns}) FROM STDIN") as copy,
            ):
                now = datetime.now(UTC)
                for line in parsed:
                    credit = line.direction == "credit"
                    copy.write_row(
                        [
                            statement.pk,
                            line.position,
                            line.account,
                            line.bank_reference,
                            line.direction,
                            line.amount,
                            line.currency,
                            line.charges,
                            line.booking_date,
                            line.value_date,
                            line.debtor_name,
                            line.remittance,
                            line.creditor_reference,
                            "unmatched" if credit else "excluded",
                            "" if credit else "A debit: not money for the Fund.",
                            now,
                        ]
                    )
            return len(parsed)

        imported: dict[str, BankStatement] = {}

        def importer(path: Path, name: str) -> Callable[[], int]:
            def do_import() -> int:
                with path.open("rb") as stream:
                    statements = statement_import(stream=stream, filename=path.name, actor=actor, account=ACCOUNT)
                imported[name] = statements[0]
                return statements[0].line_count

            return do_import

        def check_queued(name: str) -> None:
            """Matching was queued, not run: it is timed apart below."""
            statement = BankStatement.objects.get(pk=imported[name].pk)
            touched = statement.lines.exclude(status__in=("unmatched", "excluded")).count()
            if statement.report.get("matching") != "queued" or touched:
                raise RuntimeError(f"matching ran inside the import ({statement.report}, {touched} lines touched)")

        def truncate(_last: bool = False) -> None:
            reconciliation_reset()

        def checked_truncate(name: str) -> Callable[[bool], None]:
            def after(_last: bool) -> None:
                check_queued(name)
                reconciliation_reset()

            return after

        camt_import = importer(camt_path, "camt")
        csv_import = importer(csv_path, "csv")
        imports = [
            Op("I: COPY of the parsed lines into the lines table (baseline I)", copy_lines, key="I", after=truncate),
            Op("statement_import, CSV (parse + store)", csv_import, baseline="I", after=checked_truncate("csv")),
            Op("statement_import, camt.053 (parse + store)", camt_import, baseline="I", after=checked_truncate("camt")),
        ]
        started = time.perf_counter()
        measure("Import", imports, args.reps)
        phases["import"] = time.perf_counter() - started
        started = time.perf_counter()
        # Once more, under tracemalloc (after the timed rounds, so that what
        # the first call imports lazily is not counted); the camt.053
        # statement imported last stays for matching.
        for op in imports[1:]:
            if args.no_trace:
                if op.fn is camt_import:
                    camt_import()
                continue
            op.peak_bytes = traced(op.fn)
            if op.fn is csv_import:
                check_queued("csv")
                reconciliation_reset()
        check_queued("camt")
        phases["tracemalloc runs"] += time.perf_counter() - started
        log(f"Traced runs: {phases['tracemalloc runs']:.1f} s")
        statement = BankStatement.objects.get(pk=imported["camt"].pk)
        notes.append(
            f"import: {statement.line_count:,} lines stored, report {dict(statement.report)}; "
            "matching queued to the in-memory broker and not run (checked after each import)"
        )

        # --- M: matching -------------------------------------------------------------------
        credit_lines = [line for line in lines if line.direction == "CRDT"]
        if args.match_lines and args.match_lines < len(credit_lines):
            credit_lines = credit_lines[: args.match_lines]
            lines_hold(statement, args.match_lines)
            notes.append(
                f"matching ran on the first {args.match_lines:,} credit lines of the stored statement (file order); "
                "the others were set aside untimed (--match-lines 0 matches them all)"
            )
        references = [line.reference for line in credit_lines if line.reference]
        ref_pledges = sorted({line.pledge_id for line in lines if line.pledge_id is not None})
        snapshot_take(ref_pledges)

        def lookup() -> int:
            found = 0
            with connection.cursor() as cursor:
                for start in range(0, len(references), 2000):
                    cursor.execute(
                        "SELECT * FROM pledges_pledge WHERE reference = ANY(%s)", [references[start : start + 2000]]
                    )
                    found += len(cursor.fetchall())
            return found

        def per_line_commits() -> int:
            """The floor of a design that writes each line in its own
            transaction: one UPDATE of the line and a COMMIT, line by line."""
            with connection.cursor() as cursor:
                for pk in line_pks:
                    cursor.execute("UPDATE pledges_statementline SET updated_at = now() WHERE id = %s", [pk])
            return len(line_pks)

        line_pks = list(
            StatementLine.objects.filter(statement=statement, status="unmatched", direction="credit")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        counter = QueryCounter()
        stages = StageTimer()
        reports: list[dict] = []

        def match() -> int:
            with connection.execute_wrapper(counter), stages:
                report = statement_match(statement=statement)
            reports.append(report)
            return report["done"]

        def match_undo(last: bool) -> None:
            if last:
                return
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE pledges_pledge p SET status = s.status, amount_paid = s.amount_paid, "
                    f"amount_received_usd = s.amount_received_usd, fees_usd = s.fees_usd, "
                    f"updated_at = s.updated_at FROM {SNAPSHOT_TABLE} s WHERE p.id = s.id"
                )
                cursor.execute("TRUNCATE pledges_linematch")
                cursor.execute("DELETE FROM pledges_payment WHERE note LIKE 'Statement %%'")
                cursor.execute(
                    "UPDATE pledges_statementline SET status = 'unmatched' WHERE statement_id = %s "
                    "AND direction = 'credit' AND note <> %s",
                    [statement.pk, HELD],
                )
            counter.counts.clear()
            stages.reset()

        matching = [
            Op("M: SELECT * … WHERE reference = ANY(%s), batches of 2000 (baseline M)", lookup, key="M"),
            Op("N: one UPDATE + COMMIT per credit line (baseline N)", per_line_commits, key="N"),
            Op("statement_match", match, baseline=("M", "N"), after=match_undo),
        ]
        started = time.perf_counter()
        measure("Matching", matching, args.match_reps)
        phases["matching"] = time.perf_counter() - started
        load_after = os.getloadavg()[0]

        report = reports[-1]
        credit = report["done"]
        statements_sent = sum(counter.counts.values())
        notes.append(
            f"matching: {credit:,} credit lines → applied {report['applied']:,}, proposed {report['proposed']:,}, "
            f"unmatched {report['unmatched']:,}; baseline M found {matching[0].handled:,} pledges "
            f"for {len(references):,} references"
        )
        notes.append(
            f"SQL statements sent by statement_match: {statements_sent:,} ({statements_sent / credit:.1f} per credit "
            "line; " + ", ".join(f"{word} {n:,}" for word, n in counter.counts.most_common()) + ")"
        )
        notes.append(stages.summary(matching[-1].seconds[-1]))
        if args.profile_match:
            match_undo(False)
            log(f"Profiling statement_match of {report['done']:,} credit lines")
            profiles["match"] = common.profile(
                lambda: statement_match(statement=statement), 1, f"statement_match of {report['done']:,} credit lines"
            )
        outcome = outcome_table(lines, statement)
        notes.append(f"1-minute load average {load_before:.2f} before the timed part, {load_after:.2f} after")
        notes.append("time by phase: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items()))
        if load_seconds is not None:
            notes.insert(0, f"data set loaded in {load_seconds:.0f} s (COPY from model instances, then VACUUM ANALYZE)")

    reconciliation_reset()
    snapshot_drop()
    if args.profile_lines:
        profiles.update(import_profiles(lines, args))
    cache.clear()
    return header(args), [*parsing, *imports, *matching], notes, outcome, profiles


def import_profiles(lines: list[Line], args: argparse.Namespace) -> dict:
    """cProfile of statement_import on the first --profile-lines lines of the
    same statement, as CSV and as camt.053, for bench/table.py to show under
    a row that misses its target."""
    from pledges.audit import Actor
    from pledges.reconciliation.services import statement_import

    actor = Actor.system("bench")
    some = lines[: args.profile_lines]
    profiles = {}
    with tempfile.TemporaryDirectory(prefix="vtf-bench-profile-") as tmp:
        paths = {"csv": Path(tmp) / "statement.csv", "camt": Path(tmp) / "statement.xml"}
        write_csv(paths["csv"], some)
        write_camt053(paths["camt"], some, f"BENCH-PROFILE-{len(some)}-{args.seed}")
        for name, path in paths.items():

            def do_import(path: Path = path) -> None:
                with path.open("rb") as stream:
                    statement_import(stream=stream, filename=path.name, actor=actor, account=ACCOUNT)

            log(f"Profiling statement_import of {len(some):,} lines ({name})")
            profiles[name] = common.profile(
                do_import, 2, f"statement_import of {len(some):,} lines, twice", between=reconciliation_reset
            )
    return profiles


def lines_hold(statement, keep: int) -> None:
    """Set aside (untimed) the credit lines after the first `keep`: they
    stay stored, as excluded with a note, and matching skips them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM pledges_statementline WHERE statement_id = %s AND direction = 'credit' "
            "ORDER BY id OFFSET %s LIMIT 1",
            [statement.pk, keep],
        )
        row = cursor.fetchone()
        if row:
            cursor.execute(
                "UPDATE pledges_statementline SET status = 'excluded', note = %s "
                "WHERE statement_id = %s AND direction = 'credit' AND id >= %s",
                [HELD, statement.pk, row[0]],
            )


def list_count(items) -> int:
    """Consume a parser; count its lines, refusing line errors."""
    n = 0
    for item in items:
        if not hasattr(item, "bank_reference"):
            raise RuntimeError(f"line error in the generated statement: {item}")
        n += 1
    return n


def outcome_table(lines: list[Line], statement) -> list[str]:
    """What matching made of each kind of line, and whether it picked the
    pledge the line was generated for."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.bank_reference, l.status, m.rule, m.pledge_id, l.note = %s FROM pledges_statementline l "
            "LEFT JOIN pledges_linematch m ON m.line_id = l.id AND m.status IN ('applied', 'proposed') "
            "WHERE l.statement_id = %s",
            [HELD, statement.pk],
        )
        rows = cursor.fetchall()
    found = {ref: (status, rule, pledge_id) for ref, status, rule, pledge_id, _ in rows}
    held = {ref for ref, *_, is_held in rows if is_held}
    if held:  # only the part of the file that was matched, debits included
        last = max(i for i, line in enumerate(lines) if line.direction == "CRDT" and line.bank_reference not in held)
        lines = [line for line in lines[: last + 1] if line.bank_reference not in held]
    columns = ("matched (reference)", "proposed (reference)", "proposed (donor + amount)", "unmatched", "excluded")
    table = [
        "| line kind (as generated) | lines | " + " | ".join(columns) + " | the generating pledge |",
        "|---|---:|" + "---:|" * len(columns) + "---:|",
    ]
    totals = Counter()
    for kind in KINDS:
        counts = Counter()
        right = 0
        mine = [line for line in lines if line.kind == kind]
        for line in mine:
            status, rule, pledge_id = found[line.bank_reference]
            if status == "matched":
                counts["matched (reference)" if rule == "reference" else "matched (other)"] += 1
            elif status == "proposed":
                counts["proposed (reference)" if rule == "reference" else "proposed (donor + amount)"] += 1
            else:
                counts[status] += 1
            right += line.pledge_id is not None and pledge_id == line.pledge_id
        totals.update(counts)
        totals["lines"] += len(mine)
        totals["right"] += right
        shown = f"{right:,} of {len(mine):,}" if mine and mine[0].pledge_id is not None else "–"
        table.append(f"| {kind} | {len(mine):,} | " + " | ".join(f"{counts[c]:,}" for c in columns) + f" | {shown} |")
    table.append(
        f"| all | {totals['lines']:,} | " + " | ".join(f"{totals[c]:,}" for c in columns) + f" | {totals['right']:,} |"
    )
    return table


def header(args: argparse.Namespace) -> list[str]:
    return [
        f"bench/reconciliation.py {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.lines:,} statement lines against "
        f"{args.pledges:,} pledges ({args.db_name}); code {code_version()}; {common.versions()}",
    ]


def code_version() -> str:
    """The commit measured, and whether the app code had uncommitted changes."""
    import subprocess

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "pledges"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"{commit}" + (" + uncommitted changes in pledges/" if changed else "")


def render(lines: list[str], ops: list[Op], notes: list[str], outcome: list[str]) -> str:
    baselines = {op.key: op for op in ops if op.key}
    out = [*lines, ""]
    out.append("| operation | runs | median s | min s | lines/s | ratio vs baseline | peak MiB |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for op in ops:
        if op.key:
            ratio = f"1.00× {op.key} (baseline)"
        else:
            keys = (op.baseline,) if isinstance(op.baseline, str) else op.baseline
            ratio = ", ".join(f"{op.median / baselines[key].median:,.2f}× {key}" for key in keys)
        peak = "" if op.peak_bytes is None else f"{op.peak_bytes / 2**20:.1f}"
        out.append(
            f"| {op.label} | {len(op.seconds)} | {op.median:.2f} | {min(op.seconds):.2f} | "
            f"{op.handled / op.median:,.0f} | {ratio} | {peak} |"
        )
    out.extend(["", *outcome, ""])
    out.extend(f"- {note}" for note in notes)
    return "\n".join(out)


def main() -> None:
    args = parse_args()
    configure(args)
    common.ensure_database(args.db_name)
    started = time.perf_counter()
    lines, ops, notes, outcome, profiles = run(args)
    if args.load_only:
        log(f"{lines[0]}; {time.perf_counter() - started:.0f} s")
        return
    lines[0] += f"; whole run {time.perf_counter() - started:.0f} s"
    measured = {"lines": lines, "ops": ops, "notes": notes, "outcome": outcome, "profiles": profiles}
    common.emit(
        args, render(lines, ops, notes, outcome), {**measured, "pledges": args.pledges, "statement_lines": args.lines}
    )


if __name__ == "__main__":
    main()
