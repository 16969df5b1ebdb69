"""From a workspace's stored credential to a live provider client, and the connection check."""

from __future__ import annotations

import logging
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_variables

from accounts import crypto
from accounts.credentials import credential_routes_remember
from accounts.models import ConnectionCheck, ProviderCredential, User
from accounts.text import sentence, stored_message_id, stored_text
from accounts.token_store import CacheTokenStore
from config.celery import send_task_on_commit
from providers import (
    DS_FAMILIES,
    DsRoutes,
    ImageProvider,
    ProviderConfig,
    ProviderError,
    build_provider,
    is_provider_kind,
)
from providers.netguard import NetworkPolicy, UnsafeURL, check_url

logger = logging.getLogger(__name__)

UNEXPECTED_FAILURE = gettext_noop(
    "The check stopped on an unexpected error. The worker's log has the details; "
    "try again, and if it keeps happening, tell whoever runs Darkroom."
)


class CredentialUnusable(Exception):
    """The stored credential cannot be turned into a client (e.g. its secret will not decrypt)."""


@sensitive_variables("secret")
def provider_config_for(credential: ProviderCredential) -> ProviderConfig:
    try:
        secret = crypto.decrypt(credential.secret_encrypted) if credential.has_secret else ""
    except crypto.SecretUnreadable:
        raise CredentialUnusable(
            _(
                "The saved secret cannot be decrypted with this server's CREDENTIAL_KEYS. "
                "Enter it again in the provider settings."
            )
        ) from None
    kind = credential.kind
    if not is_provider_kind(kind):
        raise CredentialUnusable(f"Darkroom has no client for the provider kind {kind!r}.")
    base_url = credential.base_url or (settings.SANDBOX_URL if kind == "sandbox" else "")
    return ProviderConfig(
        kind=kind,
        client_id=credential.client_id,
        secret=secret,
        workspace_id=credential.remote_workspace_id or None,
        base_url=base_url or None,
        issuer_url=credential.auth_url or None,
        generation_path=credential.route_path("generation") or None,
        history_path=credential.route_path("history") or None,
        pinned_routes=frozenset(f for f in DS_FAMILIES if getattr(credential, f"{f}_path")),
        # A job or sync that met a 404 and found the routes elsewhere: remember it for the next.
        on_routes_discovered=partial(
            _remember_routes,
            credential_id=credential.pk,
            kind=credential.kind,
            base_url=credential.base_url,
        ),
        connect_timeout=settings.PROVIDER_CONNECT_TIMEOUT,
        read_timeout=settings.PROVIDER_READ_TIMEOUT,
        generate_timeout=settings.PROVIDER_GENERATE_TIMEOUT,
        token_store=CacheTokenStore(),
        network=provider_network(),
    )


def _remember_routes(routes: DsRoutes, *, credential_id: int, kind: str, base_url: str) -> None:
    credential_routes_remember(
        credential_id=credential_id, kind=kind, base_url=base_url, routes=routes
    )


def provider_url_problem(url: str, *, kind: str, actor_is_staff: bool) -> str | None:
    """Why a workspace admin may not save ``url`` as a provider address, or None.

    Provider addresses are public https hosts: the worker sends secrets there and shows what
    comes back. A host on loopback or the private network only where the operator allowed it
    (PROVIDER_PRIVATE_HOSTS; the sandbox always), and a sandbox other than this server's own
    only for staff. The worker checks again on every connection (``providers.netguard``)."""
    if not url:
        return None
    own_sandbox = url.rstrip("/") == settings.SANDBOX_URL.rstrip("/")
    if kind == "sandbox" and not own_sandbox and not actor_is_staff:
        return _(
            "Only staff can point the sandbox somewhere else; leave this blank for "
            "this server's sandbox."
        )
    try:
        problem, scheme = address_problem(
            url,
            provider_network(),
            not_public=_(
                "This address is not on the public internet: %(reason)s. Whoever runs Darkroom "
                "can allow it with PROVIDER_PRIVATE_HOSTS."
            ),
        )
    except OSError:  # not resolvable from here (yet): Test connection will say so
        problem, scheme = None, urlsplit(url).scheme.lower()
    if problem or not scheme:
        return problem
    if scheme != "https":
        return _("Use an https:// address. The secret must not travel unencrypted.")
    return None


# The network guard's reasons (providers/ is plain Python, English only), as msgids, so an address
# refused in German reads German throughout: `stored_text` matches the English reason.
GUARD_REASONS = (
    stored_message_id(gettext_noop("%(host)s is %(kind)s, which the worker may not connect to")),
    stored_message_id(
        gettext_noop(
            "%(host)s resolves to %(kind)s (%(address)s), which the worker may not connect to"
        )
    ),
    gettext_noop("a cloud metadata address"),
    gettext_noop("a loopback address"),
    gettext_noop("a link-local address"),
    gettext_noop("a private address"),
    gettext_noop("a non-public address"),
    gettext_noop("the address contains a backslash"),
    gettext_noop("the address contains spaces or control characters"),
    gettext_noop("the address is not a valid URL"),
    gettext_noop("only http:// and https:// addresses are allowed"),
    gettext_noop("the address must not contain a user name or password (user@host)"),
    gettext_noop("the address has no host"),
)


def address_problem(url: str, network: NetworkPolicy, *, not_public: str) -> tuple[str | None, str]:
    """(problem, scheme) for an address the worker is to reach (a provider's, a webhook's):
    why it may not be used, or None with its scheme ("" for a host the operator allowed as
    non-public, where any scheme goes). ``not_public`` is the caller's message, with
    ``%(reason)s``, naming the setting that allows such hosts. OSError where the name does not
    resolve. The worker checks again on every connection (``providers.netguard``)."""
    try:
        scheme, host, port = check_url(url)
    except UnsafeURL as exc:
        reason = stored_text(str(exc))
        return _("This address cannot be used: %(reason)s.") % {"reason": reason}, ""
    if network.may_be_private(host, port):
        return None, ""
    try:
        network.vet(host, port)
    except UnsafeURL as exc:
        return not_public % {"reason": stored_text(str(exc))}, ""
    return None, scheme


def provider_network() -> NetworkPolicy:
    """The non-public hosts the operator lets workers reach (PROVIDER_PRIVATE_HOSTS)."""
    return NetworkPolicy.allowing(settings.PROVIDER_PRIVATE_HOSTS)


def provider_for(credential: ProviderCredential) -> ImageProvider:
    """A ready client for the workspace's provider. Raises CredentialUnusable or ProviderError."""
    return build_provider(provider_config_for(credential))


def connection_check_request(*, credential: ProviderCredential, actor: User) -> ConnectionCheck:
    check = ConnectionCheck.objects.create(credential=credential, requested_by=actor)
    send_task_on_commit("accounts.tasks.run_connection_check", check.pk)
    return check


def connection_check_run(*, check_id: int) -> None:
    """Run a queued check once; a redelivered or duplicate task finds nothing to claim."""
    claimed = ConnectionCheck.objects.filter(
        pk=check_id, state=ConnectionCheck.State.QUEUED
    ).update(state=ConnectionCheck.State.RUNNING)
    if not claimed:
        return
    check = ConnectionCheck.objects.select_related("credential").get(pk=check_id)
    credential = check.credential
    check.credential_updated_at = credential.updated_at  # the version this check tests
    try:
        provider = provider_for(credential)
        try:
            result = provider.test_connection()
        finally:
            provider.close()
    except (ProviderError, CredentialUnusable) as exc:
        _finish(check, ok=False, error=sentence(str(exc)))
        return
    except Exception:
        # Whatever it was, the check must end: a check left running is polled forever.
        logger.exception("Connection check %s crashed", check.pk)
        _finish(check, ok=False, error=UNEXPECTED_FAILURE)
        return
    check.token_ok = result.token_ok
    check.workspace_found = result.workspace_found
    check.quota_left = "" if result.quota_left is None else str(result.quota_left)
    check.model_count = result.model_count
    check.round_trip_ms = result.round_trip_ms
    if result.ds_routes is not None:
        check.generation_path = result.ds_routes.generation
        check.history_path = result.ds_routes.history
    if result.ok:
        _finish(check, ok=True, routes=result.ds_routes)
    else:
        seen = ", ".join(f"{w.name or w.id} ({w.id})" for w in result.workspaces) or "none"
        _finish(
            check,
            ok=False,
            error=WORKSPACE_NOT_SEEN % {"workspace": credential.remote_workspace_id, "seen": seen},
        )


# Stored in English, shown in the reader's language (accounts.text.stored_text).
WORKSPACE_NOT_SEEN = stored_message_id(
    gettext_noop(
        "The credentials work, but workspace “%(workspace)s” is not among the workspaces they "
        "can see: %(seen)s."
    )
)


@transaction.atomic
def _finish(
    check: ConnectionCheck, *, ok: bool, error: str = "", routes: DsRoutes | None = None
) -> None:
    now = timezone.now()
    check.state = ConnectionCheck.State.OK if ok else ConnectionCheck.State.FAILED
    check.error = error
    check.finished_at = now
    check.save()
    if not ok:
        logger.info(
            "Connection check %s for workspace %s failed: %s",
            check.pk,
            check.credential.workspace_id,
            error,
        )
    # Saved again while the check ran: the result is about the old version, and the new one
    # starts with a clean slate.
    tested = check.credential_updated_at  # set when the check started
    credentials = (
        ProviderCredential.objects.filter(pk=check.credential_id, updated_at=tested)
        if tested is not None
        else ProviderCredential.objects.none()
    )
    if ok:
        found = {}
        if routes is not None:
            found = {
                "discovered_generation_path": routes.generation,
                "discovered_history_path": routes.history,
            }
        credentials.update(last_success_at=now, last_error="", last_error_at=None, **found)
    else:
        credentials.update(last_error=error, last_error_at=now)
