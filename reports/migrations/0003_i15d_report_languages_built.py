from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_weekly_schedule")]

    operations = [
        migrations.AddField(
            model_name="report",
            name="languages_built",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
