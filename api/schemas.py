"""What the API reads and answers, as OpenAPI documents it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field


class ErrorOut(Schema):
    message: str
    # Field name → messages, for a request that is not valid (400); "__all__" for the whole.
    errors: dict[str, list[str]] | None = None
    # Why a submit was refused (409, 429): busy, rate, quota or budget.
    reason: str | None = None
    # How much more the member's own budget needs, when that is the reason.
    lacking: str | None = None


class TokenOut(Schema):
    workspace: str = Field(description="The workspace's slug")
    workspace_name: str
    user: str = Field(description="The token owner's email")
    role: str = Field(description="What the token may do now: the lower of its role and yours")


class ModelOut(Schema):
    id: str
    name: str
    group: str
    allowed: bool = Field(description="False: listed by the provider, not in this plan")
    can_generate: bool
    can_edit: bool
    max_images: int | None
    fixed_image_count: int | None
    aspect_ratios: list[str]
    sizes: list[str]
    default_size: str
    output_formats: list[str]


class JobIn(Schema):
    model_config = ConfigDict(extra="forbid")

    prompt: str
    model: str = Field(description="A model id from GET /api/models")
    n: int | None = Field(None, description="How many images; the model's default when left out")
    aspect_ratio: str | None = None
    size: str | None = None
    output_format: str | None = None
    source_image_id: int | None = Field(
        None, description="Edit this image (its id from GET /api/images) instead of generating"
    )


class PersonOut(Schema):
    id: int
    name: str


class ImageOut(Schema):
    id: int
    job_id: int | None
    parent_id: int | None = Field(description="The image this one was edited from")
    prompt: str
    model: str
    author: PersonOut | None
    source: str
    review_state: str
    width: int | None
    height: int | None
    format: str
    bytes: int | None
    checksum: str
    created_at: dt.datetime
    original_url: str = Field(description="GET it (with the token) for the original file")
    page_url: str = Field(description="The image's page in the gallery")


class JobOut(Schema):
    id: int
    kind: str
    state: str = Field(description="queued, running, succeeded, failed or cancelled")
    finished: bool
    prompt: str
    model: str
    params: dict[str, Any]
    source_image_id: int | None
    author: PersonOut | None
    queue_position: int | None
    note: str = Field(description="Why it waits or failed, or what it is doing now")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    images: list[ImageOut]


class ImageListOut(Schema):
    items: list[ImageOut]
    next_cursor: str | None = Field(
        description="Pass it as ?cursor= for the next page; null on the last page"
    )
