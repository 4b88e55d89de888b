"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit
trail, so not even a bug or a stray shell can rewrite history."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION pledges_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pledges_auditevent_append_only
    BEFORE UPDATE OR DELETE ON pledges_auditevent
    FOR EACH ROW EXECUTE FUNCTION pledges_auditevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS pledges_auditevent_append_only ON pledges_auditevent;
DROP FUNCTION IF EXISTS pledges_auditevent_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("pledges", "0002_the_2012_dialogue")]

    operations = [migrations.RunPython(forward, backward)]
