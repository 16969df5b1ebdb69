"""Give every sandbox credential that still uses the shared demo account one of its own.

Until now every workspace's sandbox credential named the sandbox's one demo workspace, so a
history sync copied each workspace's images and prompts into every other. Images already copied
stay where they are; from now on each workspace syncs only its own account.
"""

import secrets

from django.db import migrations


def _own_accounts(apps, schema_editor):
    ProviderCredential = apps.get_model("accounts", "ProviderCredential")
    shared = ProviderCredential.objects.filter(
        kind="sandbox", client_id="", remote_workspace_id=""
    ).select_related("workspace")
    for credential in shared:
        # As accounts.services.sandbox_account_new (a migration must not import app code).
        account = f"sandbox-{credential.workspace.slug[:40]}-{secrets.token_hex(4)}"
        credential.client_id = credential.remote_workspace_id = account
        credential.save(update_fields=["client_id", "remote_workspace_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_ds_route_paths"),
    ]

    operations = [
        migrations.RunPython(_own_accounts, migrations.RunPython.noop),
    ]
