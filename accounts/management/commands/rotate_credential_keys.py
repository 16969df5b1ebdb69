from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.services import credential_rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored provider secret with the first key in CREDENTIAL_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = credential_rotate_all()
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {count} secret(s) with the current key.")
        )
