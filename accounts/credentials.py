"""A workspace's provider credential: saving it (the secret write-only, audited field by field),
the routes discovered for it, and re-encrypting every secret with a new key."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts import crypto
from accounts.models import (
    AuditVerb,
    ProviderCredential,
    ProviderKind,
    User,
    Workspace,
    kind_uses_secret,
)
from accounts.services import audit_record, sandbox_account_new
from providers import DsRoutes

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
