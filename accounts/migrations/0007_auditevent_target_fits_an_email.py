from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_sandbox_account_per_workspace"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="target",
            field=models.CharField(blank=True, max_length=254),
        ),
    ]
