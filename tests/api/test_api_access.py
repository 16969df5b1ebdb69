"""The outsider table, for the API: the workspace is the token's, so a token of another
workspace finds none of this one's objects (404), whatever its owner's other memberships; no
token, a bad one, or a browser session alone gets a 401 and changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Role, Workspace
from gallery.models import Image, Job
from tests.api.conftest import ApiClient
from tests.factories import MembershipFactory

PUBLIC = {"openapi-json", "openapi-view", "api-root"}


def _api_routes() -> list[tuple[str, tuple[str, ...]]]:
    resolver = next(
        entry
        for entry in get_resolver().url_patterns
        if isinstance(entry, URLResolver) and entry.namespace == "api"
    )
    return sorted(
        (entry.name, tuple(entry.pattern.converters))
        for entry in resolver.url_patterns
        if isinstance(entry, URLPattern) and entry.name not in PUBLIC
    )


ROUTES = _api_routes()
OBJECT_ARGS: dict[str, Callable[[Workspace], int]] = {
    "job_id": lambda ws: (
        Job.objects.create(workspace=ws, prompt="p", model_id="m", idempotency_key="t").pk
    ),
    "image_id": lambda ws: Image.objects.create(workspace=ws, prompt="p").pk,
}
OBJECT_ROUTES = [route for route in ROUTES if route[1]]


def _url(route: tuple[str, tuple[str, ...]], workspace: Workspace) -> str:
    name, args = route
    missing = [arg for arg in args if arg not in OBJECT_ARGS]
    assert not missing, f"{name}: teach OBJECT_ARGS how to make {missing}"
    return reverse(f"api:{name}", kwargs={arg: OBJECT_ARGS[arg](workspace) for arg in args})


def _snapshot() -> dict[str, object]:
    return {
        "jobs": list(Job.objects.order_by("pk").values()),
        "images": list(Image.objects.order_by("pk").values()),
    }


def test_it_finds_the_api_routes():
    names = {name for name, _ in ROUTES}
    assert {"model_list", "job_create", "job_detail", "image_list", "image_original"} <= names
    assert {name for name, _ in OBJECT_ROUTES} >= {"job_detail", "image_original"}


@pytest.fixture
def outsider_api(api_as, outsider) -> ApiClient:
    return api_as(outsider)


@pytest.fixture
def cast(workspace, owner, member, viewer, outsider):
    return workspace


HOSTILE = {"prompt": "taken over", "model": "nano-banana-2", "source_image_id": 1}


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r[0])
def test_a_token_of_another_workspace_finds_no_object_here(route, cast, outsider_api):
    url = _url(route, cast)
    before = _snapshot()
    statuses = [outsider_api.get(url).status_code, outsider_api.post(url, HOSTILE).status_code]
    assert set(statuses) <= {404, 405}, statuses
    assert 404 in statuses
    assert _snapshot() == before


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r[0])
def test_a_member_of_both_workspaces_reaches_only_the_tokens_one(route, cast, member, api_as):
    """Bob is in Studio and in Elsewhere: his Elsewhere token does not open Studio's objects."""
    elsewhere = MembershipFactory(role=Role.ADMIN, user=member).workspace
    bob_elsewhere = api_as(member, workspace=elsewhere)
    response = bob_elsewhere.get(_url(route, cast))
    assert response.status_code == 404
    assert response.json()["message"].startswith("No such")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r[0])
def test_without_a_token_every_route_answers_401(route, cast):
    url = _url(route, cast)
    before = _snapshot()
    for response in (Client().get(url), Client().post(url, HOSTILE, "application/json")):
        assert response.status_code in (401, 405)
    assert _snapshot() == before


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r[0])
def test_a_browser_session_alone_is_not_accepted(route, cast, member_client):
    """Cookies are sent by any page a member visits: the API must not act on them (no CSRF
    hole), so a signed-in browser without a token gets a 401 too."""
    url = _url(route, cast)
    before = _snapshot()
    statuses = {
        member_client.get(url).status_code,
        member_client.post(url, HOSTILE, "application/json").status_code,
    }
    assert statuses <= {401, 405}
    assert 401 in statuses
    assert _snapshot() == before


def test_an_outsider_cannot_edit_an_image_of_this_workspace(cast, outsider_api, studio):
    image = Image.objects.create(workspace=studio, prompt="p")
    response = outsider_api.post(
        reverse("api:job_create"),
        {"prompt": "make it mine", "model": "nano-banana-2", "source_image_id": image.pk},
    )
    assert response.status_code == 404
    assert not Job.objects.exists()


def test_lists_show_only_the_tokens_workspace(cast, outsider, outsider_api, studio):
    Image.objects.create(workspace=studio, prompt="studio's")
    theirs = Image.objects.create(workspace=outsider.memberships.get().workspace, prompt="eve's")
    listed = outsider_api.get(reverse("api:image_list")).json()["items"]
    assert [item["id"] for item in listed] == [theirs.pk]
    assert outsider_api.get(reverse("api:model_list")).json() == []  # Studio's catalog unseen
    assert outsider_api.get(reverse("api:token_info")).json()["workspace"] == "elsewhere"


def test_the_docs_and_the_openapi_description_are_public(client):
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Darkroom API"
    assert "/api/jobs" in schema["paths"]
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
