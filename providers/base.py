"""The provider-neutral interface the app codes against.

``ImageProvider`` is what ``build_provider(config)`` returns for every kind. Features one
provider lacks are declared in ``capabilities`` and raise ``UnsupportedCapability`` when called
anyway, so the UI can hide them instead of the adapter faking an answer (NanoGPT has no history
and no delete API).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeGuard, get_args, runtime_checkable

from providers.errors import UnsupportedCapability
from providers.netguard import NetworkPolicy
from providers.tokens import TokenStore

ProviderKind = Literal["neuroflash", "nanogpt", "sandbox"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = get_args(ProviderKind)
EditSource = Literal["relative_url", "image_bytes"]
# What a provider's quota counts: images (neuroflash credits) or money (a NanoGPT balance).
QuotaKind = Literal["credits", "balance"]


def is_provider_kind(value: str) -> TypeGuard[ProviderKind]:
    """Whether ``value`` (a stored credential's kind, say) names a provider this package has."""
    return value in PROVIDER_KINDS


# neuroflash's ds-prototypes routes come in two families whose base path the docs disagree on
# (spec §1.6.0): "generation" is generate (POST /) and models; "history" is history,
# history/{id} (GET, DELETE) and edit.
DsFamily = Literal["generation", "history"]
DS_FAMILIES: tuple[DsFamily, ...] = ("generation", "history")


@dataclass(frozen=True, slots=True)
class DsRoutes:
    """Where each ds-prototypes route family lives: absolute paths on the API host."""

    generation: str
    history: str

    def prefix(self, family: DsFamily) -> str:
        return self.generation if family == "generation" else self.history


@dataclass(frozen=True, slots=True)
class Capabilities:
    has_history: bool = False
    has_delete: bool = False
    has_edit: bool = False
    has_quota: bool = False
    has_get_image: bool = False
    has_workspaces: bool = False
    # What ``EditRequest`` must carry: neuroflash wants the relative ``output_image_url`` of an
    # image it already holds, NanoGPT wants the image bytes (sent as a data URL).
    edit_source: EditSource | None = None
    quota_kind: QuotaKind | None = None


@dataclass(frozen=True, slots=True)
class Price:
    amount: Decimal
    currency: str = "USD"
    unit: str = "image"
    resolution: str | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model, normalised across providers; ``raw`` keeps what the provider sent."""

    id: str
    name: str
    description: str | None = None
    upstream: str | None = None
    # Normalised capability words: "text2image", "image2image", "inpainting".
    capabilities: tuple[str, ...] = ()
    allowed: bool = True
    max_images: int | None = None
    # Set when the model always returns this many images and ignores ``n``.
    fixed_image_count: int | None = None
    aspect_ratios: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    default_size: str | None = None
    output_formats: tuple[str, ...] = ()
    rendering_speeds: tuple[str, ...] = ()
    order: int | None = None
    prices: tuple[Price, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def can_edit(self) -> bool:
        return "image2image" in self.capabilities

    def price_for(self, size: str | None = None) -> Price | None:
        """The per-image price for ``size`` (or the only/first price when size is unknown)."""
        if not self.prices:
            return None
        if size is not None:
            for price in self.prices:
                if price.resolution == size:
                    return price
        untyped = [p for p in self.prices if p.resolution is None]
        return untyped[0] if untyped else self.prices[0]


@dataclass(frozen=True, slots=True)
class QuotaInfo:
    """What is left to spend: image credits (neuroflash) or money (NanoGPT)."""

    kind: QuotaKind
    monthly_used: int | None = None
    monthly_available: int | None = None
    monthly_limit: int | None = None
    daily_used: int | None = None
    daily_limit: int | None = None
    bonus: int | None = None
    spillover: int | None = None
    fair_use_limit_reached: bool | None = None
    daily_refreshed: dt.date | None = None
    balance: Decimal | None = None
    currency: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def daily_remaining(self) -> int | None:
        return daily_left(daily_limit=self.daily_limit, daily_used=self.daily_used)

    @property
    def remaining(self) -> int | Decimal | None:
        """Images that can still be generated now (both limits must have room), or money left."""
        if self.kind == "balance":
            return self.balance
        return images_left(
            monthly_available=self.monthly_available,
            daily_limit=self.daily_limit,
            daily_used=self.daily_used,
        )


def daily_left(*, daily_limit: int | None, daily_used: int | None) -> int | None:
    """Images left today; None when the provider reports no daily limit."""
    if daily_limit is None or daily_used is None:
        return None
    return max(daily_limit - daily_used, 0)


def images_left(
    *, monthly_available: int | None, daily_limit: int | None, daily_used: int | None
) -> int | None:
    """How many more images fit now: the smaller of the monthly and the daily room (None when
    neither is reported). The one definition: live quotas and stored snapshots both use it."""
    room = daily_left(daily_limit=daily_limit, daily_used=daily_used)
    candidates = [left for left in (monthly_available, room) if left is not None]
    return min(candidates) if candidates else None


@dataclass(frozen=True, slots=True)
class ImageData:
    content: bytes = field(repr=False)
    content_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    prompt: str
    model: str | None = None
    n: int = 1
    aspect_ratio: str | None = None
    # Pixel size / resolution value ("1024x1024", "auto", ...) for providers that take one.
    size: str | None = None
    output_format: str | None = None
    seed: int | None = None
    # Provider-specific fields passed through verbatim (they win over the ones above).
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EditRequest(GenerateRequest):
    # neuroflash: relative ``output_image_url`` paths from history (absolute URLs are refused).
    source_urls: tuple[str, ...] = ()
    # NanoGPT: the source images themselves.
    source_images: tuple[ImageData, ...] = ()


@dataclass(frozen=True, slots=True)
class ResultImage:
    provider_image_id: str | None = None
    # Absolute download URL; NanoGPT's expire in about an hour, so download at once.
    url: str | None = None
    data: bytes | None = field(default=None, repr=False)
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    # The provider's own path for the image (neuroflash's ``output_image_url``): what an edit
    # names its source by. Kept so an edit of a fresh image needs no lookup first.
    relative_url: str | None = None


@dataclass(frozen=True, slots=True)
class GenerationResult:
    images: tuple[ResultImage, ...]
    batch_id: str | None = None
    cost: Decimal | None = None
    currency: str | None = None
    remaining_balance: Decimal | None = None
    # Non-fatal provider warning on success (e.g. neuroflash quota running low).
    warning: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class HistoryItem:
    provider_image_id: str
    # Relative path on the provider's API host; the form neuroflash ``/edit`` wants.
    relative_url: str | None = None
    batch_id: str | None = None
    prompt: str | None = None
    model: str | None = None
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    created_at: dt.datetime | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RemoteWorkspace:
    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionTestResult:
    token_ok: bool
    workspace_found: bool | None  # None: the provider has no workspaces
    quota_left: int | Decimal | None
    model_count: int | None
    round_trip_ms: float
    # Every workspace the credentials can see, so an operator can pick one.
    workspaces: tuple[RemoteWorkspace, ...] = ()
    # Where the ds-prototypes routes answered (neuroflash and the sandbox; None elsewhere).
    ds_routes: DsRoutes | None = None

    @property
    def ok(self) -> bool:
        return self.token_ok and self.workspace_found is not False


@dataclass(frozen=True)
class ProviderConfig:
    """Everything ``build_provider`` needs; the app fills it from a ``ProviderCredential``.

    ``secret`` is the neuroflash client secret or the NanoGPT API key. Unset URLs fall back to
    the public defaults (or, for ``sandbox``, to ``base_url`` for everything).
    """

    kind: ProviderKind
    client_id: str = ""
    secret: str = field(default="", repr=False)
    workspace_id: str | None = None
    base_url: str | None = None
    issuer_url: str | None = None
    # Where the ds-prototypes route families live, when known (set by an admin, or found by
    # discovery earlier). None: start from the documented default and discover on a 404.
    generation_path: str | None = None
    history_path: str | None = None
    # Families an admin set by hand: used as they are, never rediscovered.
    pinned_routes: frozenset[DsFamily] = frozenset()
    api_key_header: Literal["bearer", "x-api-key"] = "bearer"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    generate_timeout: float = 180.0
    token_store: TokenStore | None = field(default=None, repr=False, compare=False)
    # Which non-public hosts the client may reach; None: only the hosts configured above.
    network: NetworkPolicy | None = field(default=None, compare=False)
    # Called when a call that met a 404 found its route family under another prefix, so the
    # app can remember where the routes are (see NeuroflashClient.rediscover).
    on_routes_discovered: Callable[[DsRoutes], None] | None = field(
        default=None, repr=False, compare=False
    )

    def __repr__(self) -> str:
        return (
            f"ProviderConfig(kind={self.kind!r}, client_id={self.client_id!r}, "
            f"secret={'***' if self.secret else ''!r}, workspace_id={self.workspace_id!r}, "
            f"base_url={self.base_url!r}, issuer_url={self.issuer_url!r}, "
            f"generation_path={self.generation_path!r}, history_path={self.history_path!r})"
        )


@runtime_checkable
class ImageProvider(Protocol):
    """What the app may ask of any provider. Every method raises only ``ProviderError``s."""

    name: str
    capabilities: Capabilities

    def list_models(self) -> list[ModelInfo]: ...

    def get_quota(self) -> QuotaInfo: ...

    def generate(self, request: GenerateRequest) -> GenerationResult: ...

    def edit(self, request: EditRequest) -> GenerationResult: ...

    def history_pages(
        self, *, page_size: int = 1000, model: str | None = None
    ) -> Iterator[list[HistoryItem]]: ...

    def iter_history(
        self, *, page_size: int = 1000, model: str | None = None
    ) -> Iterator[HistoryItem]: ...

    def result_from_history(self, items: Sequence[HistoryItem]) -> GenerationResult:
        """History entries of one request, as the generate call would have answered them
        (for a call whose answer was lost), with what they cost."""
        ...

    def get_image(self, image_id: str) -> HistoryItem: ...

    def get_image_content(self, image_id: str) -> ImageData: ...

    def delete_image(self, image_id: str) -> None: ...

    def test_connection(self) -> ConnectionTestResult: ...

    @property
    def hosts(self) -> frozenset[str]: ...

    def close(self) -> None: ...

    def __enter__(self) -> ImageProvider: ...

    def __exit__(self, *exc_info: object) -> None: ...


class BaseProvider:
    """Shared behaviour: unsupported features raise, ``iter_history`` flattens pages."""

    name: str = "provider"
    capabilities: Capabilities = Capabilities()

    def _unsupported(self, capability: str) -> UnsupportedCapability:
        return UnsupportedCapability(capability, provider=self.name)

    def list_models(self) -> list[ModelInfo]:
        raise self._unsupported("model_listing")

    def get_quota(self) -> QuotaInfo:
        raise self._unsupported("quota")

    def generate(self, request: GenerateRequest) -> GenerationResult:
        raise self._unsupported("generation")

    def edit(self, request: EditRequest) -> GenerationResult:
        raise self._unsupported("editing")

    def history_pages(
        self, *, page_size: int = 1000, model: str | None = None
    ) -> Iterator[list[HistoryItem]]:
        raise self._unsupported("history")

    def iter_history(
        self, *, page_size: int = 1000, model: str | None = None
    ) -> Iterator[HistoryItem]:
        if not self.capabilities.has_history:
            # Raise at call time, not at the first next(), so callers fail where they asked.
            raise self._unsupported("history")
        return (
            item for page in self.history_pages(page_size=page_size, model=model) for item in page
        )

    def result_from_history(self, items: Sequence[HistoryItem]) -> GenerationResult:
        raise self._unsupported("history")

    def get_image(self, image_id: str) -> HistoryItem:
        raise self._unsupported("image_lookup")

    def get_image_content(self, image_id: str) -> ImageData:
        raise self._unsupported("image_lookup")

    def delete_image(self, image_id: str) -> None:
        raise self._unsupported("deleting_images")

    def test_connection(self) -> ConnectionTestResult:
        raise self._unsupported("connection_tests")

    @property
    def hosts(self) -> frozenset[str]:
        """The provider's own host[:port]s: where result images may be downloaded from."""
        return frozenset()

    def close(self) -> None:
        return None

    def __enter__(self) -> BaseProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
