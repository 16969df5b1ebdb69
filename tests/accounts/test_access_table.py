"""Walks every URL pattern that takes a workspace or object id and proves the access rules hold.

The URLconf is enumerated, so a view added later is covered without touching this file, unless
it introduces a new URL argument: then the test fails until OBJECT_ARGS says how to make one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import (
    ApiToken,
    AuditEvent,
    ConnectionCheck,
    Membership,
    Notification,
    ProviderCredential,
    User,
    Workspace,
    WorkspaceSlug,
)
from gallery.models import (
    BudgetRequest,
    Collection,
    CollectionItem,
    Comment,
    Comparison,
    Favourite,
    Image,
    Job,
    LedgerEntry,
    MemberBudget,
    ReviewEvent,
    Webhook,
    WebhookDelivery,
    WorkspaceBudget,
)

# Patterns with arguments that are not workspace-scoped: auth's own one-time link, and signed
# thumbnail URLs, where the token is the permission (tests/gallery/test_thumbnail_urls.py).
PUBLIC_PATTERNS = {"password_reset_confirm", "thumbnail"}
# The installation's staff pages: for staff users only, whatever their workspaces (tested below).
STAFF_PATTERNS = {"staff_users", "staff_user_active"}
# Staff-only Django admin: its own permission system. The JSON API takes bearer tokens, never
# a session: its own outsider table is tests/api/test_api_access.py.
SKIPPED_NAMESPACES = {"admin", "api"}


@dataclass(frozen=True)
class Route:
    name: str
    args: tuple[str, ...]


def _walk(patterns, namespace: str = "", args: tuple[str, ...] = ()) -> Iterator[Route]:
    for entry in patterns:
        converters = tuple(entry.pattern.converters)
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            if ns in SKIPPED_NAMESPACES:
                continue
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(entry.url_patterns, full_ns, args + converters)
        elif isinstance(entry, URLPattern) and entry.name:
            all_args = args + converters
            if all_args and entry.name not in PUBLIC_PATTERNS | STAFF_PATTERNS:
                yield Route(f"{namespace}:{entry.name}" if namespace else entry.name, all_args)


ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r.name)

# How to make a real object of the test workspace for each URL argument.
OBJECT_ARGS: dict[str, Callable[[Workspace], object]] = {
    "slug": lambda ws: ws.slug,
    "membership_id": lambda ws: (
        Membership.objects.filter(workspace=ws).exclude(role="admin").first().pk
    ),
    "check_id": lambda ws: ConnectionCheck.objects.create(credential=ws.credential).pk,
    "job_id": lambda ws: (
        Job.objects.create(workspace=ws, prompt="p", model_id="m", idempotency_key="t").pk
    ),
    "image_id": lambda ws: Image.objects.create(workspace=ws, prompt="p").pk,
    # A comment on the image just made for the same URL (arguments are made in URL order), by
    # nobody in the cast: only an admin could delete it.
    "comment_id": lambda ws: (
        Comment.objects.create(image=Image.objects.filter(workspace=ws).latest("pk"), body="c").pk
    ),
    "comparison_id": lambda ws: (
        Comparison.objects.create(
            workspace=ws, prompt="p", idempotency_key=f"c{Comparison.objects.count()}"
        ).pk
    ),
    # A pending request of the plain member (one at a time: the same one for every use).
    "request_id": lambda ws: (
        BudgetRequest.objects.get_or_create(
            workspace=ws,
            member=Membership.objects.get(workspace=ws, role="member").user,
            state="pending",
            defaults={"amount": 5, "unit": "images"},
        )[0].pk
    ),
    # The owner's: nobody else in the cast may open it.
    "notification_id": lambda ws: (
        Notification.objects.create(
            workspace=ws,
            recipient=Membership.objects.filter(workspace=ws, role="admin").first().user,
            kind="request_new",
            text="n",
        ).pk
    ),
    # The owner's: a viewer may not revoke it, an outsider does not find it.
    "token_id": lambda ws: (
        ApiToken.objects.create(
            workspace=ws,
            owner=Membership.objects.filter(workspace=ws, role="admin").first().user,
            name="t",
            role="admin",
            prefix=f"p{ApiToken.objects.count()}",
            hash="0" * 64,
        ).pk
    ),
    "collection_id": lambda ws: (
        Collection.objects.create(workspace=ws, name=f"Board {Collection.objects.count()}").pk
    ),
}

# What a viewer may POST (besides reading everything): comment, favourite, download a selection,
# make and revoke their own read-only API tokens. Every other route refuses a viewer's POST.
VIEWER_POST_ROUTES = {
    "tokens:list",  # a token of the viewer's role at most: a form asking for more is refused
    "tokens:revoke",  # their own; another member's is refused
    "gallery:comment_add",
    "gallery:comment_delete",
    "gallery:image_favourite",
    "gallery:images_bulk",  # favourite or download a selection; every other action refused
    "workspace_leave",  # anyone may leave; a form without the confirmation changes nothing
}


def _url(route: Route, workspace: Workspace, *, slug: str | None = None) -> str:
    """The route for objects of `workspace`; `slug` puts another workspace's slug in front."""
    missing = [arg for arg in route.args if arg not in OBJECT_ARGS]
    assert not missing, f"{route.name}: teach OBJECT_ARGS how to make {missing}"
    kwargs = {arg: OBJECT_ARGS[arg](workspace) for arg in route.args}
    if slug is not None:
        kwargs["slug"] = slug
    return reverse(route.name, kwargs=kwargs)


def _snapshot(workspace: Workspace) -> dict[str, object]:
    """Everything a request could change behind a refusal. Read now, not when compared."""
    return {
        "workspace": list(Workspace.objects.filter(pk=workspace.pk).values("name", "slug")),
        "members": list(
            Membership.objects.filter(workspace=workspace).order_by("pk").values("pk", "role")
        ),
        "credential": list(ProviderCredential.objects.filter(workspace=workspace).values()),
        "audit_events": AuditEvent.objects.count(),
        "connection_checks": ConnectionCheck.objects.count(),
        "jobs": list(Job.objects.order_by("pk").values()),
        "images": list(Image.objects.order_by("pk").values()),
        "review_events": ReviewEvent.objects.count(),
        "comments": list(Comment.objects.order_by("pk").values()),
        "favourites": Favourite.objects.count(),
        "collections": list(Collection.objects.order_by("pk").values()),
        "collection_items": list(CollectionItem.objects.order_by("pk").values()),
        "comparisons": list(Comparison.objects.order_by("pk").values()),
        "budget_requests": list(BudgetRequest.objects.order_by("pk").values()),
        "ledger": LedgerEntry.objects.count(),
        "budgets": list(MemberBudget.objects.order_by("pk").values()),
        "workspace_budgets": list(WorkspaceBudget.objects.values()),
        "notifications": list(Notification.objects.order_by("pk").values()),
        "api_tokens": list(ApiToken.objects.order_by("pk").values()),
        "old_slugs": list(WorkspaceSlug.objects.order_by("pk").values()),
        "users": list(User.objects.order_by("pk").values("pk", "is_active")),
        "webhooks": list(Webhook.objects.order_by("pk").values()),
        "webhook_deliveries": list(WebhookDelivery.objects.order_by("pk").values()),
    }


# Every route of the settings app is for workspace admins only, and so are Settings · Budgets
# and Settings · Webhooks (served by the gallery app: its ledger, its jobs' events).
GALLERY_ADMIN_ROUTES = {
    "gallery:settings_budgets",
    "gallery:member_budget",
    "gallery:member_adjust",
    "gallery:budget_request_decide",
    "gallery:workspace_export",
    "gallery:workspace_delete",
    "gallery:settings_webhooks",
    "gallery:webhook_rotate",
    "gallery:webhook_test",
    "gallery:webhook_remove",
}
ADMIN_ROUTES = [
    route
    for route in ROUTES
    if route.name.startswith("accounts:") or route.name in GALLERY_ADMIN_ROUTES
]
# Routes that name an object besides the workspace: where an ID from elsewhere could be slipped in.
OBJECT_ROUTES = [route for route in ROUTES if set(route.args) - {"slug"}]


def test_it_finds_the_workspace_routes():
    names = {route.name for route in ROUTES}
    assert {"gallery:home", "accounts:settings_members", "accounts:member_remove"} <= names
    assert {"accounts:member_role", "accounts:connection_check"} <= {r.name for r in OBJECT_ROUTES}


@pytest.fixture
def cast(workspace, owner, member, viewer, outsider):
    # A webhook to rotate or test, so a refusal is seen in its secret and its deliveries.
    Webhook.objects.create(
        workspace=workspace, url="https://93.184.216.34/hook", secret_encrypted="token"
    )
    return workspace


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_it_hides_every_workspace_route_from_an_outsider(route, cast, outsider_client):
    url = _url(route, cast)
    before = _snapshot(cast)
    statuses = [
        outsider_client.get(url).status_code,
        outsider_client.post(url, HOSTILE_FORM).status_code,
        outsider_client.post(url, HOSTILE_FORM, HTTP_HX_REQUEST="true").status_code,
    ]
    # 405 (wrong method) is answered before any lookup, so it says nothing about the workspace.
    assert set(statuses) <= {404, 405}, statuses
    assert 404 in statuses
    assert _snapshot(cast) == before


# A form that would change something on any of the routes, were it accepted.
HOSTILE_FORM = {
    "role": "admin",
    "email": "new@example.com",
    "name": "Taken Over",
    "kind": "neuroflash",
    "client_id": "svc-evil",
    "secret": "evil-secret-0000",
    "base_url": "https://collector.example.net",
    "url": "https://93.184.216.34/collect",
    "events": ["job.succeeded", "job.failed"],
    "enabled": "on",
}


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r.name)
def test_it_refuses_objects_of_another_workspace_behind_an_outsiders_own_slug(
    route, cast, outsider, outsider_client
):
    """Eve is admin of her own workspace; its slug must not open Studio's objects."""
    url = _url(route, cast, slug=outsider.memberships.get().workspace.slug)
    before = _snapshot(cast)
    statuses = [
        outsider_client.get(url).status_code,
        outsider_client.post(url, HOSTILE_FORM).status_code,
        outsider_client.post(url, HOSTILE_FORM, HTTP_HX_REQUEST="true").status_code,
    ]
    assert set(statuses) <= {404, 405}, statuses
    assert 404 in statuses
    assert _snapshot(cast) == before


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=lambda r: r.name)
def test_it_keeps_a_plain_member_out_of_admin_routes(route, cast, member_client):
    url = _url(route, cast)
    before = _snapshot(cast)
    statuses = [
        member_client.get(url).status_code,
        member_client.post(url, HOSTILE_FORM).status_code,
        member_client.post(url, HOSTILE_FORM, HTTP_HX_REQUEST="true").status_code,
    ]
    assert set(statuses) <= {403, 405}, statuses
    assert 403 in statuses
    assert _snapshot(cast) == before


def test_it_knows_every_route_a_viewer_may_post_to():
    assert {route.name for route in ROUTES} >= VIEWER_POST_ROUTES


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name not in VIEWER_POST_ROUTES], ids=lambda r: r.name
)
def test_it_never_lets_a_viewer_post(route, cast, viewer_client):
    url = _url(route, cast)
    before = _snapshot(cast)
    status = viewer_client.post(url, HOSTILE_FORM).status_code
    assert status in (403, 405), f"viewer POST {url} answered {status}"
    assert _snapshot(cast) == before


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name in VIEWER_POST_ROUTES], ids=lambda r: r.name
)
def test_it_lets_a_viewer_post_only_what_the_route_is_for(route, cast, viewer_client):
    """A viewer reaches these, but a form meant for another route changes nothing, and someone
    else's comment stays (the positive cases: tests/gallery/test_image_review.py)."""
    url = _url(route, cast)
    before = _snapshot(cast)
    status = viewer_client.post(url, HOSTILE_FORM).status_code
    assert status in (400, 403, 422), f"viewer POST {url} answered {status}"
    assert _snapshot(cast) == before


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_it_sends_an_anonymous_visitor_to_log_in(route, cast, client):
    response = client.get(_url(route, cast))
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_it_answers_an_outsider_at_an_old_address_as_if_it_never_existed(
    route, cast, owner, outsider_client
):
    """Studio was renamed: its old address redirects its members, but tells Eve nothing."""
    WorkspaceSlug.objects.create(workspace=cast, slug="old-studio")
    url = _url(route, cast, slug="old-studio")
    before = _snapshot(cast)
    statuses = [outsider_client.get(url).status_code, outsider_client.post(url).status_code]
    assert set(statuses) <= {404, 405}, statuses
    assert 404 in statuses
    assert _snapshot(cast) == before


# --- Staff pages: not for anyone in the cast, whatever their role in a workspace --------------


def _staff_urls(cast: Workspace) -> list[str]:
    target = Membership.objects.filter(workspace=cast, role="member").get().user
    return [reverse("staff_users"), reverse("staff_user_active", args=[target.pk])]


def test_it_knows_every_staff_route():
    staff = {
        entry.name
        for entry in get_resolver().url_patterns
        if isinstance(entry, URLPattern) and str(entry.pattern).startswith("staff/")
    }
    assert staff == STAFF_PATTERNS


@pytest.mark.parametrize("who", ["owner", "member", "viewer", "outsider"])
def test_it_hides_the_staff_pages_from_everyone_but_staff(who, cast, client_for, request):
    client = client_for(request.getfixturevalue(who))
    before = _snapshot(cast)
    for url in _staff_urls(cast):
        statuses = [
            client.get(url).status_code,
            client.post(url, {"active": "0"}).status_code,
            client.post(url, {"active": "0"}, HTTP_HX_REQUEST="true").status_code,
        ]
        assert set(statuses) <= {404, 405}, (url, statuses)
        assert 404 in statuses
    assert _snapshot(cast) == before


def test_it_sends_an_anonymous_visitor_from_the_staff_pages_to_log_in(cast, client):
    for url in _staff_urls(cast):
        response = client.get(url)
        assert response.status_code in (302, 405)
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login"))
        assert client.post(url, {"active": "0"}).status_code == 302
    assert User.objects.filter(is_active=False).count() == 0
