"""The member's own API tokens for one workspace: make (shown once) and revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import api_tokens, selectors
from accounts.access import (
    WorkspaceRequest,
    get_api_token,
    get_membership,
)
from accounts.forms import (
    ApiTokenForm,
)
from accounts.models import Membership
from accounts.views.posting import posted


def _tokens_context(
    membership: Membership,
    form: ApiTokenForm | None = None,
    new_token: api_tokens.NewToken | None = None,
) -> dict[str, object]:
    return {
        "form": form or ApiTokenForm(roles=api_tokens.roles_up_to(membership.role)),
        "tokens": list(api_tokens.api_token_list(membership=membership)),
        "others": list(selectors.api_token_list_of_others(membership=membership))
        if membership.is_admin
        else [],
        "new_token": new_token,
        "api_docs": reverse("api:openapi-view"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def api_token_list(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The member's API tokens for this workspace; POST makes one, shown once on the answer
    (never redirected to: the page that shows it is the only place it ever appears)."""
    membership = get_membership(request, slug, viewers_may_post=True)
    roles = api_tokens.roles_up_to(membership.role)
    form = ApiTokenForm(posted(request), roles=roles)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token = api_tokens.api_token_create(
                membership=membership,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = ApiTokenForm(roles=roles)
    context = _tokens_context(membership, form, new_token)
    if request.htmx:
        response = render(request, "accounts/api_tokens.html#tokens-panel", context)
    else:
        status = 422 if form.errors else 200
        response = render(request, "accounts/api_tokens.html", context, status=status)
    if new_token is not None:
        response["Cache-Control"] = "no-store"  # Back must not show the token again
    return response


@login_required
@require_POST
def api_token_revoke(request: WorkspaceRequest, slug: str, token_id: int) -> HttpResponse:
    membership = get_membership(request, slug, viewers_may_post=True)
    token = get_api_token(membership, token_id)
    if api_tokens.api_token_revoke(token=token, membership=membership):
        messages.success(
            request,
            _("Revoked “%(name)s”. Requests with it are refused now.") % {"name": token.name},
        )
    if request.htmx:
        return render(request, "accounts/api_tokens.html#tokens-panel", _tokens_context(membership))
    return redirect("tokens:list", slug=slug)
