from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_email_ignoring_case"),
    ]

    operations = [
        migrations.AddField(
            model_name="connectioncheck",
            name="credential_updated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
