"""Bank statements, their lines, and the matches between lines and pledges.

Imported by `pledges.models`, so these belong to the pledges app.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pledges.model_fields import MONEY


class StatementFormat(models.TextChoices):
    CAMT053 = "camt053", "ISO 20022 camt.053"
    CAMT054 = "camt054", "ISO 20022 camt.054 (notification)"
    CAMT052 = "camt052", "ISO 20022 camt.052 (intraday report)"
    MT940 = "mt940", "SWIFT MT940"
    BAI2 = "bai2", "BAI2"
    CSV = "csv", "CSV"


class StatementKind(models.TextChoices):
    STATEMENT = "statement", "Statement (end of day)"
    NOTIFICATION = "notification", "Credit/debit notification"
    INTRADAY = "intraday", "Intraday report"


class BankStatement(models.Model):
    """One imported statement. The same statement (account and bank's id)
    cannot be imported twice."""

    statement_id = models.CharField(max_length=140, help_text="The bank's id, or the file's SHA-256 for CSV")
    account = models.CharField(max_length=64)
    file_format = models.CharField(max_length=16, choices=StatementFormat.choices)
    kind = models.CharField(max_length=16, choices=StatementKind.choices, default=StatementKind.STATEMENT)
    balances = models.JSONField(
        default=list, blank=True, encoder=DjangoJSONEncoder, help_text="The balances the bank states, as given"
    )
    filename = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    line_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-imported_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "statement_id"], name="statement_unique_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.statement_id}"


class LineStatus(models.TextChoices):
    UNMATCHED = "unmatched", "Unmatched, for review"
    PROPOSED = "proposed", "Match proposed, waiting for a reconciler"
    MATCHED = "matched", "Matched and applied"
    EXCLUDED = "excluded", "Excluded (a debit, or not for the Fund)"


class StatementLine(models.Model):
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    account = models.CharField(max_length=64)
    bank_reference = models.CharField(max_length=140)
    direction = models.CharField(max_length=8)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    charges = models.DecimalField(**MONEY, default=0)
    booking_date = models.DateField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)
    debtor_name = models.CharField(max_length=140, blank=True)
    remittance = models.TextField(blank=True)
    creditor_reference = models.CharField(max_length=35, blank=True)
    status = models.CharField(max_length=16, choices=LineStatus.choices, default=LineStatus.UNMATCHED)
    note = models.TextField(blank=True, help_text="Why it is excluded, or what staff decided")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["statement", "position"]
        indexes = [models.Index(fields=["status", "value_date"])]
        constraints = [
            # A transfer appears on one account once, whichever statement
            # (or re-sent statement) brings it.
            models.UniqueConstraint(
                fields=["account", "bank_reference"],
                condition=~Q(bank_reference=""),
                name="statement_line_reference_unique_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_reference} {self.amount} {self.currency}"

    @property
    def settlement_date(self):
        return self.value_date or self.booking_date


class MatchRule(models.TextChoices):
    REFERENCE = "reference", "ISO 11649 reference"
    DONOR_AMOUNT = "donor_amount", "Donor name and amount"
    MANUAL = "manual", "Matched by hand"


class MatchStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"
    UNDONE = "undone", "Undone (reversed)"


class LineMatch(models.Model):
    """A (proposed or applied) allocation of a statement line, or part of
    it, to a pledge, with why it was made and how sure the rule was."""

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="matches")
    pledge = models.ForeignKey("pledges.Pledge", on_delete=models.PROTECT, related_name="statement_matches")
    amount = models.DecimalField(**MONEY, help_text="The part of the line, in the line's currency")
    rule = models.CharField(max_length=16, choices=MatchRule.choices)
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    explanation = models.TextField()
    status = models.CharField(max_length=16, choices=MatchStatus.choices)
    payment = models.OneToOneField(
        "pledges.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="statement_match"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["line", "-confidence"]

    def __str__(self) -> str:
        return f"{self.line} -> {self.pledge_id} ({self.rule}, {self.confidence})"

    @property
    def line_currency(self) -> str:
        return self.line.currency


class ReminderStep(models.Model):
    """A reminder e-mailed for one instalment at one step (days from its due
    date). The unique row is inserted before the e-mail goes, so two runs
    of the job, or two workers, never send one step twice."""

    # The history outlives a changed instalment plan: the pledge, due date
    # and amount are kept here, and the instalment link is cleared when a
    # new plan replaces it.
    instalment = models.ForeignKey(
        "pledges.Instalment", on_delete=models.SET_NULL, null=True, blank=True, related_name="reminders"
    )
    pledge = models.ForeignKey("pledges.Pledge", on_delete=models.PROTECT, related_name="reminders")
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    days_from_due = models.IntegerField(help_text="Negative before the due date")
    sent_at = models.DateTimeField(default=timezone.now)
    recipient = models.EmailField(blank=True)
    language = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["instalment", "days_from_due"], name="reminder_once_per_step"),
        ]

    def __str__(self) -> str:
        return f"{self.instalment} at {self.days_from_due:+d} days"


class CsvProfile(models.Model):
    """How one bank writes its CSV export, saved once by staff so every new
    export of that bank imports as it is. Read by
    `csv_statement.CsvLayout` (see its fields for the meaning of each)."""

    name = models.CharField(max_length=100, unique=True)
    account = models.CharField(max_length=64, blank=True, help_text="The Fund's account the export is for")
    encoding = models.CharField(max_length=16, default="auto")
    delimiter = models.CharField(max_length=2, blank=True, help_text="Empty: found from the header")
    skip_lines = models.PositiveSmallIntegerField(default=0, help_text="Lines before the header (or the data)")
    has_header = models.BooleanField(default=True)
    columns = models.JSONField(default=dict, blank=True, help_text="Field -> column name, or 1-based column number")
    date_order = models.CharField(max_length=4, default="auto")
    decimal_separator = models.CharField(max_length=4, default="auto")
    sign = models.CharField(max_length=16, default="amount", help_text="amount: a minus is a debit; direction")
    credit_words = models.JSONField(default=list, blank=True)
    debit_words = models.JSONField(default=list, blank=True)
    currency = models.CharField(max_length=3, blank=True, help_text="When the file names no currency")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Imported"
    REFUSED = "refused", "Refused"


class StatementImport(models.Model):
    """A statement file too large to import within the request: stored,
    then imported by a task, which records its progress and outcome."""

    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    file = models.FileField(upload_to="statements/%Y/%m/", max_length=255)
    filename = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True, help_text="account, date_order, currency, profile")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    statements = models.ManyToManyField(BankStatement, blank=True, related_name="imports")
    outcome = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="Report, or the problem")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"
