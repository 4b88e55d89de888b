"""Statement import and the review actions. Each action locks the line,
changes the pledge's money through the payment services (so status and
balances follow in the same transaction) and is audited."""

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import DomainError, InvalidInput, TransitionNotAllowed
from pledges.models import (
    BankStatement,
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
from pledges.reconciliation.parsing import LineError, StatementFormatError, find_references
from pledges.reconciliation.parsing import StatementLine as ParsedLine

BATCH = 2000
MAX_LINE_ERRORS_REPORTED = 200


class StatementAlreadyImported(DomainError):
    status = 409
    code = "statement-already-imported"
    title = "This statement was already imported"


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def _sniff_format(stream: BinaryIO) -> str:
    head = stream.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    stream.seek(0)
    return StatementFormat.CAMT053 if head.startswith(b"<") else StatementFormat.CSV


def _parsed_lines(stream: BinaryIO, file_format: str, *, sha: str, account: str, date_order: str) -> Iterator:
    if file_format == StatementFormat.CAMT053:
        from pledges.reconciliation.camt053 import iter_camt053

        return iter_camt053(stream)
    from pledges.reconciliation.csv_statement import iter_csv_statement

    return iter_csv_statement(stream, statement_id=f"csv-{sha[:32]}", account=account, date_order=date_order)


def statement_import(
    *, stream: BinaryIO, filename: str, actor: Actor, account: str = "", date_order: str = "auto"
) -> list[BankStatement]:
    """Import a camt.053 or CSV statement, whole or not at all.

    The file streams through the parser in batches, so 100,000 lines never
    sit in memory together. A statement already imported (same account and
    statement id, or the same file) is refused; a line whose bank reference
    is already on the account (a re-sent statement) is skipped and counted.
    Any malformed line refuses the whole file, with each line's errors.
    Debits are kept, visible and excluded. Matching runs after commit.

    Raises StatementFormatError (as InvalidInput on `file`),
    StatementAlreadyImported, InvalidInput with per-line errors.
    """
    sha = _sha256(stream)
    file_format = _sniff_format(stream)
    account = account or settings.FUND_BANK_ACCOUNT["account_number"]
    if BankStatement.objects.filter(file_sha256=sha).exists():
        raise StatementAlreadyImported("This file was already imported.")
    statements: dict[tuple[str, str], BankStatement] = {}
    errors: dict[str, list[str]] = {}
    skipped = 0
    try:
        with transaction.atomic():
            lines = _parsed_lines(stream, file_format, sha=sha, account=account, date_order=date_order)
            for batch in _batches(lines):
                good = []
                for item in batch:
                    if isinstance(item, LineError):
                        if len(errors) < MAX_LINE_ERRORS_REPORTED:
                            for name, messages in item.errors.items():
                                errors[f"lines.{item.position}.{name}"] = messages
                        continue
                    good.append(item)
                if errors:
                    continue  # keep reading to report every bad line, store nothing
                skipped += _store_batch(
                    good, statements, file_format=file_format, filename=filename, sha=sha, actor=actor
                )
            if errors:
                raise InvalidInput(errors)
            if not statements:
                raise InvalidInput({"file": ["The file holds no statement lines."]})
            for statement in statements.values():
                statement.line_count = statement.lines.count()
                statement.report = {"lines": statement.line_count, "skipped_duplicates": skipped, "matching": "queued"}
                statement.save(update_fields=["line_count", "report"])
                audit_record(
                    actor=actor,
                    action="statement.imported",
                    obj=statement,
                    new={
                        "statement_id": statement.statement_id,
                        "account": statement.account,
                        "lines": statement.line_count,
                    },
                )
                from pledges.tasks import statement_match

                statement_match.delay_durable(statement.pk)
    except StatementFormatError as error:
        position = f" (entry {error.position})" if getattr(error, "position", None) else ""
        raise InvalidInput({"file": [f"{error.detail}{position}"]}) from None
    except IntegrityError:
        raise StatementAlreadyImported("This statement is being imported, or was, by someone else.") from None
    return list(statements.values())


def _batches(items: Iterable) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _store_batch(
    parsed: list[ParsedLine], statements: dict, *, file_format: str, filename: str, sha: str, actor: Actor
) -> int:
    """Create the batch's lines (and their statements on first sight);
    returns how many were skipped as already on the account."""
    for line in parsed:
        key = (line.account, line.statement_id)
        if key not in statements:
            if BankStatement.objects.filter(account=line.account, statement_id=line.statement_id).exists():
                raise StatementAlreadyImported(
                    f"Statement {line.statement_id} of account {line.account} is already imported."
                )
            statements[key] = BankStatement.objects.create(
                statement_id=line.statement_id,
                account=line.account,
                file_format=file_format,
                filename=filename[:255],
                file_sha256=sha,
                imported_by=actor.user if actor.user is not None and actor.user.is_authenticated else None,
            )
    known = set(
        StatementLine.objects.filter(
            account__in={line.account for line in parsed}, bank_reference__in=[line.bank_reference for line in parsed]
        ).values_list("account", "bank_reference")
    )
    fresh = [line for line in parsed if not line.bank_reference or (line.account, line.bank_reference) not in known]
    StatementLine.objects.bulk_create(
        StatementLine(
            statement=statements[(line.account, line.statement_id)],
            position=line.position,
            account=line.account,
            bank_reference=line.bank_reference,
            direction=line.direction.lower(),
            amount=line.amount,
            currency=line.currency,
            charges=line.charges,
            booking_date=line.booking_date,
            value_date=line.value_date,
            debtor_name=line.debtor_name[:140],
            remittance=line.remittance,
            creditor_reference=line.creditor_reference[:35],
            status=LineStatus.UNMATCHED if line.direction.lower() == "credit" else LineStatus.EXCLUDED,
            note="" if line.direction.lower() == "credit" else "A debit: not money for the Fund.",
        )
        for line in fresh
    )
    return len(parsed) - len(fresh)


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
