"""neuroflash image generation shared by ds-prototypes and image-service v1: validate, charge
the quota, render, record in history. Each route family keeps its own field spelling."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox import imaging
from sandbox.catalog import (
    DEFAULT_NEUROFLASH_MODEL,
    NEUROFLASH_MODELS,
    NeuroflashModel,
    neuroflash_model,
)
from sandbox.neuroflash import nf_error, nf_validation
from sandbox.store import ImageRow, Quota, iso, utc_now
from sandbox.web import ApiError, Request

if TYPE_CHECKING:
    from sandbox.app import App

SERVICE_USER_ID = 4242

# Our field -> the name a route family uses on the wire (and in its validation errors).
SNAKE = {
    name: name
    for name in (
        "prompt",
        "model",
        "num_images",
        "aspect_ratio",
        "output_format",
        "seed",
        "limit_generations",
        "image_urls",
    )
}
CAMEL = {
    "prompt": "prompt",
    "model": "modelId",
    "num_images": "numImages",
    "aspect_ratio": "aspectRatio",
    "output_format": "outputFormat",
    "seed": "seed",
}


@dataclass
class Generation:
    prompt: str
    model: NeuroflashModel
    num_images: int
    aspect_ratio: str
    output_format: str
    seed: int
    image_urls: list[str] = field(default_factory=list)


class _Reader:
    """Reads fields by our names and words errors with the route's names."""

    def __init__(self, body: dict[str, Any], names: Mapping[str, str]) -> None:
        self.body, self.names = body, names
        self.errors: list[tuple[str, str]] = []

    def get(self, key: str, default: Any = None) -> Any:
        name = self.names.get(key)
        return self.body.get(name, default) if name else default

    def error(self, key: str, message: str) -> None:
        name = self.names.get(key, key)
        self.errors.append((name, message.replace("{name}", name)))

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.get(key)
        if value is None:
            return default
        if value not in allowed:
            self.error(key, f"{{name}} must be one of: {', '.join(allowed)}")
            return default
        return str(value)


def _model(value: Any, reader: _Reader) -> NeuroflashModel | None:
    # The reference types `model` as an object and shows `{}`; the guide sends the id string.
    if value is None or value == {}:
        value = DEFAULT_NEUROFLASH_MODEL
    elif isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str):
        reader.error("model", "{name} must be a model id string")
        return None
    model = neuroflash_model(value)
    if model is None:
        known = ", ".join(m.id for m in NEUROFLASH_MODELS)
        reader.error("model", f"unknown model {value!r}; known models: {known}")
    return model


def parse(body: dict[str, Any], *, edit: bool, names: Mapping[str, str] = SNAKE) -> Generation:
    """Validate a generation request; every problem is reported at once, as a 422."""
    r = _Reader(body, names)
    prompt = r.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        r.error("prompt", "{name} is required and must be a non-empty string")
    model = _model(r.get("model"), r)
    limit = r.get("limit_generations", False)
    if not isinstance(limit, bool):
        r.error("limit_generations", "{name} must be a boolean")
    num_images = r.get("num_images", 1)
    max_images = model.max_images if model else 1
    if isinstance(num_images, bool) or not isinstance(num_images, int):
        r.error("num_images", "{name} must be an integer")
    elif not 1 <= num_images <= max_images:
        where = f" for model {model.id}" if model else ""
        r.error("num_images", f"{{name}} must be between 1 and {max_images}{where}")
    seed = r.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        r.error("seed", "{name} must be an integer")

    ratios = model.aspect_ratios if model else ()
    formats = model.output_formats if model else ("png",)
    aspect_ratio = r.choice(
        "aspect_ratio", ("auto", *ratios) if edit else ratios, "auto" if edit else "1:1"
    )
    output_format = r.choice("output_format", formats, "png" if "png" in formats else formats[0])

    image_urls = r.get("image_urls")
    if edit:
        if not isinstance(image_urls, list) or not image_urls:
            r.error("image_urls", "{name} is required: a non-empty list of paths")
        elif not all(isinstance(url, str) for url in image_urls):
            r.error("image_urls", "{name} must contain strings")
        if model and "image2image" not in model.capabilities:
            r.error("model", f"model {model.id} does not support image2image")
    if r.errors or model is None:
        raise nf_validation(r.errors)
    return Generation(
        prompt=prompt,
        model=model,
        num_images=1 if limit else num_images,
        aspect_ratio=aspect_ratio,
        output_format=output_format,
        seed=seed if seed is not None else random.randrange(2**31),
        image_urls=list(image_urls) if edit else [],
    )


def quota_error(app: App, quota: Quota | None) -> ApiError:
    status = app.config.quota_status
    if quota is not None and quota.available > 0 and quota.daily_room == 0:
        now = utc_now()
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        retry = str(max(1, int((midnight - now).total_seconds())))
        used = f"{quota.used_daily}/{quota.limit_daily}"
        message = f"Daily image limit reached ({used}); resets at midnight UTC"
        return nf_error(status, message, "DAILY_QUOTA_EXCEEDED", {"Retry-After": retry})
    return nf_error(status, "The image quota for this billing cycle is used up", "QUOTA_EXCEEDED")


def _detail(wanted: int, granted: int, quota: Quota) -> str | None:
    """The non-fatal warning a successful response carries in `detail`."""
    if granted < wanted:
        return f"QUOTA WARNING: only {granted} of {wanted} images generated; the quota is used up"
    low_monthly = quota.available < max(1, quota.limit_monthly // 10)
    low_daily = quota.daily_room < max(1, quota.limit_daily // 10)
    if low_monthly or low_daily:
        return (
            f"QUOTA WARNING: {quota.available} images left this cycle, "
            f"{quota.daily_room} left today"
        )
    return None


def image_bytes(app: App, row: ImageRow) -> bytes:
    """Stored bytes, or a render on first view for seeded rows (the same bytes every time)."""
    if row.data is None:
        row.data = imaging.render(row.prompt, row.seed, row.width, row.height, row.format)
        app.store.store_image_data(row.image_id, row.data)
        row.size = len(row.data)
    return row.data


def produce(
    app: App,
    req: Request,
    workspace_id: str,
    job: Generation,
    *,
    source: ImageRow | None = None,
) -> tuple[list[ImageRow], str | None]:
    """Charge the quota, render and record the images; returns them with the `detail` warning.

    When the quota covers only part of the request, the part is generated and `detail` says so,
    the "partial quota" warning the docs describe.
    """
    if not job.model.allowed:
        raise nf_error(
            403, f"Model {job.model.id} is not enabled for this workspace", "MODEL_NOT_ALLOWED"
        )
    if app.faults.take_quota_exhausted(req):
        raise quota_error(app, None)
    # Reserve before rendering, so two concurrent requests cannot both spend the last credit.
    granted, quota = app.store.reserve_images(workspace_id, job.num_images)
    if granted == 0:
        raise quota_error(app, quota)
    app.counters.charge("neuroflash", granted)

    source_bytes = image_bytes(app, source) if source else None
    if job.aspect_ratio != "auto":
        width, height = imaging.size_for_aspect_ratio(job.aspect_ratio)
    elif source:
        width, height = source.width, source.height
    else:
        width = height = imaging.LONG_SIDE
    batch_id, created_at = str(uuid.uuid4()), iso(utc_now())
    rows = []
    for i in range(granted):
        seed = job.seed + i
        data = imaging.render(
            job.prompt, seed, width, height, job.output_format, source=source_bytes
        )
        parameters = {
            "aspect_ratio": job.aspect_ratio,
            "output_format": job.output_format,
            "num_images": job.num_images,
            "seed": seed,
        }
        rows.append(
            ImageRow(
                str(uuid.uuid4()), batch_id, workspace_id, SERVICE_USER_ID, job.prompt,
                job.model.id, parameters, job.image_urls, width, height, job.output_format,
                seed, created_at, len(data), data,
            )
        )  # fmt: skip
    app.store.insert_images(rows)
    return rows, _detail(job.num_images, granted, quota)
