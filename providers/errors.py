"""Our own error hierarchy for every provider call.

Callers only ever see these types, never ``requests`` exceptions, so the app can decide what to
do from the class alone: ``exc.transient`` says whether trying again later can help, and
``exc.message`` is a sentence a person can read in the UI ("neuroflash rejected the client ID or
secret (401)"). Messages never contain credentials; the HTTP layer scrubs every known secret
before an error is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar


class ProviderError(Exception):
    """Base class: something went wrong talking to (or configuring) a provider."""

    # Whether retrying the same call later may succeed. Subclasses override; the app's job
    # runner keys its retry policy on this instead of on status codes.
    transient: ClassVar[bool] = False
    # Seconds the provider asked us to wait (TransientError sets it from Retry-After).
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        code: str | None = None,
        provider_message: str | None = None,
        request_id: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        # True when the request may have reached the provider and been acted on (a read timeout,
        # a connection cut mid-answer, a gateway timeout): repeating a paid call then risks a
        # second charge, so the caller must reconcile first. False when the provider answered
        # with a refusal or was never reached.
        self.outcome_unknown = outcome_unknown
        self.message = message
        self.provider = provider
        self.status = status
        # The provider's own machine code and text, when it sent any (already scrubbed).
        self.code = code
        self.provider_message = provider_message
        # NanoGPT's X-Request-ID, for support tickets.
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, status={self.status!r}, "
            f"code={self.code!r}, message={self.message!r})"
        )


class TransientError(ProviderError):
    """Connection error, timeout, 5xx or 429: the same call may work later.

    ``retry_after`` is the provider's ``Retry-After`` in seconds (parsed from either the
    delta-seconds or the HTTP-date form), or ``None`` when it did not say.
    """

    transient: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        code: str | None = None,
        provider_message: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            status=status,
            code=code,
            provider_message=provider_message,
            request_id=request_id,
            outcome_unknown=outcome_unknown,
        )
        self.retry_after = retry_after


class ProviderConnectionError(TransientError):
    """The provider could not be reached (DNS, refused, TLS, reset)."""


class ProviderTimeout(TransientError):
    """The provider did not answer within our timeout, or answered 408/504."""


class RateLimitedError(TransientError):
    """429 that is about request rate, not about used-up credits."""


class ServerError(TransientError):
    """5xx from the provider."""


class AuthenticationError(ProviderError):
    """401, or the token issuer refused the client credentials."""


class PermissionDeniedError(ProviderError):
    """403 that is not about quota: the account may not do this (e.g. a model not allowed)."""


class QuotaExhaustedError(ProviderError):
    """Credits, quota or balance are used up (402, or 403/429 that says so).

    Not transient in the retry sense: it clears at a quota reset or top-up, hours away, so a
    job should fail with this message instead of retrying. ``retry_after`` is kept when the
    provider sent one so the UI can say when the limit resets.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        code: str | None = None,
        provider_message: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            status=status,
            code=code,
            provider_message=provider_message,
            request_id=request_id,
        )
        self.retry_after = retry_after


class InvalidRequestError(ProviderError):
    """400/409/413/422 (or a request we refuse before sending): fix the input, do not retry."""


class NotFoundError(ProviderError):
    """404/410: the workspace, image or model does not exist (any more)."""


class MalformedResponseError(ProviderError):
    """A 2xx whose body is not JSON or not the documented shape.

    Deliberately NOT transient: HTML error pages from gateways arrive with 5xx statuses and are
    mapped to ``ServerError`` before the body is looked at, so what reaches here is a success
    status with a body we cannot read. For a generate call that usually means the provider did
    the work and charged for it; a blind retry could pay twice, and a changed response shape
    will not fix itself. The job runner reconciles against provider history instead.
    """


class UnsupportedCapability(ProviderError):
    """The provider has no such feature (e.g. NanoGPT has no history API)."""

    def __init__(self, capability: str, *, provider: str) -> None:
        super().__init__(
            f"{provider} does not support {capability.replace('_', ' ')}",
            provider=provider,
        )
        self.capability = capability


class ConfigurationError(ProviderError):
    """The stored provider settings are incomplete or inconsistent (no request was made), or
    the provider serves none of the routes they could mean (e.g. no ds-prototypes route
    answered where the docs put them). Not a ``NotFoundError``: nothing asked for is missing,
    the address is wrong."""


@contextmanager
def paid_call() -> Iterator[None]:
    """Around a call that costs money (generate, edit): unless the provider plainly refused it
    (a 4xx answer) or it never left this machine, a failure may come after the provider did
    the work and charged for it (a gateway dropping a finished request answers 500, 502 or
    503; a body cut short looks malformed). Such errors are marked ``outcome_unknown``: the
    caller must find out what happened before paying again."""
    try:
        yield
    except ProviderError as exc:
        if isinstance(exc, MalformedResponseError) or (exc.status or 0) >= 500:
            exc.outcome_unknown = True
        raise
