"""Views of no one workspace's settings: "/", a new workspace, the language, leaving a workspace."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.access import (
    HtmxHttpRequest,
    SignedInRequest,
    WorkspaceRequest,
    get_membership,
)
from accounts.forms import (
    LanguageForm,
    WorkspaceForm,
)
from accounts.views.posting import posted


@login_required
@require_GET
def home(request: SignedInRequest) -> HttpResponse:
    workspace = selectors.workspace_landing_for_user(user=request.user)
    if workspace is None:
        return render(request, "accounts/no_workspace.html")
    return redirect("gallery:home", slug=workspace.slug)


@login_required
@require_http_methods(["GET", "POST"])
def workspace_create(request: HtmxHttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied(_("Only staff users create workspaces."))
    form = WorkspaceForm(posted(request))
    if request.method == "POST" and form.is_valid():
        workspace = services.workspace_create(name=form.cleaned_data["name"], creator=request.user)
        messages.success(
            request,
            _("Workspace “%(workspace)s” created. You are its admin.") % {"workspace": workspace},
        )
        return redirect("accounts:settings_provider", slug=workspace.slug)
    return render(request, "accounts/workspace_create.html", {"form": form})


@login_required
@require_POST
def language_set(request: SignedInRequest) -> HttpResponse:
    """The account menu's language choice, kept on the user (any browser they sign in on)."""
    form = LanguageForm(request.POST)
    if form.is_valid():
        services.user_set_language(user=request.user, language=form.cleaned_data["language"])
        translation.activate(
            request.user.language or translation.get_language_from_request(request)
        )
        messages.success(request, _("Language changed."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("home")
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def workspace_leave(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Any member leaves, after saying so on this page; the last admin is told why not."""
    membership = get_membership(request, slug, viewers_may_post=True)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") != "leave":
            context = {"error": _("Press Leave to leave.")}
            return render(request, "accounts/workspace_leave.html", context, status=400)
        try:
            services.membership_leave(membership=membership)
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(
                request, _("You left %(workspace)s.") % {"workspace": membership.workspace}
            )
            return redirect("home")
    status = 409 if error else 200
    return render(request, "accounts/workspace_leave.html", {"error": error}, status=status)
