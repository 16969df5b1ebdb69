from __future__ import annotations

import os
import tempfile
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache


class FileCache(FileBasedCache):
    """Django's file cache with an atomic ``add``, shared safely by several processes.

    The stock ``add`` checks and then writes, so two worker processes can both "win" it; locks
    built on ``add`` (the provider token refresh) need exactly one winner, as Redis gives.
    ``os.link`` of a fully written temporary file creates the entry only if none exists.
    """

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        self._createdir()
        fname = self._key_to_file(key, version)
        fd, tmp_path = tempfile.mkstemp(dir=self._dir)
        try:
            with open(fd, "wb") as f:
                self._write_content(f, timeout, value)
            for _ in range(2):
                try:
                    os.link(tmp_path, fname)
                    return True
                except FileExistsError:
                    if self.has_key(key, version):  # live entry: someone else holds it
                        return False
                    # has_key removed an expired entry; try once more.
            return False
        finally:
            os.remove(tmp_path)
