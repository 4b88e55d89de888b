"""Indexes for statement matching's donor rule (PostgreSQL only).

* pg_trgm and a trigram index on donors' names: the rule looks for donors
  named like the debtor among the pledges of the amount's band.
* Covering partial indexes for its amount bands, so a batch's bands are
  read from the indexes alone: open, unpaid pledges by currency and amount;
  instalments by amount with their pledge; open pledges by id with their
  currency. Their conditions name the open statuses as
  `pledges.reconciliation.matching` writes them.

Other databases get nothing, and the rule asks them line by line instead.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

OPEN = "('submitted', 'announced', 'confirmed', 'partially_paid')"
INDEXES = {
    "pledges_donor_name_trgm": "pledges_donor USING gin (name gin_trgm_ops)",
    "pledges_pledge_open_unpaid_amount": (
        f"pledges_pledge (currency, amount) INCLUDE (id, donor_id) WHERE amount_paid = 0 AND status IN {OPEN}"
    ),
    "pledges_pledge_open_currency": f"pledges_pledge (id) INCLUDE (currency, donor_id) WHERE status IN {OPEN}",
    "pledges_instalment_amount_pledge": "pledges_instalment (amount) INCLUDE (id, pledge_id)",
}


def indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("pledges", "0019_i14a_status_history_from_audit")]

    operations = [
        # Skipped by Django itself on any database but PostgreSQL.
        TrigramExtension(),
        migrations.RunPython(indexes_create, indexes_drop),
    ]
