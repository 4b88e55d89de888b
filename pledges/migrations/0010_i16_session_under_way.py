# The live pledge board (issue 16): the session staff say is under way.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pledges", "0009_instalment_indexes"),
    ]

    operations = [
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
        migrations.AddField(
            model_name="campaign",
            name="session_under_way_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
