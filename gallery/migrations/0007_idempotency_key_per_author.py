from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_ds_route_paths"),
        ("gallery", "0006_catalog_status"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="job",
            name="one_job_per_idempotency_key",
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(
                fields=("workspace", "author", "idempotency_key"),
                name="one_job_per_author_idempotency_key",
            ),
        ),
    ]
