"""``ImageProvider`` adapters over the two clients, and ``build_provider``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from providers.base import (
    BaseProvider,
    Capabilities,
    ConnectionTestResult,
    DsRoutes,
    EditRequest,
    GenerateRequest,
    GenerationResult,
    HistoryItem,
    ImageData,
    ImageProvider,
    ModelInfo,
    ProviderConfig,
    ProviderKind,
    QuotaInfo,
    RemoteWorkspace,
    ResultImage,
    is_provider_kind,
)
from providers.errors import (
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    paid_call,
)
from providers.http import Timeouts
from providers.nanogpt import DEFAULT_BASE_URL as NANOGPT_BASE_URL
from providers.nanogpt import NanoGPTClient
from providers.nanogpt_payloads import NanoGeneration
from providers.neuroflash import (
    DEFAULT_API_BASE_URL,
    DEFAULT_DS_ROUTES,
    DEFAULT_ISSUER_URL,
    NeuroflashClient,
    view_path,
)
from providers.neuroflash_payloads import Generation, HistoryEntry, ImageModel

# The sandbox's demo account (see sandbox/settings.py); used when the config leaves them empty.
SANDBOX_DEFAULT_URL = "http://127.0.0.1:8765"
SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - public demo credential
SANDBOX_WORKSPACE_ID = "sandbox-workspace"


class NeuroflashProvider(BaseProvider):
    """neuroflash (or the sandbox speaking its wire format) through ds-prototypes."""

    capabilities = Capabilities(
        has_history=True,
        has_delete=True,
        has_edit=True,
        has_quota=True,
        has_get_image=True,
        has_workspaces=True,
        edit_source="relative_url",
        quota_kind="credits",
    )

    def __init__(self, client: NeuroflashClient) -> None:
        self.client = client
        self.name = client.name

    def __repr__(self) -> str:
        return f"NeuroflashProvider({self.client!r})"

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(
            urlsplit(url).netloc.lower()
            for url in (self.client.api_base_url, self.client.issuer_url)
        )

    def close(self) -> None:
        self.client.close()

    def list_models(self) -> list[ModelInfo]:
        # The image-service catalog is the documented, paged source with `allowed`; the older
        # ds-prototypes /models serves the same ids and is the fallback where the image
        # service is not deployed.
        try:
            models = self.client.list_image_models()
        except NotFoundError:
            models = sorted(
                self.client.list_models(), key=lambda m: (m.order is None, m.order or 0, m.name)
            )
        return [_neuroflash_model(m) for m in models]

    def get_quota(self) -> QuotaInfo:
        quota = self.client.get_image_quota()
        if quota is None:
            # No "images" row: the plan has no image credits (e.g. Pay-As-You-Go). Report
            # nothing rather than inventing a zero.
            return QuotaInfo(kind="credits")
        return QuotaInfo(
            kind="credits",
            monthly_used=quota.used_amount,
            monthly_available=quota.available_amount,
            monthly_limit=quota.limit_amount,
            daily_used=quota.used_amount_daily,
            daily_limit=quota.limit_amount_daily,
            bonus=quota.bonus_amount,
            spillover=quota.spillover_amount,
            fair_use_limit_reached=quota.fair_use_limit_reached,
            daily_refreshed=quota.daily_refreshed,
            raw=quota.raw,
        )

    def generate(self, request: GenerateRequest) -> GenerationResult:
        # ds-prototypes takes aspect ratios, not pixel sizes, and has no seed; `size` and
        # `seed` are dropped rather than sent as fields it does not know.
        with paid_call():
            generation = self.client.generate(
                prompt=request.prompt,
                model=request.model,
                num_images=request.n,
                aspect_ratio=request.aspect_ratio,
                output_format=request.output_format,
                extra=request.extra,
            )
        return _neuroflash_result(generation)

    def edit(self, request: EditRequest) -> GenerationResult:
        if not request.source_urls:
            raise InvalidRequestError(
                f"{self.name} edits an image it already holds: pass the relative "
                "output_image_url from its history, not image bytes",
                provider=self.name,
            )
        with paid_call():
            generation = self.client.edit(
                prompt=request.prompt,
                image_urls=request.source_urls,
                model=request.model,
                num_images=request.n,
                aspect_ratio=request.aspect_ratio,
                output_format=request.output_format,
                extra=request.extra,
            )
        return _neuroflash_result(generation)

    def history_pages(
        self, *, page_size: int = 1000, model: str | None = None
    ) -> Iterator[list[HistoryItem]]:
        pages = self.client.history_pages(model=model, page_size=page_size)
        return ([_history_item(e) for e in page] for page in pages)

    def result_from_history(self, items: Sequence[HistoryItem]) -> GenerationResult:
        return GenerationResult(
            images=tuple(
                ResultImage(
                    provider_image_id=item.provider_image_id,
                    width=item.width,
                    height=item.height,
                    relative_url=item.relative_url,
                )
                for item in items
            ),
            batch_id=items[0].batch_id if items else None,
            cost=Decimal(len(items)),  # one image credit per image, as for a generate answer
            currency="credits",
        )

    def get_image(self, image_id: str) -> HistoryItem:
        return _history_item(self.client.get_history_entry(image_id))

    def get_image_content(self, image_id: str) -> ImageData:
        return self.client.view_image(image_id)

    def delete_image(self, image_id: str) -> None:
        self.client.delete_history_entry(image_id)

    def test_connection(self) -> ConnectionTestResult:
        started = time.monotonic()
        self.client.access_token()
        workspaces = self.client.list_workspaces()
        remote = tuple(RemoteWorkspace(id=w.id, name=w.name) for w in workspaces)
        found = self.client.workspace_id in {w.id for w in workspaces}
        quota_left: int | Decimal | None = None
        model_count: int | None = None
        routes: DsRoutes | None = None
        if found:
            # "Connected" must mean jobs and syncs will find their routes, not only that the
            # token works: the docs disagree on where they are, so ask the server.
            routes = self.client.discover_routes()
            self.client.ds_routes = routes
            quota_left = self.get_quota().remaining
            model_count = len(self.list_models())
        return ConnectionTestResult(
            token_ok=True,
            workspace_found=found,
            quota_left=quota_left,
            model_count=model_count,
            round_trip_ms=(time.monotonic() - started) * 1000,
            workspaces=remote,
            ds_routes=routes,
        )


class NanoGPTProvider(BaseProvider):
    """NanoGPT through the OpenAI-compatible route. No history, no delete: declared, not faked."""

    capabilities = Capabilities(
        has_edit=True, has_quota=True, edit_source="image_bytes", quota_kind="balance"
    )

    def __init__(self, client: NanoGPTClient, *, with_endpoint_pricing: bool = True) -> None:
        self.client = client
        self.name = client.name
        self.with_endpoint_pricing = with_endpoint_pricing

    def __repr__(self) -> str:
        return f"NanoGPTProvider({self.client!r})"

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({urlsplit(self.client.base_url).netloc.lower()})

    def close(self) -> None:
        self.client.close()

    def list_models(self) -> list[ModelInfo]:
        return self.client.list_models(with_endpoint_pricing=self.with_endpoint_pricing)

    def get_quota(self) -> QuotaInfo:
        balance = self.client.check_balance()
        return QuotaInfo(
            kind="balance", balance=balance.usd_balance, currency="USD", raw=balance.raw
        )

    def generate(self, request: GenerateRequest) -> GenerationResult:
        return self._generate(request, image_data_urls=())

    def edit(self, request: EditRequest) -> GenerationResult:
        sources = [self.client.data_url(image) for image in request.source_images]
        # A data URL given as a "url" is the same thing; real links are refused by the client.
        sources += list(request.source_urls)
        if not sources:
            raise InvalidRequestError(
                f"{self.name} needs the source image itself for an edit", provider=self.name
            )
        return self._generate(request, image_data_urls=sources)

    def _generate(
        self, request: GenerateRequest, *, image_data_urls: Sequence[str]
    ) -> GenerationResult:
        extra = dict(request.extra)
        # The OpenAI route has no aspect_ratio/output_format fields; models that take them
        # through passthrough get them only when the caller says so via `extra`.
        with paid_call():
            generation = self.client.generate(
                prompt=request.prompt,
                model=request.model,
                n=request.n,
                size=request.size,
                seed=request.seed,
                response_format=extra.pop("response_format", "b64_json"),
                image_data_urls=image_data_urls,
                extra=extra,
            )
        return _nanogpt_result(generation)

    def test_connection(self) -> ConnectionTestResult:
        started = time.monotonic()
        balance = self.client.check_balance()
        models = self.client.list_image_api_models()
        return ConnectionTestResult(
            token_ok=True,
            workspace_found=None,
            quota_left=balance.usd_balance,
            model_count=len(models),
            round_trip_ms=(time.monotonic() - started) * 1000,
        )


def build_provider(config: ProviderConfig) -> ImageProvider:
    """The adapter for ``config.kind``; raises ``ConfigurationError`` for unusable settings."""
    timeouts = Timeouts(
        connect=config.connect_timeout, read=config.read_timeout, generate=config.generate_timeout
    )
    if config.kind == "neuroflash":
        client = NeuroflashClient(
            client_id=config.client_id,
            client_secret=config.secret,
            workspace_id=config.workspace_id,
            issuer_url=config.issuer_url or DEFAULT_ISSUER_URL,
            api_base_url=config.base_url or DEFAULT_API_BASE_URL,
            timeouts=timeouts,
            token_store=config.token_store,
            network=config.network,
            **_ds_route_options(config),
        )
        return NeuroflashProvider(client)
    if config.kind == "sandbox":
        # One host serves the issuer, the app services and ds-prototypes on the real paths.
        base = config.base_url or SANDBOX_DEFAULT_URL
        client = NeuroflashClient(
            client_id=config.client_id or SANDBOX_CLIENT_ID,
            client_secret=config.secret or SANDBOX_CLIENT_SECRET,
            workspace_id=config.workspace_id or SANDBOX_WORKSPACE_ID,
            issuer_url=config.issuer_url or base,
            api_base_url=base,
            timeouts=timeouts,
            token_store=config.token_store,
            name="sandbox",
            trust_env=False,
            network=config.network,
            **_ds_route_options(config),
        )
        return NeuroflashProvider(client)
    if config.kind == "nanogpt":
        return NanoGPTProvider(
            NanoGPTClient(
                api_key=config.secret,
                base_url=config.base_url or NANOGPT_BASE_URL,
                auth_header=config.api_key_header,
                timeouts=timeouts,
                network=config.network,
            )
        )
    raise ConfigurationError(f"unknown provider kind {config.kind!r}", provider=str(config.kind))


# The sandbox speaks neuroflash's wire format, so it is the same adapter.
PROVIDER_CLASSES: dict[ProviderKind, type[NeuroflashProvider] | type[NanoGPTProvider]] = {
    "neuroflash": NeuroflashProvider,
    "sandbox": NeuroflashProvider,
    "nanogpt": NanoGPTProvider,
}


def capabilities_for(kind: str) -> Capabilities:
    """What a provider of this kind can do, read from its adapter class (no client is built).

    Raises ``ConfigurationError`` for a kind this package does not know.
    """
    if not is_provider_kind(kind):
        raise ConfigurationError(f"unknown provider kind {kind!r}", provider=kind)
    return PROVIDER_CLASSES[kind].capabilities


def _ds_route_options(config: ProviderConfig) -> dict[str, Any]:
    routes = DsRoutes(
        generation=config.generation_path or DEFAULT_DS_ROUTES.generation,
        history=config.history_path or DEFAULT_DS_ROUTES.history,
    )
    return {
        "ds_routes": routes,
        "pinned_routes": config.pinned_routes,
        "on_routes_discovered": config.on_routes_discovered,
    }


def _neuroflash_model(model: ImageModel) -> ModelInfo:
    return ModelInfo(
        id=model.id,
        name=model.name,
        description=model.description,
        upstream=model.provider,
        capabilities=model.capabilities,
        allowed=model.allowed,
        max_images=model.max_images,
        aspect_ratios=model.aspect_ratios,
        output_formats=model.output_formats,
        order=model.order,
        raw=model.raw,
    )


def _neuroflash_result(generation: Generation) -> GenerationResult:
    images = tuple(
        ResultImage(
            provider_image_id=image.image_id,
            url=image.url,
            content_type=image.content_type,
            width=image.width,
            height=image.height,
            # The generate answer has only the storage URL; history would give this very
            # path (spec §1.6.2), built here from the id so an edit needs no GET first.
            relative_url=view_path(image.image_id) if image.image_id else None,
        )
        for image in generation.images
    )
    return GenerationResult(
        images=images,
        batch_id=generation.batch_id,
        # One image credit per generated image (spec §1.3); neuroflash sends no cost field.
        cost=Decimal(len(images)),
        currency="credits",
        warning=generation.detail,
        raw=generation.raw,
    )


def _history_item(entry: HistoryEntry) -> HistoryItem:
    return HistoryItem(
        provider_image_id=entry.output_image_id,
        relative_url=entry.output_image_url,
        batch_id=entry.batch_id,
        prompt=entry.prompt,
        model=entry.model,
        width=entry.width,
        height=entry.height,
        size_bytes=entry.size_bytes,
        created_at=entry.created_at,
        parameters=entry.parameters,
        raw=entry.raw,
    )


def _nanogpt_result(generation: NanoGeneration) -> GenerationResult:
    return GenerationResult(
        images=tuple(
            ResultImage(url=image.url, data=image.data, content_type=image.content_type)
            for image in generation.images
        ),
        batch_id=None,
        cost=generation.cost,
        currency="USD" if generation.cost is not None else None,
        remaining_balance=generation.remaining_balance,
        raw=generation.raw,
    )
