"""One workspace context: templates get the workspace and the membership from the context
processor only, filled from the request that `get_membership` let in, on every page and partial."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template.context import RequestContext
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.accounts.test_access_table import ROUTES, _url
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

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


def test_the_membership_read_in_sql_is_the_orms(member, workspace, django_assert_num_queries):
    """`get_membership` reads the user's memberships in hand-written SQL: the same rows, in the
    same order, with the workspace and its credential (or its absence) as select_related gives."""
    from accounts.models import ProviderCredential
    from accounts.selectors import (
        membership_list_for_user,
        membership_list_for_user_with_credentials,
    )
    from tests.factories import MembershipFactory, WorkspaceFactory

    for name in ("Zebra", "Aardvark"):
        MembershipFactory(user=member, workspace=WorkspaceFactory(name=name), role="viewer")
    ProviderCredential.objects.filter(workspace__name="Zebra").delete()
    orm = list(membership_list_for_user(user=member).select_related("workspace__credential"))
    with django_assert_num_queries(1):
        mine = membership_list_for_user_with_credentials(user=member)
        credentials = [getattr(m.workspace, "credential", None) for m in mine]
    assert [m.workspace.name for m in mine] == ["Aardvark", workspace.name, "Zebra"]
    assert mine == orm
    for raw, expected in zip(mine, orm, strict=True):
        fields = (raw._meta.concrete_fields, raw.workspace._meta.concrete_fields)
        for field in fields[0]:
            assert getattr(raw, field.attname) == getattr(expected, field.attname)
        for field in fields[1]:
            assert getattr(raw.workspace, field.attname) == getattr(
                expected.workspace, field.attname
            )
    assert credentials[2] is None  # Zebra's was deleted
    for credential, expected in zip(credentials[:2], orm[:2], strict=True):
        assert credential is not None
        assert credential.workspace is not None
        for field in credential._meta.concrete_fields:
            assert getattr(credential, field.attname) == getattr(
                expected.workspace.credential, field.attname
            )


@pytest.mark.parametrize("page", ["staff_users", "ops", "workspace_create", "password_change"])
def test_a_page_of_no_workspace_keeps_the_header_of_the_workspace_last_used(
    page, workspace, owner, client_for
):
    MembershipFactory(user=owner, workspace=WorkspaceFactory(name="Aardvark"), role="viewer")
    owner.is_staff = True
    owner.last_workspace = workspace  # Studio, not the first by name
    owner.save()
    html = client_for(owner).get(reverse(page)).content.decode()
    assert f'href="{reverse("gallery:home", args=[workspace.slug])}" ' in html  # the nav
    assert f'href="{reverse("gallery:generate", args=[workspace.slug])}"' in html
    assert "<strong>Studio</strong>" in html  # the switcher names it
    assert "Choose…" not in html


def test_without_a_workspace_used_yet_it_is_the_first_by_name_as_home_opens(
    workspace, owner, client_for
):
    first = WorkspaceFactory(name="Aardvark")
    MembershipFactory(user=owner, workspace=first, role="viewer")
    owner.is_staff = True
    owner.save()
    html = client_for(owner).get(reverse("staff_users")).content.decode()
    assert "<strong>Aardvark</strong>" in html
    assert f'href="{reverse("gallery:home", args=[first.slug])}" ' in html
    assert f'href="{reverse("gallery:generate", args=[first.slug])}"' not in html  # a viewer


def test_the_header_of_a_page_of_no_workspace_costs_one_query(workspace, owner, client_for):
    owner.is_staff = True
    owner.save()
    client = client_for(owner)
    client.get(reverse("ops"))  # the session's first read is not the header's
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("ops"))
    membership_reads = [q for q in queries if "accounts_membership" in q["sql"]]
    assert len(membership_reads) == 1, [q["sql"] for q in membership_reads]


def test_a_staff_member_of_no_workspace_gets_no_workspace_navigation(client_for, db):
    staff = UserFactory(is_staff=True)
    html = client_for(staff).get(reverse("staff_users")).content.decode()
    assert "/w/" not in html


def test_any_page_of_a_workspace_opened_is_the_one_remembered_not_a_partial(
    workspace, owner, client_for
):
    other = WorkspaceFactory(name="Aardvark")
    MembershipFactory(user=owner, workspace=other, role="member")
    owner.is_staff = True
    owner.save()
    client = client_for(owner)
    client.get(reverse("gallery:home", args=[workspace.slug]))

    assert client.get(reverse("gallery:generate", args=[other.slug])).status_code == 200
    owner.refresh_from_db()
    assert owner.last_workspace == other
    assert "<strong>Aardvark</strong>" in client.get(reverse("staff_users")).content.decode()
    assert client.get(reverse("home"))["Location"] == reverse("gallery:home", args=[other.slug])

    # A tab still polling the first workspace does not take its place back.
    client.get(reverse("gallery:home", args=[workspace.slug]), HTTP_HX_REQUEST="true")
    owner.refresh_from_db()
    assert owner.last_workspace == other
