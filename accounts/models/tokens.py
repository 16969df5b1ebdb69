"""Personal API tokens: one workspace each, stored hashed."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models.users import Role, Workspace


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal token for the JSON API (`api/`): one member's, for one workspace.

    Only a SHA-256 of the token is stored (the token is 256 random bits, so a plain hash is as
    good as a slow one); `prefix` finds the row and is what the account page shows. What the
    token may do is the lower of `role` and the owner's role in the workspace *now*: a demoted
    member's tokens shrink with them, a removed member's stop working."""

    # Written with every token, so it stands out in a log or a leaked file (and secret scanners
    # can match it).
    SCHEME = "drk_"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=10, choices=Role.choices)
    prefix = models.CharField(max_length=16, unique=True)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("owner", "workspace"), name="apitoken_owner_ws")]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix}…)"

    @property
    def display_prefix(self) -> str:
        return f"{self.SCHEME}{self.prefix}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
