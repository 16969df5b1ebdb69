"""Queue a quota refresh for each workspace whose header meter has nothing to show yet."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Workspace
from gallery.services.quota import quota_refresh_request


class Command(BaseCommand):
    help = (
        "Queue one quota refresh for every workspace without a quota report yet. `make run` "
        "calls it at start, so a fresh install's header meter shows without waiting for the "
        "scheduled refresh (the worker runs it as soon as it is up)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            for workspace in Workspace.objects.filter(quota_snapshots__isnull=True):
                quota_refresh_request(workspace=workspace)
