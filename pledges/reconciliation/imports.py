"""Statement files on their way in: uploads capped as their bytes arrive,
large files imported by a task whose progress staff can read, the preview
of a file as it will be read (nothing stored), and the banks' CSV profiles.

The import itself is `services.statement_import`; this module decides where
it runs and records what came of it.
"""

import logging
import secrets
from dataclasses import asdict
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from pledges.audit import Actor, audit_record
from pledges.errors import DomainError, InvalidInput, StatementTooLarge
from pledges.models import BankStatement, CsvProfile, ImportStatus, StatementImport
from pledges.money import CurrencyError, currency_minor_units, format_amount
from pledges.outbox import task_enqueue
from pledges.reconciliation import services
from pledges.reconciliation.csv_statement import CsvLayout
from pledges.reconciliation.parsing import LineError, StatementFormatError, StatementHeader

logger = logging.getLogger(__name__)

PREVIEW_LINES = 20


PROGRESS_KEY = "statement-import:{pk}:lines"
# Longer than any import of a file within STATEMENT_MAX_BYTES takes (64 MB: a few minutes).
STALE_AFTER_SECONDS = 3600


# --- Uploads -----------------------------------------------------------------------


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Writes the upload to a temporary file and stops it as soon as it
    passes `limit` bytes (or declares a larger body), so a file over the
    limit is never read to its end nor held in memory."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # The multipart envelope adds a few hundred bytes to the file.
        if content_length and content_length > self.limit + 64 * 1024:
            raise StatementTooLarge(f"Statements are limited to {self.limit} bytes.")
        return super().handle_raw_input(input_data, META, content_length, boundary, encoding)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise StatementTooLarge(
                f"Statements are limited to {self.limit} bytes; the upload was stopped when it passed them."
            )
        return super().receive_data_chunk(raw_data, start)


def upload_cap_install(request) -> None:
    """Cap the statement upload of this request (a Django HttpRequest) as
    it arrives; a no-op when the body was already read (a CSRF check of a
    session-authenticated API call reads it first; the size is then checked
    after the upload)."""
    if not hasattr(request, "_files"):
        request.upload_handlers = [CappedUploadHandler(request, limit=settings.STATEMENT_MAX_BYTES)]


def upload_checked(upload) -> None:
    if upload is None:
        raise InvalidInput({"file": ["Attach the statement as the multipart field `file`."]})
    if upload.size == 0:
        raise InvalidInput({"file": ["The file is empty."]})
    if upload.size > settings.STATEMENT_MAX_BYTES:
        raise StatementTooLarge(f"Statements are limited to {settings.STATEMENT_MAX_BYTES} bytes.")


# --- Import options ------------------------------------------------------------------


def import_options(data: Any) -> dict[str, Any]:
    """The import's options from a form or JSON body, checked: account,
    date_order, currency, profile (a CsvProfile id or name)."""
    errors: dict[str, list[str]] = {}
    date_order = str(data.get("date_order") or "auto")
    if date_order not in ("auto", "DMY", "MDY"):
        errors["date_order"] = ["One of auto, DMY, MDY."]
    currency = str(data.get("currency") or "").strip().upper()
    if currency:
        try:
            currency_minor_units(currency)
        except CurrencyError as error:
            errors["currency"] = [str(error)]
    account = str(data.get("account") or "").strip()
    if len(account) > 64:
        errors["account"] = ["At most 64 characters."]
    profile = None
    named = str(data.get("profile") or "").strip()
    if named:
        query = CsvProfile.objects.filter(pk=int(named)) if named.isdigit() else CsvProfile.objects.filter(name=named)
        profile = query.first()
        if profile is None:
            errors["profile"] = [f"No CSV profile is named {named[:100]!r}."]
    if errors:
        raise InvalidInput(errors)
    return {"account": account, "date_order": date_order, "currency": currency, "profile": profile}


# --- Large files: a task, with progress -------------------------------------------------


def statement_import_queue(
    *, file: IO[bytes], filename: str, size: int, options: dict[str, Any], actor: Actor
) -> StatementImport:
    """Store a statement file and queue its import after commit. The file
    (an upload's temporary file) streams into the storage in chunks."""
    user = actor.user_to_store
    profile = options.get("profile")
    with transaction.atomic():
        job = StatementImport(
            filename=(filename or "")[:255],
            size=size,
            options={
                "account": options.get("account", ""),
                "date_order": options.get("date_order", "auto"),
                "currency": options.get("currency", ""),
                "profile": profile.pk if profile else None,
            },
            created_by=user,
        )
        file.seek(0)
        # A name nobody can guess: statement files hold donors' names and accounts.
        job.file.save(f"statement-{secrets.token_urlsafe(18)}.dat", File(file), save=False)
        job.save()
        audit_record(
            actor=actor, action="statement.import.queued", obj=job, new={"filename": job.filename, "size": job.size}
        )
        task_enqueue("pledges.tasks.statement_import_run", job.pk)
    return job


def statement_import_run(*, job_pk: int) -> str:
    """Import a queued file once: a job that is not queued is left alone
    (a second delivery of the task), unless it has been running for more
    than STALE_AFTER_SECONDS (its worker died). The outcome (the statements, or the
    problem that refused the file) is recorded on the job."""
    # A job left running by a worker that died is taken again once it is
    # stale: the import is one transaction, so nothing of it was kept.
    stale = timezone.now() - timedelta(seconds=STALE_AFTER_SECONDS)
    claimed = (
        StatementImport.objects.filter(pk=job_pk)
        .filter(Q(status=ImportStatus.QUEUED) | Q(status=ImportStatus.RUNNING, started_at__lt=stale))
        .update(status=ImportStatus.RUNNING, started_at=timezone.now())
    )
    if not claimed:
        return StatementImport.objects.get(pk=job_pk).status
    job = StatementImport.objects.select_related("created_by").get(pk=job_pk)
    options = job.options or {}
    profile_pk = options.get("profile")
    profile = CsvProfile.objects.filter(pk=profile_pk).first() if profile_pk else None
    actor = Actor.staff(job.created_by) if job.created_by_id else Actor.task("statement_import_run")
    key = PROGRESS_KEY.format(pk=job.pk)

    def progress(lines: int) -> None:
        try:
            cache.set(key, lines, timeout=24 * 3600)
        except Exception:  # progress is a courtesy; a cache outage must not fail the import
            logger.warning("statement import %s: progress not recorded", job.pk)

    try:
        with job.file.open("rb") as stream:
            statements = services.statement_import(
                stream=stream,
                filename=job.filename,
                actor=actor,
                account=options.get("account", ""),
                date_order=options.get("date_order", "auto"),
                currency=options.get("currency", ""),
                profile=profile,
                progress=progress,
            )
    except Exception as error:
        if not isinstance(error, DomainError):
            # Recorded for staff, then raised for the worker's log; the file is kept and can be sent again.
            job.status, job.finished_at = ImportStatus.REFUSED, timezone.now()
            job.outcome = {"status": 500, "code": "import-failed", "title": "The import failed", "detail": str(error)}
            job.save(update_fields=["status", "outcome", "finished_at"])
            raise
        job.status = ImportStatus.REFUSED
        job.outcome = {
            "status": error.status,
            "code": error.code,
            "title": error.title,
            "detail": error.detail,
            "errors": error.errors,
        }
    else:
        job.status = ImportStatus.DONE
        job.outcome = {"lines": sum(s.line_count for s in statements)}
        job.statements.set(statements)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "outcome", "finished_at"])
    return job.status


def statement_import_progress(job: StatementImport) -> int | None:
    """Lines read so far by a running import (None when unknown)."""
    if job.status != ImportStatus.RUNNING:
        return None
    try:
        return cache.get(PROGRESS_KEY.format(pk=job.pk))
    except Exception:
        return None


# --- Preview ------------------------------------------------------------------------


def statement_preview(*, stream: IO[bytes], options: dict[str, Any], limit: int = PREVIEW_LINES) -> dict[str, Any]:
    """The first lines of a file as the import will read them, with their
    errors, the format and (CSV) the columns found. Nothing is stored. A
    file that cannot be read gives its reason in `file_error`."""
    profile = options.get("profile")
    if profile is not None and (problems := services.csv_layout(profile).errors()):
        raise InvalidInput({f"profile.{name}": messages for name, messages in problems.items()})
    sha = services._sha256(stream)
    source = services.import_source(
        stream,
        sha=sha,
        account=options.get("account", ""),
        date_order=options.get("date_order", "auto"),
        currency=options.get("currency", ""),
        profile=profile,
    )
    headers: list[StatementHeader] = []
    found: dict[str, Any] = {}
    lines, errors, file_error = [], {}, ""
    try:
        parsed = services.parsed_lines(stream, source, headers, found=found)
        for item in parsed:
            if isinstance(item, LineError):
                errors.update({f"lines.{item.position}.{name}": messages for name, messages in item.errors.items()})
            else:
                lines.append(_preview_line(item))
            if len(lines) + len({k.split(".")[1] for k in errors}) >= limit:
                break
    except StatementFormatError as error:
        file_error = error.detail
    return {
        "file_format": source.file_format,
        "statements": [
            {"statement_id": h.statement_id, "account": h.account, "kind": h.kind, "balances": h.balances}
            for h in headers
        ],
        "columns": found.get("columns", {}),
        "header": found.get("header", []),
        "delimiter": found.get("delimiter", ""),
        "lines": lines,
        "errors": errors,
        "file_error": file_error,
        "already_imported": BankStatement.objects.filter(file_sha256=sha).exists(),
    }


def _preview_line(line) -> dict[str, Any]:
    return {
        "position": line.position,
        "booking_date": line.booking_date,
        "value_date": line.value_date,
        "direction": line.direction,
        "amount": format_amount(line.amount, line.currency),
        "currency": line.currency,
        "bank_reference": line.bank_reference,
        "debtor_name": line.debtor_name,
        "remittance": line.remittance,
        "creditor_reference": line.creditor_reference,
    }


# --- CSV profiles ---------------------------------------------------------------------

PROFILE_FIELDS = (
    "account",
    "encoding",
    "delimiter",
    "skip_lines",
    "has_header",
    "columns",
    "date_order",
    "decimal_separator",
    "sign",
    "credit_words",
    "debit_words",
    "currency",
)


def csv_profile_save(
    *, name: str, values: dict[str, Any], actor: Actor, profile: CsvProfile | None = None
) -> CsvProfile:
    """Create or change a bank's CSV profile, checked as the importer will
    use it (InvalidInput naming each field at fault), and audited."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    same_name = CsvProfile.objects.filter(name=name)
    if profile is not None:
        same_name = same_name.exclude(pk=profile.pk)
    if not name or len(name) > 100:
        errors["name"] = ["1 to 100 characters."]
    elif same_name.exists():
        errors["name"] = ["Another profile has this name."]
    defaults = asdict(CsvLayout())
    merged = {field: values.get(field, getattr(profile, field, defaults.get(field, ""))) for field in PROFILE_FIELDS}
    merged["currency"] = str(merged["currency"] or "").upper()
    merged["credit_words"] = list(merged["credit_words"] or [])
    merged["debit_words"] = list(merged["debit_words"] or [])
    merged["account"] = str(merged["account"] or "")
    layout_values = {k: v for k, v in merged.items() if k != "account"}
    layout_values["credit_words"] = tuple(layout_values["credit_words"])
    layout_values["debit_words"] = tuple(layout_values["debit_words"])
    try:
        layout_problems = CsvLayout(**layout_values).errors()
    except TypeError as error:
        layout_problems = {"columns": [str(error)]}
    errors.update(layout_problems)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        creating = profile is None
        profile = profile or CsvProfile(created_by=actor.user_to_store)
        old = {field: getattr(profile, field) for field in PROFILE_FIELDS} if not creating else {}
        profile.name = name
        for field, value in merged.items():
            setattr(profile, field, value)
        profile.updated_at = timezone.now()
        profile.save()
        audit_record(
            actor=actor,
            action="statement.csv_profile." + ("created" if creating else "changed"),
            obj=profile,
            old=old,
            new={"name": name, **merged},
        )
    return profile
