"""The trigram index on donors' names that statement matching's donor rule
searches (PostgreSQL only: pg_trgm). Other databases get nothing, and the
rule asks them line by line instead."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "pledges_donor_name_trgm"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON pledges_donor USING gin (name gin_trgm_ops)")


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("pledges", "0017_i13_outbox_statement_consent_knox")]

    operations = [
        # Skipped by Django itself on any database but PostgreSQL.
        TrigramExtension(),
        migrations.RunPython(index_create, index_drop),
    ]
