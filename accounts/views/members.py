"""Settings · Members: add, change the role of, send a new link to and remove members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import selectors, services
from accounts.access import (
    WorkspaceRequest,
    get_membership,
    get_membership_in_workspace,
)
from accounts.forms import (
    MemberAddForm,
    MemberRoleForm,
)
from accounts.models import Membership, Role


def _members_context(
    membership: Membership,
    add_form: MemberAddForm | None = None,
    new_link: dict[str, str | None] | None = None,
) -> dict[str, object]:
    members = selectors.membership_list_for_workspace(workspace=membership.workspace)
    admins = [m.pk for m in members if m.role == Role.ADMIN]
    return {
        "members": members,
        # The service refuses to remove the only admin; the page does not offer it.
        "sole_admin_pk": admins[0] if len(admins) == 1 else None,
        "add_form": add_form or MemberAddForm(),
        "roles": Role.choices,
        "new_link": new_link if new_link and new_link.get("url") else None,
    }


@login_required
@require_GET
def settings_members(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    return render(request, "accounts/settings_members.html", _members_context(membership))


@login_required
@require_POST
def member_add(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = services.membership_add(
                workspace=membership.workspace,
                actor=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                name=form.cleaned_data["name"],
            )
        except ValidationError as exc:
            form.add_error("email", exc)
        else:
            email = added.membership.user.email
            link = (
                request.build_absolute_uri(added.set_password_path)
                if added.set_password_path
                else None
            )
            if request.htmx:
                # The link goes into the panel with a Copy button; it is shown once, never stored.
                context = _members_context(
                    membership, new_link={"email": email, "url": link, "added": "yes"}
                )
                if not link:
                    messages.success(
                        request,
                        _("Added %(email)s to %(workspace)s.")
                        % {"email": email, "workspace": membership.workspace},
                    )
                return render(request, "accounts/settings_members.html#members-panel", context)
            if link:
                # Sticky: the admin must copy this link; it is shown once and never stored.
                messages.success(
                    request,
                    _(
                        "Added %(email)s, who has no password yet. Send them this one-time link "
                        "to choose one: %(link)s"
                    )
                    % {"email": email, "link": link},
                    extra_tags="sticky",
                )
            else:
                messages.success(
                    request,
                    _("Added %(email)s to %(workspace)s.")
                    % {"email": email, "workspace": membership.workspace},
                )
            return redirect("accounts:settings_members", slug=slug)
    if request.htmx:
        # htmx 2 does not swap 4xx responses, so a form with errors is answered with 200.
        return render(
            request,
            "accounts/settings_members.html#members-panel",
            _members_context(membership, form),
        )
    return render(
        request, "accounts/settings_members.html", _members_context(membership, form), status=422
    )


@login_required
@require_POST
def member_role(request: WorkspaceRequest, slug: str, membership_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    target = get_membership_in_workspace(membership, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose admin, member or viewer."))
    else:
        try:
            services.membership_change_role(
                membership=target, actor=request.user, role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(
                request,
                _("%(email)s is now %(value)s.")
                % {"email": target.user.email, "value": target.get_role_display().lower()},
            )
    if request.htmx:
        return render(
            request, "accounts/settings_members.html#members-panel", _members_context(membership)
        )
    return redirect("accounts:settings_members", slug=slug)


@login_required
@require_POST
def member_link(request: WorkspaceRequest, slug: str, membership_id: int) -> HttpResponse:
    """A new one-time link for a member who never set a password: the first one is shown only
    once, and adding them again only says they are a member already."""
    membership = get_membership(request, slug, role=Role.ADMIN)
    target = get_membership_in_workspace(membership, membership_id)
    new_link: dict[str, str | None] | None = None
    try:
        path = services.membership_new_link(membership=target, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        email, link = target.user.email, request.build_absolute_uri(path)
        new_link = {"email": email, "url": link}
        if not request.htmx:
            messages.success(
                request,
                _("A new one-time link for %(email)s to choose a password: %(link)s")
                % {"email": email, "link": link},
                extra_tags="sticky",
            )
    if request.htmx:
        return render(
            request,
            "accounts/settings_members.html#members-panel",
            _members_context(membership, new_link=new_link),
        )
    return redirect("accounts:settings_members", slug=slug)


@login_required
@require_POST
def member_remove(request: WorkspaceRequest, slug: str, membership_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    target = get_membership_in_workspace(membership, membership_id)
    try:
        services.membership_remove(membership=target, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("Removed %(email)s from %(workspace)s.")
            % {"email": target.user.email, "workspace": membership.workspace},
        )
        if target.user_id == request.user.pk:  # left the workspace: its pages are gone for them
            if request.htmx:
                return HttpResponseClientRedirect(reverse("home"))
            return redirect("home")
    if request.htmx:
        return render(
            request, "accounts/settings_members.html#members-panel", _members_context(membership)
        )
    return redirect("accounts:settings_members", slug=slug)
