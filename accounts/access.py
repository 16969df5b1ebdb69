"""The one place that decides who may see or change what.

Views never check membership inline: they call one of these helpers, which raise Http404 for
anyone outside the workspace (an outsider must not learn that a workspace or object exists) and
PermissionDenied for a member whose role is too low.
"""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from django_htmx.middleware import HtmxDetails

from accounts.models import (
    ApiToken,
    ConnectionCheck,
    Membership,
    ProviderCredential,
    Role,
    User,
    Workspace,
    WorkspaceSlug,
)
from accounts.selectors import membership_list_for_user_with_credentials

Row = TypeVar("Row", bound=Model)


class HtmxHttpRequest(HttpRequest):
    """Every request here: django-htmx's middleware sets `request.htmx`."""

    htmx: HtmxDetails


class SignedInRequest(HtmxHttpRequest):
    """A request behind `login_required`: its user is a real account."""

    user: User


class WorkspaceRequest(SignedInRequest):
    """A request for a page of one workspace, signed in; `get_membership` sets `membership`
    and `workspace` (the context processor gives them to every template, the page chrome too)."""

    membership: Membership
    workspace: Workspace
    my_memberships: list[Membership]


def get_membership(
    request: WorkspaceRequest, slug: str, *, role: str = Role.VIEWER, viewers_may_post: bool = False
) -> Membership:
    """The signed-in user's membership of workspace `slug`, with at least `role`.

    Viewers are read-only everywhere: any POST needs at least the member role, so a view that
    forgets to ask for it is still safe. The few things a viewer may do (comment, favourite)
    say so with `viewers_may_post=True`.
    """
    if not request.user.is_authenticated:
        raise Http404
    # One query for the page's membership, its workspace's credential and the header's workspace
    # switcher (every membership of the user), rather than one for each.
    memberships = membership_list_for_user_with_credentials(user=request.user)
    membership = next((m for m in memberships if m.workspace.slug == slug), None)
    if membership is None:
        _follow_old_slug(slug, memberships)
        raise Http404(_("No such workspace"))
    for each in memberships:
        each.user = request.user
    # Set before the role check: the 403 page keeps the workspace's header and navigation.
    request.my_memberships = memberships
    request.membership = membership
    request.workspace = membership.workspace
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    if writes and not viewers_may_post and Role.rank(role) < Role.rank(Role.MEMBER):
        role = Role.MEMBER
    if not membership.has_role(role):
        raise PermissionDenied(
            _("This needs the %(value)s role in %(workspace)s.")
            % {"value": Role(role).label.lower(), "workspace": membership.workspace}
        )
    return membership


class WorkspaceMoved(Exception):
    """A member asked for their workspace by an address it had before a rename: answered with
    a redirect to the same page at its new address (`accounts.middleware`)."""

    def __init__(self, old_slug: str, new_slug: str) -> None:
        super().__init__(f"/w/{old_slug}/ is now /w/{new_slug}/")
        self.old_slug = old_slug
        self.new_slug = new_slug


def _follow_old_slug(slug: str, memberships: list[Membership]) -> None:
    """Raise WorkspaceMoved if `slug` is an old address of one of the user's own workspaces.
    Anyone else gets the same 404 as for an address that never existed."""
    mine = {m.workspace_id: m.workspace for m in memberships}
    if not mine:
        return
    old = WorkspaceSlug.objects.filter(slug=slug, workspace_id__in=mine).first()
    if old is not None:
        raise WorkspaceMoved(slug, mine[old.workspace_id].slug)


def get_membership_in_workspace(viewer: Membership, membership_id: int) -> Membership:
    """Another membership of the viewer's own workspace; 404 for one in any other workspace."""
    try:
        return Membership.objects.select_related("user").get(
            pk=membership_id, workspace=viewer.workspace
        )
    except Membership.DoesNotExist:
        raise Http404(_("No such member")) from None


def _require_admin(membership: Membership) -> None:
    if not membership.is_admin:
        raise PermissionDenied(
            _("This needs the admin role in %(workspace)s.") % {"workspace": membership.workspace}
        )


def one_or_404(rows: QuerySet[Row], missing: str) -> Row:
    """The first of `rows`, already narrowed to the member's workspace; Http404(missing) when
    there is none, so an id from another workspace opens nothing and says nothing."""
    row = rows.first()
    if row is None:
        raise Http404(missing)
    return row


def get_credential_for_admin(admin: Membership) -> ProviderCredential:
    """The provider credential of the admin's workspace; 404 if it has none."""
    _require_admin(admin)
    rows = ProviderCredential.objects.filter(workspace=admin.workspace)
    return one_or_404(rows, _("No provider credential"))


def get_connection_check_for_admin(admin: Membership, check_id: int) -> ConnectionCheck:
    """A connection check of the admin's own workspace; 404 for one of any other workspace."""
    _require_admin(admin)
    rows = ConnectionCheck.objects.select_related("credential").filter(
        pk=check_id, credential__workspace=admin.workspace
    )
    return one_or_404(rows, _("No such connection check"))


def get_api_token(membership: Membership, token_id: int) -> ApiToken:
    """An API token of the member's workspace; 404 for one of any other workspace."""
    rows = ApiToken.objects.select_related("owner", "workspace").filter(
        pk=token_id, workspace=membership.workspace
    )
    return one_or_404(rows, _("No such token"))
