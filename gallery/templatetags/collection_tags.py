"""Tags for templates that other views render: an image's collections panel (on the image page)
and the bulk bar's collection picker (on the gallery page) fetch what they show themselves."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from gallery import selectors
from gallery.models import Collection, Image

register = template.Library()


@dataclass(frozen=True)
class ImageCollections:
    inside: list[Collection]
    outside: list[Collection]


@register.simple_tag
def image_collections(image: Image) -> ImageCollections:
    """`{% image_collections image as panel %}`: `panel.inside`, `panel.outside`."""
    return ImageCollections(*selectors.image_collection_split(image=image))
