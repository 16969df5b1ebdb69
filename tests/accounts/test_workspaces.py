from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from accounts.models import AuditEvent, Membership, ProviderCredential, Role, User, Workspace
from tests.factories import MembershipFactory, WorkspaceFactory


def test_it_opens_the_last_used_workspace(client_for, owner, workspace):
    other = WorkspaceFactory(name="Archive", slug="archive")
    MembershipFactory(workspace=other, user=owner)
    client = client_for(owner)
    client.get(reverse("gallery:home", args=["archive"]))
    assert client.get(reverse("home"))["Location"] == reverse("gallery:home", args=["archive"])
    client.get(reverse("gallery:home", args=[workspace.slug]))
    assert client.get(reverse("home"))["Location"] == reverse("gallery:home", args=[workspace.slug])


def test_it_lists_only_my_workspaces_in_the_switcher(owner_client, workspace, outsider):
    html = owner_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    assert reverse("gallery:home", args=[workspace.slug]) in html
    assert "Elsewhere" not in html


def test_it_forgets_a_workspace_the_user_was_removed_from(client_for, owner, member, workspace):
    client = client_for(member)
    client.get(reverse("gallery:home", args=[workspace.slug]))
    owner_client = client_for(owner)
    owner_client.post(
        reverse("accounts:member_remove", args=[workspace.slug, member.memberships.get().pk])
    )
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "You are not in a workspace yet" in response.content.decode()


def test_it_lets_staff_create_a_workspace_and_makes_them_admin(client_for, make_user):
    staff = make_user(is_staff=True)
    response = client_for(staff).post(reverse("workspace_create"), {"name": "Spring Campaign"})
    workspace = Workspace.objects.get(name="Spring Campaign")
    assert response["Location"] == reverse("accounts:settings_provider", args=[workspace.slug])
    assert workspace.slug == "spring-campaign"
    assert Membership.objects.get(workspace=workspace, user=staff).role == Role.ADMIN
    assert ProviderCredential.objects.get(workspace=workspace).kind == "sandbox"


def test_it_gives_names_with_clashing_slugs_distinct_slugs(client_for, make_user, workspace):
    staff = make_user(is_staff=True)
    client_for(staff).post(reverse("workspace_create"), {"name": "Studio!"})
    assert Workspace.objects.get(name="Studio!").slug == "studio-2"


def test_it_does_not_let_non_staff_create_workspaces(owner_client):
    assert owner_client.get(reverse("workspace_create")).status_code == 403
    response = owner_client.post(reverse("workspace_create"), {"name": "Mine"})
    assert response.status_code == 403
    assert not Workspace.objects.filter(name="Mine").exists()


def test_it_shows_errors_for_an_empty_post(owner_client, workspace):
    response = owner_client.post(reverse("accounts:settings_general", args=[workspace.slug]), {})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.name == "Studio"


def test_it_renames_a_workspace_and_keeps_its_address(owner_client, workspace):
    owner_client.post(
        reverse("accounts:settings_general", args=[workspace.slug]), {"name": "Studio North"}
    )
    workspace.refresh_from_db()
    assert (workspace.name, workspace.slug) == ("Studio North", "studio")
    assert AuditEvent.objects.filter(verb="workspace.renamed", detail="was Studio").exists()


def test_bootstrap_creates_the_first_admin_once_and_the_sandbox_workspace(db):
    first = StringIO()
    call_command("bootstrap", stdout=first)
    admin = User.objects.get(is_superuser=True)
    password = first.getvalue().split("with password")[1].split()[0]
    assert admin.check_password(password)
    sandbox = Workspace.objects.get(slug="sandbox")
    assert Membership.objects.get(workspace=sandbox, user=admin).role == Role.ADMIN
    assert (sandbox.credential.kind, sandbox.credential.base_url) == ("sandbox", "")

    second = StringIO()
    call_command("bootstrap", stdout=second)
    assert "with password" not in second.getvalue()
    assert "make password" in second.getvalue()
    admin.refresh_from_db()
    assert admin.check_password(password)
    assert User.objects.count() == 1
    assert Workspace.objects.count() == 1


def test_bootstrap_points_at_the_account_menu_item_by_its_name(db, client):
    out = StringIO()
    call_command("bootstrap", stdout=out)
    admin = User.objects.get(is_superuser=True)
    client.force_login(admin)
    menu = client.get("/", follow=True).content.decode()
    assert ">Change password</a>" in menu
    assert "→ Change password" in out.getvalue()


def test_it_does_not_put_an_admin_back_into_a_sandbox_they_left_on_the_next_run(db):
    call_command("bootstrap", stdout=StringIO())
    admin = User.objects.get(is_superuser=True)
    sandbox = Workspace.objects.get(slug="sandbox")
    MembershipFactory(workspace=sandbox, role=Role.ADMIN)  # someone else runs it now
    Membership.objects.filter(workspace=sandbox, user=admin).delete()

    call_command("bootstrap", stdout=StringIO())
    assert not Membership.objects.filter(workspace=sandbox, user=admin).exists()


def test_it_prints_the_address_the_web_process_serves_on_at_first_run(db, monkeypatch):
    monkeypatch.setenv("WEB_HOST", "192.168.1.20")
    monkeypatch.setenv("WEB_PORT", "9001")
    out = StringIO()
    call_command("bootstrap", stdout=out)
    assert "Darkroom: http://192.168.1.20:9001/" in out.getvalue()


def test_admins_see_the_workers_schedule(owner_client, workspace, settings):
    settings.HISTORY_SYNC_MINUTES = 7
    html = owner_client.get(
        reverse("accounts:settings_general", args=[workspace.slug])
    ).content.decode()
    assert "Provider history, new entries</dt><dd>every 7 min" in html
    assert "Jobs whose worker stopped</dt><dd>resumed 30 s after its last heartbeat" in html


def test_it_refuses_a_second_workspace_with_the_same_name(client_for, make_user, workspace):
    staff = make_user(is_staff=True)
    response = client_for(staff).post(reverse("workspace_create"), {"name": "studio"})
    assert "A workspace called “studio” already exists." in response.content.decode()
    assert Workspace.objects.filter(name__iexact="studio").count() == 1


def test_renaming_to_another_workspaces_name_is_refused_but_keeping_ones_own_is_fine(
    owner_client, workspace, outsider
):
    url = reverse("accounts:settings_general", args=[workspace.slug])
    assert "already exists" in owner_client.post(url, {"name": "Elsewhere"}).content.decode()
    assert owner_client.post(url, {"name": "Studio"}).status_code == 302
