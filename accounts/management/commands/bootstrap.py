"""First-run setup for `make run`: the first admin (once) and the Sandbox workspace."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Membership, Role, User, Workspace
from accounts.services import workspace_create


class Command(BaseCommand):
    help = "Create the first admin (only if there is no superuser yet) and the Sandbox workspace."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--email", default="admin@example.com", help="Email of the first admin."
        )
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="Where Darkroom will listen."
        )

    @transaction.atomic
    def handle(self, *args: Any, email: str, url: str, **options: Any) -> None:
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        password = None
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser(
                email=email, password=password, first_name="Admin"
            )

        sandbox = Workspace.objects.filter(slug="sandbox").first()
        if sandbox is None:
            sandbox = workspace_create(name="Sandbox", creator=admin)
        elif not Membership.objects.filter(workspace=sandbox, user=admin).exists():
            Membership.objects.create(workspace=sandbox, user=admin, role=Role.ADMIN)

        line = "─" * 64
        self.stdout.write(f"\n{line}\n  Darkroom: {url}\n")
        if password:
            self.stdout.write(f"  Log in as {admin.email} with password  {password}\n")
            self.stdout.write(
                "  This password is shown only once. Change it under Account → Password.\n"
            )
        else:
            self.stdout.write(
                f"  Log in as {admin.email} (the password printed on the first `make run`).\n"
            )
            self.stdout.write("  Forgot it? `make password` sets a new one.\n")
        self.stdout.write(f"{line}\n\n")
