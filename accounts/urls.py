from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

# All mounted under /w/<slug>/settings/.
urlpatterns = [
    path("", views.settings_members, name="settings"),
    path("members/", views.settings_members, name="settings_members"),
    path("members/add/", views.member_add, name="member_add"),
    path("members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("members/<int:membership_id>/link/", views.member_link, name="member_link"),
    path("provider/", views.settings_provider, name="settings_provider"),
    path("provider/test/", views.connection_test, name="connection_test"),
    path("provider/checks/<int:check_id>/", views.connection_check_status, name="connection_check"),
    path("general/", views.settings_general, name="settings_general"),
    path("audit/", views.settings_audit, name="settings_audit"),
]

# Mounted under /w/<slug>/tokens/ as "tokens": every member's own, not admin settings.
token_patterns = (
    [
        path("", views.api_token_list, name="list"),
        path("<int:token_id>/revoke/", views.api_token_revoke, name="revoke"),
    ],
    "tokens",
)
