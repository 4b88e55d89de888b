"""Statement import and the review actions. Each action locks the line,
changes the pledge's money through the payment services (so status and
balances follow in the same transaction) and is audited."""

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import DomainError, InvalidInput, Refusal, TransitionNotAllowed
from pledges.models import (
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
from pledges.money import CurrencyError, check_amount, format_amount, round_to_currency
from pledges.payments.services import amount_in_pledge_currency, payment_apply, payment_reverse
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

BATCH = 2000
MAX_LINE_ERRORS_REPORTED = 200


class StatementAlreadyImported(DomainError):
    status = 409
    code = "statement-already-imported"
    title = "This statement was already imported"


class StatementLineConflict(DomainError):
    status = 409
    code = "statement-line-conflict"
    title = "A line of this file has the bank reference of a different line already imported"


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def statement_format(stream: BinaryIO) -> str:
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
    stream: BinaryIO, source: ImportSource, headers: list[StatementHeader], *, found: dict | None = None
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
    headers.append(StatementHeader(statement_id=source.statement_id, account=source.account, file_format="csv"))
    return iter_csv_statement(
        stream,
        statement_id=source.statement_id,
        account=source.account,
        date_order=source.date_order,
        layout=csv_layout(source.profile),
        currency=source.currency,
        found=found,
    )


def import_source(
    stream: BinaryIO, *, sha: str, account: str, date_order: str, currency: str, profile: CsvProfile | None
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
    by = f" by {statement.imported_by.get_username()}" if statement.imported_by_id else ""
    return f"on {timezone.localtime(statement.imported_at):%Y-%m-%d %H:%M}{by}"


def statement_import(
    *,
    stream: BinaryIO,
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
            user = self.actor.user if self.actor.user is not None and self.actor.user.is_authenticated else None
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
        known = {
            (line.account, line.bank_reference): line
            for line in StatementLine.objects.filter(
                account__in={line.account for line in parsed},
                bank_reference__in=[line.bank_reference for line in parsed],
            ).select_related("statement")
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
        StatementLine.objects.bulk_create(
            _line_row(self.statements[(line.account, line.statement_id)], line) for line in fresh
        )
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
                from pledges.tasks import statement_match

                statement_match.delay_durable(statement.pk)


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


def _line_row(statement: BankStatement, line: ParsedLine) -> StatementLine:
    direction = line.direction.lower()
    if direction != "credit":
        status, note = LineStatus.EXCLUDED, "A debit: not money for the Fund."
    elif line.amount == 0:
        status, note = LineStatus.EXCLUDED, "A zero amount: no money moved."
    else:
        status, note = LineStatus.UNMATCHED, ""
    return StatementLine(
        statement=statement,
        position=line.position,
        account=line.account,
        bank_reference=line.bank_reference,
        direction=direction,
        amount=line.amount,
        currency=line.currency,
        charges=line.charges,
        booking_date=line.booking_date,
        value_date=line.value_date,
        debtor_name=line.debtor_name,
        remittance=line.remittance,
        creditor_reference=line.creditor_reference,
        status=status,
        note=note,
    )


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
    recording progress on the statement. Safe to run twice: only
    unmatched lines are looked at, each under a lock, and a match a
    reconciler rejected is not proposed again."""
    actor = actor or Actor.task("statement_match")
    pending = StatementLine.objects.filter(statement=statement, status=LineStatus.UNMATCHED, direction="credit")
    total, done = pending.count(), 0
    for batch in _batches(pending.order_by("pk").iterator(chunk_size=BATCH)):
        references = {
            ref
            for line in batch
            for ref in [*find_references(line.creditor_reference), *find_references(line.remittance)]
        }
        pledges = {p.reference: p for p in Pledge.objects.filter(reference__in=references).select_related("donor")}
        for line in batch:
            _line_match_automatically(line, pledges, actor)
        done += len(batch)
        BankStatement.objects.filter(pk=statement.pk).update(
            report={**statement.report, "matching": "running", "done": done, "total": total}
        )
    report = {**statement.report, "matching": "done", "done": done, "total": total, **_line_counts(statement)}
    BankStatement.objects.filter(pk=statement.pk).update(report=report)
    return report


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


def _line_match_automatically(line: StatementLine, pledges: dict[str, Pledge], actor: Actor) -> None:
    with transaction.atomic():
        line = StatementLine.objects.select_for_update().select_related("statement").get(pk=line.pk)
        if line.status != LineStatus.UNMATCHED:
            return  # someone acted on it meanwhile
        proposal = matching.propose_by_reference(line, pledges)
        if proposal is not None:
            # The batch's copy may be stale (an earlier line of this
            # statement, or a reconciler, paid the same pledge): judge again
            # against the pledge as it is now, locked.
            fresh = Pledge.objects.select_for_update().select_related("donor").get(pk=proposal.pledge.pk)
            pledges[fresh.reference] = fresh
            proposal = matching.propose_by_reference(line, pledges)
        proposal = proposal or matching.propose_by_donor_and_amount(line)
        if proposal is None or line.matches.filter(pledge=proposal.pledge, status=MatchStatus.REJECTED).exists():
            return
        _line_propose(line, proposal, actor)


def _line_propose(line: StatementLine, proposal: matching.Proposal, actor: Actor) -> None:
    """Record a proposal on a locked line, and apply it when the rule is sure."""
    match = LineMatch.objects.create(
        line=line,
        pledge=proposal.pledge,
        amount=proposal.amount,
        rule=proposal.rule,
        confidence=proposal.confidence,
        explanation=proposal.explanation,
        status=MatchStatus.PROPOSED,
    )
    if proposal.apply:
        _apply(line, [match], actor)
        return
    line.status = LineStatus.PROPOSED
    line.updated_at = timezone.now()
    line.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="statement.line.proposed",
        obj=line,
        pledge=proposal.pledge,
        new={"rule": proposal.rule, "confidence": proposal.confidence, "amount": str(proposal.amount)},
        reason=proposal.explanation,
    )


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
        match.decided_by = actor.user if actor.user is not None and actor.user.is_authenticated else None
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


def line_reject(*, line: StatementLine, actor: Actor, reason: str = "") -> StatementLine:
    with transaction.atomic():
        line = _locked_line(line)
        if line.status != LineStatus.PROPOSED:
            raise TransitionNotAllowed("Only a proposed match can be rejected.")
        user = actor.user if actor.user is not None and actor.user.is_authenticated else None
        line.matches.filter(status=MatchStatus.PROPOSED).update(
            status=MatchStatus.REJECTED, decided_by=user, decided_at=timezone.now()
        )
        line.status = LineStatus.UNMATCHED
        line.note = reason
        line.updated_at = timezone.now()
        line.save(update_fields=["status", "note", "updated_at"])
        audit_record(actor=actor, action="statement.line.rejected", obj=line, reason=reason)
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
            if match.payment.status == "succeeded" and match.payment.reverses_id is None:
                payment_reverse(payment=match.payment, actor=actor, reason=reason)
            match.status = MatchStatus.UNDONE
            match.save(update_fields=["status"])
        line.status = LineStatus.UNMATCHED
        line.note = reason
        line.updated_at = timezone.now()
        line.save(update_fields=["status", "note", "updated_at"])
        audit_record(actor=actor, action="statement.line.unmatched", obj=line, reason=reason)
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
        line.status = LineStatus.EXCLUDED
        line.note = reason
        line.updated_at = timezone.now()
        line.save(update_fields=["status", "note", "updated_at"])
        audit_record(actor=actor, action="statement.line.excluded", obj=line, reason=reason)
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
