"""Users, workspaces (and the addresses they had), roles and memberships."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy


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
