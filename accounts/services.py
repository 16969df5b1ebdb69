from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field, replace
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_variables
from kombu.exceptions import OperationalError

from accounts import crypto
from accounts.models import (
    AuditEvent,
    AuditVerb,
    Membership,
    Notification,
    ProviderCredential,
    ProviderKind,
    Role,
    User,
    Workspace,
    WorkspaceSlug,
    kind_uses_secret,
)
from accounts.text import english, stored_message, stored_message_id
from config.celery import send_task
from providers import DsRoutes

logger = logging.getLogger(__name__)

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


# --- Credentials ------------------------------------------------------------------------------


# How the credential's fields are called on the settings page (for the audit log).
FIELD_LABELS = {
    "kind": "provider",
    "base_url": "base URL",
    "auth_url": "token URL",
    "client_id": "client ID",
    "remote_workspace_id": "neuroflash workspace ID",
    "generation_path": "generation route path",
    "history_path": "history route path",
    "secret": "secret",
}
# Routes discovered on one server say nothing about another.
_SERVER_FIELDS = ("kind", "base_url")


@dataclass(frozen=True)
class CredentialFields:
    kind: str
    base_url: str = ""
    auth_url: str = ""
    client_id: str = ""
    remote_workspace_id: str = ""
    generation_path: str = ""
    history_path: str = ""


@sensitive_variables("secret")
def credential_save(
    *, workspace: Workspace, actor: User, fields: CredentialFields, secret: str | None
) -> ProviderCredential:
    """Save the workspace's credential. `secret=None` (a blank field on edit) keeps the old one.

    The saved secret is only kept while it goes to the same provider, addresses and client ID;
    changing any of those without entering it again is refused, so nobody can point a saved
    secret at a server of their own. Raises ValidationError (by field) for that and for an
    address that would send the secret in clear text.
    """
    # `with`, not the decorator: the decorator's wrapper frame would show the secret in
    # error reports, outside @sensitive_variables' reach.
    with transaction.atomic():
        credential, _ = ProviderCredential.objects.select_for_update().get_or_create(
            workspace=workspace
        )
        if fields.kind == ProviderKind.SANDBOX:
            fields = _with_sandbox_account(fields, credential)
        needs_secret = kind_uses_secret(fields.kind)
        if not needs_secret:
            secret = None
        elif not secret:
            problem = credential.secret_missing(kind=fields.kind, values=vars(fields))
            if problem:
                raise ValidationError({"secret": problem})
        had_secret = credential.has_secret
        changed = [
            name for name, value in vars(fields).items() if getattr(credential, name) != value
        ]
        if had_secret and not needs_secret:
            # This provider takes no secret; do not keep one around.
            credential.secret_encrypted = credential.secret_hint = ""
            credential.secret_set_by = credential.secret_set_at = None
            had_secret = False
            changed.append("secret removed")
        if any(name in changed for name in _SERVER_FIELDS):
            credential.discovered_generation_path = credential.discovered_history_path = ""
        for name, value in vars(fields).items():
            setattr(credential, name, value)
        credential.clean()
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
                AuditVerb.CREDENTIAL_SET
                if secret and not had_secret
                else AuditVerb.CREDENTIAL_CHANGED
            )
            audit_record(
                workspace=workspace,
                actor=actor,
                verb=verb,
                target=str(ProviderKind(fields.kind).label),
                detail="changed: " + ", ".join(FIELD_LABELS.get(name, name) for name in changed),
            )
        return credential


def _with_sandbox_account(
    fields: CredentialFields, credential: ProviderCredential
) -> CredentialFields:
    # The sandbox account is not typed (the form has no field for it): keep the workspace's
    # own, or give it one when it comes (back) to the sandbox.
    if credential.kind == ProviderKind.SANDBOX and credential.remote_workspace_id:
        client_id, account = credential.client_id, credential.remote_workspace_id
    else:
        client_id = account = sandbox_account_new(credential.workspace)
    return replace(fields, client_id=client_id, remote_workspace_id=account)


def credential_routes_remember(
    *, credential_id: int, kind: str, base_url: str, routes: DsRoutes
) -> bool:
    """Keep where the ds-prototypes routes answered, for the credential as it was when they were
    found: one saved meanwhile for another server or provider starts from a clean slate.
    Paths an admin typed are separate fields and stay as they are."""
    return bool(
        ProviderCredential.objects.filter(pk=credential_id, kind=kind, base_url=base_url).update(
            discovered_generation_path=routes.generation,
            discovered_history_path=routes.history,
        )
    )


@dataclass
class RotationReport:
    rotated: int = 0
    # Names of the workspaces whose secret no configured key can decrypt.
    unreadable: list[str] = field(default_factory=list)


def credential_rotate_all() -> RotationReport:
    """Re-encrypt every stored secret under the current (first) key."""
    report = RotationReport()
    for credential in (
        ProviderCredential.objects.exclude(secret_encrypted="")
        .select_related("workspace")
        .only("pk", "secret_encrypted", "workspace__name")
        .order_by("pk")
    ):
        old = credential.secret_encrypted
        try:
            new = crypto.rotate(old)
        except crypto.SecretUnreadable:
            report.unreadable.append(credential.workspace.name)
            continue
        # Conditional: a secret saved meanwhile is already under the current key; keep it.
        report.rotated += ProviderCredential.objects.filter(
            pk=credential.pk, secret_encrypted=old
        ).update(secret_encrypted=new)
    return report


# --- Notifications ----------------------------------------------------------------------------


def notification_send(
    *,
    recipient: User,
    workspace: Workspace,
    kind: str,
    message: str,
    params: dict[str, Any] | None = None,
    url: str = "",
    period: dt.date | None = None,
) -> Notification | None:
    """Tell `recipient` under the bell, and by email once the transaction commits (a worker
    sends it). With a `period`, once per kind and month: None when it was told already.
    `message` is an English msgid (marked with gettext_noop) with %(name)s placeholders for
    `params` (see accounts.text.stored_message): stored so, it is shown in the reader's
    language; `text` keeps the English."""
    params = params or {}
    with translation.override("en-gb"):
        text = stored_message(message, params)[:300]
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                workspace=workspace,
                kind=kind,
                text=text,
                message=message,
                params=params,
                url=url,
                period=period,
            )
    except IntegrityError:
        return None  # this month's threshold was told already
    transaction.on_commit(lambda: _email_later(notification.pk))
    return notification


def _email_later(notification_id: int) -> None:
    # After the commit of a submit: a broker that cannot be reached loses the email, never the
    # job (the notification is under the bell all the same).
    try:
        send_task("accounts.tasks.send_notification_email", notification_id)
    except (OperationalError, OSError):
        logger.warning("Notification %s: no worker reachable, no email sent", notification_id)


def notification_email(*, notification_id: int) -> None:
    """Email one notification to its recipient (the worker's half of `notification_send`)."""
    notification = (
        Notification.objects.select_related("recipient", "workspace")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or not notification.recipient.email:
        return
    recipient = notification.recipient
    # The recipient's language (their choice in the account menu), not the worker's.
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        body = notification.shown_text
        if notification.url.startswith("/"):  # the app's own pages only
            body += "\n\n" + _("Open it in Darkroom: %(url)s") % {
                "url": f"{settings.SITE_URL}{notification.url}"
            }
        workspace_name = notification.workspace.name
        send_mail(
            subject=f"[{workspace_name}] {notification.get_kind_display()}",
            message=f"{body}\n\n— "
            + _("Darkroom, workspace %(name)s") % {"name": workspace_name}
            + "\n",
            from_email=None,
            recipient_list=[recipient.email],
        )


def notification_mark_read(
    *, user: User, workspace: Workspace, notification_id: int | None = None
) -> Notification | None:
    """Mark one of the user's notifications in the workspace read (all of them without an id);
    the one marked, or None."""
    unread = Notification.objects.filter(recipient=user, workspace=workspace)
    if notification_id is None:
        unread.filter(read_at__isnull=True).update(read_at=timezone.now())
        return None
    notification = unread.filter(pk=notification_id).first()
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
