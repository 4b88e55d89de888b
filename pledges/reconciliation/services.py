"""Statement import and the review actions. Each action locks the line,
changes the pledge's money through the payment services (so status and
balances follow in the same transaction) and is audited."""

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import IO

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from pledges.audit import Actor, audit_event, audit_record
from pledges.errors import (
    DomainError,
    DuplicatePayment,
    InvalidInput,
    Refusal,
    StatementAlreadyImported,
    StatementLineConflict,
    TransitionNotAllowed,
)
from pledges.exchange import convert_to_usd, rates_read_once
from pledges.models import (
    AuditEvent,
    BankStatement,
    CsvProfile,
    LineMatch,
    LineStatus,
    MatchRule,
    MatchStatus,
    Payment,
    PaymentMethod,
    Pledge,
    PledgeStatus,
    StatementFormat,
    StatementLine,
)
from pledges.money import ZERO, CurrencyError, check_amount, format_amount, round_to_currency
from pledges.outbox import outbox_enqueue_many, task_enqueue
from pledges.payments.services import (
    EFFECTIVE,
    _money_snapshot,
    amount_in_pledge_currency,
    payment_apply,
    payment_reverse,
)
from pledges.public_cache import public_cache_invalidate
from pledges.reconciliation import matching
from pledges.reconciliation.csv_statement import CsvLayout, iter_csv_statement
from pledges.reconciliation.parsing import (
    MAX_BANK_REFERENCE,
    LineError,
    StatementFormatError,
    StatementHeader,
    find_references,
)
from pledges.reconciliation.parsing import StatementLine as ParsedLine
from pledges.selectors import pledge_by_reference
from pledges.status import status_after_money, status_changes_bulk_record, status_transition_check

BATCH = 2000
MAX_LINE_ERRORS_REPORTED = 200


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def statement_format(stream: IO[bytes]) -> str:
    """The format of a statement file, from its first bytes (the stream is
    put back): XML is ISO 20022 (the camt reader tells 052, 053 and 054
    apart by namespace), "01," starts BAI2, ":20:" or a SWIFT block MT940,
    anything else is read as CSV."""
    from pledges.reconciliation.bai2_statement import looks_like_bai2
    from pledges.reconciliation.swift_mt940 import looks_like_mt940

    head = stream.read(4096)
    stream.seek(0)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return StatementFormat.CAMT053
    if looks_like_bai2(head):
        return StatementFormat.BAI2
    if looks_like_mt940(head):
        return StatementFormat.MT940
    return StatementFormat.CSV


def csv_layout(profile: CsvProfile | None) -> CsvLayout:
    if profile is None:
        return CsvLayout()
    return CsvLayout(
        encoding=profile.encoding,
        delimiter=profile.delimiter,
        skip_lines=profile.skip_lines,
        has_header=profile.has_header,
        columns=dict(profile.columns or {}),
        date_order=profile.date_order,
        decimal_separator=profile.decimal_separator,
        sign=profile.sign,
        credit_words=tuple(profile.credit_words or ()),
        debit_words=tuple(profile.debit_words or ()),
        currency=profile.currency,
    )


@dataclass(frozen=True)
class ImportSource:
    """What to read a file with: the format, and for CSV the account, the
    statement id, how slashed dates read, the currency of a file naming
    none, and the bank's profile."""

    file_format: str
    account: str
    statement_id: str = ""
    date_order: str = "auto"
    currency: str = ""
    profile: CsvProfile | None = None


def parsed_lines(
    stream: IO[bytes], source: ImportSource, headers: list[StatementHeader], *, found: dict | None = None
) -> Iterator:
    """The parser's lines of a file, its statement headers appended to
    `headers` (and for CSV, the delimiter and columns found, to `found`)."""
    if source.file_format == StatementFormat.CAMT053:
        from pledges.reconciliation.camt053 import iter_camt053

        return iter_camt053(stream, headers)
    if source.file_format == StatementFormat.MT940:
        from pledges.reconciliation.swift_mt940 import iter_mt940

        return iter_mt940(stream, headers)
    if source.file_format == StatementFormat.BAI2:
        from pledges.reconciliation.bai2_statement import iter_bai2

        return iter_bai2(stream, headers)
    return iter_csv_statement(
        stream,
        statement_id=source.statement_id,
        account=source.account,
        date_order=source.date_order,
        layout=csv_layout(source.profile),
        currency=source.currency,
        found=found,
        headers=headers,
    )


def import_source(
    stream: IO[bytes], *, sha: str, account: str, date_order: str, currency: str, profile: CsvProfile | None
) -> ImportSource:
    file_format = StatementFormat.CSV if profile is not None else statement_format(stream)
    account = account or (profile.account if profile else "") or settings.FUND_BANK_ACCOUNT["account_number"]
    return ImportSource(
        file_format=file_format,
        account=account,
        statement_id=f"csv-{sha[:32]}",
        date_order=date_order,
        currency=currency,
        profile=profile,
    )


def _who(statement: BankStatement) -> str:
    user = statement.imported_by  # no query when there is none
    by = f" by {user.get_username()}" if user is not None else ""
    return f"on {timezone.localtime(statement.imported_at):%Y-%m-%d %H:%M}{by}"


def statement_import(
    *,
    stream: IO[bytes],
    filename: str,
    actor: Actor,
    account: str = "",
    date_order: str = "auto",
    currency: str = "",
    profile: CsvProfile | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[BankStatement]:
    """Import a statement file (camt.053/054/052, MT940, BAI2 or CSV, the
    format found from its content; CSV through `profile` when given), whole
    or not at all.

    The file streams through its parser in batches. A statement already
    imported (same account and statement id, or the same file) is refused,
    naming it. A bank reference that repeats within the file gets "#2",
    "#3"... (the payer's EndToEndId need not be unique). A line whose bank
    reference is already on the account is skipped when it is the same
    line (a re-sent or overlapping statement: same direction, amount,
    currency and booking date), and refuses the file, naming the line it
    collides with, when it is not. Any malformed line refuses the whole
    file, with each line's errors. A statement without lines is kept, with
    its balances. Debits and zero amounts are kept, visible and excluded.
    `progress(lines_read)` is called after each batch. Matching runs after
    commit.

    Raises InvalidInput (a file that cannot be read, on `file`; bad lines,
    on `lines.<position>.<field>`), StatementAlreadyImported,
    StatementLineConflict.
    """
    sha = _sha256(stream)
    already = BankStatement.objects.filter(file_sha256=sha).select_related("imported_by").first()
    if already is not None:
        raise StatementAlreadyImported(
            f"This file was already imported {_who(already)}: statement {already.statement_id} "
            f"of account {already.account} (id {already.pk})."
        )
    if profile is not None and (problems := csv_layout(profile).errors()):
        raise InvalidInput({f"profile.{name}": messages for name, messages in problems.items()})
    source = import_source(stream, sha=sha, account=account, date_order=date_order, currency=currency, profile=profile)
    run = _ImportRun(source=source, filename=filename, sha=sha, actor=actor)
    headers: list[StatementHeader] = []
    try:
        with transaction.atomic():
            read = 0
            for batch in _batches(parsed_lines(stream, source, headers)):
                run.take(batch)
                read += len(batch)
                if progress is not None:
                    progress(read)
            if run.errors:
                raise InvalidInput(run.errors)
            run.conflicts_raise()
            run.finish(headers)
    except StatementFormatError as error:
        position = f" (entry {error.position})" if getattr(error, "position", None) else ""
        raise InvalidInput({"file": [f"{error.detail}{position}"]}) from None
    except IntegrityError as error:
        raise _race_explained(error, run) from None
    return list(run.statements.values())


class _ImportRun:
    """The state of one import while its lines stream in."""

    def __init__(self, *, source: ImportSource, filename: str, sha: str, actor: Actor):
        self.source = source
        self.filename = filename
        self.sha = sha
        self.actor = actor
        self.statements: dict[tuple[str, str], BankStatement] = {}
        self.errors: dict[str, list[str]] = {}
        self.conflicts: dict[str, list[str]] = {}
        self.seen: dict[tuple[str, str], int] = {}
        self.skipped = 0
        self.renamed = 0
        self.attempted: list[tuple[str, str]] = []  # statements tried, for explaining a race

    def take(self, batch: list) -> None:
        good = []
        for item in batch:
            if isinstance(item, LineError):
                if len(self.errors) < MAX_LINE_ERRORS_REPORTED:
                    for name, messages in item.errors.items():
                        self.errors[f"lines.{item.position}.{name}"] = messages
                continue
            good.append(self._unique_in_file(item))
        if not self.errors:  # else keep reading to report every bad line, store nothing
            self.skipped += self._store(good)

    def _unique_in_file(self, line: ParsedLine) -> ParsedLine:
        key = (line.account, line.bank_reference)
        count = self.seen.get(key, 0) + 1
        self.seen[key] = count
        if count == 1:
            return line
        self.renamed += 1
        return replace(line, bank_reference=f"{line.bank_reference}#{count}"[:MAX_BANK_REFERENCE])

    def _statement(self, account: str, statement_id: str, file_format: str) -> BankStatement:
        key = (account, statement_id)
        if key not in self.statements:
            existing = (
                BankStatement.objects.filter(account=account, statement_id=statement_id)
                .select_related("imported_by")
                .first()
            )
            if existing is not None:
                raise StatementAlreadyImported(
                    f"Statement {statement_id} of account {account} was already imported {_who(existing)} "
                    f"(id {existing.pk}, file {existing.filename or 'without a name'})."
                )
            user = self.actor.user_to_store
            self.attempted.append(key)
            self.statements[key] = BankStatement.objects.create(
                statement_id=statement_id,
                account=account,
                file_format=file_format,
                filename=self.filename[:255],
                file_sha256=self.sha,
                imported_by=user,
            )
        return self.statements[key]

    def _store(self, parsed: list[ParsedLine]) -> int:
        """Create the batch's lines (and their statements on first sight);
        returns how many were skipped as already on the account."""
        for line in parsed:
            self._statement(line.account, line.statement_id, self.source.file_format)
        # No default ordering, nor the join it brings; and the empty reference
        # left out, so PostgreSQL can use the partial unique index.
        known = {
            (line.account, line.bank_reference): line
            for line in StatementLine.objects.filter(
                account__in={line.account for line in parsed},
                bank_reference__in=[line.bank_reference for line in parsed],
            )
            .exclude(bank_reference="")
            .order_by()
        }
        fresh = []
        for line in parsed:
            existing = known.get((line.account, line.bank_reference))
            if existing is None:
                fresh.append(line)
            elif not _same_line(existing, line) and len(self.conflicts) < MAX_LINE_ERRORS_REPORTED:
                self.conflicts[f"lines.{line.position}.bank_reference"] = [_conflict(existing, line)]
        if self.conflicts:
            return 0
        _lines_insert([_line_values(self.statements[(line.account, line.statement_id)], line) for line in fresh])
        return len(parsed) - len(fresh)

    def conflicts_raise(self) -> None:
        if self.conflicts:
            raise StatementLineConflict(
                f"{len(self.conflicts)} line(s) of this file have the bank reference of a different line "
                "already imported; nothing was stored.",
                errors=self.conflicts,
            )

    def finish(self, headers: list[StatementHeader]) -> None:
        for header in headers:
            statement = self._statement(header.account, header.statement_id, header.file_format)
            statement.file_format = header.file_format
            statement.kind = header.kind
            statement.balances = header.balances
        if not self.statements:
            raise InvalidInput({"file": ["The file holds no statement: a bank's statement file always has one."]})
        for statement in self.statements.values():
            statement.line_count = statement.lines.count()
            statement.report = {
                "lines": statement.line_count,
                "skipped_duplicates": self.skipped,
                "references_made_unique": self.renamed,
                "matching": "queued" if statement.line_count else "done",
            }
            statement.save(update_fields=["line_count", "report", "file_format", "kind", "balances"])
            audit_record(
                actor=self.actor,
                action="statement.imported",
                obj=statement,
                new={
                    "statement_id": statement.statement_id,
                    "account": statement.account,
                    "format": statement.file_format,
                    "kind": statement.kind,
                    "lines": statement.line_count,
                },
            )
            if statement.line_count:
                task_enqueue("pledges.tasks.statement_match", statement.pk)


def _same_line(existing: StatementLine, line: ParsedLine) -> bool:
    return (existing.direction, existing.amount, existing.currency, existing.booking_date) == (
        line.direction.lower(),
        line.amount,
        line.currency,
        line.booking_date,
    )


def _conflict(existing: StatementLine, line: ParsedLine) -> str:
    return (
        f"{line.bank_reference!r} is already on account {line.account} as line {existing.position} of statement "
        f"{existing.statement.statement_id} (id {existing.statement_id}, imported "
        f"{timezone.localtime(existing.statement.imported_at):%Y-%m-%d}): {existing.direction} "
        f"{format_amount(existing.amount, existing.currency)} {existing.currency} booked {existing.booking_date}; "
        f"this line is a {line.direction} of {format_amount(line.amount, line.currency)} {line.currency} "
        f"booked {line.booking_date}."
    )


def _line_values(statement: BankStatement, line: ParsedLine) -> dict:
    """A parsed line as the columns of its row, debits and zero amounts excluded."""
    direction = line.direction.lower()
    if direction != "credit":
        status, note = LineStatus.EXCLUDED, "A debit: not money for the Fund."
    elif line.amount == 0:
        status, note = LineStatus.EXCLUDED, "A zero amount: no money moved."
    else:
        status, note = LineStatus.UNMATCHED, ""
    return {
        "statement_id": statement.pk,
        "position": line.position,
        "account": line.account,
        "bank_reference": line.bank_reference,
        "direction": direction,
        "amount": line.amount,
        "currency": line.currency,
        "charges": line.charges,
        "booking_date": line.booking_date,
        "value_date": line.value_date,
        "debtor_name": line.debtor_name,
        "remittance": line.remittance,
        "creditor_reference": line.creditor_reference,
        "status": status,
        "note": note,
    }


def _line_column(name: str) -> str:
    """The database column of a statement line's field (or attname)."""
    field = StatementLine._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"StatementLine.{name} is not a column")
    return field.column


def _lines_insert(rows: list[dict]) -> None:
    """Store lines: on PostgreSQL with one COPY (the parsed values go as
    they are, no model instances), elsewhere with bulk_create. The unique
    constraints hold either way."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        StatementLine.objects.bulk_create((StatementLine(**row) for row in rows), batch_size=BATCH)
        return
    now = timezone.now()
    names = [*rows[0], "updated_at"]
    columns = ", ".join(connection.ops.quote_name(_line_column(n)) for n in names)
    copy_sql = f"COPY {StatementLine._meta.db_table} ({columns}) FROM STDIN"
    # The raw psycopg cursor, its errors translated (a unique violation is an IntegrityError).
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([*row.values(), now])


def _race_explained(error: IntegrityError, run: _ImportRun) -> DomainError:
    """What another import, running at the same moment, stored first: the
    statement (named), or a line (its reference, as PostgreSQL names it)."""
    for account, statement_id in run.attempted:
        existing = BankStatement.objects.filter(account=account, statement_id=statement_id).first()
        if existing is not None:
            return StatementAlreadyImported(
                f"Statement {statement_id} of account {account} was imported by another request at the same "
                f"moment (id {existing.pk}); nothing of this file was stored."
            )
    detail = getattr(getattr(error.__cause__, "diag", None), "message_detail", "") or ""
    named = f" ({detail})" if detail else ""
    return StatementLineConflict(
        f"Another import stored a line with one of this file's bank references at the same moment{named}; "
        "nothing of this file was stored. Import it again to see whether it is the same line."
    )


def _batches(items: Iterable) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# --- Matching --------------------------------------------------------------------


def statement_match(*, statement: BankStatement, actor: Actor | None = None) -> dict:
    """Match the statement's unmatched credit lines, batch by batch,
    recording progress on the statement. Each batch is one transaction:
    its lines are claimed with row locks that other runs skip, so two
    workers share the lines and each line is matched once; a worker that
    dies loses its batch whole, and running again finishes the rest. Safe
    to run twice: only unmatched lines are looked at, and a match a
    reconciler rejected is not proposed again."""
    actor = actor or Actor.task("statement_match")
    pending = StatementLine.objects.filter(statement=statement, status=LineStatus.UNMATCHED, direction="credit")
    total, done, after = pending.count(), 0, 0
    while True:
        with transaction.atomic():
            batch = list(pending.filter(pk__gt=after).order_by("pk").select_for_update(skip_locked=True)[:BATCH])
            if not batch:
                break
            after = batch[-1].pk
            _batch_match(batch, statement, actor)
        done += len(batch)
        BankStatement.objects.filter(pk=statement.pk).update(
            report={**statement.report, "matching": "running", "done": done, "total": total}
        )
    report = {**statement.report, "matching": "done", "done": done, "total": total, **_line_counts(statement)}
    BankStatement.objects.filter(pk=statement.pk).update(report=report)
    return report


_PLEDGES_MONEY_UPDATE = (
    "UPDATE {table} p SET amount_paid = v.paid, amount_received_usd = v.received_usd, fees_usd = v.fees_usd, "
    "status = v.status, updated_at = %s "
    "FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::text[]) "
    "AS v(id, paid, received_usd, fees_usd, status) WHERE p.id = v.id"
)


def _pledges_money_update(pledges: list[Pledge], now) -> None:
    """Save the pledges' balances and status: on PostgreSQL in one UPDATE
    from arrays (bulk_update's CASE per field costs more to build than to run)."""
    fields = ["amount_paid", "amount_received_usd", "fees_usd", "status"]
    if connection.vendor != "postgresql":
        Pledge.objects.bulk_update(pledges, [*fields, "updated_at"], batch_size=500)
        return
    sql = _PLEDGES_MONEY_UPDATE.format(table=Pledge._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, [p.pk for p in pledges], *([getattr(p, f) for p in pledges] for f in fields)])


def _line_counts(statement: BankStatement) -> dict[str, int]:
    """What became of the statement's lines, from their statuses (so a
    second matching run reports the whole statement, not just itself)."""
    by_status = dict(statement.lines.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {
        "applied": by_status.get(LineStatus.MATCHED, 0),
        "proposed": by_status.get(LineStatus.PROPOSED, 0),
        "unmatched": by_status.get(LineStatus.UNMATCHED, 0),
        "excluded": by_status.get(LineStatus.EXCLUDED, 0),
    }


def _batch_match(batch: list[StatementLine], statement: BankStatement, actor: Actor) -> None:
    """Match a batch of claimed lines, in order, as if one after the
    other: rule 1 judges each line against its pledge as the earlier lines
    of the batch left it, rule 2 no longer offers a pledge they paid. The
    reads are a few queries for the whole batch, the writes one bulk
    statement per table."""
    for line in batch:
        line.statement = statement
    with rates_read_once():
        _batch_decide(batch, actor)


def _batch_decide(batch: list[StatementLine], actor: Actor) -> None:
    references = {
        line.pk: [*find_references(line.creditor_reference), *find_references(line.remittance)] for line in batch
    }
    # Locked in one order (by pk), so two runs sharing pledges cannot deadlock.
    pledges = {
        p.reference: p
        for p in Pledge.objects.filter(reference__in={r for refs in references.values() for r in refs})
        .order_by("pk")
        .select_for_update(of=("self",))
        .prefetch_related("instalments")
    }
    by_donor = [line for line in batch if not any(r in pledges for r in references[line.pk])]
    candidates = matching.donor_candidates_for(by_donor)
    rejected = set(
        LineMatch.objects.filter(line__in=batch, status=MatchStatus.REJECTED).values_list("line_id", "pledge_id")
    )
    writes = _BatchWrites(actor, pledges.values(), batch)
    for line in batch:
        proposal = matching.propose_by_reference(line, pledges)
        if proposal is None and line.pk in candidates:
            names = matching.donor_names(line, candidates[line.pk], paid=writes.paid, closed=writes.closed)
            if (best := matching.best_donor(line, names)) is not None:
                pk, score = best
                # Rule 2 only proposes: the pledge's pk and its donor's name are all it needs.
                proposal = matching.donor_proposal(line, Pledge(pk=pk), names[pk], score)
        if proposal is None or (line.pk, proposal.pledge.pk) in rejected:
            continue
        writes.propose(line, proposal)
    writes.save()


def _payment_for(line: StatementLine, match: LineMatch, pledge: Pledge, reference: str, settle_net: bool) -> Payment:
    """The payment a match makes: what the donor sent for this pledge
    (its part of the line, charges included), the charges as its fee, and
    what it settles in the pledge's currency at the value date's rates."""
    on = line.settlement_date or timezone.localdate()
    fee = round_to_currency(line.charges * match.amount / matching.line_gross(line), line.currency)
    amount = match.amount
    applied = amount_in_pledge_currency(amount, line.currency, pledge_currency=pledge.currency, on=on)
    if applied is None:
        raise InvalidInput({"pledge": [f"No rate converts {line.currency} to {pledge.currency} on {on}."]})
    if settle_net and applied < pledge.amount_outstanding:
        # The sender's bank kept charges the statement does not show: the
        # pledge is settled in full and the difference becomes a fee.
        missing = amount_in_pledge_currency(
            pledge.amount_outstanding - applied, pledge.currency, pledge_currency=line.currency, on=on
        )
        if missing is None:
            raise InvalidInput({"settle_net": [f"No rate converts {pledge.currency} to {line.currency} on {on}."]})
        amount, fee, applied = amount + missing, fee + missing, pledge.amount_outstanding
    return Payment(
        method=PaymentMethod.BANK_TRANSFER,
        amount=amount,
        currency=line.currency,
        amount_applied=applied,
        fee=fee,
        received_on=on,
        bank_account=line.account,
        external_reference=reference,
        note=f"Statement {line.statement.statement_id}, line {line.position}",
    )


def _apply(line: StatementLine, matches: list[LineMatch], actor: Actor, *, settle_net: bool = False) -> None:
    """Turn matches into payments (the line locked by the caller). A single
    match uses the line's bank reference; a split numbers its parts."""
    for index, match in enumerate(matches, 1):
        pledge = Pledge.objects.select_for_update().get(pk=match.pledge_id)
        if pledge.status == PledgeStatus.CANCELLED:
            raise TransitionNotAllowed(f"Pledge {pledge.reference} is cancelled and takes no money.")
        reference = line.bank_reference if len(matches) == 1 else f"{line.bank_reference} [{index}/{len(matches)}]"
        existing = (
            Payment.objects.filter(bank_account=line.account, external_reference=reference, reverses__isnull=True)
            .exclude(status="reversed")
            .first()
        )
        if existing is not None:
            payment = existing  # posted by hand already: link it, do not post twice
        else:
            payment = payment_apply(
                pledge=pledge,
                entry=_payment_for(line, match, pledge, reference, settle_net and len(matches) == 1),
                actor=actor,
            )
        match.payment = payment
        match.status = MatchStatus.APPLIED
        match.decided_by = actor.user_to_store
        match.decided_at = timezone.now()
        match.save(update_fields=["payment", "status", "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            action="statement.line.matched",
            obj=line,
            pledge=pledge,
            new={"payment_id": payment.pk, "rule": match.rule, "amount": format_amount(match.amount, line.currency)},
            reason=match.explanation,
        )
    line.status = LineStatus.MATCHED
    line.updated_at = timezone.now()
    line.save(update_fields=["status", "updated_at"])


class _BatchWrites:
    """What matching a batch writes, gathered in the batch's order and
    stored in bulk: the payments, the pledges' balances, the matches, the
    lines' statuses and the audit rows, as `_apply` and `payment_apply`
    write them one line at a time."""

    def __init__(self, actor: Actor, pledges: Iterable[Pledge], lines: list[StatementLine]):
        self.actor = actor
        self.user = actor.user_to_store
        self.now = timezone.now()
        self.pledges = {p.pk: p for p in pledges}
        self.paid: set[int] = set()  # pledges that took money in this batch
        self.closed: set[int] = set()  # ...and are no longer open
        self.matches: list[LineMatch] = []
        self.payments: list[Payment] = []
        self.audits: list[tuple[AuditEvent, models.Model | None]] = []
        # (pledge, old status, new status, index of its audit in self.audits)
        self.status_changes: list[tuple[Pledge, str, str, int]] = []
        self.statuses: dict[str, list[int]] = {LineStatus.MATCHED: [], LineStatus.PROPOSED: []}
        self.sums = self._payment_sums() if self.pledges else {}
        # Payments already posted (by hand) with a line's bank reference: linked, not posted twice.
        self.posted = (
            {
                (p.bank_account, p.external_reference): p
                for p in Payment.objects.filter(
                    bank_account__in={line.account for line in lines},
                    external_reference__in=[line.bank_reference for line in lines],
                    reverses__isnull=True,
                )
                .exclude(status="reversed")
                .exclude(external_reference="")
                .order_by()
            }
            if self.pledges
            else {}
        )

    def _payment_sums(self) -> dict[int, dict[str, Decimal]]:
        """What `pledge_money_refresh` sums, per locked pledge, before the batch."""
        rows = (
            Payment.objects.filter(pledge__in=list(self.pledges), status__in=EFFECTIVE)
            .order_by()
            .values("pledge")
            .annotate(
                paid=Sum("amount_applied", default=ZERO),
                received_usd=Sum("amount_usd", default=ZERO),
                fees_usd=Sum("fee_usd", default=ZERO),
            )
        )
        sums = {pk: {"paid": ZERO, "received_usd": ZERO, "fees_usd": ZERO} for pk in self.pledges}
        for row in rows:
            sums[row["pledge"]] = {k: row[k] for k in ("paid", "received_usd", "fees_usd")}
        return sums

    def audit(self, action: str, obj: models.Model, pledge_pk: int | None, *, new: dict, old=None, reason="") -> None:
        event = audit_event(
            actor=self.actor, action=action, obj=obj, pledge_id=pledge_pk, old=old, new=new, reason=reason
        )
        self.audits.append((event, obj if obj.pk is None else None))

    def propose(self, line: StatementLine, proposal: matching.Proposal) -> None:
        match = LineMatch(
            line=line,
            pledge_id=proposal.pledge.pk,
            amount=proposal.amount,
            rule=proposal.rule,
            confidence=proposal.confidence,
            explanation=proposal.explanation,
            status=MatchStatus.PROPOSED,
            created_at=self.now,
        )
        self.matches.append(match)
        if proposal.apply:
            self.apply(line, match, self.pledges[proposal.pledge.pk])
            return
        self.statuses[LineStatus.PROPOSED].append(line.pk)
        self.audit(
            "statement.line.proposed",
            line,
            proposal.pledge.pk,
            new={"rule": proposal.rule, "confidence": proposal.confidence, "amount": str(proposal.amount)},
            reason=proposal.explanation,
        )

    def apply(self, line: StatementLine, match: LineMatch, pledge: Pledge) -> None:
        """`_apply` of one automatic match: the payment and the pledge's new
        balances in memory (the locked pledge, its sums before the batch
        plus this batch's payments), as `payment_apply` computes them."""
        if pledge.status == PledgeStatus.CANCELLED:
            raise TransitionNotAllowed(f"Pledge {pledge.reference} is cancelled and takes no money.")
        payment = self.posted.get((line.account, line.bank_reference))
        match.status = MatchStatus.APPLIED
        match.decided_by = self.user
        match.decided_at = self.now
        if payment is not None:  # posted by hand already: link it, do not post twice
            match.payment = payment
        else:
            payment = _payment_for(line, match, pledge, line.bank_reference, False)
            usd = convert_to_usd(payment.amount, payment.currency, payment.received_on)
            fee_usd = convert_to_usd(payment.fee, payment.currency, payment.received_on)
            payment.pledge = pledge
            payment.amount_usd = usd.amount_usd if usd else None
            payment.usd_rate = usd.rate if usd else None
            payment.fee_usd = fee_usd.amount_usd if fee_usd else None
            payment.recorded_by = self.user
            old = _money_snapshot(pledge)
            sums = self.sums[pledge.pk]
            sums["paid"] += payment.amount_applied
            sums["received_usd"] += payment.amount_usd or ZERO
            sums["fees_usd"] += payment.fee_usd or ZERO
            pledge.amount_paid, pledge.amount_received_usd, pledge.fees_usd = (
                sums["paid"],
                sums["received_usd"],
                sums["fees_usd"],
            )
            old_status, pledge.status = pledge.status, status_after_money(pledge, money_arrived=payment.amount > 0)
            status_transition_check(old_status, pledge.status)
            pledge.updated_at = self.now
            self.paid.add(pledge.pk)
            if pledge.status not in matching.OPEN_STATUSES:
                self.closed.add(pledge.pk)
            self.payments.append(payment)
            match.payment = payment
            self.audit(
                "pledge.payment.recorded",
                payment,
                pledge.pk,
                old=old,
                new={
                    **_money_snapshot(pledge),
                    "payment_id": None,
                    "method": payment.method,
                    "amount": format_amount(payment.amount, payment.currency),
                    "currency": payment.currency,
                    "amount_applied": format_amount(payment.amount_applied, pledge.currency),
                    "fee": format_amount(payment.fee, payment.currency),
                    "received_on": payment.received_on,
                    "external_reference": payment.external_reference,
                    "review_reason": payment.review_reason,
                },
                reason=payment.note,
            )
            if pledge.status != old_status:
                self.status_changes.append((pledge, old_status, pledge.status, len(self.audits) - 1))
        self.statuses[LineStatus.MATCHED].append(line.pk)
        self.audit(
            "statement.line.matched",
            line,
            pledge.pk,
            new={"payment_id": payment, "rule": match.rule, "amount": format_amount(match.amount, line.currency)},
            reason=match.explanation,
        )

    def save(self) -> None:
        if self.payments:
            try:
                with transaction.atomic():
                    Payment.objects.bulk_create(self.payments)
            except IntegrityError:
                raise DuplicatePayment(
                    "A bank reference of this batch was posted on its account by someone else at the same moment."
                ) from None
            _pledges_money_update([self.pledges[pk] for pk in self.paid], self.now)
        LineMatch.objects.bulk_create(self.matches)
        for status, pks in self.statuses.items():
            if pks:
                StatementLine.objects.filter(pk__in=pks).update(status=status, updated_at=self.now)
        events = []
        for event, obj in self.audits:
            if obj is not None:  # a payment, stored above
                event.object_id = str(obj.pk)
                event.new_values["payment_id"] = obj.pk
            if isinstance(event.new_values.get("payment_id"), Payment):
                event.new_values["payment_id"] = event.new_values["payment_id"].pk
            events.append(event)
        AuditEvent.objects.bulk_create(events)
        status_changes_bulk_record(
            [(pledge, old, new, self.audits[index][0]) for pledge, old, new, index in self.status_changes],
            actor=self.actor,
            at=self.now,
        )
        if self.payments:
            # Each donor is thanked once the money is committed, never for a rollback.
            outbox_enqueue_many("pledges.tasks.payment_thank", [(payment.pk,) for payment in self.payments])
            # bulk_create sends no post_save, so the public figures are refreshed here.
            transaction.on_commit(public_cache_invalidate)


# --- Review actions ------------------------------------------------------------------


def _locked_line(line: StatementLine) -> StatementLine:
    return StatementLine.objects.select_for_update().select_related("statement").get(pk=line.pk)


def line_accept(*, line: StatementLine, actor: Actor, settle_net: bool = False) -> StatementLine:
    """Apply the line's proposed match. `settle_net` settles the pledge in
    full when the sender's bank kept charges the statement does not show."""
    with transaction.atomic():
        line = _locked_line(line)
        proposed = list(line.matches.filter(status=MatchStatus.PROPOSED).order_by("-confidence")[:1])
        if line.status != LineStatus.PROPOSED or not proposed:
            raise TransitionNotAllowed("This line has no proposed match to accept.")
        _apply(line, proposed, actor, settle_net=settle_net)
        line.matches.filter(status=MatchStatus.PROPOSED).update(status=MatchStatus.REJECTED, decided_at=timezone.now())
    return line


def _line_decide(line: StatementLine, status: str, *, reason: str, actor: Actor, action: str) -> None:
    """A person's decision on a locked line: its new status, the reason as
    its note, saved and audited."""
    line.status = status
    line.note = reason
    line.updated_at = timezone.now()
    line.save(update_fields=["status", "note", "updated_at"])
    audit_record(actor=actor, action=action, obj=line, reason=reason)


def line_reject(*, line: StatementLine, actor: Actor, reason: str = "") -> StatementLine:
    with transaction.atomic():
        line = _locked_line(line)
        if line.status != LineStatus.PROPOSED:
            raise TransitionNotAllowed("Only a proposed match can be rejected.")
        user = actor.user_to_store
        line.matches.filter(status=MatchStatus.PROPOSED).update(
            status=MatchStatus.REJECTED, decided_by=user, decided_at=timezone.now()
        )
        _line_decide(line, LineStatus.UNMATCHED, reason=reason, actor=actor, action="statement.line.rejected")
    return line


@dataclass(frozen=True)
class Allocation:
    pledge: Pledge
    amount: Decimal  # in the line's currency, charges included


def line_match(*, line: StatementLine, allocations: list[Allocation], actor: Actor, reason: str = "") -> StatementLine:
    """Match an unmatched or proposed line by hand, to one pledge or split
    across several: the parts must add up to what the donor sent (the
    line's amount plus its charges)."""
    if not allocations:
        raise InvalidInput({"allocations": ["Name at least one pledge."]})
    with transaction.atomic():
        line = _locked_line(line)
        if line.status not in (LineStatus.UNMATCHED, LineStatus.PROPOSED):
            raise TransitionNotAllowed(
                f"A {line.get_status_display().lower()} line cannot be matched again; unmatch it first."
            )
        total, sent = sum((a.amount for a in allocations), Decimal(0)), matching.line_gross(line)
        for index, allocation in enumerate(allocations):
            try:
                check_amount(allocation.amount, line.currency)
            except CurrencyError as error:
                raise InvalidInput({f"allocations.{index}.amount": [str(error)]}) from None
        if total != sent or any(a.amount <= 0 for a in allocations):
            message = f"The parts add up to {total}; they must be positive and add up to {sent} {line.currency}."
            raise InvalidInput({"allocations": [message]})
        line.matches.filter(status=MatchStatus.PROPOSED).update(status=MatchStatus.REJECTED, decided_at=timezone.now())
        matches = [
            LineMatch.objects.create(
                line=line,
                pledge=a.pledge,
                amount=a.amount,
                rule=MatchRule.MANUAL,
                confidence=Decimal(1),
                explanation=reason or "Matched by hand.",
                status=MatchStatus.PROPOSED,
            )
            for a in allocations
        ]
        _apply(line, matches, actor)
    return line


def line_unmatch(*, line: StatementLine, actor: Actor, reason: str) -> StatementLine:
    """Undo a match: each payment it made is reversed by a reversing entry,
    the line waits for review again."""
    if not reason.strip():
        raise InvalidInput({"reason": ["Say why the match is undone."]})
    with transaction.atomic():
        line = _locked_line(line)
        if line.status != LineStatus.MATCHED:
            raise TransitionNotAllowed("Only a matched line can be unmatched.")
        for match in line.matches.filter(status=MatchStatus.APPLIED).select_related("payment"):
            payment = match.payment  # an applied match made one
            if payment is not None and payment.status == "succeeded" and payment.reverses_id is None:
                payment_reverse(payment=payment, actor=actor, reason=reason)
            match.status = MatchStatus.UNDONE
            match.save(update_fields=["status"])
        _line_decide(line, LineStatus.UNMATCHED, reason=reason, actor=actor, action="statement.line.unmatched")
    return line


def line_exclude(*, line: StatementLine, actor: Actor, reason: str) -> StatementLine:
    """Keep a line out of matching (not money for the Fund), with a reason."""
    if not reason.strip():
        raise InvalidInput({"reason": ["Say why the line is excluded."]})
    with transaction.atomic():
        line = _locked_line(line)
        if line.status not in (LineStatus.UNMATCHED, LineStatus.PROPOSED):
            raise TransitionNotAllowed(f"A {line.get_status_display().lower()} line cannot be excluded.")
        line.matches.filter(status=MatchStatus.PROPOSED).update(status=MatchStatus.REJECTED, decided_at=timezone.now())
        _line_decide(line, LineStatus.EXCLUDED, reason=reason, actor=actor, action="statement.line.excluded")
    return line


@dataclass(frozen=True)
class AllocationRequest:
    """A part of a line matched by hand, as staff wrote it."""

    reference: str  # the pledge's reference as typed
    amount: Decimal | None = None  # in the line's currency, charges included; None: all of the line


def line_match_by_reference(
    *, line: StatementLine, parts: list[AllocationRequest], actor: Actor, reason: str = ""
) -> StatementLine:
    """Match a line by hand to the pledges its parts name by reference, as
    `line_match`. A part without an amount takes the whole line, which only
    a line matched to one pledge can do. Raises InvalidInput naming
    `allocations.N.pledge` (no pledge has the reference, code
    `pledge-unknown`) and `allocations.N.amount` (a split part without its
    amount, code `split-amount-required`), every part's problem at once."""
    allocations: list[Allocation] = []
    errors: dict[str, list[str]] = {}
    for index, part in enumerate(parts):
        pledge = pledge_by_reference(part.reference)
        if pledge is None:
            errors[f"allocations.{index}.pledge"] = [
                Refusal(f"No pledge has the reference {part.reference!r}.", "pledge-unknown")
            ]
            continue
        if part.amount is None and len(parts) > 1:
            errors[f"allocations.{index}.amount"] = [
                Refusal("Give each part's amount when splitting a line.", "split-amount-required")
            ]
            continue
        amount = line.amount + line.charges if part.amount is None else part.amount
        allocations.append(Allocation(pledge=pledge, amount=amount))
    if errors:
        raise InvalidInput(errors)
    return line_match(line=line, allocations=allocations, actor=actor, reason=reason)
