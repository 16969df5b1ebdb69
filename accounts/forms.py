from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import ProviderCredential, ProviderKind, Role, Workspace


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=Workspace._meta.get_field("name").max_length)


class MemberAddForm(forms.Form):
    email = forms.EmailField(help_text="An existing user is added; a new address gets an account.")
    name = forms.CharField(
        max_length=150, required=False, help_text="Only used when a new account is created."
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


# Which optional fields each provider kind uses; the template shows only those (by CSS).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    ProviderKind.SANDBOX: ("base_url",),
    ProviderKind.NEUROFLASH: ("client_id", "secret", "remote_workspace_id", "base_url", "auth_url"),
    ProviderKind.NANOGPT: ("secret", "base_url"),
}


class CredentialForm(forms.ModelForm):
    # Write-only: never rendered back (render_value=False) and blank on edit keeps the old value.
    secret = forms.CharField(
        required=False,
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        label="Secret",
        help_text="neuroflash client secret or NanoGPT API key. Leave blank to keep the saved one.",
    )

    base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Base URL",
        help_text="Leave blank for the provider's default.",
    )
    auth_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Token URL",
        help_text="neuroflash token issuer. Leave blank for the default.",
    )

    class Meta:
        model = ProviderCredential
        fields = ("kind", "client_id", "secret", "remote_workspace_id", "base_url", "auth_url")
        labels = {
            "kind": "Provider",
            "client_id": "Client ID",
            "remote_workspace_id": "neuroflash workspace ID",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind is None:
            return cleaned
        used = KIND_FIELDS[kind]
        for name in ("client_id", "remote_workspace_id", "base_url", "auth_url"):
            if name not in used:
                cleaned[name] = ""  # fields of another provider kind are not kept
        has_saved_secret = self.instance.has_secret and self.instance.kind == kind
        if "secret" in used and not cleaned.get("secret") and not has_saved_secret:
            label = "client secret" if kind == ProviderKind.NEUROFLASH else "API key"
            self.add_error("secret", f"Enter the {label}.")
        if kind == ProviderKind.NEUROFLASH and not cleaned.get("client_id"):
            self.add_error("client_id", "Enter the client ID of the neuroflash service account.")
        return cleaned
