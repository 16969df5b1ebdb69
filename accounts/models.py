from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import providers
from accounts.text import stored_message, stored_text


class UserManager(DjangoUserManager["User"]):
    """Users sign in with their email address; there is no separate username."""

    use_in_migrations = True

    def _create_user_object(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.password = ""
        user.set_password(password) if password else user.set_unusable_password()
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are stored lower-case; signing in as Alice@Example.com must work too.
        return self.get(email__iexact=username or "")

    # Email instead of username: Django's manager signature names `username` first, hence
    # the overrides below (the documented way to swap the login field).
    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        user = self._create_user_object(email, password, **extra)
        user.save(using=self._db)
        return user

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]  # removes AbstractUser's field (Django docs)
    email = models.EmailField("email address", unique=True)
    # The workspace the switcher opens when the user arrives at "/".
    last_workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The language chosen in the account menu; empty: follow the browser (Accept-Language).
    # Emails to a user without a choice are in settings.LANGUAGE_CODE.
    language = models.CharField(
        gettext_lazy("language"), max_length=10, blank=True, default="", choices=settings.LANGUAGES
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[misc]  # the stubs expect UserManager[Self]

    class Meta:
        ordering = ("email",)
        constraints = [
            # Alice@Example.com and alice@example.com are one person: signing in ignores case.
            models.UniqueConstraint(
                Lower("email"),
                name="unique_email_ignoring_case",
                violation_error_message="A user with this email address already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        super().clean()
        self.email = self.email.lower()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.lower()
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.name_shown(self.first_name, self.last_name, self.email)

    @staticmethod
    def name_shown(first_name: str, last_name: str, email: str) -> str:
        """`display_name` from the columns alone (for rows read without a User instance)."""
        return f"{first_name} {last_name}".strip() or email.split("@")[0]


class Workspace(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = (Lower("name"),)

    def __str__(self) -> str:
        return self.name


class WorkspaceSlug(models.Model):
    """An address a workspace had before a rename: /w/<slug>/… still leads its members there
    (`accounts.access.get_membership`), and no other workspace may take it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="old_slugs")
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.slug} → {self.workspace_id}"


class Role(models.TextChoices):
    ADMIN = "admin", gettext_lazy("Admin")
    MEMBER = "member", gettext_lazy("Member")
    VIEWER = "viewer", gettext_lazy("Viewer")

    @classmethod
    def rank(cls, role: str) -> int:
        """Higher is more powerful; used for "at least this role" checks."""
        return {cls.VIEWER: 0, cls.MEMBER: 1, cls.ADMIN: 2}[cls(role)]


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    # The member's unread notifications in this workspace (the header's bell), read with the
    # membership in one query by `membership_list_for_user_with_credentials`; 0 otherwise.
    unread_notifications: int = 0

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("user", "workspace"), name="one_membership_per_user_and_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    def has_role(self, role: str) -> bool:
        return Role.rank(self.role) >= Role.rank(role)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_write(self) -> bool:
        return self.has_role(Role.MEMBER)


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


class AuditVerb(models.TextChoices):
    BUDGET_ADJUSTED = "budget.adjusted", gettext_lazy("adjusted this month's budget of")
    BUDGET_CHANGED = "budget.changed", gettext_lazy("changed the monthly budget of")
    BUDGET_REQUEST_APPROVED = (
        "budget.request_approved",
        gettext_lazy("approved a request for more from"),
    )
    BUDGET_REQUEST_DECLINED = (
        "budget.request_declined",
        gettext_lazy("declined a request for more from"),
    )
    BUDGET_WORKSPACE_CHANGED = (
        "budget.workspace_changed",
        gettext_lazy("changed the workspace budget"),
    )
    CREDENTIAL_SET = "credential.set", gettext_lazy("set the provider credential")
    CREDENTIAL_CHANGED = "credential.changed", gettext_lazy("changed the provider credential")
    MEMBER_ADDED = "member.added", gettext_lazy("added a member")
    MEMBER_CREATED = "member.created", gettext_lazy("created an account for")
    MEMBER_LINK_ISSUED = "member.link_issued", gettext_lazy("issued a new set-password link for")
    MEMBER_REMOVED = "member.removed", gettext_lazy("removed a member")
    MEMBER_ROLE_CHANGED = "member.role_changed", gettext_lazy("changed the role of")
    TOKEN_CREATED = "token.created", gettext_lazy("created an API token")
    TOKEN_REVOKED = "token.revoked", gettext_lazy("revoked an API token")
    MEMBER_LEFT = "member.left", gettext_lazy("left the workspace")
    USER_DEACTIVATED = "user.deactivated", gettext_lazy("deactivated the account of")
    USER_REACTIVATED = "user.reactivated", gettext_lazy("reactivated the account of")
    WEBHOOK_CHANGED = "webhook.changed", gettext_lazy("changed the webhook")
    WEBHOOK_SECRET_ROTATED = (
        "webhook.secret_rotated",
        gettext_lazy("rotated the webhook's signing secret"),
    )
    WEBHOOK_REMOVED = "webhook.removed", gettext_lazy("removed the webhook to")
    WEBHOOK_SET = "webhook.set", gettext_lazy("set up a webhook to")
    WEBHOOK_TESTED = "webhook.tested", gettext_lazy("sent a test event to the webhook")
    WORKSPACE_CREATED = "workspace.created", gettext_lazy("created the workspace")
    WORKSPACE_DELETED = "workspace.deleted", gettext_lazy("deleted the workspace")
    WORKSPACE_EXPORTED = "workspace.exported", gettext_lazy("exported the workspace")
    WORKSPACE_MOVED = "workspace.moved", gettext_lazy("changed the address of the workspace")
    WORKSPACE_RENAMED = "workspace.renamed", gettext_lazy("renamed the workspace")


class AuditEvent(models.Model):
    # None for what happens to the installation rather than in one workspace (a workspace
    # deleted, an account deactivated): those records outlive any workspace.
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=40, choices=AuditVerb.choices)
    # Holds an email address at most (254, as User.email), else a workspace or provider name.
    target = models.CharField(max_length=254, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.actor} {self.get_verb_display()} {self.target}".strip()


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


class NotificationKind(models.TextChoices):
    BUDGET_80 = "budget_80", gettext_lazy("80 % of your budget")
    BUDGET_100 = "budget_100", gettext_lazy("All of your budget")
    CAP_80 = "cap_80", gettext_lazy("80 % of the workspace cap")
    CAP_100 = "cap_100", gettext_lazy("All of the workspace cap")
    REQUEST_NEW = "request_new", gettext_lazy("A request for more")
    REQUEST_APPROVED = "request_approved", gettext_lazy("Request approved")
    REQUEST_DECLINED = "request_declined", gettext_lazy("Request declined")


class Notification(models.Model):
    """Something a person should know, shown under the bell (and sent by email). The unread
    count is read with the page's membership query (`membership_list_for_user_with_credentials`),
    so the bell costs no query of its own."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    text = models.CharField(max_length=300)  # in English, as the JSON API shows it
    # The same text as its English msgid and parameters (accounts.text.stored_message), so the
    # bell and the email speak the reader's language; blank for older rows (then `text`).
    message = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True)
    # The month a threshold notification is about (its first day); None for the others. A
    # threshold is told once a month: the database refuses a second one for the same month.
    period = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("recipient", "workspace", "kind", "period"),
                condition=models.Q(period__isnull=False),
                name="one_threshold_notification_a_month",
            )
        ]
        indexes = [
            models.Index(fields=("recipient", "workspace", "read_at"), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def shown_text(self) -> str:
        """The text in the active language."""
        if self.message:
            return stored_message(self.message, self.params)
        return stored_text(self.text)


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
