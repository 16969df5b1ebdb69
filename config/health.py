"""Health endpoints for a load balancer or an orchestrator.

/healthz: the process answers (no database, no session). /readyz: the database, the broker, the
cache and media storage each answer within a few seconds; 503 with the failing check named
otherwise. Both are answered by `config.middleware.HealthCheckMiddleware`, before the host
check, the HTTPS redirect and the session.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu import Connection

# Each check has this long; together they run side by side, so /readyz answers within it too.
CHECK_TIMEOUT_SECONDS = 3.0
# A folder of media storage for the storage check's tiny object, written and deleted each time.
STORAGE_PROBE_PREFIX = "health"


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def check_database() -> None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # The check runs in a thread of its own: its connection must not outlive it.
        connections.close_all()


def broker_queue_length() -> int:
    """Messages waiting in the default queue (Redis: the list's length; the filesystem broker:
    its files). Raises the broker's error when it cannot be reached."""
    from config.celery import app  # the Celery app imports Django's settings

    # The broker as settings describe it (the worker's own), with a short timeout of our own.
    with Connection(
        settings.CELERY_BROKER_URL,
        transport=getattr(settings, "CELERY_BROKER_TRANSPORT", None),
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=CHECK_TIMEOUT_SECONDS,
    ) as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=int(CHECK_TIMEOUT_SECONDS)
        )
        channel: Any = connection.default_channel
        # Not passive: Redis reports an empty queue as a missing one.
        declared = channel.queue_declare(queue=app.conf.task_default_queue)
        return int(declared.message_count)


def check_broker() -> None:
    broker_queue_length()


def check_cache() -> None:
    # Darkroom's Redis cache reads an unreachable Redis as a miss (config/cache.py): ask it.
    ping = getattr(cache, "ping", None)
    if ping is not None:
        ping()
    key, value = f"readyz:{uuid.uuid4().hex}", "ok"
    cache.set(key, value, timeout=30)
    try:
        if cache.get(key) != value:
            raise LookupError("a value written to the cache could not be read back")
    finally:
        cache.delete(key)


def check_storage() -> None:
    """Write a tiny object and delete it: reading alone would pass a read-only or full store."""
    name = default_storage.save(
        f"{STORAGE_PROBE_PREFIX}/readyz-{uuid.uuid4().hex}.txt", ContentFile(b"ok")
    )
    default_storage.delete(name)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
    "storage": check_storage,
}

# user:password@ in a URL an error message may quote (a broker or database address).
_CREDENTIALS_IN_URL = re.compile(r"(?<=://)[^/@\s]+@")


def reason(exc: BaseException) -> str:
    """The error class and a short reason, with any credentials in a quoted URL removed."""
    text = " ".join(str(exc).split()) or "no details"
    text = _CREDENTIALS_IN_URL.sub("***@", text)
    return f"{type(exc).__name__}: {text[:200]}"


def _timed(check: Callable[[], None]) -> tuple[float, BaseException | None]:
    start = time.perf_counter()
    try:
        check()
    except Exception as exc:  # every failure is an answer here, whatever its kind
        return (time.perf_counter() - start) * 1000, exc
    return (time.perf_counter() - start) * 1000, None


def readiness() -> tuple[bool, dict[str, dict[str, object]]]:
    """Run every check side by side; each has CHECK_TIMEOUT_SECONDS."""
    results: dict[str, dict[str, object]] = {}
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(_timed, check) for name, check in CHECKS.items()}
        deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
        for name, future in futures.items():
            try:
                ms, error = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FuturesTimeout:
                results[name] = {
                    "status": "fail",
                    "ms": round(CHECK_TIMEOUT_SECONDS * 1000, 1),
                    "error": f"Timeout: no answer within {CHECK_TIMEOUT_SECONDS:g} s",
                }
                continue
            results[name] = {"status": "ok" if error is None else "fail", "ms": round(ms, 1)}
            if error is not None:
                results[name]["error"] = reason(error)
    finally:
        # A check that hangs is left to finish on its own; the answer does not wait for it.
        pool.shutdown(wait=False, cancel_futures=True)
    return all(r["status"] == "ok" for r in results.values()), results


def readyz(request: HttpRequest) -> HttpResponse:
    ready, checks = readiness()
    return JsonResponse(
        {"status": "ok" if ready else "fail", "checks": checks},
        status=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}
