"""pledges 0001_initial to 0020_i15c_trigram in one migration.

Safe to squash all of them, and to delete them: every installation of the
release at 455be84 has applied all twenty, so each database either records
them all (Django then treats this migration as applied from its
django_migrations rows, without the old files) or has none and runs this one.
A database that recorded only some of them must be upgraded with that
release first: here Django would silently see no pledges migrations at all
(showmigrations says "(no migrations)") and plan nothing for it.

The schema is Django's own (makemigrations into an empty migrations folder),
with its models created in the order the old migrations created them and
their fields in the order of the old tables' columns (a line match's line
added once the lines' table exists), so a new database gets the same content
type and permission ids. What the model state does not say comes after it,
from pledges.migration_data: the pg_trgm extension and the matching indexes,
the append-only triggers of the audit trail and the status history
(PostgreSQL only), the reference rows, and the status history read from the
audit trail. 0017 dropped DRF's plain-text token table, which a new database
never has: that is left out.
"""

from decimal import Decimal

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

import pledges.models
from pledges import migration_data


class Migration(migrations.Migration):
    initial = True

    replaces = [
        ("pledges", "0001_initial"),
        ("pledges", "0002_the_2012_dialogue"),
        ("pledges", "0003_audit_append_only"),
        ("pledges", "0004_staff_roles"),
        ("pledges", "0005_staff_fields"),
        ("pledges", "0006_stripe"),
        ("pledges", "0007_list_indexes"),
        ("pledges", "0008_reconciliation"),
        ("pledges", "0009_instalment_indexes"),
        ("pledges", "0010_i16_session_under_way"),
        ("pledges", "0011_i16_donor_iati_identifier"),
        ("pledges", "0012_i11_stripe_charge_and_ignored"),
        ("pledges", "0013_i11_statement_kinds_profiles_imports"),
        ("pledges", "0014_i10_translated_titles"),
        ("pledges", "0015_i10_payment_thanked"),
        ("pledges", "0016_i10_choice_labels"),
        ("pledges", "0017_i13_outbox_statement_consent_knox"),
        ("pledges", "0018_i14a_status_history"),
        ("pledges", "0019_i14a_status_history_from_audit"),
        ("pledges", "0020_i15c_trigram"),
    ]

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The staff roles are groups.
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="Campaign",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("slug", models.SlugField(max_length=64, unique=True)),
                ("title", models.CharField(max_length=200)),
                ("goal_usd", models.DecimalField(decimal_places=2, max_digits=19)),
                ("starts_on", models.DateField()),
                ("ends_on", models.DateField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("session_under_way_since", models.DateTimeField(blank=True, null=True)),
                ("title_ar", models.CharField(max_length=200, null=True)),
                ("title_en", models.CharField(max_length=200, null=True)),
                ("title_es", models.CharField(max_length=200, null=True)),
                ("title_fr", models.CharField(max_length=200, null=True)),
                ("title_ru", models.CharField(max_length=200, null=True)),
                ("title_zh_hans", models.CharField(max_length=200, null=True)),
            ],
            options={
                "ordering": ["-starts_on"],
            },
        ),
        migrations.CreateModel(
            name="Donor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                (
                    "donor_type",
                    models.CharField(
                        choices=[
                            ("member_state", "Member State"),
                            ("observer_state", "Observer State"),
                            ("intergovernmental", "Intergovernmental organization"),
                            ("un_entity", "United Nations entity"),
                            ("private_sector", "Private sector"),
                            ("foundation", "Foundation"),
                            ("civil_society", "Civil society"),
                            ("individual", "Individual"),
                        ],
                        max_length=32,
                    ),
                ),
                ("country", models.CharField(blank=True, help_text="ISO 3166-1 alpha-2", max_length=2)),
                ("email", models.EmailField(blank=True, max_length=254)),
                ("contact_name", models.CharField(blank=True, max_length=200)),
                ("phone", models.CharField(blank=True, max_length=50)),
                ("language", models.CharField(blank=True, help_text="Preferred language for messages", max_length=8)),
                ("erased_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "merged_into",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="merged_donors",
                        to="pledges.donor",
                    ),
                ),
                (
                    "iati_org_ref",
                    models.CharField(
                        blank=True,
                        help_text='As in the IATI Organisation Registry, for example "XM-DAC-5-7" or "GB-GOV-1"',
                        max_length=100,
                        verbose_name="IATI organisation identifier",
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="Event",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("slug", models.SlugField(max_length=64, unique=True)),
                ("title", models.CharField(max_length=300)),
                ("venue", models.CharField(blank=True, max_length=200)),
                ("held_on", models.DateField()),
                ("convened_by", models.CharField(blank=True, max_length=300)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="events", to="pledges.campaign"
                    ),
                ),
                ("title_ar", models.CharField(max_length=300, null=True)),
                ("title_en", models.CharField(max_length=300, null=True)),
                ("title_es", models.CharField(max_length=300, null=True)),
                ("title_fr", models.CharField(max_length=300, null=True)),
                ("title_ru", models.CharField(max_length=300, null=True)),
                ("title_zh_hans", models.CharField(max_length=300, null=True)),
            ],
            options={
                "ordering": ["held_on"],
            },
        ),
        migrations.CreateModel(
            name="EventSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("slug", models.SlugField(max_length=64)),
                ("title", models.CharField(max_length=300)),
                ("starts_at", models.DateTimeField()),
                ("ends_at", models.DateTimeField()),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="sessions", to="pledges.event"
                    ),
                ),
                ("title_ar", models.CharField(max_length=300, null=True)),
                ("title_en", models.CharField(max_length=300, null=True)),
                ("title_es", models.CharField(max_length=300, null=True)),
                ("title_fr", models.CharField(max_length=300, null=True)),
                ("title_ru", models.CharField(max_length=300, null=True)),
                ("title_zh_hans", models.CharField(max_length=300, null=True)),
            ],
            options={
                "ordering": ["event", "starts_at"],
            },
        ),
        migrations.CreateModel(
            name="ExchangeRate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("rate", models.DecimalField(decimal_places=8, max_digits=20)),
                ("valid_from", models.DateField()),
                ("source", models.CharField(blank=True, default="UN operational rates of exchange", max_length=100)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["currency", "-valid_from"],
                "constraints": [
                    models.UniqueConstraint(fields=("currency", "valid_from"), name="exchange_rate_unique_per_day"),
                    models.CheckConstraint(condition=models.Q(("rate__gt", 0)), name="exchange_rate_positive"),
                ],
            },
        ),
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scope", models.CharField(max_length=64)),
                ("key", models.CharField(max_length=255)),
                ("request_hash", models.CharField(max_length=64)),
                ("response_status", models.PositiveSmallIntegerField(null=True)),
                ("response_body", models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("scope", "key"), name="idempotency_key_unique_per_scope")
                ],
            },
        ),
        migrations.CreateModel(
            name="Pledge",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "reference",
                    models.CharField(help_text="ISO 11649 creditor reference, compact", max_length=25, unique=True),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("web", "Web form or API"),
                            ("floor", "Announced from the floor"),
                            ("staff", "Recorded by staff"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("submitted", "Submitted (web, not yet verified)"),
                            ("announced", "Announced"),
                            ("confirmed", "Confirmed"),
                            ("partially_paid", "Partially paid"),
                            ("paid", "Paid"),
                            ("cancelled", "Cancelled"),
                            ("lapsed", "Lapsed"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "payment_method",
                    models.CharField(
                        blank=True,
                        choices=[("card", "Card (Stripe)"), ("bank_transfer", "Bank transfer"), ("other", "Other")],
                        max_length=16,
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=4, max_digits=19)),
                ("currency", models.CharField(max_length=3)),
                (
                    "pledged_on",
                    models.DateField(
                        help_text="When the pledge was made; its USD value uses this date's rate until confirmed"
                    ),
                ),
                ("amount_usd", models.DecimalField(blank=True, decimal_places=2, max_digits=19, null=True)),
                ("usd_rate", models.DecimalField(blank=True, decimal_places=8, max_digits=20, null=True)),
                ("usd_rate_date", models.DateField(blank=True, null=True)),
                ("usd_rate_fixed", models.BooleanField(default=False, help_text="Fixed at confirmation")),
                (
                    "amount_paid",
                    models.DecimalField(
                        decimal_places=4, default=Decimal("0"), help_text="In the pledge's currency", max_digits=19
                    ),
                ),
                ("amount_received_usd", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=19)),
                ("fees_usd", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=19)),
                (
                    "earmark",
                    models.CharField(
                        choices=[
                            ("unrestricted", "Unrestricted"),
                            ("children", "Assistance to trafficked children"),
                            ("women_and_girls", "Assistance to trafficked women and girls"),
                            ("direct_assistance", "Direct assistance to victims through grants to NGOs"),
                        ],
                        default="unrestricted",
                        max_length=32,
                    ),
                ),
                ("public_name", models.BooleanField(default=False)),
                ("public_amount", models.BooleanField(default=False)),
                ("statement", models.TextField(blank=True, max_length=1000)),
                (
                    "status_secret",
                    models.CharField(
                        default=pledges.models.new_status_secret, editable=False, max_length=64, unique=True
                    ),
                ),
                ("version", models.PositiveIntegerField(default=1)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("verified_at", models.DateTimeField(blank=True, null=True)),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, help_text="When cancelled or lapsed", null=True)),
                (
                    "acknowledged_at",
                    models.DateTimeField(blank=True, help_text="When the donor was emailed the status link", null=True),
                ),
                ("close_reason", models.TextField(blank=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="pledges", to="pledges.campaign"
                    ),
                ),
                (
                    "donor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="pledges", to="pledges.donor"
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="pledges",
                        to="pledges.eventsession",
                    ),
                ),
                (
                    "confirmed_on",
                    models.DateField(blank=True, help_text="The date of the written commitment", null=True),
                ),
                ("public_statement", models.BooleanField(default=False)),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="Payment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "method",
                    models.CharField(
                        choices=[("card", "Card (Stripe)"), ("bank_transfer", "Bank transfer"), ("other", "Other")],
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                            ("reversed", "Reversed"),
                        ],
                        default="succeeded",
                        max_length=16,
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=4, max_digits=19)),
                ("currency", models.CharField(max_length=3)),
                ("amount_applied", models.DecimalField(decimal_places=4, max_digits=19)),
                ("amount_usd", models.DecimalField(blank=True, decimal_places=2, max_digits=19, null=True)),
                ("usd_rate", models.DecimalField(blank=True, decimal_places=8, max_digits=20, null=True)),
                (
                    "fee",
                    models.DecimalField(
                        decimal_places=4, default=Decimal("0"), help_text="In the payment's currency", max_digits=19
                    ),
                ),
                ("fee_usd", models.DecimalField(blank=True, decimal_places=2, max_digits=19, null=True)),
                ("received_on", models.DateField()),
                ("bank_account", models.CharField(blank=True, max_length=64)),
                (
                    "external_reference",
                    models.CharField(blank=True, help_text="Bank reference or Stripe id", max_length=255),
                ),
                ("note", models.TextField(blank=True, max_length=2000)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "reverses",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reversed_by",
                        to="pledges.payment",
                    ),
                ),
                (
                    "pledge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="payments", to="pledges.pledge"
                    ),
                ),
                (
                    "dispute_status",
                    models.CharField(blank=True, help_text="Stripe's dispute status, if disputed", max_length=32),
                ),
                ("review_reason", models.TextField(blank=True)),
                (
                    "taken_back_from",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="taken_back",
                        to="pledges.payment",
                    ),
                ),
                (
                    "thanked_at",
                    models.DateTimeField(blank=True, help_text="When the donor was thanked for this money", null=True),
                ),
            ],
            options={
                "ordering": ["-received_on", "-created_at"],
            },
        ),
        migrations.CreateModel(
            name="Instalment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("due_date", models.DateField()),
                ("amount", models.DecimalField(decimal_places=4, max_digits=19)),
                (
                    "pledge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="instalments", to="pledges.pledge"
                    ),
                ),
            ],
            options={
                "ordering": ["due_date"],
            },
        ),
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("occurred_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "actor_kind",
                    models.CharField(
                        choices=[
                            ("staff", "Staff"),
                            ("donor", "Donor"),
                            ("webhook", "Webhook"),
                            ("task", "Task"),
                            ("system", "System"),
                        ],
                        max_length=16,
                    ),
                ),
                ("actor_label", models.CharField(blank=True, max_length=200)),
                ("action", models.CharField(db_index=True, max_length=100)),
                ("object_type", models.CharField(max_length=50)),
                ("object_id", models.CharField(max_length=64)),
                (
                    "old_values",
                    models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder),
                ),
                (
                    "new_values",
                    models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder),
                ),
                ("reason", models.TextField(blank=True)),
                (
                    "actor_user",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "pledge",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="audit_events",
                        to="pledges.pledge",
                    ),
                ),
            ],
            options={
                "ordering": ["-occurred_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="PledgeVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveIntegerField()),
                ("amount", models.DecimalField(decimal_places=4, max_digits=19)),
                ("currency", models.CharField(max_length=3)),
                ("amount_usd", models.DecimalField(blank=True, decimal_places=2, max_digits=19, null=True)),
                ("valid_from", models.DateTimeField()),
                ("valid_until", models.DateTimeField()),
                ("reason", models.TextField(blank=True)),
                (
                    "pledge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="versions", to="pledges.pledge"
                    ),
                ),
                (
                    "replaced_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["pledge", "version"],
            },
        ),
        migrations.CreateModel(
            name="StripeEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("event_id", models.CharField(max_length=255, unique=True)),
                ("event_type", models.CharField(db_index=True, max_length=100)),
                ("payload", models.TextField(help_text="The raw body as Stripe sent it")),
                ("stripe_created_at", models.DateTimeField()),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "source",
                    models.CharField(default="webhook", help_text="webhook, or the reconciliation job", max_length=16),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("received", "Received, waiting to be applied"),
                            ("applied", "Applied"),
                            ("ignored", "Ignored: not a type we handle, or not about a payment of ours"),
                            ("failed", "Failed; will be retried"),
                        ],
                        default="received",
                        max_length=16,
                    ),
                ),
                ("applied_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("outcome", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["-stripe_created_at"],
            },
        ),
        migrations.CreateModel(
            name="StripeSyncRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("status", models.CharField(default="running", max_length=16)),
                ("report", models.JSONField(default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder)),
            ],
            options={
                "ordering": ["-started_at"],
            },
        ),
        migrations.CreateModel(
            name="CardPaymentIntent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("payment_intent_id", models.CharField(max_length=255, unique=True)),
                ("amount", models.DecimalField(decimal_places=4, max_digits=19)),
                ("currency", models.CharField(max_length=3)),
                ("amount_minor", models.BigIntegerField(help_text="In Stripe's minor units for the currency")),
                ("status", models.CharField(max_length=32)),
                ("last_error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "pledge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="card_payment_intents",
                        to="pledges.pledge",
                    ),
                ),
                (
                    "charge_id",
                    models.CharField(
                        blank=True,
                        db_index=True,
                        help_text="Its charge, so a dispute naming only the charge is known",
                        max_length=255,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="BankStatement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "statement_id",
                    models.CharField(help_text="The bank's id, or the file's SHA-256 for CSV", max_length=140),
                ),
                ("account", models.CharField(max_length=64)),
                (
                    "file_format",
                    models.CharField(
                        choices=[
                            ("camt053", "ISO 20022 camt.053"),
                            ("camt054", "ISO 20022 camt.054 (notification)"),
                            ("camt052", "ISO 20022 camt.052 (intraday report)"),
                            ("mt940", "SWIFT MT940"),
                            ("bai2", "BAI2"),
                            ("csv", "CSV"),
                        ],
                        max_length=16,
                    ),
                ),
                ("filename", models.CharField(blank=True, max_length=255)),
                ("file_sha256", models.CharField(max_length=64)),
                ("imported_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("line_count", models.PositiveIntegerField(default=0)),
                ("report", models.JSONField(default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder)),
                (
                    "imported_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "balances",
                    models.JSONField(
                        blank=True,
                        default=list,
                        encoder=django.core.serializers.json.DjangoJSONEncoder,
                        help_text="The balances the bank states, as given",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("statement", "Statement (end of day)"),
                            ("notification", "Credit/debit notification"),
                            ("intraday", "Intraday report"),
                        ],
                        default="statement",
                        max_length=16,
                    ),
                ),
            ],
            options={
                "ordering": ["-imported_at"],
            },
        ),
        migrations.CreateModel(
            name="LineMatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=4, help_text="The part of the line, in the line's currency", max_digits=19
                    ),
                ),
                (
                    "rule",
                    models.CharField(
                        choices=[
                            ("reference", "ISO 11649 reference"),
                            ("donor_amount", "Donor name and amount"),
                            ("manual", "Matched by hand"),
                        ],
                        max_length=16,
                    ),
                ),
                ("confidence", models.DecimalField(decimal_places=3, max_digits=4)),
                ("explanation", models.TextField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "Proposed"),
                            ("applied", "Applied"),
                            ("rejected", "Rejected"),
                            ("undone", "Undone (reversed)"),
                        ],
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "payment",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="statement_match",
                        to="pledges.payment",
                    ),
                ),
                (
                    "pledge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="statement_matches",
                        to="pledges.pledge",
                    ),
                ),
            ],
            options={
                "ordering": ["line", "-confidence"],
            },
        ),
        migrations.CreateModel(
            name="ReminderStep",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("due_date", models.DateField()),
                ("amount", models.DecimalField(decimal_places=4, max_digits=19)),
                ("days_from_due", models.IntegerField(help_text="Negative before the due date")),
                ("sent_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("recipient", models.EmailField(blank=True, max_length=254)),
                ("language", models.CharField(blank=True, max_length=8)),
                (
                    "instalment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="reminders",
                        to="pledges.instalment",
                    ),
                ),
                (
                    "pledge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="reminders", to="pledges.pledge"
                    ),
                ),
            ],
            options={
                "ordering": ["-sent_at"],
            },
        ),
        migrations.CreateModel(
            name="StatementLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveIntegerField()),
                ("account", models.CharField(max_length=64)),
                ("bank_reference", models.CharField(max_length=140)),
                ("direction", models.CharField(max_length=8)),
                ("amount", models.DecimalField(decimal_places=4, max_digits=19)),
                ("currency", models.CharField(max_length=3)),
                ("charges", models.DecimalField(decimal_places=4, default=0, max_digits=19)),
                ("booking_date", models.DateField(blank=True, null=True)),
                ("value_date", models.DateField(blank=True, null=True)),
                ("debtor_name", models.CharField(blank=True, max_length=140)),
                ("remittance", models.TextField(blank=True)),
                ("creditor_reference", models.CharField(blank=True, max_length=35)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("unmatched", "Unmatched, for review"),
                            ("proposed", "Match proposed, waiting for a reconciler"),
                            ("matched", "Matched and applied"),
                            ("excluded", "Excluded (a debit, or not for the Fund)"),
                        ],
                        default="unmatched",
                        max_length=16,
                    ),
                ),
                ("note", models.TextField(blank=True, help_text="Why it is excluded, or what staff decided")),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "statement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="lines", to="pledges.bankstatement"
                    ),
                ),
            ],
            options={
                "ordering": ["statement", "position"],
            },
        ),
        migrations.AddField(
            model_name="linematch",
            name="line",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="matches", to="pledges.statementline"
            ),
        ),
        migrations.CreateModel(
            name="CsvProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                (
                    "account",
                    models.CharField(blank=True, help_text="The Fund's account the export is for", max_length=64),
                ),
                ("encoding", models.CharField(default="auto", max_length=16)),
                ("delimiter", models.CharField(blank=True, help_text="Empty: found from the header", max_length=2)),
                (
                    "skip_lines",
                    models.PositiveSmallIntegerField(default=0, help_text="Lines before the header (or the data)"),
                ),
                ("has_header", models.BooleanField(default=True)),
                (
                    "columns",
                    models.JSONField(
                        blank=True, default=dict, help_text="Field -> column name, or 1-based column number"
                    ),
                ),
                ("date_order", models.CharField(default="auto", max_length=4)),
                ("decimal_separator", models.CharField(default="auto", max_length=4)),
                (
                    "sign",
                    models.CharField(
                        default="amount", help_text="amount: a minus is a debit; direction", max_length=16
                    ),
                ),
                ("credit_words", models.JSONField(blank=True, default=list)),
                ("debit_words", models.JSONField(blank=True, default=list)),
                ("currency", models.CharField(blank=True, help_text="When the file names no currency", max_length=3)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="StatementImport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("done", "Imported"),
                            ("refused", "Refused"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("file", models.FileField(max_length=255, upload_to="statements/%Y/%m/")),
                ("filename", models.CharField(blank=True, max_length=255)),
                ("size", models.BigIntegerField(default=0)),
                (
                    "options",
                    models.JSONField(blank=True, default=dict, help_text="account, date_order, currency, profile"),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "outcome",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        encoder=django.core.serializers.json.DjangoJSONEncoder,
                        help_text="Report, or the problem",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
                ("statements", models.ManyToManyField(blank=True, related_name="imports", to="pledges.bankstatement")),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="ChoiceLabel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(choices=[("donor_type", "Donor type"), ("earmark", "Earmark")], max_length=16),
                ),
                (
                    "value",
                    models.CharField(help_text="The code the data holds (member_state, children...)", max_length=32),
                ),
                ("text", models.CharField(max_length=200)),
                ("text_en", models.CharField(max_length=200, null=True)),
                ("text_ar", models.CharField(max_length=200, null=True)),
                ("text_zh_hans", models.CharField(max_length=200, null=True)),
                ("text_fr", models.CharField(max_length=200, null=True)),
                ("text_ru", models.CharField(max_length=200, null=True)),
                ("text_es", models.CharField(max_length=200, null=True)),
            ],
            options={
                "ordering": ["kind", "value"],
                "constraints": [models.UniqueConstraint(fields=("kind", "value"), name="choice_label_unique")],
            },
        ),
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("task", models.CharField(max_length=200)),
                ("args", models.JSONField(default=list)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("done_at__isnull", True)), fields=["created_at"], name="outbox_undone_idx"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="PledgeStatusChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "old_status",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("submitted", "Submitted (web, not yet verified)"),
                            ("announced", "Announced"),
                            ("confirmed", "Confirmed"),
                            ("partially_paid", "Partially paid"),
                            ("paid", "Paid"),
                            ("cancelled", "Cancelled"),
                            ("lapsed", "Lapsed"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "new_status",
                    models.CharField(
                        choices=[
                            ("submitted", "Submitted (web, not yet verified)"),
                            ("announced", "Announced"),
                            ("confirmed", "Confirmed"),
                            ("partially_paid", "Partially paid"),
                            ("paid", "Paid"),
                            ("cancelled", "Cancelled"),
                            ("lapsed", "Lapsed"),
                        ],
                        max_length=16,
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("old_status_since", models.DateTimeField(blank=True, null=True)),
                (
                    "actor_kind",
                    models.CharField(
                        choices=[
                            ("staff", "Staff"),
                            ("donor", "Donor"),
                            ("webhook", "Webhook"),
                            ("task", "Task"),
                            ("system", "System"),
                        ],
                        max_length=16,
                    ),
                ),
                ("actor_label", models.CharField(blank=True, max_length=200)),
                ("reason", models.TextField(blank=True)),
                (
                    "actor_user",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "audit_event",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="pledges.auditevent",
                    ),
                ),
                (
                    "pledge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="status_changes", to="pledges.pledge"
                    ),
                ),
            ],
            options={
                "ordering": ["pledge", "at", "id"],
            },
        ),
        migrations.AddField(
            model_name="campaign",
            name="session_under_way",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="pledges.eventsession",
            ),
        ),
        migrations.AddConstraint(
            model_name="bankstatement",
            constraint=models.UniqueConstraint(fields=("account", "statement_id"), name="statement_unique_per_account"),
        ),
        migrations.AddIndex(
            model_name="donor",
            index=models.Index(fields=["donor_type"], name="pledges_don_donor_t_d7423f_idx"),
        ),
        migrations.AddIndex(
            model_name="donor",
            index=models.Index(fields=["country"], name="pledges_don_country_7f960d_idx"),
        ),
        migrations.AddConstraint(
            model_name="eventsession",
            constraint=models.UniqueConstraint(fields=("event", "slug"), name="session_slug_unique_per_event"),
        ),
        migrations.AddConstraint(
            model_name="eventsession",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_at__gt", models.F("starts_at"))), name="session_ends_after_start"
            ),
        ),
        migrations.AddIndex(
            model_name="pledge",
            index=models.Index(fields=["campaign", "status"], name="pledges_ple_campaig_18b040_idx"),
        ),
        migrations.AddIndex(
            model_name="pledge",
            index=models.Index(fields=["campaign", "-created_at"], name="pledges_ple_campaig_a5d7ea_idx"),
        ),
        migrations.AddIndex(
            model_name="pledge",
            index=models.Index(
                fields=["campaign", "-pledged_on", "-created_at"], name="pledges_ple_campaig_6b0f93_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="pledge",
            index=models.Index(fields=["-created_at"], name="pledges_ple_created_9564ea_idx"),
        ),
        migrations.AddIndex(
            model_name="pledge",
            index=models.Index(fields=["status"], name="pledges_ple_status_d21201_idx"),
        ),
        migrations.AddIndex(
            model_name="pledge",
            index=models.Index(fields=["currency", "amount"], name="pledges_ple_currenc_f6da90_idx"),
        ),
        migrations.AddConstraint(
            model_name="pledge",
            constraint=models.CheckConstraint(condition=models.Q(("amount__gt", 0)), name="pledge_amount_positive"),
        ),
        migrations.AddConstraint(
            model_name="pledge",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_paid__gte", 0)), name="pledge_amount_paid_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="pledge",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        ["submitted", "announced", "confirmed", "partially_paid", "paid", "cancelled", "lapsed"],
                    )
                ),
                name="pledge_status_known",
            ),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["created_at"], name="pledges_pay_created_421b2c_idx"),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("reverses__isnull", True),
                    models.Q(("external_reference", ""), _negated=True),
                    models.Q(("status", "reversed"), _negated=True),
                ),
                fields=("bank_account", "external_reference"),
                name="payment_external_reference_unique",
            ),
        ),
        migrations.AddIndex(
            model_name="instalment",
            index=models.Index(fields=["amount"], name="pledges_ins_amount_4a6f16_idx"),
        ),
        migrations.AddIndex(
            model_name="instalment",
            index=models.Index(fields=["due_date"], name="pledges_ins_due_dat_bd8baf_idx"),
        ),
        migrations.AddConstraint(
            model_name="instalment",
            constraint=models.UniqueConstraint(
                fields=("pledge", "due_date"), name="instalment_due_date_unique_per_pledge"
            ),
        ),
        migrations.AddConstraint(
            model_name="instalment",
            constraint=models.CheckConstraint(condition=models.Q(("amount__gt", 0)), name="instalment_amount_positive"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["object_type", "object_id"], name="pledges_aud_object__67d648_idx"),
        ),
        migrations.AddIndex(
            model_name="pledgestatuschange",
            index=models.Index(fields=["pledge", "at"], name="pledges_ple_pledge__7cff3a_idx"),
        ),
        migrations.AddIndex(
            model_name="pledgestatuschange",
            index=models.Index(fields=["at"], name="pledges_ple_at_c47c28_idx"),
        ),
        migrations.AddConstraint(
            model_name="pledgestatuschange",
            constraint=models.CheckConstraint(
                condition=models.Q(("old_status", models.F("new_status")), _negated=True), name="status_change_changes"
            ),
        ),
        migrations.AddConstraint(
            model_name="pledgeversion",
            constraint=models.UniqueConstraint(fields=("pledge", "version"), name="pledge_version_unique"),
        ),
        migrations.AddConstraint(
            model_name="reminderstep",
            constraint=models.UniqueConstraint(fields=("instalment", "days_from_due"), name="reminder_once_per_step"),
        ),
        migrations.AddIndex(
            model_name="statementline",
            index=models.Index(fields=["status", "value_date"], name="pledges_sta_status_950e9c_idx"),
        ),
        migrations.AddConstraint(
            model_name="statementline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("bank_reference", ""), _negated=True),
                fields=("account", "bank_reference"),
                name="statement_line_reference_unique_per_account",
            ),
        ),
        TrigramExtension(),
        migrations.RunPython(migration_data.matching_indexes_create, migration_data.matching_indexes_drop),
        migration_data.append_only("pledges_auditevent", "the audit trail"),
        migration_data.append_only("pledges_pledgestatuschange", "the status history"),
        migrations.RunPython(migration_data.reference_data_create, migrations.RunPython.noop),
        migrations.RunPython(migration_data.status_history_from_audit, migration_data.status_history_empty),
    ]
