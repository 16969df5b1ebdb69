"""Where the worker may connect: a guard against server-side request forgery (SSRF).

A provider's base URL is typed by a workspace admin and its image URLs come from the provider's
answers, so both could point the worker at an internal address (the cloud metadata service, a
database on the private network, another port on loopback). ``NetworkPolicy`` decides which
addresses are fine: public ones always; loopback, private, link-local and other special ones only
for hosts the operator (or the provider's own configuration) named.

The check runs when the socket is opened, on the address the socket then connects to
(``guarded_session``), so a name that resolves to a public address when checked and to a private
one a moment later (DNS rebinding) gains nothing. ``check_url`` refuses the URL shapes that
different parsers read differently (userinfo, backslashes) before any of that.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError, NewConnectionError
from urllib3.util import parse_url

_SCHEMES = {"http": 80, "https": 443}
# Cloud metadata services; also link-local or private, listed so the message can name them.
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The URL is malformed in a way parsers disagree about, or leads somewhere not allowed."""


class BlockedAddress(NewConnectionError):
    """Raised while opening a socket: the host resolved to an address the policy refuses.

    A ``NewConnectionError`` so that requests reports it as "never sent" (nothing was sent)."""

    def __init__(self, conn: HTTPConnection, message: str) -> None:
        super().__init__(conn, message)
        self.message = message


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is an ordinary internet address (not loopback, private, ...)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and address not in _METADATA
    )


def describe(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_loopback or address.is_unspecified:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    return "a non-public address"


def _host_key(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Hosts that may be non-public: ``"host"`` (any port) or ``"host:port"``.

    Everything else must resolve to public addresses only.
    """

    private_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> NetworkPolicy:
        hosts = set()
        for entry in entries:
            entry = entry.strip().lower()
            if not entry:
                continue
            if "://" in entry:  # a whole URL: allow exactly its host and port
                parsed = parse_url(entry)
                if parsed.host:
                    port = parsed.port or _SCHEMES.get(parsed.scheme or "")
                    host = _host_key(parsed.host)
                    hosts.add(f"{host}:{port}" if port else host)
                continue
            name, sep, digits = entry.rpartition(":")
            if sep and digits.isdigit() and not name.endswith(":"):
                hosts.add(f"{_host_key(name)}:{digits}")
            else:
                hosts.add(_host_key(entry))
        return cls(frozenset(hosts))

    def union(self, other: NetworkPolicy) -> NetworkPolicy:
        return NetworkPolicy(self.private_hosts | other.private_hosts)

    def may_be_private(self, host: str, port: int) -> bool:
        key = _host_key(host)
        return key in self.private_hosts or f"{key}:{port}" in self.private_hosts

    def vet(self, host: str, port: int) -> list[IPAddress]:
        """The addresses ``host`` resolves to, all allowed; else ``UnsafeURL`` naming why.

        Raises ``socket.gaierror`` when the name does not resolve."""
        key = _host_key(host)
        literal = True
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(key)]
        except ValueError:
            literal = False
            infos = socket.getaddrinfo(key, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if self.may_be_private(host, port):
            return addresses
        for address in addresses:
            if not is_public(address):
                what = (
                    f"is {describe(address)}"
                    if literal
                    else (f"resolves to {describe(address)} ({address})")
                )
                raise UnsafeURL(f"{host} {what}, which the worker may not connect to")
        return addresses


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; ``UnsafeURL`` for any shape parsers read
    differently (userinfo, backslashes, whitespace) or that is not http(s) with a host."""
    if "\\" in url:
        raise UnsafeURL("the address contains a backslash")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeURL("the address contains spaces or control characters")
    try:
        parsed = parse_url(url)  # the parser requests and urllib3 connect with
    except LocationParseError:
        raise UnsafeURL("the address is not a valid URL") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in _SCHEMES:
        raise UnsafeURL("only http:// and https:// addresses are allowed")
    if parsed.auth is not None or "@" in (parsed.netloc or ""):
        raise UnsafeURL("the address must not contain a user name or password (user@host)")
    if not parsed.host:
        raise UnsafeURL("the address has no host")
    return scheme, parsed.host, parsed.port or _SCHEMES[scheme]


class _GuardedConnection(HTTPConnection):
    policy: NetworkPolicy = NetworkPolicy()

    def _new_conn(self) -> socket.socket:
        try:
            addresses = self.policy.vet(self._dns_host, self.port)
        except UnsafeURL as exc:
            raise BlockedAddress(self, str(exc)) from None
        except socket.gaierror as exc:
            raise urllib3.exceptions.NameResolutionError(self.host, self, exc) from exc
        # Connect to exactly what was vetted (the certificate is still checked against the
        # name: HTTPSConnection passes ``self.host`` as server_hostname).
        real_host = self._dns_host
        last: NewConnectionError | None = None
        for address in addresses:
            self._dns_host = str(address)
            try:
                return super()._new_conn()
            except NewConnectionError as exc:
                last = exc
            finally:
                self._dns_host = real_host
        assert last is not None  # addresses is never empty
        raise last


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class GuardedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose sockets open only to addresses ``policy`` allows."""

    def __init__(self, policy: NetworkPolicy, **kwargs: Any) -> None:
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http = type("Conn", (_GuardedConnection,), {"policy": self.policy})
        https = type("Conn", (_GuardedHTTPSConnection,), {"policy": self.policy})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("Pool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }


def guarded_session(
    policy: NetworkPolicy, *, pool_maxsize: int = 10, trust_env: bool = True
) -> requests.Session:
    """A ``requests.Session`` that never retries and only connects where ``policy`` allows."""
    session = requests.Session()
    adapter = GuardedAdapter(policy, pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = trust_env
    return session


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: args, ``__cause__``/``__context__`` and urllib3's
    ``reason`` (requests nests the socket error three or four levels deep)."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)


def blocked_reason(exc: BaseException) -> str | None:
    """The guard's message if ``exc`` (or anything it wraps) is a ``BlockedAddress``."""
    return next((c.message for c in causes(exc) if isinstance(c, BlockedAddress)), None)
