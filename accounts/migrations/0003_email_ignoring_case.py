from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def lowercase_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    clashes = (
        User.objects.annotate(key=Lower("email"))
        .values("key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("key", flat=True)
    )
    if clashes:
        raise RuntimeError(
            "These email addresses belong to more than one user when case is ignored; merge or "
            f"rename them first: {', '.join(sorted(clashes))}"
        )
    User.objects.update(email=Lower("email"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_connection_check"),
    ]

    operations = [
        migrations.RunPython(lowercase_emails, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                Lower("email"),
                name="unique_email_ignoring_case",
                violation_error_message="A user with this email address already exists.",
            ),
        ),
    ]
