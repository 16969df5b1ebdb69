from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_variables

from accounts import crypto
from accounts.models import (
    AuditEvent,
    AuditVerb,
    Membership,
    ProviderCredential,
    ProviderKind,
    Role,
    User,
    Workspace,
)


def audit_record(
    *, workspace: Workspace, actor: User | None, verb: str, target: str = "", detail: str = ""
) -> AuditEvent:
    return AuditEvent.objects.create(
        workspace=workspace, actor=actor, verb=verb, target=target, detail=detail
    )


# --- Workspaces -------------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def workspace_create(*, name: str, creator: User | None) -> Workspace:
    """A workspace with its creator as admin and a credential for the local sandbox."""
    workspace = Workspace.objects.create(name=name, slug=_unique_slug(name))
    # A blank base URL follows SANDBOX_URL, wherever this installation runs its sandbox.
    ProviderCredential.objects.create(workspace=workspace, kind=ProviderKind.SANDBOX)
    if creator is not None:
        Membership.objects.create(user=creator, workspace=workspace, role=Role.ADMIN)
    audit_record(workspace=workspace, actor=creator, verb=AuditVerb.WORKSPACE_CREATED, target=name)
    return workspace


def workspace_rename(*, workspace: Workspace, actor: User, name: str) -> None:
    old = workspace.name
    if old == name:
        return
    workspace.name = name
    workspace.save(update_fields=["name"])
    audit_record(
        workspace=workspace,
        actor=actor,
        verb=AuditVerb.WORKSPACE_RENAMED,
        target=name,
        detail=f"was {old}",
    )


def user_remember_workspace(*, user: User, workspace: Workspace) -> None:
    if user.last_workspace_id != workspace.pk:
        user.last_workspace = workspace
        user.save(update_fields=["last_workspace"])


# --- Members ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberAdded:
    membership: Membership
    # Set only when a new account was created: the one-time link for choosing a password.
    set_password_path: str | None


def set_password_path(user: User) -> str:
    """A one-time link: the token is bound to the password hash, so using it invalidates it."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


@transaction.atomic
def membership_add(
    *, workspace: Workspace, actor: User, email: str, role: str, name: str = ""
) -> MemberAdded:
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if user is None:
        first, _, last = name.strip().partition(" ")
        user = User.objects.create_user(email=email, first_name=first, last_name=last)
    elif Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError(f"{email} is already a member of {workspace}.", code="already_member")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(workspace=workspace, user=user, role=role)
    except IntegrityError:  # a concurrent add of the same person won the race
        raise ValidationError(
            f"{email} is already a member of {workspace}.", code="already_member"
        ) from None
    audit_record(
        workspace=workspace,
        actor=actor,
        verb=AuditVerb.MEMBER_CREATED if created else AuditVerb.MEMBER_ADDED,
        target=email,
        detail=f"as {Role(role).label.lower()}",
    )
    return MemberAdded(
        membership=membership, set_password_path=set_password_path(user) if created else None
    )


def _lock_admins(workspace: Workspace) -> list[Membership]:
    # Locking every admin row serialises concurrent demotions, so two admins demoting each other
    # at the same moment cannot leave the workspace with none.
    return list(Membership.objects.select_for_update().filter(workspace=workspace, role=Role.ADMIN))


@transaction.atomic
def membership_change_role(*, membership: Membership, actor: User, role: str) -> None:
    if membership.role == role:
        return
    admins = _lock_admins(membership.workspace)
    if membership.role == Role.ADMIN and len(admins) <= 1:
        raise ValidationError(
            "A workspace needs at least one admin. Make someone else admin first.",
            code="last_admin",
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        workspace=membership.workspace,
        actor=actor,
        verb=AuditVerb.MEMBER_ROLE_CHANGED,
        target=membership.user.email,
        detail=f"{Role(old).label.lower()} → {Role(role).label.lower()}",
    )


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    admins = _lock_admins(membership.workspace)
    if membership.role == Role.ADMIN and len(admins) <= 1:
        raise ValidationError(
            "The last admin cannot be removed. Make someone else admin first.", code="last_admin"
        )
    membership.delete()
    user = membership.user
    if user.last_workspace_id == membership.workspace_id:
        user.last_workspace = None
        user.save(update_fields=["last_workspace"])
    audit_record(
        workspace=membership.workspace,
        actor=actor,
        verb=AuditVerb.MEMBER_REMOVED,
        target=user.email,
    )


# --- Credentials ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialFields:
    kind: str
    base_url: str = ""
    auth_url: str = ""
    client_id: str = ""
    remote_workspace_id: str = ""


@sensitive_variables("secret")
@transaction.atomic
def credential_save(
    *, workspace: Workspace, actor: User, fields: CredentialFields, secret: str | None
) -> ProviderCredential:
    """Save the workspace's credential. `secret=None` (a blank field on edit) keeps the old one."""
    credential, _ = ProviderCredential.objects.select_for_update().get_or_create(
        workspace=workspace
    )
    had_secret = credential.has_secret
    changed = [name for name, value in vars(fields).items() if getattr(credential, name) != value]
    if credential.kind != fields.kind and not secret and had_secret:
        # Another provider's secret is useless here; do not keep it around.
        credential.secret_encrypted = credential.secret_hint = ""
        credential.secret_set_by = credential.secret_set_at = None
        had_secret = False
        changed.append("secret removed")
    for name, value in vars(fields).items():
        setattr(credential, name, value)
    if secret:
        credential.secret_encrypted = crypto.encrypt(secret)
        credential.secret_hint = secret[-4:] if len(secret) >= 8 else ""
        credential.secret_set_by = actor
        credential.secret_set_at = timezone.now()
        changed.append("secret")
    if changed:
        # A different provider or secret makes the last test result meaningless.
        credential.last_success_at = None
        credential.last_error = ""
        credential.last_error_at = None
    credential.save()
    if changed:
        verb = (
            AuditVerb.CREDENTIAL_SET if secret and not had_secret else AuditVerb.CREDENTIAL_CHANGED
        )
        audit_record(
            workspace=workspace,
            actor=actor,
            verb=verb,
            target=ProviderKind(fields.kind).label,
            detail="changed: " + ", ".join(name.replace("_", " ") for name in changed),
        )
    return credential


def credential_rotate_all() -> int:
    """Re-encrypt every stored secret under the current (first) key; returns how many."""
    count = 0
    for credential in ProviderCredential.objects.exclude(secret_encrypted="").only(
        "pk", "secret_encrypted"
    ):
        ProviderCredential.objects.filter(pk=credential.pk).update(
            secret_encrypted=crypto.rotate(credential.secret_encrypted)
        )
        count += 1
    return count
