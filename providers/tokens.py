"""Where neuroflash access tokens are cached.

neuroflash asks clients to reuse a token until it expires (about 4 h) instead of fetching one per
call. With many Celery worker processes, an in-process cache would still mean one token fetch
per process and a burst of them whenever the token expires, so the client talks to a
``TokenStore`` the app backs with Django's cache (Redis). ``InMemoryTokenStore`` is the
single-process implementation used by tests, scripts and the default client.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenStore(Protocol):
    """A shared cache of access tokens.

    ``get(key)`` returns ``(token, expires_at)`` with ``expires_at`` in wall-clock epoch seconds
    (``time.time()``; monotonic clocks are not comparable across processes), or ``None``.
    ``set(key, token, ttl)`` stores a token for ``ttl`` seconds; the client already subtracts
    its safety margin from ``ttl``, so the store should simply forget the entry after ``ttl``.
    Stored values are credentials: a store must not log them.
    """

    def get(self, key: str) -> tuple[str, float] | None: ...

    def set(self, key: str, token: str, ttl: float) -> None: ...


@runtime_checkable
class LockingTokenStore(TokenStore, Protocol):
    """A ``TokenStore`` that can also serialise refreshes across processes.

    ``lock(key, timeout)`` returns a context manager that holds a lock named after ``key`` (for
    example a Redis ``SET NX PX`` lock, or ``cache.add`` with a timeout) for at most ``timeout``
    seconds, and yields whether it was acquired. The client re-reads the store after acquiring
    it, so when a hundred workers see an expired token at once only the first fetches a new one.
    If the lock cannot be acquired in time the client proceeds without it: a duplicate token
    fetch is harmless, a stalled worker is not.
    """

    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]: ...


class InMemoryTokenStore:
    """Process-local ``LockingTokenStore`` (thread-safe)."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def __repr__(self) -> str:
        # Never show the tokens themselves.
        return f"InMemoryTokenStore(keys={len(self._tokens)})"

    def get(self, key: str) -> tuple[str, float] | None:
        with self._guard:
            entry = self._tokens.get(key)
            if entry is not None and entry[1] <= time.time():
                del self._tokens[key]
                return None
            return entry

    def set(self, key: str, token: str, ttl: float) -> None:
        with self._guard:
            self._tokens[key] = (token, time.time() + ttl)

    def delete(self, key: str) -> None:
        with self._guard:
            self._tokens.pop(key, None)

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[bool]:
        with self._guard:
            key_lock = self._locks.setdefault(key, threading.Lock())
        acquired = key_lock.acquire(timeout=timeout)
        try:
            yield acquired
        finally:
            if acquired:
                key_lock.release()
