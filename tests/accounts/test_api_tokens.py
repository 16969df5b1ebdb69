"""Personal API tokens: made on the member's API tokens page, shown once, stored hashed, capped
at the member's role (now, not only when made), revocable, audit-logged, last use shown."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.api_tokens import api_token_authenticate
from accounts.models import ApiToken, AuditEvent, Membership, Role
from accounts.services import membership_change_role, membership_remove


def tokens_url(ws) -> str:
    return reverse("tokens:list", args=[ws.slug])


def create(client: Client, ws, name: str = "render script", role: str = "member", **extra):
    return client.post(tokens_url(ws), {"name": name, "role": role}, **extra)


def raw_token_in(html: str) -> str:
    start = html.index('id="new-token" type="text" readonly value="') + len(
        'id="new-token" type="text" readonly value="'
    )
    return html[start : html.index('"', start)]


def api_get(token: str, path: str = "/api/token"):
    return Client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(member_client, workspace, member):
    response = create(member_client, workspace)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = raw_token_in(response.content.decode())
    assert raw.startswith("drk_")
    token = ApiToken.objects.get()
    assert (token.owner, token.workspace, token.role, token.name) == (
        member,
        workspace,
        "member",
        "render script",
    )
    assert token.hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiToken.objects.values().get().values())
    assert raw not in stored
    assert raw.split("_")[-1] not in stored  # the secret part is nowhere at rest
    again = member_client.get(tokens_url(workspace)).content.decode()
    assert raw not in again
    assert token.display_prefix in again  # listed by its prefix only
    assert api_get(raw).json()["role"] == "member"


def test_the_page_answers_htmx_with_the_panel_and_the_token(member_client, workspace):
    response = create(member_client, workspace, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="tokens-panel"')
    assert "Copy it now" in html
    assert 'data-copy="new-token"' in html


def test_a_token_cannot_have_a_role_above_the_members_own(member_client, workspace):
    response = create(member_client, workspace, role="admin")
    assert response.status_code == 422
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert 'class="field field-invalid"' in html
    assert 'value="render script"' in html  # nothing typed is lost
    assert not ApiToken.objects.exists()


def test_a_viewer_may_make_a_read_only_token(viewer_client, workspace, viewer):
    html = viewer_client.get(tokens_url(workspace)).content.decode()
    assert '<option value="viewer" selected>Viewer</option>' in html
    assert '<option value="member"' not in html
    create(viewer_client, workspace, role="viewer")
    assert ApiToken.objects.get().role == "viewer"


def test_a_token_needs_a_name(member_client, workspace):
    response = create(member_client, workspace, name="   ")
    assert response.status_code == 422
    assert "Give the token a name" in response.content.decode()


def test_making_and_revoking_are_in_the_audit_log(member_client, workspace, member):
    raw = raw_token_in(create(member_client, workspace).content.decode())
    token = ApiToken.objects.get()
    response = member_client.post(reverse("tokens:revoke", args=[workspace.slug, token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.revoked_by == member
    verbs = list(AuditEvent.objects.order_by("id").values_list("verb", "actor", "target"))
    assert verbs == [
        ("token.created", member.pk, "render script"),
        ("token.revoked", member.pk, "render script"),
    ]
    refused = api_get(raw)
    assert refused.status_code == 401
    assert refused.json() == {
        "message": "This API token has been revoked. Create a new one on your API tokens page."
    }
    html = member_client.get(tokens_url(workspace)).content.decode()
    assert "revoked" in html


def test_only_the_owner_or_an_admin_may_revoke(client_for, workspace, member, viewer, owner):
    create(client_for(member), workspace)
    token = ApiToken.objects.get()
    url = reverse("tokens:revoke", args=[workspace.slug, token.pk])
    assert client_for(viewer).post(url).status_code == 403
    assert ApiToken.objects.live().count() == 1
    admin_page = client_for(owner).get(tokens_url(workspace)).content.decode()
    assert "Other members\N{RIGHT SINGLE QUOTATION MARK} tokens" in admin_page
    assert member.email in admin_page
    assert client_for(owner).post(url).status_code == 302
    assert ApiToken.objects.live().count() == 0


def test_a_demoted_members_token_shrinks_with_them(member_client, workspace, member, owner):
    raw = raw_token_in(create(member_client, workspace).content.decode())
    membership = Membership.objects.get(user=member)
    membership_change_role(membership=membership, actor=owner, role=Role.VIEWER)
    assert api_get(raw).json()["role"] == "viewer"
    refused = Client().post(
        "/api/jobs",
        {"prompt": "p", "model": "m"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert refused.status_code == 403
    assert "viewer role" in refused.json()["message"]


def test_a_removed_members_token_is_refused(member_client, workspace, member, owner):
    raw = raw_token_in(create(member_client, workspace).content.decode())
    membership_remove(membership=Membership.objects.get(user=member), actor=owner)
    refused = api_get(raw)
    assert refused.status_code == 401
    assert "no longer a member" in refused.json()["message"]


def test_a_token_with_a_lesser_role_stays_lesser(member_client, workspace):
    raw = raw_token_in(create(member_client, workspace, role="viewer").content.decode())
    assert api_get(raw).json()["role"] == "viewer"


def test_a_wrong_or_mangled_token_is_refused(member_client, workspace):
    raw = raw_token_in(create(member_client, workspace).content.decode())
    for bad in (raw[:-1] + ("A" if raw[-1] != "A" else "B"), raw.replace("drk_", ""), "drk_", ""):
        response = api_get(bad)
        assert response.status_code == 401, bad
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_last_use_is_written_at_most_once_a_minute(
    member_client, workspace, django_assert_num_queries
):
    raw = raw_token_in(create(member_client, workspace).content.decode())
    api_token_authenticate(raw)
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    with django_assert_num_queries(2):  # the token and the membership: no write
        api_token_authenticate(raw)
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    api_token_authenticate(raw)
    assert ApiToken.objects.get().last_used_at > first
    html = member_client.get(tokens_url(workspace)).content.decode()
    assert "Last used" in html


def test_the_account_menu_links_to_the_tokens_page(member_client, workspace):
    html = member_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    assert f'href="{tokens_url(workspace)}">API tokens</a>' in html


def test_the_audit_log_page_says_who_made_and_revoked_a_token(owner_client, workspace, owner):
    raw = raw_token_in(create(owner_client, workspace, role="admin").content.decode())
    token = ApiToken.objects.get()
    owner_client.post(reverse("tokens:revoke", args=[workspace.slug, token.pk]))
    html = owner_client.get(reverse("accounts:settings_audit", args=[workspace.slug]))
    text = html.content.decode()
    assert "created an API token" in text
    assert "revoked an API token" in text
    assert f"{token.display_prefix}…" in text
    assert raw not in text


def test_the_form_offers_a_token_that_can_submit_where_the_member_may(
    client_for, workspace, owner, member, viewer
):
    def preselected(user) -> list[str]:
        html = client_for(user).get(tokens_url(workspace)).content.decode()
        return re.findall(r'<option value="(\w+)"[^>]*selected', html)

    # README's API walk-through submits a job: a member's or admin's token does by default.
    assert preselected(owner) == [Role.MEMBER]
    assert preselected(member) == [Role.MEMBER]
    assert preselected(viewer) == [Role.VIEWER]
