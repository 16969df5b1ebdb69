"""Brief outages of the database, Redis and the media storage: web and workers ride them out,
no job is lost and none is paid for twice.

Real worker processes, the sandbox over HTTP. The database is cut off by a TCP proxy in front
of PostgreSQL (SQLite has no server to lose: those tests need PostgreSQL, and fail under
CI=true without it); Redis is a private server restarted on the same port; the media storage
is taken away as an unmounted volume would be, or, with media in a bucket, the S3-protocol server
is cut off by a TCP proxy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse

from gallery.models import Job
from gallery.services.jobs import WORKERS_UNREACHABLE
from tests.celery_fixture import CeleryProcess
from tests.integration.conftest import PrivateRedis, finished, wait_for
from tests.integration.tcp_proxy import TcpProxy
from tests.integration.test_pipeline_worker import FAST_RETRIES
from tests.integration.test_recovery import web_tier_broker

pytestmark = pytest.mark.integration


UNREACHABLE_IN_LOG = "the database cannot be reached"


# --- The database -----------------------------------------------------------------------------


@pytest.fixture
def database_proxy(transactional_db) -> Iterator[TcpProxy]:
    """A proxy in front of the test database; workers given `database_url(proxy)` go through
    it, while this process (the web tier) keeps its direct connection."""
    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        message = (
            "The database-outage tests need PostgreSQL (DATABASE_URL=postgres://…): SQLite has "
            "no server to cut off."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    yield proxy
    proxy.close()


def whole_log(worker: CeleryProcess) -> str:
    return worker.log_path.read_text(errors="replace")


def database_url(proxy: TcpProxy) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@127.0.0.1:{proxy.port}/{db['NAME']}"


@pytest.mark.worker_env(**FAST_RETRIES)
def test_a_worker_waits_out_a_database_outage_before_the_call(
    database_proxy, start_worker, generate, sandbox
):
    worker = start_worker(DATABASE_URL=database_url(database_proxy))
    with database_proxy.outage():
        generate()  # the web tier writes the job; the worker cannot claim it yet
        wait_for(
            lambda: UNREACHABLE_IN_LOG in whole_log(worker),
            what="the worker to find the database unreachable",
            worker=worker,
        )
        time.sleep(2)  # a few more tries
    job = finished(Job.objects.get(), worker)
    assert job.state == "succeeded", job.error
    assert job.attempts == 1
    assert job.images.count() == 1
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 1


@pytest.mark.worker_env(**FAST_RETRIES)
def test_an_answer_paid_for_during_a_database_outage_is_recorded_once_it_is_back(
    database_proxy, start_worker, generate, sandbox
):
    worker = start_worker(DATABASE_URL=database_url(database_proxy))
    sandbox.faults(route="ds.generate", latency=2, count=1)
    generate(n=2)
    job = Job.objects.get()
    wait_for(lambda: sandbox.calls("POST ds.generate") >= 1, what="the call to reach the provider")
    # The provider answers (and charges) at ~2 s; the database is back at ~5 s.
    healer = database_proxy.cut_for(5)
    wait_for(
        lambda: sandbox.counters()["images_charged"] == 2,
        what="the provider to charge",
        worker=worker,
    )
    healer.join()
    finished(job, worker)
    assert job.state == "succeeded", job.error
    assert job.attempts == 1  # the same attempt went on: no reconciling, no second claim
    assert job.images.count() == 2
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 2
    assert database_proxy.refused > 0  # the worker did try while it was cut off
    assert f"Job {job.pk}: {UNREACHABLE_IN_LOG}" in whole_log(worker)


@pytest.mark.worker_env(
    JOB_DATABASE_RETRY_SECONDS="1",
    JOB_HEARTBEAT_SECONDS="0.5",
    JOB_STALE_SECONDS="2",
    JOB_DISPATCH_SECONDS="1",
    JOB_REDISPATCH_SECONDS="1",
    **FAST_RETRIES,
)
def test_a_worker_cut_off_for_longer_lets_the_job_go_and_it_resumes_without_a_second_call(
    database_proxy, start_worker, start_beat, generate, sandbox
):
    worker = start_worker(DATABASE_URL=database_url(database_proxy))
    start_beat()  # the recovery tick, on the database directly
    sandbox.faults(route="ds.generate", latency=1, count=1)
    generate()
    job = Job.objects.get()
    wait_for(lambda: sandbox.calls("POST ds.generate") >= 1, what="the call to reach the provider")
    with database_proxy.outage():  # the answer arrives; the worker gives up recording it
        wait_for(
            lambda: "the database stayed unreachable at stage called" in whole_log(worker),
            what="the worker to let the job go",
            worker=worker,
        )
    finished(job, worker)
    assert job.state == "succeeded", job.error  # adopted from the provider's history
    assert job.images.count() == 1
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 1


# --- Redis ------------------------------------------------------------------------------------


@pytest.mark.worker_env(JOB_DISPATCH_SECONDS="1", JOB_REDISPATCH_SECONDS="2")
def test_web_and_workers_reconnect_by_themselves_when_redis_restarts(
    private_redis: PrivateRedis, start_worker, start_beat, generate, member_client, settings,
    sandbox, studio,
):  # fmt: skip
    private_redis.start()
    cache_url = private_redis.url.removesuffix("/0") + "/1"
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.RedisCache", "LOCATION": cache_url}
    }  # the web tier's cache, and so its sessions (cached_db)
    env = {"CELERY_BROKER_URL": private_redis.url, "CACHE_URL": cache_url}
    page = reverse("gallery:generate", args=[studio.slug])
    with web_tier_broker(private_redis.url):
        worker = start_worker(**env)
        start_beat(**env)
        generate(prompt="before")
        before = finished(Job.objects.get(prompt="before"), worker)
        assert before.state == "succeeded", before.error

        private_redis.stop()
        assert member_client.get(page).status_code == 200  # the session comes from the database
        response = generate(prompt="during")
        assert response.status_code == 302
        during = Job.objects.get(prompt="during")
        assert (during.state, during.error) == ("queued", WORKERS_UNREACHABLE)
        time.sleep(2)  # the worker and beat notice Redis is gone

        private_redis.start()  # empty: the messages it held are gone with it
        finished(during, worker, timeout=60)
        assert during.state == "succeeded", during.error
        assert member_client.get(page).status_code == 200
        generate(prompt="after")
        after = Job.objects.get(prompt="after")
        assert after.error != WORKERS_UNREACHABLE  # the web tier reached the broker again
        finished(after, worker)
        assert after.state == "succeeded", after.error
    assert sandbox.counters()["images_charged"] == 3
    assert worker.alive


# --- The media storage ------------------------------------------------------------------------


class VolumeOutage:
    """The media folder as a mounted volume that goes away and comes back: MEDIA_ROOT is a
    symlink to the volume, pointed at nothing while it is away (chmod would not stop a worker
    running as root, as CI's does)."""

    def __init__(self, folder: Path) -> None:
        self.volume = folder / "volume"
        self.volume.mkdir()
        self.root = folder / "media"
        self.root.symlink_to(self.volume)
        self.worker_env = {"MEDIA_ROOT": str(self.root)}

    def take_away(self) -> None:
        self.root.unlink()
        self.root.symlink_to(self.volume.with_name("unmounted"))

    def bring_back(self) -> None:
        self.root.unlink()
        self.root.symlink_to(self.volume)

    def close(self) -> None:
        pass


class BucketOutage:
    """The S3-protocol server cut off from the workers (a network outage, or the service down):
    workers reach it through a TCP proxy, which breaks every connection while it is away. This
    process keeps its direct connection, to look at what was stored."""

    def __init__(self, endpoint_url: str) -> None:
        url = urlsplit(endpoint_url)
        self.proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 80)
        self.worker_env = {"S3_ENDPOINT_URL": f"http://127.0.0.1:{self.proxy.port}"}

    def take_away(self) -> None:
        self.proxy.cut()

    def bring_back(self) -> None:
        self.proxy.heal()

    def close(self) -> None:
        self.proxy.close()


def _media_backend() -> str:
    return django_settings.STORAGES["default"]["BACKEND"]


def skip_unless_media_on_files() -> None:
    """The volume outage is for media on the filesystem; on object storage (the S3 variant of
    the suite) it would break nothing, and prove nothing."""
    if _media_backend() != "django.core.files.storage.FileSystemStorage":
        pytest.skip(f"the media are stored by {_media_backend()}, not on a volume")


@pytest.fixture(params=["volume", "bucket"])
def storage_outage(request, tmp_path, settings) -> Iterator[VolumeOutage | BucketOutage]:
    """Media on a volume (make test's second pass) or in a bucket (CI's first pass, with
    TEST_MEDIA_STORAGE=s3): each pass runs the outage of the storage it has."""
    outage: VolumeOutage | BucketOutage
    if request.param == "volume":
        skip_unless_media_on_files()
        outage = VolumeOutage(tmp_path)
        settings.MEDIA_ROOT = outage.root  # where this process looks for the stored files
    else:
        if not _media_backend().startswith("storages.backends.s3"):
            pytest.skip("the media are not in a bucket (TEST_MEDIA_STORAGE=s3 puts them there)")
        outage = BucketOutage(django_settings.S3_ENDPOINT_URL)
    yield outage
    outage.close()


STORAGE_RETRIES = {**FAST_RETRIES, "JOB_RETRY_BASE_SECONDS": "0.5", "JOB_RETRY_MAX_SECONDS": "1"}


@pytest.mark.worker_env(**STORAGE_RETRIES)
def test_a_paid_job_waits_for_the_storage_and_finishes_when_it_is_back(
    storage_outage, start_worker, generate, sandbox, settings
):
    settings.JOB_MAX_ATTEMPTS = 20  # fixed on the job when it is submitted
    worker = start_worker(**storage_outage.worker_env)
    storage_outage.take_away()
    generate(n=2)
    job = Job.objects.get()
    waiting = (
        "Paid; the images are not stored yet: the media storage cannot be reached. "
        "Trying again (no new charge)…"
    )
    wait_for(
        lambda: Job.objects.filter(
            pk=job.pk, state="queued", stage="paid", attempts__gte=2, error=waiting
        ).exists(),
        what="the job to wait, paid, for the storage",
        worker=worker,
    )

    storage_outage.bring_back()
    finished(job, worker)
    assert job.state == "succeeded", job.error
    assert job.images.count() == 2
    for image in job.images.all():
        assert image.file.storage.exists(image.file.name)
        assert image.thumbnail.storage.exists(image.thumbnail.name)
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 2


@pytest.mark.worker_env(**STORAGE_RETRIES)
def test_a_job_out_of_attempts_while_the_storage_is_away_is_stored_by_retry_without_a_new_charge(
    storage_outage, start_worker, generate, sandbox, settings, member_client, studio
):
    settings.JOB_MAX_ATTEMPTS = 2
    worker = start_worker(**storage_outage.worker_env)
    storage_outage.take_away()
    generate()
    job = finished(Job.objects.get(), worker)
    assert (job.state, job.stage) == ("failed", "paid")
    assert job.error == (
        "Paid, but the images are not stored: the media storage cannot be reached. "
        "Once the storage is back, Retry download stores them without a new charge."
    )
    assert job.retry_resumes

    storage_outage.bring_back()
    member_client.post(reverse("gallery:job_retry", args=[studio.slug, job.pk]))
    finished(job, worker)
    assert job.state == "succeeded", job.error
    assert Job.objects.count() == 1  # the same job, not a new one
    assert job.images.count() == 1
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 1
