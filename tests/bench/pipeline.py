"""The generation pipeline benchmark of issue 5: submit latency, job wall time against a direct
client call, and throughput, on a throwaway Darkroom (see `stack.py`); then, on the same stack,
the history mirror (`sync.py`) and recovery from killed workers (`recovery.py`).

Run alone with `uv run python -m tests.bench.pipeline`; `make bench` runs it after the client
timings.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import requests

from providers import GenerateRequest, InMemoryTokenStore, ProviderConfig, build_provider
from tests.bench import recovery, sync
from tests.bench.report import ms, p95, sec, table
from tests.bench.stack import MODEL, PROMPT, BenchError, Stack, Submitted, bench_stack

SUBMITS = 40
WARMUP_SUBMITS = 3
FAST, SLOW = 0.5, 10.0
OVERHEAD_RUNS = 7
OVERHEAD_LATENCY = 3.0
THROUGHPUT_JOBS = 50
THROUGHPUT_WORKERS = 2
THROUGHPUT_LATENCY = 0.5
# Between timed jobs the worker finishes the quota refresh a job enqueues and sits idle again.
# The random part spreads submits over the broker's polling cycle instead of hitting one phase.
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class JobTiming:
    state: str
    submit: float  # until the web tier answered
    # Submit started → a worker claimed the job. It can end before the answer: the task is
    # published on commit, while the view still renders the job card.
    to_claim: float
    run: float  # claimed → finished (provider call, download, checks, thumbnail, storage)
    wall: float  # submit started → finished
    finished_at: float  # wall clock


def _progress(message: str) -> None:
    print(f"pipeline bench: {message}", file=sys.stderr, flush=True)


def wait_for_jobs(submitted: Sequence[Submitted], *, timeout: float) -> list[JobTiming]:
    from gallery.models import ACTIVE_STATES, Job

    ids = [s.job_id for s in submitted]
    deadline = time.monotonic() + timeout
    while Job.objects.filter(pk__in=ids, state__in=ACTIVE_STATES).exists():
        if time.monotonic() > deadline:
            raise BenchError(f"{len(ids)} job(s) not finished after {timeout:.0f} s")
        time.sleep(0.02)
    rows = Job.objects.in_bulk(ids)
    timings = []
    for s in submitted:
        job = rows[s.job_id]
        started = job.started_at.timestamp() if job.started_at else s.started_at + s.seconds
        finished = job.finished_at.timestamp() if job.finished_at else started
        timings.append(
            JobTiming(
                state=job.state,
                submit=s.seconds,
                to_claim=started - s.started_at,
                run=finished - started,
                wall=finished - s.started_at,
                finished_at=finished,
            )
        )
    return timings


def direct_generate_seconds(sandbox_url: str, repeat: int) -> list[float]:
    """One `providers` client generate call plus downloading its images, after a warm-up."""
    config = ProviderConfig(kind="sandbox", base_url=sandbox_url, token_store=InMemoryTokenStore())
    request = GenerateRequest(
        prompt=PROMPT, model=MODEL, n=1, aspect_ratio="1:1", output_format="png"
    )
    with build_provider(config) as provider, requests.Session() as downloads:
        downloads.trust_env = False

        def once() -> float:
            started = time.perf_counter()
            for image in provider.generate(request).images:
                if image.data is None and image.url:
                    downloads.get(image.url, timeout=30).raise_for_status()
            return time.perf_counter() - started

        once()  # the token fetch and the first connection are not what we compare
        return [once() for _ in range(repeat)]


def _faults(stack: Stack, **rule: object) -> None:
    stack.sandbox.clear_faults()
    stack.sandbox.faults(**rule)


# --- 1. Submit latency ------------------------------------------------------------------------


def submit_latency(stack: Stack, latencies: Sequence[float]) -> dict[float, list[float]]:
    """Alternate the latencies submit by submit, so drift (a warming cache, a growing queue)
    weighs on each the same."""
    samples: dict[float, list[float]] = {latency: [] for latency in latencies}
    for _ in range(WARMUP_SUBMITS):
        stack.submit()
    for _ in range(SUBMITS):
        for latency in latencies:
            # Every provider route: the web tier may wait on none of them.
            _faults(stack, latency=latency)
            samples[latency].append(stack.submit().seconds)
    stack.discard_queued()
    return samples


def submit_table(samples: dict[float, list[float]]) -> str:
    fast, slow = samples[FAST], samples[SLOW]
    rows: list[list[object]] = [
        [f"{latency:g} s", len(s), ms(statistics.median(s)), ms(p95(s)), ms(max(s))]
        for latency, s in samples.items()
    ]
    rows.append(
        [
            f"ratio {SLOW:g} s / {FAST:g} s",
            "",
            f"{statistics.median(slow) / statistics.median(fast):.2f}",
            f"{p95(slow) / p95(fast):.2f}",
            "",
        ]
    )
    return table(
        "Submit latency",
        "one htmx POST of the generate form to gunicorn until the job card is back, with every "
        "sandbox route slowed and no worker running; ≈1 means the web tier never waits on the "
        "provider.",
        ["sandbox latency", "submits", "median ms", "p95 ms", "max ms"],
        rows,
    )


# --- 1b. Submit latency with budgets enforced --------------------------------------------------


def _budgets(stack: Stack, *, enforced: bool) -> None:
    """A member budget and a workspace cap far above what the bench uses, or neither."""
    from gallery.models import MemberBudget, WorkspaceBudget

    plenty = Decimal(1_000_000)
    member = stack.workspace.memberships.get().user
    WorkspaceBudget.objects.update_or_create(
        workspace=stack.workspace,
        defaults={"cap": plenty if enforced else None, "cap_unlimited": not enforced},
    )
    if enforced:
        MemberBudget.objects.update_or_create(
            workspace=stack.workspace,
            user=member,
            defaults={"limit": plenty, "unlimited": False},
        )
    else:
        MemberBudget.objects.filter(workspace=stack.workspace).delete()


def budget_latency(stack: Stack) -> dict[str, list[float]]:
    """Submits alternating between no budget set (the reservation is still written under the
    workspace's lock: the ledger counts for everyone) and a member budget plus a workspace cap
    (two sums of the month's ledger more), order swapped every round."""
    _faults(stack, latency=FAST)
    samples: dict[str, list[float]] = {"no budget set": [], "member budget + workspace cap": []}
    for _ in range(WARMUP_SUBMITS):
        stack.submit()
    for round_ in range(SUBMITS):
        labels = list(samples) if round_ % 2 == 0 else list(reversed(samples))
        for label in labels:
            _budgets(stack, enforced=label != "no budget set")
            samples[label].append(stack.submit().seconds)
    _budgets(stack, enforced=False)
    stack.discard_queued()
    return samples


def budget_table(samples: dict[str, list[float]]) -> str:
    free, enforced = samples.values()
    rows: list[list[object]] = [
        [label, len(s), ms(statistics.median(s)), ms(p95(s)), ms(max(s))]
        for label, s in samples.items()
    ]
    rows.append(
        [
            "ratio (target ≤ 1.1)",
            "",
            f"{statistics.median(enforced) / statistics.median(free):.2f}",
            f"{p95(enforced) / p95(free):.2f}",
            "",
        ]
    )
    return table(
        "Submit latency with budgets enforced",
        "one htmx POST of the generate form to gunicorn until the job card is back, no worker "
        "running, the two cases alternated submit by submit; the ledger already holds this "
        "bench's earlier reservations.",
        ["budgets", "submits", "median ms", "p95 ms", "max ms"],
        rows,
    )


# --- 2. Job wall time vs a direct call --------------------------------------------------------


def job_overhead(stack: Stack) -> tuple[list[float], list[JobTiming]]:
    _faults(stack, latency=OVERHEAD_LATENCY, route="ds.generate")
    if not stack.workers:
        stack.start_worker()
    direct = direct_generate_seconds(stack.sandbox.url, OVERHEAD_RUNS)
    wait_for_jobs([stack.submit()], timeout=60)  # warm-up: the worker's first task and token
    timings: list[JobTiming] = []
    for _ in range(OVERHEAD_RUNS):
        time.sleep(SETTLE_SECONDS + random.uniform(0, 1))
        timings += wait_for_jobs([stack.submit()], timeout=60)
    failed = [t for t in timings if t.state != "succeeded"]
    if failed:
        raise BenchError(f"{len(failed)} job(s) did not succeed")
    return direct, timings


def overhead_table(direct: list[float], timings: list[JobTiming]) -> str:
    walls = [t.wall for t in timings]
    breakdown = (
        f"web answered after {sec(statistics.median(t.submit for t in timings))} s · "
        f"worker claimed it after {sec(statistics.median(t.to_claim for t in timings))} s · "
        f"claimed → stored {sec(statistics.median(t.run for t in timings))} s"
    )
    ratio = statistics.median(walls) / statistics.median(direct)
    return table(
        "Job wall time vs a direct client call",
        f"sandbox generate latency {OVERHEAD_LATENCY:g} s, one worker, medians of "
        f"{len(walls)} after a warm-up; the pipeline is submit until SUCCEEDED with the image "
        "stored, the direct call is one `providers` generate plus the download.",
        ["path", "runs", "median s", "max s", "where the time went (medians)"],
        [
            ["direct client: generate + download", len(direct), sec(statistics.median(direct)),
             sec(max(direct)), ""],
            ["pipeline: submit → SUCCEEDED", len(walls), sec(statistics.median(walls)),
             sec(max(walls)), breakdown],
            ["overhead ratio (target ≤ 1.1)", "", f"{ratio:.2f}", "", ""],
        ],
    )  # fmt: skip


# --- 3. Throughput ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    timings: list[JobTiming]
    wall: float
    submit_all: float
    direct: float
    charged: int


def throughput(stack: Stack) -> Throughput:
    _faults(stack, latency=THROUGHPUT_LATENCY, route="ds.generate")
    while len(stack.workers) < THROUGHPUT_WORKERS:
        stack.start_worker()
    direct = statistics.median(direct_generate_seconds(stack.sandbox.url, 3))
    time.sleep(SETTLE_SECONDS)
    charged_before = int(stack.sandbox.counters()["images_charged"])
    submitted = [stack.submit() for _ in range(THROUGHPUT_JOBS)]
    submit_all = time.time() - submitted[0].started_at
    timings = wait_for_jobs(submitted, timeout=240)
    wall = max(t.finished_at for t in timings) - submitted[0].started_at
    charged = int(stack.sandbox.counters()["images_charged"]) - charged_before
    return Throughput(timings, wall, submit_all, direct, charged)


def throughput_table(result: Throughput) -> str:
    jobs = len(result.timings)
    per_minute = jobs / result.wall * 60
    ideal = THROUGHPUT_WORKERS * 60 / result.direct
    succeeded = sum(t.state == "succeeded" for t in result.timings)
    return table(
        "Throughput",
        f"{jobs} jobs submitted back to back ({sec(result.submit_all)} s for all submits), run "
        f"by {THROUGHPUT_WORKERS} workers of concurrency 1, sandbox generate latency "
        f"{THROUGHPUT_LATENCY:g} s; wall time from the first submit to the last job finished; "
        f"ideal = workers * 60 / direct call ({sec(result.direct)} s).",
        ["jobs", "workers", "wall s", "jobs/min", "ideal jobs/min", "efficiency",
         "succeeded", "images charged"],
        [[jobs, THROUGHPUT_WORKERS, sec(result.wall), f"{per_minute:.1f}", f"{ideal:.1f}",
          f"{per_minute / ideal:.0%}", succeeded, result.charged]],
    )  # fmt: skip


# --- All of it --------------------------------------------------------------------------------


def main() -> None:
    with bench_stack() as stack:
        _progress("submit latency")
        submits = submit_latency(stack, (FAST, SLOW))
        _progress("submit latency with budgets")
        budgeted = budget_latency(stack)
        _progress("job wall time vs direct call")
        direct, timings = job_overhead(stack)
        _progress(f"throughput ({THROUGHPUT_JOBS} jobs)")
        result = throughput(stack)
        _progress(f"history sync ({sync.SEEDED:,} entries)")
        full, incremental = sync.history_sync(stack)
        setup = stack.describe()
        recovered = recovery.measure(stack)
    print(f"\n### Generation pipeline\n\nOn {setup}.\n")
    print(submit_table(submits), end="\n\n")
    print(budget_table(budgeted), end="\n\n")
    print(overhead_table(direct, timings), end="\n\n")
    print(throughput_table(result), end="\n\n")
    print(sync.sync_table(full, incremental))
    print("\n### Recovery\n")
    recovery.print_tables(recovered)


def budgets_only() -> None:
    """`python -m tests.bench budgets`: the budget table alone."""
    with bench_stack() as stack:
        submit_latency(stack, (FAST,))  # the same warm-up the full run gives it
        budgeted = budget_latency(stack)
        setup = stack.describe()
    print(f"\nOn {setup}.\n")
    print(budget_table(budgeted))


if __name__ == "__main__":
    main()
