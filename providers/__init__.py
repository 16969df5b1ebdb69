"""Clients for the hosted image APIs (neuroflash, NanoGPT) and the common interface over them.

No Django here: the app passes settings in through ``ProviderConfig`` and a ``TokenStore``.
"""

from __future__ import annotations

from providers.adapters import NanoGPTProvider, NeuroflashProvider, build_provider
from providers.base import (
    DS_FAMILIES,
    BaseProvider,
    Capabilities,
    ConnectionTestResult,
    DsFamily,
    DsRoutes,
    EditRequest,
    GenerateRequest,
    GenerationResult,
    HistoryItem,
    ImageData,
    ImageProvider,
    ModelInfo,
    Price,
    ProviderConfig,
    ProviderKind,
    QuotaInfo,
    RemoteWorkspace,
    ResultImage,
)
from providers.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    QuotaExhaustedError,
    RateLimitedError,
    ServerError,
    TransientError,
    UnsupportedCapability,
)
from providers.http import Timeouts
from providers.nanogpt import NanoGPTClient
from providers.neuroflash import NeuroflashClient
from providers.tokens import InMemoryTokenStore, LockingTokenStore, TokenStore

__all__ = [
    "DS_FAMILIES",
    "AuthenticationError",
    "BaseProvider",
    "Capabilities",
    "ConfigurationError",
    "ConnectionTestResult",
    "DsFamily",
    "DsRoutes",
    "EditRequest",
    "GenerateRequest",
    "GenerationResult",
    "HistoryItem",
    "ImageData",
    "ImageProvider",
    "InMemoryTokenStore",
    "InvalidRequestError",
    "LockingTokenStore",
    "MalformedResponseError",
    "ModelInfo",
    "NanoGPTClient",
    "NanoGPTProvider",
    "NeuroflashClient",
    "NeuroflashProvider",
    "NotFoundError",
    "PermissionDeniedError",
    "Price",
    "ProviderConfig",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderKind",
    "ProviderTimeout",
    "QuotaExhaustedError",
    "QuotaInfo",
    "RateLimitedError",
    "RemoteWorkspace",
    "ResultImage",
    "ServerError",
    "Timeouts",
    "TokenStore",
    "TransientError",
    "UnsupportedCapability",
    "build_provider",
]
