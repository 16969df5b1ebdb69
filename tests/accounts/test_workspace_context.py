"""One workspace context: templates get the workspace and the membership from the context
processor only, filled from the request that `get_membership` let in, on every page and partial."""

from __future__ import annotations

import pytest
from django.template.context import RequestContext
from django.urls import reverse

from tests.accounts.test_access_table import ROUTES, _url

CHROME = {"workspace", "membership"}


def _contexts(response) -> list[RequestContext]:
    found = response.context
    if found is None:
        return []
    found = found if isinstance(found, list) else [found]
    # Those with the processors' layer: not the isolated ones of inclusion tags.
    return [c for c in found if isinstance(c, RequestContext) and hasattr(c, "_processors_index")]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_only_the_context_processor_puts_the_workspace_in_templates(
    route, htmx, workspace, owner, member, owner_client
):
    response = owner_client.get(
        _url(route, workspace), **({"HTTP_HX_REQUEST": "true"} if htmx else {})
    )
    for context in _contexts(response):
        processors = context.dicts[context._processors_index]
        assert processors["workspace"] == workspace
        assert processors["membership"].user == owner
        for layer in context.dicts:
            if layer is not processors:
                assert not CHROME & set(layer), f"{route.name} passes {CHROME & set(layer)} itself"


def test_the_403_page_keeps_the_workspace_header(viewer_client, workspace):
    response = viewer_client.get(reverse("gallery:generate", args=[workspace.slug]))
    assert response.status_code == 403
    html = response.content.decode()
    assert f'href="{reverse("gallery:home", args=[workspace.slug])}"' in html  # the nav
    assert "This needs the member role in Studio." in html


def test_the_request_carries_the_workspace_and_membership(rf, viewer, workspace):
    from accounts.access import get_membership

    request = rf.get("/")
    request.user = viewer
    membership = get_membership(request, workspace.slug)
    assert (request.workspace, request.membership) == (workspace, membership)
