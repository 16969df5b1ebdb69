from __future__ import annotations

import fcntl
import logging
import os
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Redis down, restarting (BusyLoadingError is a ConnectionError) or too slow to answer.
REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class FileCache(FileBasedCache):
    """Django's file cache with an atomic ``add``, shared safely by several processes.

    The stock ``add`` checks and then writes, so two worker processes can both "win" it; locks
    built on ``add`` (the provider token refresh) need exactly one winner, as Redis gives.

    Here ``add`` checks and writes while it holds an exclusive ``flock`` on one lock file in the
    cache folder. The kernel drops that lock when its process dies, so a crash never leaves it
    held. (Claiming an expired entry by renaming it is not enough: a contender that found it
    expired can rename away the fresh entry another has just written, and then two win.)
    """

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        # Private helpers of Django's FileBasedCache, which its stubs leave out.
        self._createdir()  # type: ignore[attr-defined]
        lock_path = os.path.join(self._dir, "add.lock")  # type: ignore[attr-defined]
        with open(lock_path, "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if self.has_key(key, version):  # removes an expired entry
                return False
            self.set(key, value, timeout, version)  # a temporary file renamed into place
            return True


class RedisCache(DjangoRedisCache):
    """Django's Redis cache, for which a Redis that cannot be reached (restarting, failing over)
    is a miss instead of an error.

    Everything Darkroom keeps in the cache can be rebuilt: sessions are ``cached_db`` (read
    from the database on a miss), provider tokens are fetched again, counts are recomputed. With
    Django's own backend a page view would answer 500 while Redis is away (the session store
    writes what it read from the database back to the cache). Here reads miss and writes are
    dropped, with a warning; redis-py opens a new connection by itself on the first command
    after Redis is back. ``incr`` and ``clear`` still raise: they have no sensible miss, and
    ``ping`` raises so that a health check can tell.
    """

    def ping(self) -> None:
        """Raise (redis-py's ConnectionError or TimeoutError) unless Redis answers."""
        self._cache.get_client(write=True).ping()

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("add", exc)
            return False

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        try:
            return super().get(key, default, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("get", exc)
            return default

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        try:
            super().set(key, value, timeout, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("set", exc)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("touch", exc)
            return False

    def delete(self, key: Any, version: Any = None) -> bool:
        try:
            return super().delete(key, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("delete", exc)
            return False

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("get_many", exc)
            return {}

    def has_key(self, key: Any, version: Any = None) -> bool:
        try:
            return super().has_key(key, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("has_key", exc)
            return False

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("set_many", exc)
            return list(data)  # the keys that were not set

    def delete_many(self, keys: Any, version: Any = None) -> None:
        try:
            super().delete_many(keys, version)
        except REDIS_UNREACHABLE as exc:
            _unreachable("delete_many", exc)


def _unreachable(operation: str, exc: Exception) -> None:
    logger.warning("Cache %s skipped: Redis cannot be reached (%s)", operation, exc)
