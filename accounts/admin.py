from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.http import HttpRequest

from accounts.models import AuditEvent, Membership, ProviderCredential, User, Workspace


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
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    """Read-mostly: the secret itself is never shown, not even encrypted. Change it in the app."""

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
    )
    readonly_fields = ("secret_summary", "last_success_at", "last_error")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Secret")
    def secret_summary(self, obj: ProviderCredential) -> str:
        if not obj.has_secret:
            return "not set"
        return f"set · ends in …{obj.secret_hint}" if obj.secret_hint else "set"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every workspace gets its credential when it is created


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "workspace", "actor", "verb", "target", "detail")
    list_filter = ("verb",)
    search_fields = ("target", "actor__email")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
