"""Recovery benchmark of issue 9: how long a killed worker's job takes to finish once a new
worker starts (beat runs the recovery tick, default heartbeat and stale settings), and a soak of
simulated users on the default stack that must end with no worker exit and nothing lost.

Run alone with `uv run python -m tests.bench.recovery`; `make bench` runs it last, on the
pipeline benchmark's stack.
BENCH_SOAK_SECONDS sets the soak's length (default 300), BENCH_SOAK_USERS its users (20).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

from tests.bench.report import sec, table
from tests.bench.stack import BenchError, Stack, bench_stack

KILL_RUNS = 3
KILL_LATENCY = 5.0  # the call is in flight at the provider when the worker dies
SOAK_SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "300"))
SOAK_USERS = int(os.environ.get("BENCH_SOAK_USERS", "20"))
SOAK_LATENCY = 0.5
THINK_SECONDS = (1.0, 3.0)


def _progress(message: str) -> None:
    print(f"recovery bench: {message}", file=sys.stderr, flush=True)


def _job(job_id: int):
    from gallery.models import Job

    return Job.objects.get(pk=job_id)


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- 1. A worker killed mid-call --------------------------------------------------------------


@dataclass(frozen=True)
class KillRun:
    after_kill: float  # the kill → the job SUCCEEDED
    after_start: float  # the replacement worker began starting → SUCCEEDED
    charged: int  # images the provider charged for this job


def kill_mid_call(stack: Stack) -> KillRun:
    sandbox = stack.sandbox
    sandbox.clear_faults()
    sandbox.faults(route="ds.generate", latency=KILL_LATENCY, count=1)
    calls = sandbox.calls("POST ds.generate")
    charged = int(sandbox.counters()["images_charged"])
    if not stack.workers or not stack.workers[-1].alive:
        stack.start_worker()
    job_id = stack.submit().job_id
    _wait_until(lambda: sandbox.calls("POST ds.generate") > calls, 30, "the call to be in flight")
    killed = time.monotonic()
    stack.workers[-1].kill()
    starting = time.monotonic()
    stack.start_worker()
    _wait_until(lambda: not _job(job_id).is_active, 180, "the job to finish")
    done = time.monotonic()
    job = _job(job_id)
    if job.state != "succeeded":
        raise BenchError(f"job {job_id} ended {job.state}: {job.error}")
    return KillRun(
        done - killed, done - starting, int(sandbox.counters()["images_charged"]) - charged
    )


def kill_table(runs: list[KillRun]) -> str:
    from django.conf import settings

    after_start = [r.after_start for r in runs]
    after_kill = [r.after_kill for r in runs]
    return table(
        "Recovery after a worker is killed mid-call",
        f"the worker's whole process group SIGKILLed while a generate call is in flight "
        f"(sandbox latency {KILL_LATENCY:g} s), a replacement started at once; beat runs the "
        f"recovery tick every {settings.JOB_DISPATCH_SECONDS:g} s, a job is released "
        f"{settings.JOB_STALE_SECONDS:g} s after its last heartbeat (defaults). Target: done "
        "within 60 s of the replacement starting, charged once.",
        ["runs", "replacement start → done, median s", "max s", "kill → done, median s",
         "images charged per job"],
        [[len(runs), sec(statistics.median(after_start)), sec(max(after_start)),
          sec(statistics.median(after_kill)), ", ".join(str(r.charged) for r in runs)]],
    )  # fmt: skip


# --- 2. Simulated users -----------------------------------------------------------------------


@dataclass
class Soak:
    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    refused: int = 0  # web answers other than 200 (5xx would count here too)
    waits: list[float] = field(default_factory=list)  # submit → done, per job
    worker_exits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def soak(stack: Stack) -> Soak:
    from django.db import connection

    stack.sandbox.clear_faults()
    stack.sandbox.faults(route="ds.generate", latency=SOAK_LATENCY)
    result = Soak()
    stop_at = time.monotonic() + SOAK_SECONDS

    def user(number: int) -> None:
        http = stack.browser()
        rng = random.Random(number)
        try:
            while time.monotonic() < stop_at:
                try:
                    submitted = stack.submit(prompt=f"user {number} at work", http=http)
                except BenchError:
                    with result.lock:
                        result.refused += 1
                    continue
                with result.lock:
                    result.submitted += 1
                job_id = submitted.job_id
                _wait_until(lambda: not _job(job_id).is_active, 300, "a soak job")  # noqa: B023
                state = _job(job_id).state
                with result.lock:
                    result.waits.append(time.time() - submitted.started_at)
                    if state == "succeeded":
                        result.succeeded += 1
                    else:
                        result.failed += 1
                time.sleep(rng.uniform(*THINK_SECONDS))
        finally:
            connection.close()

    users = [threading.Thread(target=user, args=(n,)) for n in range(SOAK_USERS)]
    for thread in users:
        thread.start()
    while any(thread.is_alive() for thread in users):
        time.sleep(1)
        result.worker_exits = sum(not w.alive for w in stack.workers)
    for thread in users:
        thread.join()
    result.worker_exits = sum(not w.alive for w in stack.workers)
    return result


def soak_table(result: Soak, charged: int, setup: str) -> str:
    waits = sorted(result.waits) or [0.0]
    return table(
        f"{SOAK_USERS} simulated users for {SOAK_SECONDS / 60:g} min on {setup}",
        f"each user submits a job, waits until it is done, thinks {THINK_SECONDS[0]:g} to "
        f"{THINK_SECONDS[1]:g} s, and again; sandbox generate latency {SOAK_LATENCY:g} s.",
        ["jobs submitted", "succeeded", "failed", "submits refused", "submit → done median s",
         "p95 s", "images charged", "worker exits"],
        [[result.submitted, result.succeeded, result.failed, result.refused,
          sec(statistics.median(waits)), sec(waits[int(len(waits) * 0.95) - 1]), charged,
          result.worker_exits]],
    )  # fmt: skip


@dataclass(frozen=True)
class Recovery:
    kills: list[KillRun]
    soak: Soak
    charged: int  # images charged during the soak


def measure(stack: Stack) -> Recovery:
    """On a running bench stack: adds beat, then kills workers, then the soak (it replaces the
    stack's workers with one worker of concurrency 2, as `make run` has)."""
    if stack.beat is None:
        stack.start_beat()
    kills = []
    for run in range(1, KILL_RUNS + 1):
        _progress(f"worker killed mid-call, run {run} of {KILL_RUNS}")
        kills.append(kill_mid_call(stack))
    _progress(f"{SOAK_USERS} simulated users for {SOAK_SECONDS:g} s")
    for worker in stack.workers:
        worker.stop()
    stack.workers.clear()
    stack.start_worker(concurrency=2)
    charged_before = int(stack.sandbox.counters()["images_charged"])
    result = soak(stack)
    charged = int(stack.sandbox.counters()["images_charged"]) - charged_before
    return Recovery(kills, result, charged)


def print_tables(recovery: Recovery) -> None:
    print(kill_table(recovery.kills), end="\n\n")
    print(
        soak_table(recovery.soak, recovery.charged, "the same stack, one worker of concurrency 2")
    )
    if recovery.soak.worker_exits:
        raise BenchError(f"{recovery.soak.worker_exits} worker(s) exited during the soak")


def main() -> None:
    with bench_stack() as stack:
        recovery = measure(stack)
        setup = stack.describe()
    print(f"\n### Recovery\n\nOn {setup}.\n")
    print_tables(recovery)


if __name__ == "__main__":
    main()
