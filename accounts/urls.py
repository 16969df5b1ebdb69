from __future__ import annotations

from django.urls import path

from accounts.views import members, settings_pages, tokens

app_name = "accounts"

# All mounted under /w/<slug>/settings/.
urlpatterns = [
    path("", members.settings_members, name="settings"),
    path("members/", members.settings_members, name="settings_members"),
    path("members/add/", members.member_add, name="member_add"),
    path("members/<int:membership_id>/role/", members.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", members.member_remove, name="member_remove"),
    path("members/<int:membership_id>/link/", members.member_link, name="member_link"),
    path("provider/", settings_pages.settings_provider, name="settings_provider"),
    path("provider/test/", settings_pages.connection_test, name="connection_test"),
    path(
        "provider/checks/<int:check_id>/",
        settings_pages.connection_check_status,
        name="connection_check",
    ),
    path("general/", settings_pages.settings_general, name="settings_general"),
    path("audit/", settings_pages.settings_audit, name="settings_audit"),
]

# Mounted under /w/<slug>/tokens/ as "tokens": every member's own, not admin settings.
token_patterns = (
    [
        path("", tokens.api_token_list, name="list"),
        path("<int:token_id>/revoke/", tokens.api_token_revoke, name="revoke"),
    ],
    "tokens",
)
