"""The static model catalogs, and the three shapes each provider publishes them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ALL_RATIOS = ("21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16")
ALL_FORMATS = ("jpeg", "png", "webp")


@dataclass(frozen=True)
class NeuroflashModel:
    id: str
    name: str
    description: str
    capabilities: tuple[str, ...]
    max_images: int
    aspect_ratios: tuple[str, ...]
    output_formats: tuple[str, ...]
    allowed: bool
    order: int
    provider: str = "fal.ai"

    def camel(self) -> dict[str, Any]:
        """image-service v1 spelling."""
        return {
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "description": self.description,
            "capabilities": list(self.capabilities),
            "maxImages": self.max_images,
            "aspectRatios": list(self.aspect_ratios),
            "outputFormats": list(self.output_formats),
            "allowed": self.allowed,
            "order": self.order,
        }

    def snake(self) -> dict[str, Any]:
        """ds-prototypes spelling."""
        return {
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "description": self.description,
            "capabilities": list(self.capabilities),
            "max_images": self.max_images,
            "aspect_ratios": list(self.aspect_ratios),
            "output_formats": list(self.output_formats),
            "allowed": self.allowed,
            "order": self.order,
        }


T2I = ("text2image",)
T2I_I2I = ("text2image", "image2image")

# Listed deliberately out of `order`, with some models not allowed, so clients must sort and
# filter rather than trust the position or assume everything listed is usable.
NEUROFLASH_MODELS: tuple[NeuroflashModel, ...] = (
    NeuroflashModel(
        "nano-banana-2", "Nano Banana 2", "Fast and efficient image generation model",
        T2I_I2I, 4, ALL_RATIOS, ALL_FORMATS, allowed=True, order=1,
    ),
    NeuroflashModel(
        "imagen-4", "Imagen 4", "Photorealistic text-to-image model",
        T2I, 4, ("16:9", "4:3", "1:1", "3:4", "9:16"), ("png", "jpeg"), allowed=True, order=3,
    ),
    NeuroflashModel(
        "nano-banana", "Nano Banana", "The first generation of the Nano Banana model",
        T2I_I2I, 4, ALL_RATIOS, ALL_FORMATS, allowed=True, order=2,
    ),
    NeuroflashModel(
        "flux-pro-ultra", "FLUX1.1 [pro] ultra", "High-resolution model (plan upgrade needed)",
        T2I_I2I, 1, ("21:9", "16:9", "1:1", "9:16"), ("jpeg", "png"), allowed=False, order=5,
    ),
    NeuroflashModel(
        "seedream-4", "Seedream 4", "Editing-focused model with strong prompt adherence",
        T2I_I2I, 2, ("16:9", "4:3", "1:1", "3:4", "9:16"), ALL_FORMATS, allowed=True, order=4,
        provider="bytedance",
    ),
    NeuroflashModel(
        "gpt-image-1", "GPT Image 1", "OpenAI image model (not enabled for this workspace)",
        T2I_I2I, 4, ("3:2", "1:1", "2:3"), ("png", "jpeg", "webp"), allowed=False, order=6,
        provider="openai",
    ),
    NeuroflashModel(
        "ideogram-v3", "Ideogram 3", "Text-in-image specialist, one picture per request",
        T2I, 1, ("16:9", "1:1", "9:16"), ("png",), allowed=True, order=7, provider="ideogram",
    ),
)  # fmt: skip

DEFAULT_NEUROFLASH_MODEL = "nano-banana-2"


def neuroflash_model(model_id: str) -> NeuroflashModel | None:
    return next((m for m in NEUROFLASH_MODELS if m.id == model_id), None)


@dataclass(frozen=True)
class NanoModel:
    id: str
    name: str
    description: str
    owned_by: str
    created: int
    # resolution -> USD per image
    prices: dict[str, Decimal]
    max_images: int
    image_to_image: bool = False
    fixed_image_count: int | None = None
    rendering_speed: tuple[str, ...] = ()
    quality: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default=("text-to-image",))

    @property
    def resolutions(self) -> list[str]:
        return list(self.prices)

    @property
    def endpoints_path(self) -> str:
        # The id goes in verbatim, slashes and all, as the real listing does.
        return f"/api/v1/images/models/{self.id}/endpoints"

    def _capabilities(self) -> dict[str, bool]:
        return {
            "image_generation": True,
            "image_to_image": self.image_to_image,
            "inpainting": False,
            "nsfw": False,
        }

    def _input_modalities(self) -> list[str]:
        return ["text", "image"] if self.image_to_image else ["text"]

    def typed_parameters(self) -> dict[str, Any]:
        """The descriptor style of `/api/v1/images/models` and the endpoints route."""
        params: dict[str, Any] = {
            "resolution": {
                "type": "enum",
                "values": self.resolutions,
                "default": self.resolutions[0],
            },
            "n": {"type": "range", "min": 1, "max": self.max_images, "default": 1},
        }
        if self.quality:
            params["quality"] = {
                "type": "enum",
                "values": list(self.quality),
                "default": self.quality[0],
            }
        if self.image_to_image:
            params["input_references"] = {"type": "range", "min": 0, "max": 4}
        return params

    def discovery(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created": self.created,
            "owned_by": self.owned_by,
            "architecture": {
                "input_modalities": self._input_modalities(),
                "output_modalities": ["image"],
            },
            "supported_parameters": self.typed_parameters(),
            "supports_streaming": False,
            "endpoints": self.endpoints_path,
            "capabilities": self._capabilities(),
            "category": "image",
        }

    def legacy(self, *, detailed: bool) -> dict[str, Any]:
        basic: dict[str, Any] = {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
        }
        if not detailed:
            return basic
        supported: dict[str, Any] = {"resolutions": self.resolutions, "max_images": self.max_images}
        if self.rendering_speed:
            supported["rendering_speed"] = list(self.rendering_speed)
        if self.fixed_image_count is not None:
            supported["fixed_image_count"] = self.fixed_image_count
        modality = "text+image->image" if self.image_to_image else "text->image"
        return {
            **basic,
            "name": self.name,
            "description": self.description,
            "architecture": {
                "modality": modality,
                "input_modalities": self._input_modalities(),
                "output_modalities": ["image"],
            },
            # The legacy listing keys prices `1024*1024` while resolutions say `1024x1024`.
            "pricing": {
                "per_image": {res.replace("x", "*"): float(p) for res, p in self.prices.items()},
                "currency": "USD",
            },
            "capabilities": self._capabilities(),
            "supported_parameters": supported,
            "icon_url": f"/icons/{self.owned_by}.svg",
            "tags": list(self.tags),
            "category": "image",
        }

    def endpoints(self) -> dict[str, Any]:
        endpoint: dict[str, Any] = {
            "provider_name": _PROVIDER_NAMES.get(self.owned_by, self.owned_by),
            "provider_slug": self.owned_by,
            "provider_tag": None,
            "supported_parameters": self.typed_parameters(),
            "allowed_passthrough_parameters": [],
            "supports_streaming": False,
            "pricing": [
                {
                    "billable": "output_image",
                    "unit": "image",
                    "cost_usd": float(p),
                    "resolution": res,
                }
                for res, p in self.prices.items()
            ],
        }
        if self.image_to_image:
            endpoint["input_reference_constraints"] = {
                "max_items": 4,
                "route": {
                    "min_width": 8,
                    "min_height": 8,
                    "max_bytes": 31457280,
                    "formats": ["png", "jpeg", "webp"],
                    "source": "route-preflight",
                },
            }
        return {"id": self.id, "endpoints": [endpoint]}


_PROVIDER_NAMES = {
    "openai": "OpenAI",
    "prunaai": "PrunaAI",
    "black-forest-labs": "Black Forest Labs",
    "hidream": "HiDream",
    "recraft": "Recraft",
}


def _flat(price: str, *resolutions: str) -> dict[str, Decimal]:
    return dict.fromkeys(resolutions, Decimal(price))


NANO_MODELS: tuple[NanoModel, ...] = (
    NanoModel(
        "hidream", "HiDream I1", "Open text-to-image model; the route's default", "hidream",
        1745000000, _flat("0.0112", "1024x1024", "768x1024", "1024x768"), max_images=4,
    ),
    NanoModel(
        "openai/gpt-image-1", "GPT Image 1", "OpenAI's image model with editing", "openai",
        1746000000,
        {"1024x1024": Decimal("0.04"), "1024x768": Decimal("0.05"),
         "768x1024": Decimal("0.05"), "auto": Decimal("0.04")},
        max_images=4, image_to_image=True, quality=("medium", "low", "high"),
        tags=("text-to-image", "image-to-image"),
    ),
    NanoModel(
        "pruna-ai/p-image/text-to-image", "P-Image", "Very fast, very cheap", "prunaai",
        1778544000, _flat("0.005", "1024x1024", "1376x768", "1184x896"), max_images=4,
    ),
    NanoModel(
        "flux-kontext", "FLUX.1 Kontext", "Instruction-based editing, one image per call",
        "black-forest-labs", 1750000000, _flat("0.04", "1024x1024", "auto"), max_images=1,
        image_to_image=True, fixed_image_count=1, tags=("image-to-image",),
    ),
    NanoModel(
        "recraft-v3", "Recraft V3", "Design-oriented model with speed tiers", "recraft",
        1735000000, _flat("0.04", "1024x1024", "1024x768"), max_images=2,
        rendering_speed=("standard", "fast"),
    ),
)  # fmt: skip

DEFAULT_NANO_MODEL = "hidream"


def nano_model(model_id: str) -> NanoModel | None:
    return next((m for m in NANO_MODELS if m.id == model_id), None)
