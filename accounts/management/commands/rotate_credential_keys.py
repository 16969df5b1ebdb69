from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.credentials import credential_rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored provider secret with the first key in CREDENTIAL_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = credential_rotate_all()
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {report.rotated} secret(s) with the current key.")
        )
        if report.unreadable:
            # A non-zero exit, so a rotation script does not carry on as if all went well.
            raise CommandError(
                "No key in CREDENTIAL_KEYS decrypts the secret of these workspaces, so it was "
                "left as it is; an admin must enter it again in Settings → Provider: "
                + ", ".join(report.unreadable)
            )
