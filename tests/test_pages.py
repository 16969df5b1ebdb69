"""Cross-cutting page behaviour: security headers, htmx wiring, toasts."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse


def test_it_sends_a_content_security_policy_without_inline_script(owner_client, workspace):
    response = owner_client.get(reverse("gallery:home", args=[workspace.slug]))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), (
        "inline <script> would be blocked by the CSP"
    )
    assert not re.search(r"\sstyle=", html), "inline style attributes would be blocked by the CSP"
    assert response["X-Frame-Options"] == "DENY"


def test_it_loads_htmx_from_our_own_static_files_with_the_csrf_header(owner_client, workspace):
    html = owner_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    assert re.search(r'<script src="/static/django_htmx/htmx-2[^"]*\.js"', html)
    assert 'hx-headers=\'{"x-csrftoken": "' in html
    assert "includeIndicatorStyles" in html


def test_it_enforces_csrf_on_htmx_posts(client, owner, workspace):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    url = reverse("accounts:member_add", args=[workspace.slug])
    assert (
        strict.post(
            url, {"email": "x@example.com", "role": "member"}, HTTP_HX_REQUEST="true"
        ).status_code
        == 403
    )
    strict.get(reverse("accounts:settings_members", args=[workspace.slug]))
    token = strict.cookies["csrftoken"].value
    response = strict.post(
        url,
        {"email": "x@example.com", "role": "member"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200


def test_it_shows_messages_as_toasts_on_full_pages(owner_client, workspace):
    response = owner_client.post(
        reverse("accounts:settings_general", args=[workspace.slug]),
        {"name": "Renamed"},
        follow=True,
    )
    assert re.search(
        r'class="toast toast-success"[^>]*>\s*<p>Workspace renamed\.</p>', response.content.decode()
    )


def test_it_answers_unknown_pages_with_a_friendly_404(owner_client):
    response = owner_client.get("/w/nope/")
    assert response.status_code == 404
    assert "This page does not exist, or you do not have access to it." in response.content.decode()


def test_it_names_the_account_menu_after_the_user(owner_client, owner, workspace):
    html = owner_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    # Named by what it shows (no aria-label that could leave the shown name out).
    assert (
        f'<span class="usermenu-name">{owner.display_name}</span>'
        '<span class="visually-hidden"> (account menu)</span></summary>'
    ) in html


def test_it_lists_the_workspaces_in_the_switcher_as_a_list(owner_client, workspace):
    html = owner_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    link = reverse("gallery:home", args=[workspace.slug])
    assert re.search(rf'<ul class="menu-list">\s*<li><a href="{link}" aria-current="true">', html)
    assert 'role="listitem"' not in html


def test_the_not_allowed_page_keeps_the_workspace_in_the_header(viewer_client, workspace):
    response = viewer_client.get(reverse("gallery:generate", args=[workspace.slug]))
    html = response.content.decode()
    assert response.status_code == 403
    assert "This needs the member role in Studio." in html
    assert "<strong>Studio</strong>" in html  # the switcher, not "Choose…"
    assert reverse("gallery:home", args=[workspace.slug]) in html


def test_no_template_comment_spans_lines():
    """Django's `{# #}` ends on its own line; one that runs on is printed on the page."""
    templates = Path(settings.BASE_DIR) / "templates"
    for path in templates.rglob("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            opened = line.rfind("{#")
            assert opened == -1 or "#}" in line[opened:], f"{path}:{number}: {{# without #}}"
