from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import (
    AuditEvent,
    AuditVerb,
    Membership,
    ProviderCredential,
    ProviderKind,
    Role,
    User,
    Workspace,
    WorkspaceSlug,
)
from accounts.text import english, stored_message_id

# Audit details are stored in English and shown in the reader's language (accounts.text).
AS_ROLE = stored_message_id(gettext_noop("as %(role)s"))
ROLE_CHANGE = stored_message_id(gettext_noop("%(old)s → %(new)s"))


def audit_record(
    *,
    workspace: Workspace | None,
    actor: User | None,
    verb: str,
    target: str = "",
    detail: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        workspace=workspace, actor=actor, verb=verb, target=target, detail=detail
    )


# --- Workspaces -------------------------------------------------------------------------------


def slug_taken(slug: str, *, by_other_than: Workspace | None = None) -> bool:
    """Whether `slug` is the address of a workspace, now or before a rename (an old address
    still leads to its workspace, so no other may take it)."""
    current = Workspace.objects.filter(slug=slug)
    previous = WorkspaceSlug.objects.filter(slug=slug)
    if by_other_than is not None:
        current = current.exclude(pk=by_other_than.pk)
        previous = previous.exclude(workspace=by_other_than)
    return current.exists() or previous.exists()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 2
    while slug_taken(slug):
        slug, n = f"{base}-{n}", n + 1
    return slug


def sandbox_account_new(workspace: Workspace) -> str:
    """A sandbox demo account of the workspace's own (sandbox/README.md, "Demo accounts"): the
    sandbox keeps history and quota per account, so a history sync never brings one workspace's
    images and prompts into another. Random, so a later workspace with a reused slug does not
    inherit a deleted one's images."""
    return f"sandbox-{workspace.slug[:40]}-{secrets.token_hex(4)}"


@transaction.atomic
def workspace_create(*, name: str, creator: User | None) -> Workspace:
    """A workspace with its creator as admin and a credential for its own sandbox account."""
    workspace = Workspace.objects.create(name=name, slug=_unique_slug(name))
    account = sandbox_account_new(workspace)
    # A blank base URL follows SANDBOX_URL, wherever this installation runs its sandbox.
    ProviderCredential.objects.create(
        workspace=workspace,
        kind=ProviderKind.SANDBOX,
        client_id=account,
        remote_workspace_id=account,
    )
    if creator is not None:
        Membership.objects.create(user=creator, workspace=workspace, role=Role.ADMIN)
    audit_record(workspace=workspace, actor=creator, verb=AuditVerb.WORKSPACE_CREATED, target=name)
    return workspace


@transaction.atomic
def workspace_rename(
    *, workspace: Workspace, actor: User, name: str, slug: str | None = None
) -> None:
    """A new name and, with `slug`, a new address. The old address keeps leading members to
    the workspace (a WorkspaceSlug); going back to an old address takes it off that list.
    Raises ValidationError (on "slug") when another workspace has or had the address."""
    old_name, old_slug = workspace.name, workspace.slug
    slug = slug or old_slug
    if slug != old_slug:
        if slug_taken(slug, by_other_than=workspace):
            raise ValidationError({"slug": _slug_taken(slug)})
        WorkspaceSlug.objects.filter(workspace=workspace, slug=slug).delete()
        try:
            with transaction.atomic():
                WorkspaceSlug.objects.create(workspace=workspace, slug=old_slug)
                workspace.slug = slug
                workspace.save(update_fields=["slug"])
        except IntegrityError:  # another workspace took it a moment ago
            raise ValidationError({"slug": _slug_taken(slug)}) from None
        audit_record(
            workspace=workspace,
            actor=actor,
            verb=AuditVerb.WORKSPACE_MOVED,
            target=f"/w/{slug}/",
            detail=f"was /w/{old_slug}/ (which still leads here)",
        )
    if name != old_name:
        workspace.name = name
        workspace.save(update_fields=["name"])
        audit_record(
            workspace=workspace,
            actor=actor,
            verb=AuditVerb.WORKSPACE_RENAMED,
            target=name,
            detail=f"was {old_name}",
        )


def user_remember_workspace(*, user: User, workspace: Workspace) -> None:
    if user.last_workspace_id != workspace.pk:
        user.last_workspace = workspace
        user.save(update_fields=["last_workspace"])


def user_set_language(*, user: User, language: str) -> None:
    """The user's interface and email language; "" follows the browser."""
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


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
        first, _sep, last = name.strip().partition(" ")
        user = User.objects.create_user(email=email, first_name=first, last_name=last)
    elif Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError(
            _("%(email)s is already a member of %(workspace)s.")
            % {"email": email, "workspace": workspace},
            code="already_member",
        )
    try:
        with transaction.atomic():
            membership = Membership.objects.create(workspace=workspace, user=user, role=role)
    except IntegrityError:  # a concurrent add of the same person won the race
        raise ValidationError(
            _("%(email)s is already a member of %(workspace)s.")
            % {"email": email, "workspace": workspace},
            code="already_member",
        ) from None
    audit_record(
        workspace=workspace,
        actor=actor,
        verb=AuditVerb.MEMBER_CREATED if created else AuditVerb.MEMBER_ADDED,
        target=email,
        detail=AS_ROLE % {"role": english(Role(role).label)},
    )
    # Someone who never chose a password (a lost or expired link) gets a fresh link too.
    needs_link = created or not user.has_usable_password()
    return MemberAdded(
        membership=membership, set_password_path=set_password_path(user) if needs_link else None
    )


def membership_new_link(*, membership: Membership, actor: User) -> str:
    """A fresh one-time set-password link for a member who never chose a password (the first
    was lost or has expired). Raises ValidationError once they have one."""
    user = membership.user
    if user.has_usable_password():
        raise ValidationError(
            _("%(email)s has already chosen a password: there is no link to give.")
            % {"email": user.email},
            code="has_password",
        )
    audit_record(
        workspace=membership.workspace,
        actor=actor,
        verb=AuditVerb.MEMBER_LINK_ISSUED,
        target=user.email,
    )
    return set_password_path(user)


def _ensure_an_admin_remains(
    membership: Membership, *, new_role: str | None, message: str
) -> Membership:
    """The target membership as it is now, locked, once it is clear that an admin remains.

    `new_role` is None for a removal. Every admin row is locked first, so concurrent demotions
    and removals queue up here, and the target is read again under that lock: a role read before
    it may already be out of date.
    """
    admins = list(
        Membership.objects.select_for_update()
        .filter(workspace_id=membership.workspace_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    current = (
        Membership.objects.select_for_update()
        .select_related("user", "workspace")
        .filter(pk=membership.pk)
        .first()
    )
    if current is None:
        raise ValidationError(
            _("%(email)s is no longer a member.") % {"email": membership.user.email}, code="gone"
        )
    if (
        current.role == Role.ADMIN
        and new_role != Role.ADMIN
        and not any(pk != current.pk for pk in admins)
    ):
        raise ValidationError(message, code="last_admin")
    return current


@transaction.atomic
def membership_change_role(*, membership: Membership, actor: User, role: str) -> None:
    current = _ensure_an_admin_remains(
        membership,
        new_role=role,
        message="A workspace needs at least one admin. Make someone else admin first.",
    )
    old = current.role
    membership.role = role
    if old == role:
        return
    current.role = role
    current.save(update_fields=["role"])
    audit_record(
        workspace=current.workspace,
        actor=actor,
        verb=AuditVerb.MEMBER_ROLE_CHANGED,
        target=current.user.email,
        detail=ROLE_CHANGE % {"old": english(Role(old).label), "new": english(Role(role).label)},
    )


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    current = _ensure_an_admin_remains(
        membership,
        new_role=None,
        message="The last admin cannot be removed. Make someone else admin first.",
    )
    current.delete()
    user = current.user
    if user.last_workspace_id == current.workspace_id:
        user.last_workspace = None
        user.save(update_fields=["last_workspace"])
    audit_record(
        workspace=current.workspace,
        actor=actor,
        verb=AuditVerb.MEMBER_REMOVED,
        target=user.email,
    )


def _slug_taken(slug: str) -> str:
    return _("The address /w/%(slug)s/ is taken. Choose another.") % {"slug": slug}


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """The member leaves the workspace themselves; the last admin cannot (ValidationError)."""
    current = _ensure_an_admin_remains(
        membership,
        new_role=None,
        message=_(
            "You are the last admin of %(workspace)s: make someone else admin first (Settings · "
            "Members), or delete the workspace."
        )
        % {"workspace": membership.workspace},
    )
    current.delete()
    user = current.user
    if user.last_workspace_id == current.workspace_id:
        user.last_workspace = None
        user.save(update_fields=["last_workspace"])
    audit_record(
        workspace=current.workspace, actor=user, verb=AuditVerb.MEMBER_LEFT, target=user.email
    )


# --- Accounts (staff) -------------------------------------------------------------------------


def user_set_active(*, user: User, actor: User, active: bool) -> bool:
    """Deactivate or reactivate an account (staff only; never one's own). A deactivated user
    cannot sign in, and every session they have ends now. False when nothing changed."""
    if not actor.is_staff:
        raise PermissionDenied(_("Only staff users deactivate accounts."))
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate your own account."), code="self")
    changed = bool(User.objects.filter(pk=user.pk, is_active=not active).update(is_active=active))
    user.is_active = active
    if not changed:
        return False
    if not active:
        sessions_end_for(user)
    audit_record(
        workspace=None,
        actor=actor,
        verb=AuditVerb.USER_REACTIVATED if active else AuditVerb.USER_DEACTIVATED,
        target=user.email,
    )
    return True


def sessions_end_for(user: User) -> int:
    """End every session `user` is signed in with; how many ended.

    Sessions are not indexed by user, so each live one is decoded: this is for a rare staff
    action. (Even without it, Django's ModelBackend turns an inactive user's next request
    anonymous; deleting the sessions also clears them from the session cache.)"""
    engine = import_module(settings.SESSION_ENGINE)
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            engine.SessionStore(session_key=session.session_key).delete()
            ended += 1
    return ended
