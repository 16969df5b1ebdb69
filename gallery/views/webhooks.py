"""Settings · Webhooks (admins only): the receiver URL, its signing secret, a test event and the
recent deliveries. In the gallery app, beside Budgets: the events are about its jobs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, Role
from gallery import selectors
from gallery.access import get_webhook
from gallery.forms import WebhookForm
from gallery.services import webhook_delivery, webhooks

TEMPLATE = "gallery/settings_webhooks.html"


def _context(
    membership: Membership,
    *,
    form: WebhookForm | None = None,
    new_secret: str | None = None,
    created: bool = False,
) -> dict[str, Any]:
    webhook = selectors.webhook_for_workspace(workspace=membership.workspace)
    if form is None:
        initial = (
            {"url": webhook.url, "events": webhook.events, "enabled": webhook.enabled}
            if webhook
            else None
        )
        form = WebhookForm(initial=initial)
    deliveries = selectors.webhook_delivery_list(webhook=webhook) if webhook else []
    now = timezone.now()
    return {
        "webhook": webhook,
        "form": form,
        "new_secret": new_secret,
        "secret_is_new_webhook": created,
        "deliveries": deliveries,
        "polling": any(d.expected_soon(now) for d in deliveries),
        "max_attempts": webhook_delivery.MAX_ATTEMPTS,
    }


def _secret_once(
    request: WorkspaceRequest, membership: Membership, secret: str, *, created: bool
) -> HttpResponse:
    """The page with the new secret in it: rendered for this answer only, never stored (not in
    the session, not in a message), and not kept by the browser's cache."""
    return render(request, TEMPLATE, _context(membership, new_secret=secret, created=created))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def settings_webhooks(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The page; a POST creates or changes the webhook. An htmx GET is the deliveries' poll."""
    membership = get_membership(request, slug, role=Role.ADMIN)
    if request.method == "POST":
        form = WebhookForm(request.POST)
        if form.is_valid():
            saved = webhooks.webhook_save(
                workspace=membership.workspace,
                actor=request.user,
                url=form.cleaned_data["url"],
                enabled=form.cleaned_data["enabled"],
                events=form.cleaned_data["events"],
            )
            if saved.new_secret:
                return _secret_once(request, membership, saved.new_secret, created=True)
            messages.success(request, _("Webhook saved."))
            return redirect("gallery:settings_webhooks", slug=slug)
        return render(request, TEMPLATE, _context(membership, form=form), status=422)
    if request.htmx:
        return render(request, f"{TEMPLATE}#deliveries", _context(membership))
    return render(request, TEMPLATE, _context(membership))


@login_required
@never_cache
@require_POST
def webhook_rotate(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    webhook = get_webhook(membership)
    secret = webhooks.webhook_rotate_secret(webhook=webhook, actor=request.user)
    return _secret_once(request, membership, secret, created=False)


@login_required
@require_POST
def webhook_test(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    webhook = get_webhook(membership)
    webhooks.webhook_test(webhook=webhook, actor=request.user)
    if request.htmx:
        return render(request, f"{TEMPLATE}#deliveries", _context(membership))
    messages.info(request, _("Test event queued. The list below shows how it went."))
    return redirect("gallery:settings_webhooks", slug=slug)


@login_required
@require_POST
def webhook_remove(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    webhook = get_webhook(membership)
    host = webhooks.webhook_remove(webhook=webhook, actor=request.user)
    messages.success(
        request, _("Webhook removed: nothing more is sent to %(host)s.") % {"host": host}
    )
    return redirect("gallery:settings_webhooks", slug=slug)
