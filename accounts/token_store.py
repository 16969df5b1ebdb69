"""Provider access tokens shared by every process through Django's cache (Redis in production)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

from django.core.cache import BaseCache, cache


class CacheTokenStore:
    """A ``providers.tokens.LockingTokenStore`` on Django's cache.

    The lock is the cache's ``add``: an atomic SET NX on Redis, and an atomic check-and-write on
    our file cache (``config.cache.FileCache``), so when a token expires under many workers only
    one of them fetches the next. (The in-memory cache is per process: there it only orders the
    threads of one process.)
    """

    POLL_SECONDS = 0.05

    def __init__(self, backend: BaseCache | None = None, prefix: str = "darkroom:") -> None:
        self._cache = backend or cache
        self._prefix = prefix

    def __repr__(self) -> str:
        return f"CacheTokenStore(prefix={self._prefix!r})"

    def get(self, key: str) -> tuple[str, float] | None:
        entry = self._cache.get(self._prefix + key)
        if not entry:
            return None
        token, expires_at = entry
        return None if expires_at <= time.time() else (token, expires_at)

    def set(self, key: str, token: str, ttl: float) -> None:
        self._cache.set(self._prefix + key, (token, time.time() + ttl), timeout=max(int(ttl), 1))

    def delete(self, key: str) -> None:
        self._cache.delete(self._prefix + key)

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[bool]:
        lock_key = f"{self._prefix}lock:{key}"
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        acquired = self._cache.add(lock_key, owner, timeout=max(int(timeout), 1))
        while not acquired and time.monotonic() < deadline:
            time.sleep(self.POLL_SECONDS)
            acquired = self._cache.add(lock_key, owner, timeout=max(int(timeout), 1))
        try:
            yield acquired
        finally:
            if acquired and self._cache.get(lock_key) == owner:
                self._cache.delete(lock_key)
