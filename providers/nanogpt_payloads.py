"""NanoGPT response payloads as frozen dataclasses (unknown fields tolerated, ``raw`` kept)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from providers._parse import (
    PayloadError,
    as_mapping,
    opt_bool,
    opt_decimal,
    opt_int,
    opt_str,
    require_list,
    require_mapping,
    require_str,
    str_tuple,
)


@dataclass(frozen=True, slots=True)
class ParamDescriptor:
    """A typed ``supported_parameters`` entry of the new model route: enum or range."""

    type: str | None = None
    values: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    default: Any = None

    @classmethod
    def from_api(cls, data: Any) -> ParamDescriptor:
        data = as_mapping(data)
        return cls(
            type=opt_str(data.get("type")),
            values=str_tuple(data.get("values")),
            min=opt_int(data.get("min")),
            max=opt_int(data.get("max")),
            default=data.get("default"),
        )


@dataclass(frozen=True, slots=True)
class ImageApiModel:
    """An entry of ``GET /api/v1/images/models`` (the Image API's discovery route)."""

    id: str
    name: str
    description: str | None = None
    owned_by: str | None = None
    created: int | None = None
    input_modalities: tuple[str, ...] = ()
    output_modalities: tuple[str, ...] = ()
    supported_parameters: Mapping[str, ParamDescriptor] = field(default_factory=dict)
    supports_streaming: bool = False
    # Path of the per-model endpoints/pricing document; use it verbatim (ids contain slashes).
    endpoints: str | None = None
    capabilities: Mapping[str, bool] = field(default_factory=dict)
    category: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> ImageApiModel:
        data = require_mapping(data, "an image model")
        model_id = require_str(data, "id")
        architecture = as_mapping(data.get("architecture"))
        return cls(
            id=model_id,
            name=opt_str(data.get("name")) or model_id,
            description=opt_str(data.get("description")),
            owned_by=opt_str(data.get("owned_by")),
            created=opt_int(data.get("created")),
            input_modalities=str_tuple(architecture.get("input_modalities")),
            output_modalities=str_tuple(architecture.get("output_modalities")),
            supported_parameters={
                str(k): ParamDescriptor.from_api(v)
                for k, v in as_mapping(data.get("supported_parameters")).items()
                if isinstance(v, Mapping)
            },
            supports_streaming=bool(opt_bool(data.get("supports_streaming"))),
            endpoints=opt_str(data.get("endpoints")),
            capabilities=_flags(data.get("capabilities")),
            category=opt_str(data.get("category")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class LegacyImageModel:
    """An entry of ``GET /api/v1/image-models?detailed=true`` (feeds the OpenAI route's sizes)."""

    id: str
    name: str
    description: str | None = None
    owned_by: str | None = None
    created: int | None = None
    modality: str | None = None
    capabilities: Mapping[str, bool] = field(default_factory=dict)
    resolutions: tuple[str, ...] = ()
    max_images: int | None = None
    rendering_speeds: tuple[str, ...] = ()
    fixed_image_count: int | None = None
    # per_image prices with keys normalised from "1024*1024" to the "1024x1024" of resolutions.
    price_per_image: Mapping[str, Decimal] = field(default_factory=dict)
    currency: str | None = None
    tags: tuple[str, ...] = ()
    icon_url: str | None = None
    category: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> LegacyImageModel:
        data = require_mapping(data, "an image model")
        model_id = require_str(data, "id")
        params = as_mapping(data.get("supported_parameters"))
        pricing = as_mapping(data.get("pricing"))
        # "Shape can vary by model": only a flat {size: number} per_image map is understood.
        per_image: dict[str, Decimal] = {}
        for key, value in as_mapping(pricing.get("per_image")).items():
            amount = opt_decimal(value)
            if amount is not None:
                per_image[normalise_resolution(str(key))] = amount
        return cls(
            id=model_id,
            name=opt_str(data.get("name")) or model_id,
            description=opt_str(data.get("description")),
            owned_by=opt_str(data.get("owned_by")),
            created=opt_int(data.get("created")),
            modality=opt_str(as_mapping(data.get("architecture")).get("modality")),
            capabilities=_flags(data.get("capabilities")),
            resolutions=str_tuple(params.get("resolutions")),
            max_images=opt_int(params.get("max_images")),
            rendering_speeds=str_tuple(params.get("rendering_speed")),
            fixed_image_count=opt_int(params.get("fixed_image_count")),
            price_per_image=per_image,
            currency=opt_str(pricing.get("currency")),
            tags=str_tuple(data.get("tags")),
            icon_url=opt_str(data.get("icon_url")),
            category=opt_str(data.get("category")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class EndpointPrice:
    cost_usd: Decimal
    billable: str | None = None
    unit: str | None = None
    resolution: str | None = None

    @classmethod
    def from_api(cls, data: Any) -> EndpointPrice | None:
        data = as_mapping(data)
        cost = opt_decimal(data.get("cost_usd"))
        if cost is None:
            return None
        resolution = opt_str(data.get("resolution"))
        return cls(
            cost_usd=cost,
            billable=opt_str(data.get("billable")),
            unit=opt_str(data.get("unit")),
            resolution=normalise_resolution(resolution) if resolution else None,
        )


@dataclass(frozen=True, slots=True)
class ModelEndpoint:
    provider_name: str | None = None
    provider_slug: str | None = None
    supported_parameters: Mapping[str, ParamDescriptor] = field(default_factory=dict)
    pricing: tuple[EndpointPrice, ...] = ()
    supports_streaming: bool = False
    input_reference_constraints: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Any) -> ModelEndpoint:
        data = require_mapping(data, "a model endpoint")
        prices = data.get("pricing") if isinstance(data.get("pricing"), list) else []
        return cls(
            provider_name=opt_str(data.get("provider_name")),
            provider_slug=opt_str(data.get("provider_slug")),
            supported_parameters={
                str(k): ParamDescriptor.from_api(v)
                for k, v in as_mapping(data.get("supported_parameters")).items()
                if isinstance(v, Mapping)
            },
            pricing=tuple(p for p in (EndpointPrice.from_api(x) for x in prices) if p),
            supports_streaming=bool(opt_bool(data.get("supports_streaming"))),
            input_reference_constraints=as_mapping(data.get("input_reference_constraints")),
        )


@dataclass(frozen=True, slots=True)
class ModelEndpoints:
    """``GET /api/v1/images/models/{modelId}/endpoints``: pricing and per-endpoint limits."""

    id: str | None
    endpoints: tuple[ModelEndpoint, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> ModelEndpoints:
        data = require_mapping(data, "the model endpoints")
        items = data.get("endpoints") if isinstance(data.get("endpoints"), list) else []
        return cls(
            id=opt_str(data.get("id")),
            endpoints=tuple(ModelEndpoint.from_api(e) for e in items if isinstance(e, Mapping)),
            raw=dict(data),
        )

    @property
    def prices(self) -> tuple[EndpointPrice, ...]:
        return tuple(price for endpoint in self.endpoints for price in endpoint.pricing)


@dataclass(frozen=True, slots=True)
class NanoImage:
    """One ``data[i]``: exactly one of ``url`` (expires in ~1 h) or the decoded ``b64_json``."""

    url: str | None = None
    data: bytes | None = field(default=None, repr=False)
    revised_prompt: str | None = None

    @classmethod
    def from_api(cls, item: Any) -> NanoImage:
        item = require_mapping(item, "a generated image")
        url = opt_str(item.get("url"))
        encoded = opt_str(item.get("b64_json"))
        data = None
        if encoded:
            # Some routes send a full data URL rather than bare base64.
            if encoded.startswith("data:") and "," in encoded:
                encoded = encoded.split(",", 1)[1]
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise PayloadError("b64_json is not valid base64") from None
        if not url and not data:
            raise PayloadError("a generated image has neither 'url' nor 'b64_json'")
        return cls(url=url, data=data, revised_prompt=opt_str(item.get("revised_prompt")))

    @property
    def content_type(self) -> str | None:
        return sniff_image_type(self.data) if self.data else None


@dataclass(frozen=True, slots=True)
class NanoGeneration:
    """Response of ``POST /v1/images/generations`` with the cost fields NanoGPT adds."""

    images: tuple[NanoImage, ...]
    created: int | None = None
    cost: Decimal | None = None
    remaining_balance: Decimal | None = None
    payment_source: str | None = None
    # The response minus base64 payloads (which can be megabytes and are in ``images``).
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> NanoGeneration:
        data = require_mapping(data, "the generation response")
        items = require_list(data.get("data"), "'data'")
        images = tuple(NanoImage.from_api(item) for item in items)
        slim = dict(data)
        slim["data"] = [
            {k: (f"<{len(v)} base64 chars>" if k == "b64_json" else v) for k, v in item.items()}
            for item in items
            if isinstance(item, Mapping)
        ]
        return cls(
            images=images,
            created=opt_int(data.get("created")),
            cost=opt_decimal(data.get("cost")),
            remaining_balance=opt_decimal(data.get("remainingBalance")),
            payment_source=opt_str(data.get("paymentSource")),
            raw=slim,
        )


@dataclass(frozen=True, slots=True)
class Balance:
    """``POST /api/check-balance``; balances arrive as decimal strings."""

    usd_balance: Decimal | None
    nano_balance: Decimal | None = None
    nano_deposit_address: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> Balance:
        data = require_mapping(data, "the balance")
        usd = opt_decimal(data.get("usd_balance"))
        nano = opt_decimal(data.get("nano_balance"))
        if usd is None and nano is None:
            raise PayloadError("the balance response has neither 'usd_balance' nor 'nano_balance'")
        return cls(
            usd_balance=usd,
            nano_balance=nano,
            nano_deposit_address=opt_str(data.get("nanoDepositAddress")),
            raw=dict(data),
        )


def sniff_image_type(data: bytes) -> str | None:
    """The image type from magic bytes (b64_json results carry no content type)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def normalise_resolution(value: str) -> str:
    """Pricing keys use ``1024*1024`` where resolutions use ``1024x1024``."""
    return value.replace("*", "x").strip()


def _flags(value: Any) -> dict[str, bool]:
    return {str(k): v for k, v in as_mapping(value).items() if isinstance(v, bool)}
