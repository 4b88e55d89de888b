# The Fund's pledges in IATI (issue 16): a donor's IATI organisation identifier.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pledges", "0010_i16_session_under_way"),
    ]

    operations = [
        migrations.AddField(
            model_name="donor",
            name="iati_org_ref",
            field=models.CharField(
                blank=True,
                help_text='As in the IATI Organisation Registry, for example "XM-DAC-5-7" or "GB-GOV-1"',
                max_length=100,
                verbose_name="IATI organisation identifier",
            ),
        ),
    ]
