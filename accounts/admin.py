from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import ApiToken, AuditEvent, Membership, ProviderCredential, User, Workspace


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    """Read-only: roles change in the workspace's settings, which keep the last admin in place."""

    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    """Read-only. The workspace settings page is the one place a credential changes: it asks for
    the secret again when the provider or its addresses change, and records who did what."""

    list_display = ("workspace", "kind", "secret_summary", "last_success_at", "last_error_at")
    fields = (
        "workspace",
        "kind",
        "client_id",
        "remote_workspace_id",
        "base_url",
        "auth_url",
        "secret_summary",
        "last_success_at",
        "last_error",
        "change_link",
    )
    readonly_fields = fields

    @admin.display(description="Secret")
    def secret_summary(self, obj: ProviderCredential) -> str:
        if not obj.has_secret:
            return "not set"
        return f"set · ends in …{obj.secret_hint}" if obj.secret_hint else "set"

    @admin.display(description="Change")
    def change_link(self, obj: ProviderCredential) -> str:
        url = reverse("accounts:settings_provider", args=[obj.workspace.slug])
        return format_html('<a href="{}">Change it in the workspace settings</a>', url)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every workspace gets its credential when it is created

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "workspace", "actor", "verb", "target", "detail")
    list_filter = ("verb",)
    search_fields = ("target", "actor__email")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are made and revoked on the API tokens page (audit-logged there)."""

    list_display = ("name", "owner", "workspace", "role", "prefix", "last_used_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("name", "prefix", "owner__email")
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
