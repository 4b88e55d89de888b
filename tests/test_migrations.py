"""The squashed migrations (pledges 0001_squashed_0020, reports
0001_squashed_0003): a database that recorded every old migration, as every
installation of the release at 455be84 has, takes them as applied and has
nothing left to run; a new database runs them alone; and the guards they
create, which no model state shows, are in the test database they built."""

from unittest import mock

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

PLEDGES_SQUASH = ("pledges", "0001_squashed_0020")
REPORTS_SQUASH = ("reports", "0001_squashed_0003")
# The names the django_migrations table of every installation holds.
OLD_MIGRATIONS = [
    ("pledges", name)
    for name in (
        "0001_initial",
        "0002_the_2012_dialogue",
        "0003_audit_append_only",
        "0004_staff_roles",
        "0005_staff_fields",
        "0006_stripe",
        "0007_list_indexes",
        "0008_reconciliation",
        "0009_instalment_indexes",
        "0010_i16_session_under_way",
        "0011_i16_donor_iati_identifier",
        "0012_i11_stripe_charge_and_ignored",
        "0013_i11_statement_kinds_profiles_imports",
        "0014_i10_translated_titles",
        "0015_i10_payment_thanked",
        "0016_i10_choice_labels",
        "0017_i13_outbox_statement_consent_knox",
        "0018_i14a_status_history",
        "0019_i14a_status_history_from_audit",
        "0020_i15c_trigram",
    )
] + [("reports", "0001_reports"), ("reports", "0002_weekly_schedule"), ("reports", "0003_i15d_report_languages_built")]

pytestmark = pytest.mark.django_db


def other_apps_applied() -> set[tuple[str, str]]:
    """What the test database recorded for every app but ours."""
    recorded = MigrationRecorder(connection).applied_migrations()
    return {key for key in recorded if key[0] not in ("pledges", "reports")}


def executor_with_recorded(applied: set[tuple[str, str]]) -> MigrationExecutor:
    """An executor that reads `applied` as the django_migrations rows."""
    with mock.patch.object(MigrationRecorder, "applied_migrations", return_value=dict.fromkeys(applied)):
        return MigrationExecutor(connection)


def test_a_database_that_recorded_every_old_migration_has_the_squashes_applied_and_nothing_to_run():
    executor = executor_with_recorded(other_apps_applied() | set(OLD_MIGRATIONS))

    assert PLEDGES_SQUASH in executor.loader.applied_migrations
    assert REPORTS_SQUASH in executor.loader.applied_migrations
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_a_new_database_runs_the_two_squashes_and_nothing_else_of_ours():
    executor = executor_with_recorded(other_apps_applied())

    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())

    ours = [(m.app_label, m.name) for m, backwards in plan if m.app_label in ("pledges", "reports")]
    assert ours == [PLEDGES_SQUASH, REPORTS_SQUASH]
    assert not any(backwards for _, backwards in plan)


def test_each_app_ends_at_its_squash_which_replaces_every_old_name():
    loader = MigrationLoader(None)

    assert loader.graph.leaf_nodes("pledges") == [PLEDGES_SQUASH]
    assert loader.graph.leaf_nodes("reports") == [REPORTS_SQUASH]
    replaced = loader.disk_migrations[PLEDGES_SQUASH].replaces + loader.disk_migrations[REPORTS_SQUASH].replaces
    assert replaced == OLD_MIGRATIONS
    assert PLEDGES_SQUASH in loader.graph.node_map[REPORTS_SQUASH].parents


def test_the_database_the_squash_built_has_its_triggers_extension_and_matching_indexes(postgres_only):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE %s ORDER BY 1", ["%append_only"])
        triggers = [name for (name,) in cursor.fetchall()]
        cursor.execute("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
        extensions = cursor.fetchall()
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'pledges\\_%%' ORDER BY 1")
        indexes = {name for (name,) in cursor.fetchall()}

    assert triggers == ["pledges_auditevent_append_only", "pledges_pledgestatuschange_append_only"]
    assert extensions == [("pg_trgm",)]
    assert {
        "pledges_donor_name_trgm",
        "pledges_pledge_open_unpaid_amount",
        "pledges_pledge_open_currency",
        "pledges_instalment_amount_pledge",
    } <= indexes
