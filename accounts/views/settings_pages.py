"""Settings · Provider (the credential and its connection test), Workspace (rename), Audit log."""

from __future__ import annotations

import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import connection, credentials, selectors, services
from accounts.access import (
    WorkspaceRequest,
    get_connection_check_for_admin,
    get_credential_for_admin,
    get_membership,
)
from accounts.forms import (
    CredentialForm,
    WorkspaceRenameForm,
)
from accounts.models import ConnectionCheck, ProviderCredential, Role
from accounts.views.posting import posted


def _connection_context(
    credential: ProviderCredential | None, check: ConnectionCheck | None
) -> dict[str, object]:
    return {"credential": credential, "check": check}


@login_required
@sensitive_post_parameters("secret")
@require_http_methods(["GET", "POST"])
def settings_provider(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    workspace = membership.workspace
    credential = selectors.credential_for_workspace(workspace=workspace)
    # The form validates into its own copy, so the page keeps showing what is saved.
    form = CredentialForm(
        posted(request),
        instance=copy.copy(credential) if credential else ProviderCredential(workspace=workspace),
        actor_is_staff=request.user.is_staff,
    )
    if form.is_valid():
        try:
            # The secret goes straight from the form into the service: bound to a local here, it
            # would show in error reports.
            credentials.credential_save(
                workspace=workspace,
                actor=request.user,
                fields=form.credential_fields(),
                secret=form.cleaned_data["secret"] or None,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Provider credential saved."))
            return redirect("accounts:settings_provider", slug=slug)
    if form.errors:
        messages.error(request, _("The credential was not saved. Check the fields marked in red."))
    context = {
        **_connection_context(
            credential,
            selectors.connection_check_latest(credential=credential) if credential else None,
        ),
        "form": form,
    }
    return render(
        request, "accounts/settings_provider.html", context, status=422 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def settings_general(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    workspace = membership.workspace
    form = WorkspaceRenameForm(
        posted(request),
        initial={"name": workspace.name, "slug": workspace.slug},
        workspace=workspace,
    )
    if request.method == "POST" and form.is_valid():
        old_slug = workspace.slug
        try:
            services.workspace_rename(
                workspace=workspace,
                actor=request.user,
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if workspace.slug != old_slug:
                messages.success(
                    request,
                    _(
                        "Saved. The workspace is now at /w/%(slug)s/; links to /w/%(old_slug)s/ "
                        "still lead its members here."
                    )
                    % {"slug": workspace.slug, "old_slug": old_slug},
                )
            else:
                messages.success(request, _("Workspace renamed."))
            return redirect("accounts:settings_general", slug=workspace.slug)
    if request.method == "POST":
        # What a refused save typed stays in the form; the page shows the saved name and address.
        workspace.refresh_from_db(fields=["name", "slug"])
    context = {
        "form": form,
        "schedule": _schedule(),
        "old_slugs": list(
            workspace.old_slugs.order_by("-created_at").values_list("slug", flat=True)
        ),
    }
    return render(
        request, "accounts/settings_general.html", context, status=422 if form.errors else 200
    )


def _schedule() -> list[tuple[str, str]]:
    """What Celery beat runs for every workspace, as configured."""
    s = settings
    return [
        (
            _("Provider history, new entries"),
            _("every %(minutes)s min") % {"minutes": s.HISTORY_SYNC_MINUTES},
        ),
        (
            _("Provider history, full (finds deletions)"),
            _("every %(hours)s h") % {"hours": s.HISTORY_FULL_SYNC_HOURS},
        ),
        (
            _("Quota"),
            _("every %(minutes)s min, and after jobs") % {"minutes": s.QUOTA_REFRESH_MINUTES},
        ),
        (_("Model catalog"), _("every %(minutes)s min") % {"minutes": s.CATALOG_REFRESH_MINUTES}),
        (
            _("Jobs whose worker stopped"),
            _("resumed %(seconds)s s after its last heartbeat")
            % {"seconds": f"{s.JOB_STALE_SECONDS:g}"},
        ),
        (
            _("Queued jobs whose message was lost"),
            _("sent again after %(seconds)s s (checked every %(every)s s)")
            % {"seconds": f"{s.JOB_REDISPATCH_SECONDS:g}", "every": f"{s.JOB_DISPATCH_SECONDS:g}"},
        ),
    ]


@login_required
@require_GET
def settings_audit(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    context = {
        "events": selectors.audit_event_list(workspace=membership.workspace, limit=100),
    }
    return render(request, "accounts/settings_audit.html", context)


@login_required
@require_POST
def connection_test(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    credential = get_credential_for_admin(membership)
    check = connection.connection_check_request(credential=credential, actor=request.user)
    if request.htmx:
        return render(
            request,
            "accounts/settings_provider.html#connection-check",
            _connection_context(credential, check),
        )
    messages.info(
        request, _("Checking the connection. This page shows the result when it is done.")
    )
    return redirect("accounts:settings_provider", slug=slug)


@login_required
@require_GET
def connection_check_status(request: WorkspaceRequest, slug: str, check_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    check = get_connection_check_for_admin(membership, check_id)
    if not request.htmx:
        return redirect("accounts:settings_provider", slug=slug)
    return render(
        request,
        "accounts/settings_provider.html#connection-check",
        _connection_context(check.credential, check),
    )
