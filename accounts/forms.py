from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.connection import provider_url_problem
from accounts.credentials import CredentialFields
from accounts.models import (
    KIND_FIELDS,
    ROUTE_FIELDS,
    ProviderCredential,
    ProviderKind,
    Role,
    User,
    Workspace,
)
from accounts.services import slug_taken


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=Workspace._meta.get_field("name").max_length)

    def __init__(self, *args: Any, workspace: Workspace | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace  # the one being renamed, if any

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Workspace.objects.filter(name__iexact=name)
        if self.workspace is not None:
            clash = clash.exclude(pk=self.workspace.pk)
        if clash.exists():
            # Two entries with one name in the switcher cannot be told apart.
            raise forms.ValidationError(
                _("A workspace called “%(name)s” already exists.") % {"name": name}
            )
        return name


class WorkspaceRenameForm(WorkspaceForm):
    """Settings · Workspace: the name and the address (/w/<slug>/)."""

    slug = forms.SlugField(
        max_length=Workspace._meta.get_field("slug").max_length,
        label=gettext_lazy("Address"),
        required=False,  # blank keeps the current one
        help_text=gettext_lazy(
            "Lower-case letters, digits and hyphens. The old address keeps working for "
            "members: it redirects here."
        ),
        error_messages={
            "invalid": gettext_lazy(
                "Use only lower-case letters, digits and hyphens (like spring-campaign)."
            )
        },
    )

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        if not slug and self.workspace is not None:
            return self.workspace.slug
        if slug_taken(slug, by_other_than=self.workspace):
            raise forms.ValidationError(
                _("The address /w/%(slug)s/ is taken. Choose another.") % {"slug": slug}
            )
        return slug


class LoginForm(AuthenticationForm):
    """Django's login form with an email field (the right keyboard on phones).

    ModelBackend refuses a deactivated account like a wrong password; with the right password
    the person is told the account is deactivated (the password proves it is theirs). A wrong
    password gets the generic message, so it reveals nothing about the account.
    """

    username = UsernameField(
        label=gettext_lazy("Email address"),
        widget=forms.EmailInput(attrs={"autofocus": True}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": gettext_lazy(
            "This account is deactivated. Ask an admin of your workspace or the person who "
            "runs Darkroom."
        ),
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError as error:
            if getattr(error, "code", None) == "invalid_login" and self._deactivated_owner():
                raise forms.ValidationError(
                    self.error_messages["inactive"], code="inactive"
                ) from None
            raise

    def _deactivated_owner(self) -> bool:
        """Whether the email and password typed are those of a deactivated account."""
        email = (self.cleaned_data.get("username") or "").strip()
        password = self.cleaned_data.get("password") or ""
        user = User.objects.filter(email__iexact=email, is_active=False).first()
        return user is not None and bool(password) and user.check_password(password)


EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class MemberAddForm(forms.Form):
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH,
        label=gettext_lazy("Email"),
        help_text=gettext_lazy("An existing user is added; a new address gets an account."),
        error_messages={
            "max_length": gettext_lazy(
                "An email address has at most %(limit_value)d characters (this has %(show_value)d)."
            )
        },
    )
    name = forms.CharField(
        max_length=150,
        required=False,
        label=gettext_lazy("Name"),
        help_text=gettext_lazy("Only used when a new account is created."),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, label=gettext_lazy("Role"))


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label=gettext_lazy("Role"))


class CredentialForm(forms.ModelForm):
    # Write-only: never rendered back (render_value=False) and blank on edit keeps the old value.
    # "new-password" keeps browsers from filling in the admin's own saved login password.
    secret = forms.CharField(
        required=False,
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        label=gettext_lazy("Secret"),
        help_text=gettext_lazy(
            "neuroflash client secret or NanoGPT API key. Leave blank to keep the saved one."
        ),
    )

    base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label=gettext_lazy("Base URL"),
        help_text=gettext_lazy("Leave blank for the provider's default."),
    )
    auth_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label=gettext_lazy("Token URL"),
        help_text=gettext_lazy("neuroflash token issuer. Leave blank for the default."),
    )

    def __init__(self, *args: Any, actor_is_staff: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor_is_staff = actor_is_staff

    class Meta:
        model = ProviderCredential
        fields = (
            *("kind", "client_id", "secret", "remote_workspace_id", "base_url", "auth_url"),
            *ROUTE_FIELDS,
        )
        labels = {
            "kind": gettext_lazy("Provider"),
            "client_id": gettext_lazy("Client ID"),
            "remote_workspace_id": gettext_lazy("neuroflash workspace ID"),
            "generation_path": gettext_lazy("Generation route path"),
            "history_path": gettext_lazy("History route path"),
        }
        widgets = {
            "client_id": forms.TextInput(attrs={"autocomplete": "off"}),
            "generation_path": forms.TextInput(
                attrs={
                    "placeholder": gettext_lazy("found by Test connection"),
                    "spellcheck": "false",
                }
            ),
            "history_path": forms.TextInput(
                attrs={
                    "placeholder": gettext_lazy("found by Test connection"),
                    "spellcheck": "false",
                }
            ),
        }

    def clean_generation_path(self) -> str:
        return _without_trailing_slash(self.cleaned_data["generation_path"])

    def clean_history_path(self) -> str:
        return _without_trailing_slash(self.cleaned_data["history_path"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        kind = cleaned.get("kind")
        if kind is None:
            return cleaned
        used = KIND_FIELDS[kind]
        optional = ("client_id", "secret", "remote_workspace_id", "base_url", "auth_url")
        for name in (*optional, *ROUTE_FIELDS):
            if name not in used:
                cleaned[name] = ""  # fields of another provider kind are not kept
        if not cleaned.get("secret"):
            # Asked of the saved credential: _post_clean copies the posted values in later.
            problem = self.instance.secret_missing(kind=kind, values=cleaned)
            if problem:
                self.add_error("secret", problem)
        if kind == ProviderKind.NEUROFLASH and not cleaned.get("client_id"):
            self.add_error("client_id", _("Enter the client ID of the neuroflash service account."))
        for name in ("base_url", "auth_url"):
            problem = cleaned.get(name) and provider_url_problem(
                cleaned[name], kind=kind, actor_is_staff=self.actor_is_staff
            )
            if problem:
                self.add_error(name, problem)
        return cleaned

    @property
    def secret_needs_retyping(self) -> bool:
        """A secret was typed but the form was refused: the field comes back empty."""
        return self.is_bound and bool(self.data.get("secret")) and bool(self.errors)

    def credential_fields(self) -> CredentialFields:
        data = self.cleaned_data
        return CredentialFields(
            kind=data["kind"],
            base_url=data["base_url"],
            auth_url=data["auth_url"],
            client_id=data["client_id"],
            remote_workspace_id=data["remote_workspace_id"],
            generation_path=data["generation_path"],
            history_path=data["history_path"],
        )


def _without_trailing_slash(path: str) -> str:
    # "/api/ds-prototypes/" and "/api/ds-prototypes" are one place; store one spelling.
    return path.rstrip("/") if path.strip("/") else path


class ApiTokenForm(forms.Form):
    """A new API token: a name to tell it apart, and a role up to the member's own."""

    name = forms.CharField(
        max_length=100,
        label=gettext_lazy("Name"),
        help_text=gettext_lazy("What uses it, e.g. “render script on the build server”."),
        error_messages={
            "required": gettext_lazy("Give the token a name, so you can tell it apart later.")
        },
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        help_text=gettext_lazy(
            "What it may do: a viewer token only reads; a member token also submits jobs."
        ),
    )

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = roles
        # A member's script submits jobs (README's API walk-through): member where allowed,
        # never more than that by default.
        offered = [value for value, _label in roles]
        role.initial = Role.MEMBER if Role.MEMBER in offered else offered[0]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the token a name, so you can tell it apart later."))
        return name


class StaffUserActiveForm(forms.Form):
    active = forms.TypedChoiceField(
        choices=(("1", "Active"), ("0", "Deactivated")), coerce=lambda value: value == "1"
    )


class WorkspaceDeleteForm(forms.Form):
    """Deleting a workspace: its name typed as it is shown, so it is never deleted by a slip."""

    name = forms.CharField(label=gettext_lazy("Workspace name"), max_length=200)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["name"].help_text = _("Type “%(name)s” to confirm.") % {"name": workspace.name}
        self.fields["name"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name != self.workspace.name:
            raise forms.ValidationError(
                _("That is not this workspace's name. Type “%(name)s” exactly as shown.")
                % {"name": self.workspace.name}
            )
        return name


class LanguageForm(forms.Form):
    """The account menu's language choice; empty follows the browser."""

    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=[("", gettext_lazy("As the browser says")), *settings.LANGUAGES],
        required=False,
    )
