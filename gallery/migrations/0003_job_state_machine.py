from django.db import migrations, models
from django.db.models import Q


def stages_from_markers(apps, schema_editor):
    """Jobs written before stages existed: a recorded result is PAID, a call without one CALLED."""
    Job = apps.get_model("gallery", "Job")
    Job.objects.exclude(result_refs=[]).update(stage="paid")
    Job.objects.filter(result_refs=[], called_at__isnull=False).update(stage="called")
    # A RUNNING job had no heartbeat yet: give it one now, so the reaper judges it from here.
    Job.objects.filter(state="running").update(heartbeat_at=models.F("claimed_at"))


class Migration(migrations.Migration):
    dependencies = [("gallery", "0002_history_sync")]

    operations = [
        migrations.RenameField("job", "provider_call_started_at", "called_at"),
        migrations.AddField(
            model_name="job",
            name="stage",
            field=models.CharField(
                choices=[
                    ("not_called", "Not sent"),
                    ("called", "Sent, answer not recorded"),
                    ("paid", "Paid, images not stored yet"),
                ],
                default="not_called",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="lease",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="job",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="job",
            name="dispatched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(stages_from_markers, migrations.RunPython.noop),
        # The outbox and the reaper look for these often; both sets stay small.
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=Q(state__in=["queued", "running"]),
                fields=["state", "next_attempt_at"],
                name="job_active",
            ),
        ),
    ]
