from __future__ import annotations

import copy
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import api_tokens, connection, credentials, selectors, services
from accounts.access import (
    HtmxHttpRequest,
    SignedInRequest,
    WorkspaceRequest,
    get_api_token,
    get_connection_check_for_admin,
    get_credential_for_admin,
    get_membership,
    get_membership_in_workspace,
)
from accounts.forms import (
    ApiTokenForm,
    CredentialForm,
    LanguageForm,
    MemberAddForm,
    MemberRoleForm,
    StaffUserActiveForm,
    WorkspaceForm,
    WorkspaceRenameForm,
)
from accounts.models import ConnectionCheck, Membership, ProviderCredential, Role, User


def _posted(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST, even an empty one (`request.POST or None` would drop that)."""
    return request.POST if request.method == "POST" else None


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
    form = WorkspaceForm(_posted(request))
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


# --- Settings: members ------------------------------------------------------------------------


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


# --- Settings: provider credential ------------------------------------------------------------


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
        _posted(request),
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


# --- Settings: general and audit --------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def settings_general(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    workspace = membership.workspace
    form = WorkspaceRenameForm(
        _posted(request),
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


# --- Leaving a workspace ----------------------------------------------------------------------


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


# --- Staff: accounts --------------------------------------------------------------------------


def _require_staff(request: SignedInRequest) -> None:
    # 404, as for an outsider: the page and the accounts it names are not for them to know.
    if not request.user.is_staff:
        raise Http404(_("No such page"))


@login_required
@require_GET
def staff_users(request: SignedInRequest) -> HttpResponse:
    _require_staff(request)
    search = request.GET.get("q", "")[:254]
    page = selectors.user_page_for_staff(after=request.GET.get("after", "")[:254], search=search)
    context = {
        "page": page,
        "search": search,
        "events": selectors.audit_event_list(workspace=None, limit=20),
    }
    return render(request, "accounts/staff_users.html", context)


@login_required
@require_POST
def staff_user_active(request: SignedInRequest, user_id: int) -> HttpResponse:
    _require_staff(request)
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise Http404(_("No such user"))
    form = StaffUserActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the account is active."))
    else:
        active = form.cleaned_data["active"]
        try:
            changed = services.user_set_active(user=target, actor=request.user, active=active)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            if not changed:
                messages.info(
                    request,
                    _("%(email)s was %(value)s already.")
                    % {"email": target.email, "value": "active" if active else "deactivated"},
                )
            elif active:
                messages.success(
                    request, _("%(email)s can sign in again.") % {"email": target.email}
                )
            else:
                messages.success(
                    request,
                    _("%(email)s is deactivated: signed out everywhere, and cannot sign in.")
                    % {"email": target.email},
                )
    # Back to the same page of the list.
    keep = {name: request.POST[name] for name in ("after", "q") if request.POST.get(name)}
    back = reverse("staff_users")
    return redirect(f"{back}?{urlencode(keep)}" if keep else back)


# --- The member's own API tokens --------------------------------------------------------------


def _tokens_context(
    membership: Membership,
    form: ApiTokenForm | None = None,
    new_token: api_tokens.NewToken | None = None,
) -> dict[str, object]:
    return {
        "form": form or ApiTokenForm(roles=api_tokens.roles_up_to(membership.role)),
        "tokens": list(api_tokens.api_token_list(membership=membership)),
        "others": list(selectors.api_token_list_of_others(membership=membership))
        if membership.is_admin
        else [],
        "new_token": new_token,
        "api_docs": reverse("api:openapi-view"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def api_token_list(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The member's API tokens for this workspace; POST makes one, shown once on the answer
    (never redirected to: the page that shows it is the only place it ever appears)."""
    membership = get_membership(request, slug, viewers_may_post=True)
    roles = api_tokens.roles_up_to(membership.role)
    form = ApiTokenForm(_posted(request), roles=roles)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token = api_tokens.api_token_create(
                membership=membership,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = ApiTokenForm(roles=roles)
    context = _tokens_context(membership, form, new_token)
    if request.htmx:
        response = render(request, "accounts/api_tokens.html#tokens-panel", context)
    else:
        status = 422 if form.errors else 200
        response = render(request, "accounts/api_tokens.html", context, status=status)
    if new_token is not None:
        response["Cache-Control"] = "no-store"  # Back must not show the token again
    return response


@login_required
@require_POST
def api_token_revoke(request: WorkspaceRequest, slug: str, token_id: int) -> HttpResponse:
    membership = get_membership(request, slug, viewers_may_post=True)
    token = get_api_token(membership, token_id)
    if api_tokens.api_token_revoke(token=token, membership=membership):
        messages.success(
            request,
            _("Revoked “%(name)s”. Requests with it are refused now.") % {"name": token.name},
        )
    if request.htmx:
        return render(request, "accounts/api_tokens.html#tokens-panel", _tokens_context(membership))
    return redirect("tokens:list", slug=slug)
