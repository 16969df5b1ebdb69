from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_auditevent_target_fits_an_email"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="verb",
            field=models.CharField(
                choices=[
                    ("credential.set", "set the provider credential"),
                    ("credential.changed", "changed the provider credential"),
                    ("member.added", "added a member"),
                    ("member.created", "created an account for"),
                    ("member.link_issued", "issued a new set-password link for"),
                    ("member.removed", "removed a member"),
                    ("member.role_changed", "changed the role of"),
                    ("workspace.created", "created the workspace"),
                    ("workspace.renamed", "renamed the workspace"),
                ],
                max_length=40,
            ),
        ),
    ]
