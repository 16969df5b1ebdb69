"""The workspace's model catalog, cached in the database from the provider's own description."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.connection import CredentialUnusable, provider_for
from accounts.models import Workspace
from config.celery import send_task_on_commit
from gallery.models import CatalogModel, CatalogStatus
from providers import AuthenticationError, ModelInfo, PermissionDeniedError, ProviderError

logger = logging.getLogger(__name__)

DISALLOWED_REASON = "Not included in this account's plan"
# A refresh asked for longer ago than this and not finished is taken as lost, and asked again.
REFRESH_PENDING_SECONDS = 60


def _row_fields(model: ModelInfo, position: int) -> dict[str, object]:
    return {
        "name": model.name or model.id,
        "description": model.description or "",
        "group": model.upstream or "",
        "capabilities": list(model.capabilities),
        "allowed": model.allowed,
        "max_images": model.max_images,
        "fixed_image_count": model.fixed_image_count,
        "aspect_ratios": list(model.aspect_ratios),
        "sizes": list(model.sizes),
        "default_size": model.default_size or "",
        "output_formats": list(model.output_formats),
        "rendering_speeds": list(model.rendering_speeds),
        "sort_order": model.order if model.order is not None else position,
        "prices": [
            {
                "amount": str(p.amount),
                "currency": p.currency,
                "unit": p.unit,
                "resolution": p.resolution,
            }
            for p in model.prices
        ],
        "raw": dict(model.raw),
    }


def catalog_refresh_request(*, workspace: Workspace, again: bool = False) -> bool:
    """Ask a worker to refresh the catalog once this transaction commits.

    Nothing is sent (False) while an earlier request is on its way, nor after a refresh failed
    or once the catalog is there, unless ``again`` (a person pressed the button): a page that
    polls for the catalog must not queue a provider call on every poll, and an error stays shown
    until someone asks again.
    """
    now = timezone.now()
    CatalogStatus.objects.get_or_create(workspace=workspace)
    due = CatalogStatus.objects.filter(workspace=workspace).filter(
        Q(requested_at__isnull=True)
        | Q(requested_at__lt=now - dt.timedelta(seconds=REFRESH_PENDING_SECONDS))
    )
    if not again:
        # A page polling for a catalog it found missing; a refresh may have landed since it
        # looked, and then there is nothing to ask for.
        due = due.filter(error="").exclude(
            Exists(CatalogModel.objects.filter(workspace_id=OuterRef("workspace_id")))
        )
    if not due.update(requested_at=now, error="", failed_at=None):
        return False
    send_task_on_commit("gallery.tasks.refresh_catalog", workspace.pk)
    return True


def catalog_refresh(*, workspace: Workspace) -> int:
    """Replace the cached catalog with what the provider lists now; returns the model count.

    Raises the provider's errors (the caller decides whether to retry or show them).
    """
    with provider_for(workspace.credential) as provider:
        models = provider.list_models()
    now = timezone.now()
    with transaction.atomic():
        for position, model in enumerate(models):
            CatalogModel.objects.update_or_create(
                workspace=workspace,
                provider_model_id=model.id,
                defaults={**_row_fields(model, position), "refreshed_at": now},
            )
        CatalogModel.objects.filter(workspace=workspace).exclude(
            provider_model_id__in=[m.id for m in models]
        ).delete()
        CatalogStatus.objects.update_or_create(
            workspace=workspace, defaults={"requested_at": None, "error": "", "failed_at": None}
        )
    return len(models)


def catalog_refresh_quietly(*, workspace: Workspace) -> int | None:
    """For the worker: a provider that cannot answer now keeps the cached catalog, and the
    reason is kept for the generate page to show."""
    try:
        return catalog_refresh(workspace=workspace)
    except (ProviderError, CredentialUnusable) as exc:
        logger.warning("Catalog refresh for workspace %s failed: %s", workspace.pk, exc)
        CatalogStatus.objects.update_or_create(
            workspace=workspace,
            defaults={"requested_at": None, "error": _reason(exc), "failed_at": timezone.now()},
        )
        return None


def _reason(exc: ProviderError | CredentialUnusable) -> str:
    if isinstance(exc, CredentialUnusable):
        return str(exc)
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return f"The provider refused the credential: {exc.message}."
    return f"The provider could not list its models: {exc.message}."
