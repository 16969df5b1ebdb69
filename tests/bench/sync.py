"""History mirror benchmark: a full sync of 10,000 entries vs an incremental one after 20 more."""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass

from tests.bench.stack import Stack

SEEDED = 10_000
NEW = 20


@dataclass(frozen=True)
class SyncTiming:
    mode: str
    seconds: float
    peak_mib: float
    pages: int
    new: int


def _timed_sync(stack: Stack, mode: str) -> SyncTiming:
    from gallery.models import HistorySync
    from gallery.services.sync import sync_run

    run = HistorySync.objects.create(workspace=stack.workspace, mode=mode)
    tracemalloc.start()
    started = time.perf_counter()
    finished = sync_run(run_id=run.pk)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if finished is None or finished.state != "ok":
        raise RuntimeError(f"{mode} sync did not finish: {finished and finished.error}")
    return SyncTiming(mode, seconds, peak / 2**20, finished.pages_fetched, finished.entries_new)


def history_sync(stack: Stack) -> tuple[SyncTiming, SyncTiming]:
    stack.sandbox.seed_history(SEEDED)
    full = _timed_sync(stack, "full")
    stack.sandbox.seed_history(NEW)
    incremental = _timed_sync(stack, "incremental")
    return full, incremental


def sync_table(full: SyncTiming, incremental: SyncTiming) -> str:
    ratio = incremental.seconds / full.seconds
    rows = [
        "**History mirror**: metadata sync in the worker's code path (files are fetched "
        "afterwards, in the background); peak memory is Python allocations during the sync.",
        "",
        "| sync | pages | new entries | seconds | peak MiB |",
        "|---|---|---|---|---|",
        f"| full, {SEEDED:,} entries made elsewhere | {full.pages} | {full.new:,} "
        f"| {full.seconds:.2f} | {full.peak_mib:.1f} |",
        f"| incremental after {NEW} new | {incremental.pages} | {incremental.new} | "
        f"{incremental.seconds:.3f} | {incremental.peak_mib:.1f} |",
        f"| ratio incremental / full (target ≤ 5 %) |  |  | {ratio:.1%} |  |",
    ]
    return "\n".join(rows)
