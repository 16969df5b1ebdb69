"""The provider's model catalog as this workspace last saw it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy

from accounts.models import Workspace


class CatalogModel(models.Model):
    """One model of the workspace's provider, as its catalog last described it.

    Forms are built from these rows, never from a hard-coded capability table.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="catalog")
    provider_model_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    group = models.CharField(
        max_length=100, blank=True, help_text=gettext_lazy("Upstream vendor, for grouping.")
    )
    capabilities = models.JSONField(default=list)
    allowed = models.BooleanField(default=True)
    max_images = models.PositiveSmallIntegerField(null=True)
    fixed_image_count = models.PositiveSmallIntegerField(null=True)
    aspect_ratios = models.JSONField(default=list)
    sizes = models.JSONField(default=list)
    default_size = models.CharField(max_length=40, blank=True)
    output_formats = models.JSONField(default=list)
    rendering_speeds = models.JSONField(default=list)
    sort_order = models.IntegerField(default=0)
    prices = models.JSONField(default=list)
    raw = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ("sort_order", "name")
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "provider_model_id"), name="one_catalog_row_per_model"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def can_generate(self) -> bool:
        return "text2image" in self.capabilities or not self.capabilities

    @property
    def can_edit(self) -> bool:
        return "image2image" in self.capabilities


class CatalogStatus(models.Model):
    """How asking the provider for the workspace's models goes (the rows above are what it said).

    ``requested_at`` is set while a refresh is on its way, so a page that polls for the catalog
    does not queue a provider call on every poll; ``error`` says why the last one failed, and
    stays until someone asks again.
    """

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="catalog_status"
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "catalog statuses"

    def __str__(self) -> str:
        return f"catalog status of {self.workspace}"
