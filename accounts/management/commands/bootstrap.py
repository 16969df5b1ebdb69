"""First-run setup for `make run`: the first admin (once) and the Sandbox workspace."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import User, Workspace
from accounts.services import workspace_create


class Command(BaseCommand):
    help = "Create the first admin (only if there is no superuser yet) and the Sandbox workspace."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--email", default="admin@example.com", help="Email of the first admin."
        )
        parser.add_argument(
            "--url",
            help="Where Darkroom listens, for the message. Default: http://WEB_HOST:WEB_PORT/ "
            "from the environment or .env, as the Procfile uses.",
        )

    @transaction.atomic
    def handle(self, *args: Any, email: str, url: str | None, **options: Any) -> None:
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        password = None
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser(
                email=email, password=password, first_name="Admin"
            )

        # Only once: an admin who later leaves the Sandbox (or deletes it) is not put back.
        if not Workspace.objects.filter(slug="sandbox").exists():
            workspace_create(name="Sandbox", creator=admin)

        if url is None:
            # Settings have read .env by now, so these are the values honcho serves on.
            host = os.environ.get("WEB_HOST") or "127.0.0.1"
            port = os.environ.get("WEB_PORT") or "8000"
            url = f"http://{host}:{port}/"

        line = "─" * 64
        self.stdout.write(f"\n{line}\n  Darkroom: {url}\n")
        if password:
            self.stdout.write(f"  Log in as {admin.email} with password  {password}\n")
            self.stdout.write(
                "  This password is shown only once. Change it in the account menu (top right) "
                "→ Change password.\n"
            )
        else:
            self.stdout.write(
                f"  Log in as {admin.email} (the password printed on the first `make run`).\n"
            )
            self.stdout.write("  Forgot it? `make password` sets a new one.\n")
        self.stdout.write(f"{line}\n\n")
