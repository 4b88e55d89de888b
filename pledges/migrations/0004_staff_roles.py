"""The staff roles as Django groups: viewer, reconciler, fund_admin."""

from django.db import migrations

ROLES = ("viewer", "reconciler", "fund_admin")


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("pledges", "0003_audit_append_only"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
