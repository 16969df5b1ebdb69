"""neuroflash response payloads as frozen dataclasses.

Each ``from_api`` tolerates unknown fields and treats every field the docs type as "object"
(widths, sizes, ids, ``detail``) as nullable, because the reference pages show ``{}``
placeholders where the guide shows numbers and UUIDs. ``raw`` keeps the original dict for the
catalog/history mirror, which stores it as JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers._parse import (
    PayloadError,
    as_mapping,
    opt_bool,
    opt_date,
    opt_datetime,
    opt_int,
    opt_message,
    opt_str,
    require_mapping,
    require_str,
    str_tuple,
)


@dataclass(frozen=True, slots=True)
class AccessToken:
    access_token: str = field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - the scheme name
    expires_in: int | None = None

    @classmethod
    def from_api(cls, data: Any) -> AccessToken:
        data = require_mapping(data, "the token response")
        return cls(
            access_token=require_str(data, "access_token"),
            token_type=opt_str(data.get("token_type")) or "Bearer",
            expires_in=opt_int(data.get("expires_in")),
        )


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> Workspace:
        data = require_mapping(data, "a workspace")
        return cls(id=require_str(data, "id"), name=opt_str(data.get("name")), raw=dict(data))


@dataclass(frozen=True, slots=True)
class PageInfo:
    size: int | None = None
    total_elements: int | None = None
    total_pages: int | None = None
    current_page: int | None = None

    @classmethod
    def from_api(cls, data: Any) -> PageInfo:
        data = as_mapping(data)
        return cls(
            size=opt_int(data.get("size")),
            total_elements=opt_int(data.get("totalElements")),
            total_pages=opt_int(data.get("totalPages")),
            current_page=opt_int(data.get("currentPage")),
        )


@dataclass(frozen=True, slots=True)
class Quota:
    """One usage-service quota row (``usageTypeKey=images`` for image credits)."""

    usage_type_key: str | None = None
    available_amount: int | None = None
    used_amount: int | None = None
    limit_amount: int | None = None
    used_amount_daily: int | None = None
    limit_amount_daily: int | None = None
    bonus_amount: int | None = None
    spillover_amount: int | None = None
    fair_use_limit_reached: bool | None = None
    # Optional: the guide's example omits it, the quotas page includes it.
    daily_refreshed: dt.date | None = None
    id: str | None = None
    workspace_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> Quota:
        data = require_mapping(data, "a quota")
        return cls(
            usage_type_key=opt_str(data.get("usageTypeKey")),
            available_amount=opt_int(data.get("availableAmount")),
            used_amount=opt_int(data.get("usedAmount")),
            limit_amount=opt_int(data.get("limitAmount")),
            used_amount_daily=opt_int(data.get("usedAmountDaily")),
            limit_amount_daily=opt_int(data.get("limitAmountDaily")),
            bonus_amount=opt_int(data.get("bonusAmount")),
            spillover_amount=opt_int(data.get("spilloverAmount")),
            fair_use_limit_reached=opt_bool(data.get("fairUseLimitReached")),
            daily_refreshed=opt_date(data.get("dailyRefreshed")),
            id=opt_str(data.get("id")),
            workspace_id=opt_str(data.get("workspaceId")),
            raw=dict(data),
        )

    @property
    def daily_remaining(self) -> int | None:
        if self.limit_amount_daily is None or self.used_amount_daily is None:
            return None
        return max(self.limit_amount_daily - self.used_amount_daily, 0)


@dataclass(frozen=True, slots=True)
class ImageModel:
    """A catalog entry from image-service (camelCase) or ds-prototypes ``/models`` (snake_case)."""

    id: str
    name: str
    provider: str | None = None
    description: str | None = None
    capabilities: tuple[str, ...] = ()
    max_images: int | None = None
    aspect_ratios: tuple[str, ...] = ()
    output_formats: tuple[str, ...] = ()
    allowed: bool = True
    order: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> ImageModel:
        data = require_mapping(data, "an image model")
        model_id = require_str(data, "id")

        def pick(camel: str, snake: str) -> Any:
            return data.get(camel) if camel in data else data.get(snake)

        allowed = opt_bool(data.get("allowed"))
        return cls(
            id=model_id,
            name=opt_str(data.get("name")) or model_id,
            provider=opt_str(data.get("provider")),
            description=opt_str(data.get("description")),
            capabilities=str_tuple(data.get("capabilities")),
            max_images=opt_int(pick("maxImages", "max_images")),
            aspect_ratios=str_tuple(pick("aspectRatios", "aspect_ratios")),
            output_formats=str_tuple(pick("outputFormats", "output_formats")),
            # Absent means the catalog did not restrict it; an explicit false is kept.
            allowed=True if allowed is None else allowed,
            order=opt_int(data.get("order")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    """One image in a ds-prototypes generate/edit response. ``url`` is an absolute storage URL."""

    url: str | None = None
    image_id: str | None = None
    content_type: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None

    @classmethod
    def from_api(cls, data: Any) -> GeneratedImage:
        data = require_mapping(data, "a generated image")
        return cls(
            url=opt_str(data.get("url")),
            image_id=opt_str(data.get("image_id")),
            content_type=opt_str(data.get("content_type")),
            file_name=opt_str(data.get("file_name")),
            file_size=opt_int(data.get("file_size")),
            width=opt_int(data.get("width")),
            height=opt_int(data.get("height")),
        )


@dataclass(frozen=True, slots=True)
class Generation:
    """A ds-prototypes text2image or image2image response.

    ``batch_id`` only groups the images; act on single images by ``GeneratedImage.image_id``.
    ``detail`` carries non-fatal warnings (e.g. quota running low) on success.
    """

    images: tuple[GeneratedImage, ...]
    batch_id: str | None = None
    prompt: str | None = None
    description: str | None = None
    detail: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> Generation:
        data = require_mapping(data, "the generation response")
        images = data.get("images")
        if not isinstance(images, list):
            raise PayloadError("the generation response has no 'images' list")
        return cls(
            images=tuple(GeneratedImage.from_api(item) for item in images),
            batch_id=opt_str(data.get("batch_id")),
            prompt=opt_str(data.get("prompt")),
            description=opt_str(data.get("description")),
            detail=opt_message(data.get("detail")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One ds-prototypes history entry.

    ``output_image_id`` is the image id (the API calls it the "generation id"); delete and get by
    it, never by ``batch_id``. ``output_image_url`` is RELATIVE and is the only form ``/edit``
    accepts.
    """

    output_image_id: str
    output_image_url: str | None = None
    batch_id: str | None = None
    prompt: str | None = None
    model: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    input_images: Any = None
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    created_at: dt.datetime | None = None
    user_id: str | None = None
    workspace_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> HistoryEntry:
        data = require_mapping(data, "a history entry")
        input_images = data.get("input_images")
        return cls(
            output_image_id=require_str(data, "output_image_id"),
            output_image_url=opt_str(data.get("output_image_url")),
            batch_id=opt_str(data.get("batch_id")),
            prompt=opt_str(data.get("prompt")),
            model=opt_str(data.get("model")),
            parameters=as_mapping(data.get("parameters")),
            input_images=input_images if input_images not in ({}, None) else None,
            width=opt_int(data.get("output_image_width")),
            height=opt_int(data.get("output_image_height")),
            size_bytes=opt_int(data.get("output_image_size")),
            created_at=opt_datetime(data.get("created_at")),
            user_id=opt_str(data.get("user_id")),
            workspace_id=opt_str(data.get("workspace_id")),
            raw=dict(data),
        )
