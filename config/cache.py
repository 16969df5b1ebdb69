from __future__ import annotations

import fcntl
import os
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache


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
