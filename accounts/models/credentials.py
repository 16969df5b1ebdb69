"""A workspace's provider credential (the secret encrypted) and its connection checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import providers
from accounts.models.users import Workspace


class ProviderKind(models.TextChoices):
    """The choices (with labels) for ``providers.ProviderKind``; the values are the same."""

    SANDBOX = "sandbox", gettext_lazy("Sandbox (local, for trying Darkroom out)")
    NEUROFLASH = "neuroflash", gettext_lazy("neuroflash")
    NANOGPT = "nanogpt", gettext_lazy("NanoGPT")


# Where neuroflash's ds-prototypes route families live; the sandbox speaks the same wire format.
ROUTE_FIELDS = ("generation_path", "history_path")


# Which optional fields each provider kind uses; the form shows only those (by CSS).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    ProviderKind.SANDBOX: ("base_url", *ROUTE_FIELDS),
    ProviderKind.NEUROFLASH: (
        *("client_id", "secret", "remote_workspace_id", "base_url", "auth_url"),
        *ROUTE_FIELDS,
    ),
    ProviderKind.NANOGPT: ("secret", "base_url"),
}


# The saved secret is only ever sent where it was saved for: changing any of these needs it again.
SECRET_BOUND_FIELDS = ("kind", "base_url", "auth_url", "client_id")


ENTER_IT_AGAIN = "Enter the secret again: it is only sent to the address it was saved for."


def kind_uses_secret(kind: str) -> bool:
    return "secret" in KIND_FIELDS[kind]


_ROUTE_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)+/?$")


def validate_route_path(value: str) -> None:
    """A path on the provider's own API host, like /api/ds-prototypes: nothing that could send
    the calls (and their token) anywhere else, or anywhere above it."""
    if not value.startswith("/") or value.startswith("//") or urlsplit(value).scheme:
        raise ValidationError(
            _(
                "Enter a path that starts with a single /, like /api/ds-prototypes — no https:// "
                "and no host name: the calls always go to the base URL above."
            ),
            code="not_a_path",
        )
    if any(segment in (".", "..") for segment in value.split("/")):
        raise ValidationError(_("The path cannot contain . or .. segments."), code="dot_segment")
    if not _ROUTE_PATH.match(value):
        raise ValidationError(
            _("Use only letters, digits and - _ . ~ between the slashes (no spaces, ? or #)."),
            code="bad_characters",
        )


class ProviderCredential(models.Model):
    """How one workspace reaches its image provider.

    The secret (neuroflash client secret or NanoGPT API key) is stored only as a Fernet token; the
    UI shows its last four characters and who set it, never the value.
    """

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="credential")
    kind = models.CharField(
        max_length=20, choices=ProviderKind.choices, default=ProviderKind.SANDBOX
    )
    base_url = models.URLField(
        blank=True, help_text=gettext_lazy("API base URL. Leave blank for the provider's default.")
    )
    auth_url = models.URLField(
        blank=True, help_text=gettext_lazy("neuroflash token issuer. Leave blank for the default.")
    )
    client_id = models.CharField(max_length=200, blank=True)
    remote_workspace_id = models.CharField(
        max_length=200,
        blank=True,
        help_text=gettext_lazy("The provider's own workspace id (neuroflash)."),
    )
    # Blank: found by Test connection (or by a call that met a 404) and kept in discovered_*.
    # Set: used as typed and never replaced by what discovery finds.
    generation_path = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_route_path],
        help_text=gettext_lazy(
            "Where image generation and the model list live, e.g. "
            "/api/ds-prototypes/image_generation. Leave blank to discover."
        ),
    )
    history_path = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_route_path],
        help_text=gettext_lazy(
            "Where the image history, edits and deletes live, e.g. /api/ds-prototypes. "
            "Leave blank to discover."
        ),
    )
    discovered_generation_path = models.CharField(max_length=200, blank=True, editable=False)
    discovered_history_path = models.CharField(max_length=200, blank=True, editable=False)
    secret_encrypted = models.TextField(blank=True, editable=False)
    secret_hint = models.CharField(max_length=4, blank=True, editable=False)
    secret_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    secret_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} credential for {self.workspace}"

    def __repr__(self) -> str:
        return f"<ProviderCredential {self.pk} kind={self.kind} workspace={self.workspace_id}>"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    def secret_missing(self, *, kind: str, values: Mapping[str, object]) -> str | None:
        """Why this saved credential cannot take `kind` and `values` without a secret typed in,
        or None when the saved secret may stay (or the provider takes none).

        The one rule for it (the form asks, the service enforces): the saved secret is only
        ever sent where it was saved for, so another provider, address or client ID needs it
        typed again. Ask it of the credential as saved, before the new values are copied in."""
        if not kind_uses_secret(kind):
            return None
        if not self.has_secret or self.kind != kind:
            return f"Enter the {'client secret' if kind == ProviderKind.NEUROFLASH else 'API key'}."
        if any(
            name in values and values[name] != getattr(self, name) for name in SECRET_BOUND_FIELDS
        ):
            return ENTER_IT_AGAIN
        return None

    @property
    def capabilities(self) -> providers.Capabilities:
        """What this kind of provider can do (history, delete, quota kind…), from its adapter."""
        return providers.capabilities_for(self.kind)

    def route_path(self, family: str) -> str:
        """Where a ds-prototypes route family is: as typed, else as discovered, else ""."""
        return getattr(self, f"{family}_path") or getattr(self, f"discovered_{family}_path")


class ConnectionCheck(models.Model):
    """One press of "Test connection", run by a worker so the web tier never waits on a provider."""

    class State(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        RUNNING = "running", gettext_lazy("Checking")
        OK = "ok", gettext_lazy("Connected")
        FAILED = "failed", gettext_lazy("Failed")

    # A check makes at most this many provider calls (token, workspaces, four route probes,
    # quota, models).
    PROVIDER_CALLS = 8
    MARGIN_SECONDS = 30

    credential = models.ForeignKey(
        ProviderCredential, on_delete=models.CASCADE, related_name="checks"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    token_ok = models.BooleanField(null=True)
    workspace_found = models.BooleanField(null=True)
    quota_left = models.CharField(max_length=40, blank=True)
    model_count = models.PositiveIntegerField(null=True)
    round_trip_ms = models.FloatField(null=True)
    # Where the ds-prototypes routes answered (neuroflash and the sandbox).
    generation_path = models.CharField(max_length=200, blank=True)
    history_path = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    # The version of the credential this check tested: if it is saved again meanwhile, the
    # result is not reported as the state of the new version.
    credential_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"Connection check {self.pk} ({self.state})"

    @classmethod
    def deadline(cls) -> timedelta:
        """How long a check can take at most; pending longer, nobody is working on it."""
        per_call = settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT
        return timedelta(seconds=cls.PROVIDER_CALLS * per_call + cls.MARGIN_SECONDS)

    @property
    def is_pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def is_abandoned(self) -> bool:
        return self.is_pending and timezone.now() - self.created_at > self.deadline()

    @property
    def abandoned_reason(self) -> str:
        if not self.is_abandoned:
            return ""
        if self.state == self.State.QUEUED:
            return "No worker picked this up — is the worker running?"
        return "The worker stopped while checking. Press Test connection to try again."
