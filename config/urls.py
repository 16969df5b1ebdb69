from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.forms import LoginForm
from accounts.urls import token_patterns
from accounts.views import staff, workspaces
from api.views import api
from config import health
from gallery.thumbnails import URL_PREFIX as THUMBNAILS
from gallery.views import images as image_views
from gallery.views import ops as ops_views

auth_patterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", workspaces.language_set, name="language_set"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    # The one-time link an admin sends a new member (see accounts.services.set_password_path).
    path(
        "set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "set-password/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    # Answered by config.middleware.HealthCheckMiddleware; named here for reverse().
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", workspaces.home, name="home"),
    path("account/", include(auth_patterns)),
    path("workspaces/new/", workspaces.workspace_create, name="workspace_create"),
    path("ops/", ops_views.ops_page, name="ops"),
    path("staff/users/", staff.staff_users, name="staff_users"),
    path(
        "staff/users/<int:user_id>/active/",
        staff.staff_user_active,
        name="staff_user_active",
    ),
    # Any member, viewers too (the settings under /settings/ are for admins only).
    path("w/<slug:slug>/leave/", workspaces.workspace_leave, name="workspace_leave"),
    path("w/<slug:slug>/", include("gallery.urls")),
    # Outside any workspace: the signed token is the whole permission (gallery.thumbnails).
    # gallery.middleware answers these before sessions and auth; this names the route.
    path(f"{THUMBNAILS}<str:token>/", image_views.thumbnail, name="thumbnail"),
    path("w/<slug:slug>/settings/", include("accounts.urls")),
    # Every member's own API tokens (not admin settings).
    path("w/<slug:slug>/tokens/", include(token_patterns)),
    # The JSON API: bearer tokens only, no session (api.auth); docs at /api/docs.
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
