"""`make bench`: timings against a real sandbox over HTTP, printed as markdown tables.

First the provider clients on their own, then the generation pipeline (web tier, broker, Celery
workers; see `pipeline.py`), then the gallery at 100,000 images (`gallery.py`). Not a test:
numbers depend on the machine. README's benchmark tables are copied from this output.

`python -m tests.bench gallery [--quick]` runs only the gallery bench; `python -m tests.bench
budgets` only submit latency with and without budgets.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from providers import GenerateRequest, InMemoryTokenStore, ProviderConfig, build_provider
from tests.bench import gallery, pipeline
from tests.sandbox_fixture import start_sandbox


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def row(name: str, samples: list[float], note: str = "") -> str:
    median = statistics.median(samples) * 1000
    worst = max(samples) * 1000
    return f"| {name} | {len(samples)} | {median:,.1f} | {worst:,.1f} | {note} |"


def client_timings() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = start_sandbox(Path(tmp) / "bench.sqlite3")
        try:
            provider = build_provider(
                ProviderConfig(
                    kind="sandbox", base_url=sandbox.url, token_store=InMemoryTokenStore()
                )
            )
            rows = [
                row("token fetch (uncached)", timed(provider.client.fetch_token, 20)),  # type: ignore[attr-defined]
                row("quota", timed(provider.get_quota, 20)),
                row("model catalog (all pages)", timed(provider.list_models, 20)),
                row(
                    "generate 1 image (1:1, png)",
                    timed(
                        lambda: provider.generate(GenerateRequest(prompt="a lighthouse at dusk")),
                        10,
                    ),
                ),
            ]
            started = time.perf_counter()
            sandbox.seed_history(10_000)
            seed_s = time.perf_counter() - started
            rows.append(
                row("history page (limit 1000)", timed(lambda: next(provider.history_pages()), 10))
            )
            tracemalloc.start()
            stream = timed(lambda: sum(1 for _ in provider.iter_history()), 3)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows.append(
                row("stream all 10,000 history entries", stream, f"peak {peak / 2**20:.1f} MiB")
            )
        finally:
            sandbox.stop()
    print("### Provider clients\n")
    print("| what (sandbox over HTTP) | runs | median ms | worst ms | note |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nSeeding 10,000 history entries took {seed_s:.2f} s.")


def main(argv: list[str]) -> None:
    if argv[:1] == ["gallery"]:
        gallery.main(argv[1:])
        return
    if argv[:1] == ["budgets"]:
        pipeline.budgets_only()
        return
    client_timings()
    pipeline.main()
    gallery.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
