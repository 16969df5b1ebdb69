"""Settings · Workspace, the end of a workspace's life: export everything, delete it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.forms import WorkspaceDeleteForm
from accounts.models import Role
from gallery import selectors
from gallery.services import lifecycle


@login_required
@require_POST
def workspace_export(request: WorkspaceRequest, slug: str) -> StreamingHttpResponse:
    """Every image of the workspace with its metadata, as a ZIP written while it downloads."""
    membership = get_membership(request, slug, role=Role.ADMIN)
    workspace = membership.workspace
    archive = lifecycle.workspace_export(workspace=workspace, actor=request.user)
    name = f"darkroom-{workspace.slug}-export-{timezone.localdate().isoformat()}.zip"
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def workspace_delete(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    workspace = membership.workspace
    form = WorkspaceDeleteForm(
        request.POST if request.method == "POST" else None, workspace=workspace
    )
    if form.is_valid():
        try:
            deleted = lifecycle.workspace_delete(membership=membership)
        except lifecycle.WorkspaceBusy as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Workspace “%(name)s” and its %(images)s image%(value)s are deleted.")
                % {
                    "name": deleted.name,
                    "images": deleted.images,
                    "value": "" if deleted.images == 1 else "s",
                },
            )
            return redirect("home")
    context = {"form": form, "contents": selectors.workspace_contents(workspace=workspace)}
    return render(
        request, "gallery/workspace_delete.html", context, status=422 if form.errors else 200
    )
