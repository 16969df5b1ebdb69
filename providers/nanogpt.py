"""NanoGPT client: image model discovery (both listings, merged), per-model pricing, generation
through the OpenAI-compatible route, and the account balance.

Wire facts: docs/provider-spec.md §2 (condensed from NanoGPT's public docs, with sources).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urljoin

import requests

from providers._parse import PayloadError
from providers.base import ImageData, ModelInfo, Price
from providers.errors import (
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    TransientError,
)
from providers.http import HttpClient, Timeouts, origin
from providers.nanogpt_payloads import (
    Balance,
    ImageApiModel,
    LegacyImageModel,
    ModelEndpoints,
    NanoGeneration,
)
from providers.netguard import NetworkPolicy

logger = logging.getLogger("providers.nanogpt")

DEFAULT_BASE_URL = "https://nano-gpt.com"
# NanoGPT allows 25 requests/s per key; stay below it even during a catalog sync.
MIN_REQUEST_INTERVAL = 1 / 20
# The OpenAI route accepts input images only as data URLs of at most 4 MB after encoding.
MAX_DATA_URL_BYTES = 4 * 1024 * 1024

AuthHeader = Literal["bearer", "x-api-key"]
T = TypeVar("T")

_CAPABILITY_WORDS = {
    "image_generation": "text2image",
    "image_to_image": "image2image",
    "inpainting": "inpainting",
}


class NanoGPTClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        auth_header: AuthHeader = "bearer",
        timeouts: Timeouts | None = None,
        session: requests.Session | None = None,
        min_interval: float = MIN_REQUEST_INTERVAL,
        name: str = "NanoGPT",
        trust_env: bool = True,
        network: NetworkPolicy | None = None,
    ) -> None:
        if not api_key:
            raise ConfigurationError(f"{name} needs an API key", provider=name)
        if auth_header not in ("bearer", "x-api-key"):
            raise ConfigurationError(f"unknown {name} auth header {auth_header!r}", provider=name)
        self.name = name
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.auth_header = auth_header
        self.http = HttpClient(
            provider=name,
            timeouts=timeouts,
            session=session,
            min_interval=min_interval,
            credential_name="the API key",
            trust_env=trust_env,
            # Unless told otherwise, the host this client was configured with may be local.
            network=network or NetworkPolicy.allowing([self.base_url]),
        )
        self.http.add_secret(api_key)

    def __repr__(self) -> str:
        return (
            f"NanoGPTClient(name={self.name!r}, base_url={self.base_url!r}, "
            f"auth_header={self.auth_header!r}, api_key='***')"
        )

    def close(self) -> None:
        self.http.close()

    def _auth(self, style: AuthHeader | None = None) -> dict[str, str]:
        # Never send "x-x402": it switches NanoGPT to the accountless pay-per-request flow.
        if (style or self.auth_header) == "x-api-key":
            return {"x-api-key": self._api_key}
        return {"Authorization": f"Bearer {self._api_key}"}

    def _parse(self, action: str, parser: Callable[[Any], T], data: Any) -> T:
        try:
            return parser(data)
        except (PayloadError, TypeError, ValueError) as exc:
            raise self.http.malformed(action, str(exc)) from None

    def _list(
        self, path: str, *, action: str, params: Mapping[str, Any] | None = None
    ) -> list[Any]:
        body = self.http.send_json(
            "GET", self.base_url + path, action=action, params=params, headers=self._auth()
        )
        rows = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(rows, list):
            raise self.http.malformed(action, "expected an object with a 'data' list")
        return rows

    # -- models ----------------------------------------------------------------------------

    def list_image_api_models(self) -> list[ImageApiModel]:
        action = "listing image models"
        rows = self._list("/api/v1/images/models", action=action)
        return [self._parse(action, ImageApiModel.from_api, row) for row in rows]

    def list_legacy_image_models(self, *, detailed: bool = True) -> list[LegacyImageModel]:
        action = "listing image models (detailed)"
        rows = self._list(
            "/api/v1/image-models",
            action=action,
            params={"detailed": "true" if detailed else "false"},
        )
        return [self._parse(action, LegacyImageModel.from_api, row) for row in rows]

    def endpoints_url(self, model: ImageApiModel | str) -> str:
        """The per-model endpoints URL: the listing's link verbatim, else built from the id.

        Model ids contain slashes ("openai/gpt-image-1"). The docs say to follow the returned
        link; when we must build it, the slashes stay literal path separators (as in the links
        NanoGPT itself returns) and only other unsafe characters are escaped.
        """
        if isinstance(model, ImageApiModel) and model.endpoints:
            return urljoin(self.base_url + "/", model.endpoints)
        model_id = model.id if isinstance(model, ImageApiModel) else model
        if not model_id:
            raise InvalidRequestError("a model id is required", provider=self.name)
        return f"{self.base_url}/api/v1/images/models/{quote(model_id, safe='/')}/endpoints"

    def get_model_endpoints(self, model: ImageApiModel | str) -> ModelEndpoints:
        action = "reading model pricing"
        url = self.endpoints_url(model)
        # Discovery needs no auth; never hand the key to a host that is not NanoGPT's.
        headers = self._auth() if origin(url) == origin(self.base_url) else {}
        model_id = model.id if isinstance(model, ImageApiModel) else model
        body = self.http.send_json(
            "GET", url, action=action, headers=headers, not_found=f"the model {model_id}"
        )
        return self._parse(action, ModelEndpoints.from_api, body)

    def list_models(self, *, with_endpoint_pricing: bool = True) -> list[ModelInfo]:
        """Both listings merged into one description per model id.

        The Image API route (typed descriptors) is the primary list; the legacy detailed route
        adds the OpenAI route's ``size`` values, ``max_images``, ``fixed_image_count``,
        ``rendering_speed`` and flat per-image prices. With ``with_endpoint_pricing`` each
        model's endpoints document replaces the flat prices (one request per model, throttled).
        Either listing may be missing (404) as long as the other answers.
        """
        try:
            primary = self.list_image_api_models()
        except NotFoundError:
            primary = []
        try:
            legacy = {m.id: m for m in self.list_legacy_image_models(detailed=True)}
        except NotFoundError:
            if not primary:
                raise
            legacy = {}
        by_id: dict[str, ModelInfo] = {}
        for model in primary:
            endpoints = None
            if with_endpoint_pricing:
                try:
                    endpoints = self.get_model_endpoints(model)
                except (NotFoundError, InvalidRequestError, TransientError) as exc:
                    # One model's missing pricing (or a 429 on it) must not hide the whole
                    # catalog: the model stays, its price comes with the next refresh.
                    logger.warning("no endpoint pricing for %s: %s", model.id, exc)
            by_id[model.id] = merge_model(model, legacy.get(model.id), endpoints)
        for model_id, old in legacy.items():
            if model_id not in by_id:
                by_id[model_id] = merge_model(None, old, None)
        return list(by_id.values())

    # -- generation ------------------------------------------------------------------------

    def generate(
        self,
        *,
        prompt: str,
        model: str | None = None,
        n: int | None = None,
        size: str | None = None,
        response_format: Literal["url", "b64_json"] | None = "b64_json",
        seed: int | None = None,
        user: str | None = None,
        image_data_urls: Sequence[str] = (),
        mask_data_url: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> NanoGeneration:
        """``POST /v1/images/generations``.

        ``b64_json`` is the default (and NanoGPT falls back to it even when ``url`` is asked for
        and presigning fails); a ``url`` expires in about an hour, so download it at once.
        """
        if not prompt or not prompt.strip():
            raise InvalidRequestError("a prompt is required", provider=self.name)
        body: dict[str, Any] = {"prompt": prompt}
        optional: dict[str, Any] = {
            "model": model,
            "n": n,
            "size": size,
            "response_format": response_format,
            "seed": seed,
            "user": user,
            "maskDataUrl": mask_data_url,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        urls = list(image_data_urls)
        for url in urls + ([mask_data_url] if mask_data_url else []):
            self._check_data_url(url)
        if len(urls) == 1:
            body["imageDataUrl"] = urls[0]
        elif urls:
            body["imageDataUrls"] = urls
        body.update(extra or {})
        action = "generating images"
        data = self.http.send_json(
            "POST",
            self.base_url + "/v1/images/generations",
            action=action,
            json_body=body,
            headers=self._auth(),
            slow=True,
        )
        return self._parse(action, NanoGeneration.from_api, data)

    def _check_data_url(self, url: str) -> None:
        # Remote URLs are not fetched by this route, and oversized inputs are rejected; say so
        # before spending a request.
        if not isinstance(url, str) or not url.startswith("data:"):
            raise InvalidRequestError(
                f"{self.name} needs source images as base64 data URLs, not links",
                provider=self.name,
            )
        if len(url) > MAX_DATA_URL_BYTES:
            raise InvalidRequestError(
                f"the source image is too large for {self.name} "
                f"({len(url) / 1_048_576:.1f} MB encoded, at most 4 MB)",
                provider=self.name,
            )

    @staticmethod
    def data_url(image: ImageData) -> str:
        content_type = image.content_type or "image/png"
        return f"data:{content_type};base64,{base64.b64encode(image.content).decode('ascii')}"

    # -- account ---------------------------------------------------------------------------

    def check_balance(self) -> Balance:
        """``POST /api/check-balance``; this route documents only ``x-api-key`` auth."""
        action = "checking the balance"
        data = self.http.send_json(
            "POST",
            self.base_url + "/api/check-balance",
            action=action,
            headers=self._auth("x-api-key"),
        )
        return self._parse(action, Balance.from_api, data)


def merge_model(
    primary: ImageApiModel | None,
    legacy: LegacyImageModel | None,
    endpoints: ModelEndpoints | None,
) -> ModelInfo:
    """One ``ModelInfo`` from whatever NanoGPT told us about a model id."""
    if primary is None and legacy is None:
        raise ValueError("merge_model needs at least one listing entry")
    params = primary.supported_parameters if primary else {}
    resolution = params.get("resolution")
    count = params.get("n")
    flags = dict(legacy.capabilities if legacy else {})
    flags.update(primary.capabilities if primary else {})
    capabilities = tuple(word for key, word in _CAPABILITY_WORDS.items() if flags.get(key))

    # The OpenAI route takes its ``size`` values from the legacy list (spec §2.2), so prefer it.
    sizes = (legacy.resolutions if legacy else ()) or (resolution.values if resolution else ())
    default_size = (
        resolution.default if resolution and isinstance(resolution.default, str) else None
    )
    max_images = (legacy.max_images if legacy else None) or (count.max if count else None)

    prices: tuple[Price, ...] = ()
    if endpoints is not None and endpoints.prices:
        prices = tuple(
            Price(
                amount=p.cost_usd, currency="USD", unit=p.unit or "image", resolution=p.resolution
            )
            for p in endpoints.prices
        )
    elif legacy is not None and legacy.price_per_image:
        currency = legacy.currency or "USD"
        prices = tuple(
            Price(amount=amount, currency=currency, unit="image", resolution=size)
            for size, amount in legacy.price_per_image.items()
        )

    def enum(key: str) -> tuple[str, ...]:
        descriptor = params.get(key)
        return descriptor.values if descriptor else ()

    base = primary or legacy
    assert base is not None
    raw: dict[str, Any] = {}
    if primary is not None:
        raw["images_models"] = dict(primary.raw)
    if legacy is not None:
        raw["image_models"] = dict(legacy.raw)
    if endpoints is not None:
        raw["endpoints"] = dict(endpoints.raw)
    return ModelInfo(
        id=base.id,
        name=base.name,
        description=base.description,
        upstream=base.owned_by,
        capabilities=capabilities,
        allowed=True,
        max_images=max_images,
        fixed_image_count=legacy.fixed_image_count if legacy else None,
        aspect_ratios=enum("aspect_ratio"),
        sizes=sizes,
        default_size=default_size,
        output_formats=enum("output_format"),
        rendering_speeds=legacy.rendering_speeds if legacy else (),
        order=None,
        prices=prices,
        raw=raw,
    )
