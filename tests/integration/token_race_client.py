"""One of several processes that hit the sandbox at once through the app's shared token store.

Run as `python -m tests.integration.token_race_client SANDBOX_URL GO_FILE THREADS`: it builds a
provider exactly as the app does, waits for GO_FILE to appear (so that all processes start
together), then makes THREADS concurrent calls.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    url, go_file, threads = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from accounts.token_store import CacheTokenStore
    from providers import ProviderConfig, build_provider

    provider = build_provider(
        ProviderConfig(kind="sandbox", base_url=url, token_store=CacheTokenStore())
    )
    errors: list[BaseException] = []

    def call() -> None:
        try:
            provider.get_quota()
        except BaseException as exc:  # reported below; the test reads the exit code
            errors.append(exc)

    while not go_file.exists():
        time.sleep(0.01)
    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        sys.exit(f"{len(errors)} calls failed: {errors[0]!r}")


if __name__ == "__main__":
    main()
