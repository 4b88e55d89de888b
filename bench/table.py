"""`make bench`: every row of issue 15's table, measured in one run.

    .venv/bin/python bench/table.py                      # the full run (about an hour: 1,000,000-pledge data sets)
    .venv/bin/python bench/table.py --quick              # a quick look, small sizes (about 10 min)
    .venv/bin/python bench/table.py --markdown bench/RESULTS.md

Runs the bench scripts one after the other, each with `--json` into a
temporary folder, each bounded by `--timeout`:

* bench/server.py: the HTTP rows (gunicorn and wrk, next to a bare Django
  view and nginx) and the freshness of the totals under load;
* bench/reconciliation.py: statement matching and statement import, once
  per size of `--match-pledges`;
* bench/reports.py: the report figures and the six-language build.

Then prints one table: this service's figure, the baseline measured in the
same run, the ratio, the target and whether it is met, then the machine.
The scripts' own tables (with every operation) go to stderr as they run.
Loopback only: PostgreSQL, Redis (BENCH_REDIS_URL) and the servers that
bench/server.py starts and stops.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
# Bounded in-process profiles (cProfile) of the paths behind the rows, for a row that misses its target.
PROFILE_POSTS = 300
PROFILE_LINES = 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs, to try it")
    parser.add_argument(
        "--db-prefix", default="vtf_bench", help="databases <prefix>, <prefix>_recon…, <prefix>_reports"
    )
    parser.add_argument("--server-pledges", type=int, help="pledges behind the HTTP rows (100000; quick 10000)")
    parser.add_argument("--duration", type=int, help="seconds of each wrk run (8; quick 3)")
    parser.add_argument("--rounds", type=int, help="wrk runs of each HTTP row, median shown (2; quick 1)")
    parser.add_argument(
        "--match-pledges", help="pledge counts for matching, comma-separated (100000,1000000; quick 10000)"
    )
    parser.add_argument("--match-lines", type=int, help="credit lines matched (2000; quick 200)")
    parser.add_argument("--statement-lines", type=int, help="lines in the imported statement (100000; quick 2000)")
    parser.add_argument("--report-pledges", type=int, help="pledges of the report rows (1000000; quick 10000)")
    parser.add_argument("--only", default="server,matching,reports", help="which scripts to run (all three)")
    parser.add_argument("--timeout", type=int, default=5400, help="seconds each script may take (5400)")
    parser.add_argument("--note", default="", help="a line about the machine's state, printed under the table")
    parser.add_argument("--markdown", type=Path, help="also write the table and the machine to this file")
    parser.add_argument("--keep", type=Path, help="keep the scripts' JSON files in this folder")
    args = parser.parse_args()
    quick = args.quick
    defaults = {
        "server_pledges": 10_000 if quick else 100_000,
        "duration": 3 if quick else 8,
        "rounds": 1 if quick else 2,
        "match_pledges": "10000" if quick else "100000,1000000",
        "match_lines": 200 if quick else 2000,
        "statement_lines": 2000 if quick else 100_000,
        "report_pledges": 10_000 if quick else 1_000_000,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.match_pledges = sorted({int(n.replace("_", "")) for n in args.match_pledges.split(",") if n.strip()})
    args.only = {name.strip() for name in args.only.split(",")}
    if not args.only <= {"server", "matching", "reports"}:
        parser.error("--only takes server, matching, reports")
    if not re.fullmatch(r"[a-z0-9_]*bench[a-z0-9_]*", args.db_prefix):
        parser.error("--db-prefix must be lower-case letters, digits and _, and contain 'bench'")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Running the scripts -------------------------------------------------------------------------


@dataclass
class Outcome:
    data: dict | None
    error: str = ""
    seconds: float = 0.0


def run_script(name: str, arguments: list[str], json_file: Path, timeout: int) -> Outcome:
    command = [PYTHON, str(BENCH / name), *arguments, "--json", str(json_file)]
    log(f"$ {' '.join(command[1:])}")
    started = time.monotonic()
    try:
        # Their table to our stderr, their progress too: stdout is ours.
        completed = subprocess.run(command, cwd=ROOT, stdout=sys.stderr, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Outcome(None, f"stopped after {timeout} s (--timeout)", time.monotonic() - started)
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        return Outcome(None, f"{name} exited with {completed.returncode}", seconds)
    return Outcome(json.loads(json_file.read_text()), "", seconds)


# --- The rows ------------------------------------------------------------------------------------


@dataclass
class Line:
    path: str
    service: str
    baseline: str
    ratio: str
    target: str
    met: str
    profile: dict | None = None  # the in-process profile of the path, shown when the target is missed


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _missing(path: str, target: str, outcome: Outcome | None) -> Line:
    why = "not run (--only)" if outcome is None else f"not measured: {outcome.error or 'no such row'}"
    return Line(path, why, "", "", target, "")


def server_lines(outcome: Outcome | None) -> list[Line]:
    rows = {}
    if outcome and outcome.data:
        rows = {row["label"]: row for row in outcome.data["ops"]}
    bare, insert = rows.get("bare Django view, same bytes"), rows.get("bare Django view inserting one row")
    lines = []
    for path, label, target, name in [
        ("`GET /api/v1/public/totals/` from the cache", "GET public/totals/ (cached)", 1.0, "totals"),
        ("the same with `If-None-Match` → 304", "GET public/totals/ If-None-Match → 304", 1.2, "304"),
    ]:
        row = rows.get(label)
        if row is None or bare is None:
            lines.append(_missing(path, f"≥ {target:.1f}×", outcome))
            continue
        ratio = row["rps"] / bare["rps"]
        lines.append(
            Line(
                path,
                f"{row['rps']:,.0f} req/s, p50 {row['p50_ms']:.1f} ms",
                f"bare Django view returning the same bytes: {bare['rps']:,.0f} req/s",
                f"{ratio:.2f}×",
                f"≥ {target:.1f}×",
                _yes(ratio >= target),
                _profile(outcome, name),
            )
        )
    nginx = rows.get("nginx, same bytes from a file")
    if nginx is None or bare is None:
        lines.append(_missing("the same bytes from nginx", "servable by nginx or a CDN", outcome))
    else:
        cache_control = outcome.data.get("cache_control") or ""
        directives = {part.strip().split("=")[0] for part in cache_control.split(",")}
        shareable = {"public", "s-maxage", "stale-while-revalidate"} <= directives
        lines.append(
            Line(
                "the same bytes from nginx",
                f"Cache-Control: {cache_control}",
                f"nginx: {nginx['rps']:,.0f} req/s ({nginx['rps'] / bare['rps']:.1f}× bare Django)",
                "—",
                "servable by nginx or a CDN",
                _yes(shareable),
            )
        )
    post = rows.get("POST pledges/")
    if post is None or insert is None:
        lines.append(_missing("`POST /api/v1/pledges/`", "≥ 0.5×", outcome))
    else:
        ratio = post["rps"] / insert["rps"]
        lines.append(
            Line(
                "`POST /api/v1/pledges/`",
                f"{post['rps']:,.0f} req/s, p50 {post['p50_ms']:.0f} ms",
                f"bare Django view inserting one row in a transaction: {insert['rps']:,.0f} req/s",
                f"{ratio:.2f}×",
                "≥ 0.5×",
                _yes(ratio >= 0.5),
                _profile(outcome, "post"),
            )
        )
    return lines


def _profile(outcome: Outcome | None, name: str) -> dict | None:
    found = ((outcome.data or {}).get("profiles") or {}).get(name) if outcome else None
    return {**found, "name": name} if found else None


def _per_line(op: dict) -> float:
    return statistics_median(op["seconds"]) / max(op["handled"], 1)


def statistics_median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _baselines(op: dict) -> list[str]:
    baseline = op.get("baseline")
    if baseline is None:
        return []
    return [baseline] if isinstance(baseline, str) else list(baseline)


def matching_lines(outcomes: dict[int, Outcome], args: argparse.Namespace) -> list[Line]:
    lines = []
    for pledges in args.match_pledges:
        outcome = outcomes.get(pledges)
        path = f"statement matching, {args.match_lines:,} credit lines vs {pledges:,} pledges"
        ops = outcome.data["ops"] if outcome and outcome.data else []
        keyed = {op["key"]: op for op in ops if op.get("key")}
        match = next((op for op in ops if "N" in _baselines(op)), None)
        if match is None or "N" not in keyed:
            lines.append(_missing(path, "≤ 3× the per-line UPDATE baseline", outcome))
            continue
        ratio = _per_line(match) / _per_line(keyed["N"])
        lines.append(
            Line(
                path,
                f"{1 / _per_line(match):,.0f} lines/s",
                f"one UPDATE+COMMIT per line: {1 / _per_line(keyed['N']):,.0f} lines/s"
                + (f"; indexed reference lookup {1 / _per_line(keyed['M']):,.0f} lines/s" if "M" in keyed else ""),
                f"{ratio:,.1f}×",
                "≤ 3×",
                _yes(ratio <= 3),
                _profile(outcome, "match"),
            )
        )
    largest = outcomes.get(args.match_pledges[-1]) if args.match_pledges else None
    ops = largest.data["ops"] if largest and largest.data else []
    keyed = {op["key"]: op for op in ops if op.get("key")}
    imports = [op for op in ops if "I" in _baselines(op)]
    if not imports or "I" not in keyed:
        lines.append(_missing("statement import (parse + store)", "≤ 3×", largest))
    for op in imports:
        ratio = _per_line(op) / _per_line(keyed["I"])
        lines.append(
            Line(
                op["label"].replace("statement_import, ", "statement import, "),
                f"{1 / _per_line(op):,.0f} lines/s ({op['handled']:,} lines)",
                f"COPY of the parsed lines: {1 / _per_line(keyed['I']):,.0f} lines/s",
                f"{ratio:,.1f}×",
                "≤ 3×",
                _yes(ratio <= 3),
                _profile(largest, "camt" if "camt" in op["label"] else "csv"),
            )
        )
    return lines


def report_lines(outcome: Outcome | None, args: argparse.Namespace) -> list[Line]:
    size = args.report_pledges
    ops = [op for op in outcome.data["ops"] if op["size"] == size] if outcome and outcome.data else []
    sql = next((op for op in ops if op.get("key") == "sql"), None)
    figures = next((op for op in ops if op["label"].startswith("report figures")), None)
    build = next((op for op in ops if op["label"].startswith("full build")), None)
    pdf = next((op for op in ops if "PDF" in op["label"] and op is not build), None)
    lines = []
    if sql is None or figures is None:
        lines.append(_missing(f"report figures at {size:,} pledges", "≤ 3×", outcome))
    else:
        ratio = statistics_median(figures["samples"]) / statistics_median(sql["samples"])
        lines.append(
            Line(
                f"report figures at {size:,} pledges",
                f"{statistics_median(figures['samples']) / 1000:,.2f} s",
                f"the bare SQL aggregation: {statistics_median(sql['samples']) / 1000:,.2f} s",
                f"{ratio:,.1f}×",
                "≤ 3×",
                _yes(ratio <= 3),
                _profile(outcome, "figures"),
            )
        )
    if build is None:
        lines.append(_missing(f"a six-language build at {size:,} pledges", "≤ 15 s", outcome))
    else:
        seconds = statistics_median(build["samples"]) / 1000
        pdfs = f" (PDFs {statistics_median(pdf['samples']) / 1000:,.1f} s)" if pdf else ""
        steps = [
            {"step": op["label"].strip("↳ "), "seconds": statistics_median(op["samples"]) / 1000}
            for op in ops
            if op["label"].lstrip().startswith("↳")
        ]
        lines.append(
            Line(
                f"a six-language build at {size:,} pledges",
                f"{seconds:,.1f} s{pdfs}",
                "—",
                "—",
                "≤ 15 s, PDFs in parallel where cores allow",
                _yes(seconds <= 15),
                {"name": "build", "steps": steps, "seconds": seconds},
            )
        )
    return lines


def freshness_line(outcome: Outcome | None) -> Line:
    path = "freshness: a payment to the totals, under load"
    if outcome is None or outcome.data is None:
        return _missing(path, "≤ 2 s", outcome)
    seconds = outcome.data["freshness_seconds"]
    return Line(path, f"{seconds:.2f} s", "—", "—", "≤ 2 s", _yes(seconds <= 2))


# --- Where the time goes in a row that misses its target ----------------------------------------

# What the profiles of these paths show, and what would close the gap: one
# sentence a row, read from the profiles printed above it.
_FRONT = (
    "the WSGI front (pledges/public_fast.py) answers before Django, so the app's share is small: the rest of a "
    "request under wrk is gunicorn's sync worker, its socket and the header lines, the same as the bare view's. "
    "A ratio near its target moves with the machine's load between the runs of one round: more rounds "
    "(--rounds, --duration) settle it; if the front's share grows, its lookup is what to shorten."
)
CLOSING = {
    "totals": _FRONT,
    "304": _FRONT,
    "post": "pledge_submit is most of a request: its statements go to PostgreSQL one by one, a round trip "
    "each (psycopg's wait), and the ORM builds and saves each row (donor, pledge, instalments, audit, status "
    "history, outbox); the campaign and session lookup is a large part of the rest. Writing the pledge's rows "
    "in one statement (a data-modifying CTE, prepared once per connection) and reading the campaign and session "
    "from a process cache invalidated by their signals would close it.",
    "match": "rule 2 (the donor's name and the amount) is most of it: the candidates of the whole batch are read "
    "in two or three queries, but at a million pledges a ±2% amount band holds hundreds of open pledges a line, "
    "more than MAX_CANDIDATES, so the name query runs too and the trigram index on the donors' names returns "
    "thousands of similar names a line (psycopg waiting on PostgreSQL). Narrowing the band query by the donor "
    "first (a trigram match limited to the best few names, then their pledges in the band) would close it; "
    "reading every pledge of the band instead was tried and was slower.",
    "csv": "about half is parsing, line by line in Python (csv_statement's row and _amount), the rest mostly "
    "waiting on PostgreSQL in the store. Converters for the amount and date columns compiled once per profile, "
    "and the parsed lines written as tuples into the COPY without StatementLine objects, would close it.",
    "camt": "most of it is walking the XML (camt053's _walk over ElementTree's iterparse, event by event in "
    "Python); storing is one COPY a batch. lxml's iterparse with a tag filter on Ntry (lxml is already a dependency) "
    "and one pass over each entry's children would close it.",
    "figures": "most of it is the SQL statements (psycopg waiting on PostgreSQL), then Django compiling the "
    "querysets and iterating their rows: the whole-campaign aggregates evaluate the as-of status and amounts as "
    "subqueries in every aggregate. One GROUPING SETS pass for the headline, the donor types and the countries, "
    "with the amounts received as of the day joined once from the payments rather than per group, would close it.",
    "build": "the PDFs are most of a build: WeasyPrint lays out each language's pages, and the donor table grows "
    "with the donors named (up to REPORTS_MAX_LISTED_DONORS). The pages run in one process a core, so on a "
    "shared 2-core machine they wait for each other; more cores, or a shorter donor table in the PDF (the full "
    "list stays in the CSV), would close it.",
}


def profile_section(lines: list[Line]) -> list[str]:
    """For each row that misses its target, the profile of its path: the
    functions with the most cumulative time (ours and the libraries'), the
    own time by package, and what would close it. Rows that meet their
    target show none."""
    missed = [line for line in lines if line.met == "**no**"]
    if not missed:
        return []
    out = ["", "## Where the time goes in the rows that miss their target, and what would close them"]
    for line in missed:
        out += ["", f"### {line.path}: {line.ratio}, target {line.target}", ""]
        profile = line.profile
        if profile is None:
            out.append("No profile: the script behind the row ran without one or did not finish.")
            continue
        if "steps" in profile:  # the build forks its page processes: its own timers say where, not cProfile
            out.append(
                "The build's steps (bench/reports.py's timers, median of the timed builds, "
                f"{profile['seconds']:.1f} s in all):"
            )
            out += ["", "| step | seconds | share |", "| --- | ---: | ---: |"]
            out.extend(
                f"| {step['step']} | {step['seconds']:,.1f} | {step['seconds'] / profile['seconds']:.0%} |"
                for step in profile["steps"]
            )
            out += ["", f"What would close it: {CLOSING['build']}"]
            continue
        out.append(
            f"cProfile of {profile['what']}, in process on the same data ({profile['seconds']:.1f} s under the "
            "profiler). The functions with the most cumulative time, as shares of the whole profile (cumulative "
            "counts what a function calls; own does not), first of our code, then of all; those that 90% or more "
            "of the time passes through (for a request, the dispatch and the middleware chain) are left out:"
        )
        out += ["", "| function | cumulative | own | calls |", "| --- | ---: | ---: | ---: |"]
        for title, rows in (("our code", profile.get("ours", [])), ("all, libraries included", profile["functions"])):
            out.append(f"| *{title}* | | | |")
            out.extend(
                f"| `{row['function']}` | {row['cumulative']:.0%} | {row['own']:.0%} | {row['calls']:,} |"
                for row in rows
            )
        own = ", ".join(f"{row['package']} {row['own']:.0%}" for row in profile["packages"])
        out += ["", f"Own time by package: {own}.", "", f"What would close it: {CLOSING[profile['name']]}"]
    return out


# --- The machine ---------------------------------------------------------------------------------


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return ((done.stdout or "") + (done.stderr or "")).strip().splitlines()[0] if (done.stdout or done.stderr) else "?"


def machine() -> list[str]:
    cpu = "?"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    sys.path.insert(0, str(ROOT))
    import django
    import psycopg
    import redis

    try:
        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=5) as conn:
            postgres = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        postgres = "?"
    try:
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
        redis_version = redis.Redis.from_url(redis_url, socket_timeout=5).info("server")["redis_version"]
    except redis.RedisError:
        redis_version = "?"
    gunicorn = _first_line([str(Path(PYTHON).parent / "gunicorn"), "--version"])
    wrk = _first_line(["wrk", "-v"]).split(" Copyright")[0]
    commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    return [
        f"CPU: {cpu}; {os.cpu_count()} cores; memory {memory}; "
        f"{platform.system()} {platform.release()} {platform.machine()}",
        f"Python {platform.python_version()}, Django {django.get_version()}, PostgreSQL {postgres}, "
        f"Redis {redis_version}, {gunicorn}, {wrk}, {_first_line(['nginx', '-v'])}",
        f"commit {commit}{' with local changes' if dirty != '?' else ''}",
    ]


# --- Main ----------------------------------------------------------------------------------------


def render(lines: list[Line], header: list[str], notes: list[str]) -> str:
    out = [*header, ""]
    out.append("| path | this service | baseline in the same run | ratio | target | met |")
    out.append("| --- | --- | --- | --- | --- | --- |")
    out.extend(f"| {x.path} | {x.service} | {x.baseline} | {x.ratio} | {x.target} | {x.met} |" for x in lines)
    out.append("")
    out.extend(f"- {note}" for note in notes)
    out.extend(profile_section(lines))
    return "\n".join(out)


def main() -> None:
    args = parse_args()
    started, load_before = time.monotonic(), os.getloadavg()[0]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    workdir = Path(tempfile.mkdtemp(prefix="vtf-bench-table-"))
    server = reports = None
    matchings: dict[int, Outcome] = {}
    try:
        if "server" in args.only:
            server = run_script(
                "server.py",
                ["--pledges", str(args.server_pledges), "--db-name", args.db_prefix, "--duration", str(args.duration),
                 "--rounds", str(args.rounds), "--profile-posts", str(PROFILE_POSTS)],
                workdir / "server.json",
                args.timeout,
            )  # fmt: skip
        if "matching" in args.only:
            for pledges in args.match_pledges:
                big = pledges >= 1_000_000
                matchings[pledges] = run_script(
                    "reconciliation.py",
                    ["--size", "big" if big else "small", "--pledges", str(pledges),
                     "--lines", str(min(args.statement_lines, pledges // 5)), "--match-lines", str(args.match_lines),
                     "--db-name", f"{args.db_prefix}_recon" if big else f"{args.db_prefix}_recon_small",
                     "--no-trace", *(["--reps", "1", "--match-reps", "1"] if args.quick else []),
                     "--profile-match",
                     *(["--profile-lines", str(PROFILE_LINES)] if pledges == args.match_pledges[-1] else [])],
                    workdir / f"matching-{pledges}.json",
                    args.timeout,
                )  # fmt: skip
        if "reports" in args.only:
            reports = run_script(
                "reports.py",
                ["--sizes", str(args.report_pledges), "--db-name", f"{args.db_prefix}_reports", "--profile-figures",
                 *(["--rounds", "1", "--budget", "10"] if args.quick else ["--rounds", "2", "--budget", "130"])],
                workdir / "reports.json",
                args.timeout,
            )  # fmt: skip
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for path in workdir.glob("*.json"):
                shutil.copy(path, args.keep / path.name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    lines = [
        *server_lines(server),
        *(
            matching_lines(matchings, args)
            if "matching" in args.only
            else [_missing("statement matching", "≤ 3×", None)]
        ),
        *report_lines(reports, args),
        freshness_line(server),
    ]
    minutes = (time.monotonic() - started) / 60
    header = [
        f"bench/table.py {when}{' (--quick)' if args.quick else ''}: whole run {minutes:.0f} min; "
        f"HTTP rows at {args.server_pledges:,} pledges, wrk -t2 -c32 -d{args.duration}s, median of {args.rounds}, "
        "gunicorn --workers 2 (sync) for every Django server"
    ]
    notes = [
        f"1-minute load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
        "(ratios measured in one run carry over to a quieter machine; the absolute figures do not)",
        *machine(),
    ]
    if args.note:
        notes.insert(0, args.note)
    for outcome in (server, *matchings.values(), reports):
        if outcome is not None and outcome.data:
            notes.append(outcome.data["lines"][0])
    report = render(lines, header, notes)
    print(report, flush=True)
    if args.markdown:
        args.markdown.write_text("# bench/RESULTS.md: the last run of `make bench`\n\n" + report + "\n")


if __name__ == "__main__":
    main()
