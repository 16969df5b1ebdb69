"""The shared HTTP layer: one pooled ``requests.Session`` per client, explicit timeouts on every
call, status codes mapped to our error types, JSON parsing that raises our errors, and secret
scrubbing for everything that ends up in a message or a log line.

Retries are deliberately not done here (urllib3 ``max_retries`` stays 0): whether a failed
generate may be replayed is a business decision (it may already have been charged), so the job
runner decides from ``ProviderError.transient`` and ``TransientError.retry_after``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import requests
import urllib3

from providers._parse import opt_str
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
)
from providers.netguard import (
    NetworkPolicy,
    UnsafeURL,
    blocked_reason,
    causes,
    check_url,
    guarded_session,
)

logger = logging.getLogger("providers.http")

USER_AGENT = "Darkroom/0.1 (+https://github.com/darkroom; providers)"
REDACTED = "***"

# Longest provider text we copy into a message; error pages can be whole HTML documents.
_MAX_PROVIDER_TEXT = 300
_CODE_RE = re.compile(r"[a-z][a-z0-9_]*")
_BEARER_RE = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
# Query parameters that make a URL a credential in itself (presigned storage links).
_SENSITIVE_QUERY_PARTS = ("sig", "token", "key", "credential", "auth", "secret", "x-amz", "x-goog")
# Words in a 403/429 body that mean "used up", as opposed to "not allowed" / "too fast".
_QUOTA_WORDS_403 = ("quota", "credit", "balance", "limit reached", "limit_reached", "exceeded")
_QUOTA_WORDS_429 = ("quota", "credit", "balance")
_REDIRECTS = (301, 302, 303, 307, 308)
# Same-origin redirects followed (a framework adding a trailing slash); more is a loop.
_MAX_REDIRECTS = 3


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``generate`` is the read timeout for calls that answer only once images exist."""

    connect: float = 5.0
    read: float = 30.0
    generate: float = 180.0

    def pair(self, *, slow: bool = False) -> tuple[float, float]:
        return (self.connect, self.generate if slow else self.read)


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN check
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def error_details(body: Any) -> tuple[str | None, str | None]:
    """(message, code) from any error body shape either provider documents.

    neuroflash: ``{"error", "code"}``, ``{"errors": [{"field", "message"}]}``, FastAPI-style
    ``{"detail": str | [{"loc", "msg"}]}``, OAuth ``{"error", "error_description"}``.
    NanoGPT: ``error`` as an object (``message``/``code``/``param``/``parameter``), a string, or
    an int next to ``message``; ``code`` also at the top level.
    """
    if isinstance(body, str):
        return (body.strip() or None), None
    if not isinstance(body, Mapping):
        return None, None
    code = opt_str(body.get("code"))
    message: str | None = None
    error = body.get("error")
    if isinstance(error, Mapping):
        message = opt_str(error.get("message"))
        code = opt_str(error.get("code")) or code
        param = opt_str(error.get("param")) or opt_str(error.get("parameter"))
        if message and param:
            message = f"{message} (parameter: {param})"
    elif isinstance(error, str):
        description = opt_str(body.get("error_description"))
        if description:
            message, code = description, code or error
        else:
            message = error
            # A bare OAuth2 error ("invalid_client") is a machine code as well as the text.
            if _CODE_RE.fullmatch(error):
                code = code or error
    elif isinstance(error, int) and not isinstance(error, bool):
        code = code or str(error)
    if message is None:
        message = opt_str(body.get("message"))
    if message is None and isinstance(body.get("errors"), list):
        parts = []
        for item in body["errors"]:
            if isinstance(item, Mapping):
                field, text = opt_str(item.get("field")), opt_str(item.get("message"))
                parts.append(f"{field}: {text}" if field and text else text or field or "")
            elif isinstance(item, str):
                parts.append(item)
        message = "; ".join(p for p in parts if p) or None
    if message is None:
        message = _detail_text(body.get("detail"))
    return message, code


def _detail_text(detail: Any) -> str | None:
    if isinstance(detail, str):
        return detail or None
    if isinstance(detail, Mapping):
        return opt_str(detail.get("message")) or opt_str(detail.get("msg"))
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                loc = item.get("loc")
                where = (
                    ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
                )
                text = opt_str(item.get("msg")) or opt_str(item.get("message")) or ""
                parts.append(f"{where}: {text}" if where else text)
            elif isinstance(item, str):
                parts.append(item)
        return "; ".join(p for p in parts if p) or None
    return None


def loggable_url(url: str) -> str:
    """The URL minus any query that looks like it carries a signature or key."""
    parts = urlsplit(url)
    if parts.query:
        names = [name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
        if any(part in name for name in names for part in _SENSITIVE_QUERY_PARTS):
            return urlunsplit(parts._replace(query=REDACTED))
    return url


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class HttpClient:
    """A provider-named wrapper around one ``requests.Session``.

    Every call needs an ``action`` ("listing workspaces") so that errors read as sentences.
    Secrets registered with ``add_secret`` are replaced by ``***`` in every message we build.
    """

    def __init__(
        self,
        *,
        provider: str,
        timeouts: Timeouts | None = None,
        session: requests.Session | None = None,
        pool_maxsize: int = 10,
        min_interval: float = 0.0,
        credential_name: str = "the credentials",
        trust_env: bool = True,
        network: NetworkPolicy | None = None,
    ) -> None:
        self.provider = provider
        # How a 401 is worded: "NanoGPT rejected the API key (401)".
        self.credential_name = credential_name
        self.timeouts = timeouts or Timeouts()
        self._owns_session = session is None
        if session is None:
            # Sockets open only to public addresses, or to the non-public hosts ``network``
            # names. trust_env is off for local services (the sandbox): an HTTP(S)_PROXY meant
            # for reaching the internet must not capture a neighbouring container or 127.0.0.1.
            session = guarded_session(
                network or NetworkPolicy(), pool_maxsize=pool_maxsize, trust_env=trust_env
            )
        session.headers["User-Agent"] = USER_AGENT
        self.session = session
        self._secrets: set[str] = set()
        self._secrets_lock = threading.Lock()
        self._min_interval = min_interval
        self._throttle_lock = threading.Lock()
        self._next_slot = 0.0

    def __repr__(self) -> str:
        return f"HttpClient(provider={self.provider!r}, timeouts={self.timeouts!r})"

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    # -- secrets ---------------------------------------------------------------------------

    def add_secret(self, value: str | None) -> None:
        # Very short values would blank out ordinary words in messages; real secrets are long.
        if value and len(value) >= 4:
            with self._secrets_lock:
                self._secrets.add(value)

    def scrub(self, text: str) -> str:
        with self._secrets_lock:
            # Longest first, so a secret containing another is replaced whole.
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return _BEARER_RE.sub(rf"\1 {REDACTED}", text)

    # -- calls -----------------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        slow: bool = False,
        not_found: str | None = None,
    ) -> requests.Response:
        """Send one request; return the response if 2xx, else raise the mapped error.

        Redirects are never followed to another origin: the request carries a secret (a
        token, an API key, a client secret in the form body) that must not reach another
        host. A same-origin 307/308 (or a GET's 301/302/303) is followed, re-checked."""
        try:
            check_url(url)
        except UnsafeURL as exc:
            raise ConfigurationError(
                self.scrub(f"refused to call {self.provider} at {_host_of(url)}: {exc}"),
                provider=self.provider,
            ) from None
        self._throttle()
        timeout = self.timeouts.pair(slow=slow)
        for _ in range(_MAX_REDIRECTS + 1):
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    data=form,
                    headers=dict(headers or {}),
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise self._transport_error(exc, url=url, action=action, timeout=timeout) from exc
            elapsed_ms = (time.monotonic() - started) * 1000
            logger.debug(
                "%s %s %s -> %s in %.0f ms",
                self.provider,
                method,
                loggable_url(response.url or url),
                response.status_code,
                elapsed_ms,
            )
            if response.status_code not in _REDIRECTS:
                break
            url = self._same_origin_redirect(response, method=method, url=url, action=action)
            params = None  # the Location carries the query
        else:
            raise ProviderConnectionError(
                f"{self.provider} redirected more than {_MAX_REDIRECTS} times while {action}",
                provider=self.provider,
                status=response.status_code,
            )
        if not 200 <= response.status_code < 300:
            raise self.error_for(response, action=action, not_found=not_found)
        return response

    def _same_origin_redirect(
        self, response: requests.Response, *, method: str, url: str, action: str
    ) -> str:
        """The URL to follow ``response``'s redirect to, or an error naming its target."""
        status = response.status_code
        location = response.headers.get("Location", "")
        target = urljoin(response.url or url, location) if location else ""
        response.close()
        same_method = status in (307, 308) or method.upper() in ("GET", "HEAD")
        if target and origin(target) == origin(url) and same_method:
            try:
                check_url(target)
            except UnsafeURL:
                pass
            else:
                return target
        where = _host_of(target) if target else "nowhere"
        if origin(target) == origin(url):
            where = loggable_url(urlsplit(target).path or "/")
        raise ConfigurationError(
            self.scrub(
                f"{self.provider} answered {status} while {action}, redirecting to {where}; "
                "requests that carry credentials do not follow redirects — check the address"
            ),
            provider=self.provider,
            status=status,
        )

    def send_json(self, method: str, url: str, *, action: str, **kwargs: Any) -> Any:
        response = self.send(method, url, action=action, **kwargs)
        return self.parse_json(response, action=action)

    def parse_json(self, response: requests.Response, *, action: str) -> Any:
        try:
            return json.loads(response.content)
        except ValueError:
            raise MalformedResponseError(
                f"{self.provider} sent a response that is not valid JSON while {action} "
                f"({response.status_code})",
                provider=self.provider,
                status=response.status_code,
                request_id=_request_id(response),
            ) from None

    def malformed(self, action: str, why: str, *, status: int | None = None) -> ProviderError:
        return MalformedResponseError(
            self.scrub(f"{self.provider} sent an unexpected response while {action}: {why}"),
            provider=self.provider,
            status=status,
        )

    # -- error mapping ---------------------------------------------------------------------

    def error_for(
        self, response: requests.Response, *, action: str, not_found: str | None = None
    ) -> ProviderError:
        status = response.status_code
        provider_message, code = self._provider_text(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        p = self.provider
        suffix = f": {provider_message}" if provider_message else ""
        common: dict[str, Any] = {
            "provider": p,
            "status": status,
            "code": code,
            "provider_message": provider_message,
            "request_id": _request_id(response),
        }
        haystack = f"{code or ''} {provider_message or ''}".lower()

        if status == 401:
            return AuthenticationError(
                f"{p} rejected {self.credential_name} while {action} (401){suffix}", **common
            )
        if status == 402:
            return QuotaExhaustedError(
                f"{p} reports an insufficient balance while {action} (402){suffix}",
                retry_after=retry_after,
                **common,
            )
        if status == 403:
            if any(word in haystack for word in _QUOTA_WORDS_403):
                return QuotaExhaustedError(
                    f"{p} says the quota or limit is used up (403){suffix}",
                    retry_after=retry_after,
                    **common,
                )
            return PermissionDeniedError(
                f"{p} refused access while {action} (403){suffix}", **common
            )
        if status in (404, 410):
            what = not_found or "what was asked for"
            return NotFoundError(f"{p} could not find {what} ({status}){suffix}", **common)
        if status == 429:
            if any(word in haystack for word in _QUOTA_WORDS_429):
                return QuotaExhaustedError(
                    f"{p} says the quota is used up (429){suffix}",
                    retry_after=retry_after,
                    **common,
                )
            wait = f"; retry in {retry_after:.0f} s" if retry_after is not None else ""
            return RateLimitedError(
                f"{p} is limiting the request rate (429){wait}{suffix}",
                retry_after=retry_after,
                **common,
            )
        if status in (408, 504):
            return ProviderTimeout(
                f"{p} timed out while {action} ({status}); try again later",
                retry_after=retry_after,
                outcome_unknown=status == 504,  # the gateway gave up; the service may not have
                **common,
            )
        if status >= 500:
            return ServerError(
                f"{p} had a server error while {action} ({status}); try again later{suffix}",
                retry_after=retry_after,
                **common,
            )
        if 400 <= status < 500:
            return InvalidRequestError(
                f"{p} refused the request while {action} ({status}){suffix}", **common
            )
        return MalformedResponseError(
            f"{p} answered with unexpected status {status} while {action}", **common
        )

    def _provider_text(self, response: requests.Response) -> tuple[str | None, str | None]:
        content_type = response.headers.get("Content-Type", "").lower()
        body: Any
        try:
            body = json.loads(response.content) if response.content else None
        except ValueError:
            # Only short plain text is worth showing; HTML error pages are noise.
            text = response.text.strip() if "text/plain" in content_type else ""
            body = text if text and len(text) <= _MAX_PROVIDER_TEXT else None
        message, code = error_details(body)
        if message:
            message = self.scrub(" ".join(message.split()))
            if len(message) > _MAX_PROVIDER_TEXT:
                message = message[: _MAX_PROVIDER_TEXT - 1] + "…"
        return message, (self.scrub(code) if code else None)

    def _transport_error(
        self,
        exc: requests.RequestException,
        *,
        url: str,
        action: str,
        timeout: tuple[float, float],
    ) -> ProviderError:
        p = self.provider
        host = _host_of(url)
        blocked = blocked_reason(exc)
        if blocked:
            return ConfigurationError(
                self.scrub(f"refused to connect to {p} at {host}: {blocked}"), provider=p
            )
        if isinstance(exc, requests.ConnectTimeout):
            return ProviderConnectionError(
                f"could not connect to {p} at {host} within {timeout[0]:g} s while {action}",
                provider=p,
            )
        if isinstance(exc, requests.Timeout):
            return ProviderTimeout(
                f"{p} did not answer within {timeout[1]:g} s while {action}",
                provider=p,
                outcome_unknown=True,
            )
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ConfigurationError(
                self.scrub(f"the {p} address {url!r} is not a valid URL"), provider=p
            )
        if isinstance(exc, requests.exceptions.InvalidSchema):
            return ConfigurationError(
                self.scrub(f"the {p} address {url!r} must start with http:// or https://"),
                provider=p,
            )
        if isinstance(exc, requests.exceptions.SSLError):
            return ProviderConnectionError(
                f"could not establish a secure connection to {p} at {host} while {action}",
                provider=p,
            )
        # ConnectionError, ChunkedEncodingError (body cut off), TooManyRedirects, ...
        reason = _connection_reason(exc)
        return ProviderConnectionError(
            f"could not connect to {p} at {host} while {action}{reason}",
            provider=p,
            outcome_unknown=not _never_sent(exc),
        )

    def _throttle(self) -> None:
        # NanoGPT allows 25 requests/s globally; a client-side floor keeps catalog syncs (one
        # request per model) under it. Off (0) for neuroflash, which documents no numbers.
        if self._min_interval <= 0:
            return
        with self._throttle_lock:
            now = time.monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self._min_interval
        if wait > 0:
            time.sleep(wait)


_CONNECTION_REASONS = (
    ("refused", "connection refused"),
    ("name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("temporary failure in name resolution", "host name not found"),
    ("getaddrinfo failed", "host name not found"),
    ("reset by peer", "connection reset"),
    ("remotedisconnected", "connection closed by the server"),
    ("connection aborted", "connection closed by the server"),
    ("exceeded 30 redirects", "too many redirects"),
)


def _never_sent(exc: BaseException) -> bool:
    """Whether the connection failed before any byte of the request left (refused, DNS)."""
    return any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in causes(exc))


def _connection_reason(exc: Exception) -> str:
    text = f"{type(exc).__name__} {exc}".lower()
    for needle, reason in _CONNECTION_REASONS:
        if needle in text:
            return f" ({reason})"
    return ""


def _host_of(url: str) -> str:
    """host[:port] of ``url`` for messages: never its userinfo, path or query."""
    try:
        return urlsplit(url).netloc.rpartition("@")[2] or "an empty address"
    except ValueError:
        return "an invalid address"


def _request_id(response: requests.Response) -> str | None:
    return response.headers.get("X-Request-ID") or None
