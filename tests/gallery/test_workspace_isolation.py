"""Two workspaces on one local sandbox never see each other's images: each has its own account."""

from __future__ import annotations

from django.urls import reverse

from accounts.services import workspace_create
from gallery.models import Image
from gallery.services.catalog import catalog_refresh
from gallery.services.jobs import JobRequest, job_submit
from gallery.services.sync import sync_request, sync_run
from tests.gallery.running import run_until_done

PRIVATE = "the launch poster nobody outside marketing may see"


def test_a_history_sync_never_brings_in_another_workspaces_images(
    sandbox, settings, make_user, client_for
):
    settings.SANDBOX_URL = sandbox.url  # a fresh install: the credentials leave the URL blank
    alice, bob = make_user(email="alice@example.com"), make_user(email="bob@example.com")
    marketing = workspace_create(name="Marketing", creator=alice)
    research = workspace_create(name="Research", creator=bob)
    catalog_refresh(workspace=marketing)
    job = job_submit(
        workspace=marketing,
        author=alice,
        request=JobRequest("text2image", PRIVATE, "nano-banana-2", {"n": 1}),
        idempotency_key="poster-1",
    )
    run_until_done(job)
    assert job.state == "succeeded", job.error

    for workspace in (research, marketing):
        run = sync_request(workspace=workspace, mode="full")
        sync_run(run_id=run.pk)
        run.refresh_from_db()
        assert run.state == "ok", run.error

    assert not Image.objects.filter(workspace=research).exists()
    page = client_for(bob).get(reverse("gallery:home", args=[research.slug]))
    assert PRIVATE not in page.content.decode()
    # Marketing still sees its own image, once (the job's and the history's are one row).
    assert list(Image.objects.filter(workspace=marketing).values_list("prompt", flat=True)) == [
        PRIVATE
    ]


def test_each_new_workspace_gets_a_sandbox_account_of_its_own(db):
    first = workspace_create(name="One", creator=None).credential
    second = workspace_create(name="Two", creator=None).credential

    assert first.remote_workspace_id.startswith("sandbox-one-")
    assert first.client_id == first.remote_workspace_id
    assert second.remote_workspace_id != first.remote_workspace_id
