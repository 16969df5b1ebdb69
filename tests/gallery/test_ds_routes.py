"""Jobs, sync and delete through the app against each documented ds-prototypes layout, and a job
that meets a 404 because the routes moved (spec §1.6.0)."""

from __future__ import annotations

import pytest

from accounts.connection import connection_check_run
from accounts.models import ConnectionCheck
from gallery.models import HistorySync, Image
from gallery.services.images import image_delete_at_provider
from gallery.services.jobs import JobRequest, job_submit
from gallery.services.sync import sync_request, sync_run
from tests.gallery.running import run_until_done

IG = "/api/ds-prototypes/image_generation"
BARE = "/api/ds-prototypes"
LAYOUTS = {"reference": (BARE, BARE), "guide": (IG, BARE)}
PROBES = ("GET ds.models", "GET ds.history")


def run_test_connection(studio) -> ConnectionCheck:
    check = ConnectionCheck.objects.create(credential=studio.credential)
    connection_check_run(check_id=check.pk)
    check.refresh_from_db()
    return check


def edit_of(studio, member, parent: Image, key: str = "edit-1"):
    return job_submit(
        workspace=studio,
        author=member,
        request=JobRequest("edit", "make it night", "nano-banana-2", {"n": 1}, parent),
        idempotency_key=key,
    )


def full_sync(studio) -> HistorySync:
    run = sync_request(workspace=studio, mode="full")
    sync_run(run_id=run.pk)
    run.refresh_from_db()
    return run


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_after_test_connection_generate_edit_sync_and_delete_all_work(
    studio, submit, member, sandbox, layout
):
    sandbox.configure(ds_layout=layout)
    check = run_test_connection(studio)
    assert check.state == "ok", check.error
    assert (check.generation_path, check.history_path) == LAYOUTS[layout]
    sandbox.control("DELETE", "counters")

    job = submit(n=2)
    run_until_done(job)
    assert job.state == "succeeded", job.error
    parent = job.images.order_by("id").first()
    edit = edit_of(studio, member, parent)
    run_until_done(edit)
    assert edit.state == "succeeded", edit.error
    assert edit.images.get().parent == parent
    assert sandbox.calls("POST ds.edit") == 1

    sandbox.seed_history(3, prompt="made elsewhere")
    run = full_sync(studio)
    assert run.state == "ok", run.error
    assert run.entries_new == 3

    image_delete_at_provider(image_id=parent.pk)
    assert sandbox.calls("DELETE ds.history_item") == 1

    assert sandbox.counters()["images_charged"] == 3
    # The routes Test connection found were right: nothing had to be looked for again.
    assert sandbox.calls("GET ds.models") == 0
    assert sandbox.calls("GET ds.history") == 1  # the sync's one page
    assert parent.provider_image_id not in {e["output_image_id"] for e in history_at(sandbox)}


def history_at(sandbox) -> list[dict]:
    """The sandbox's own history, read without the client under test."""
    token = sandbox.access_token()
    response = sandbox.session.get(
        f"{sandbox.url}{BARE}/history",
        headers={"Authorization": f"Bearer {token}", "x-workspace-id": sandbox.workspace_id},
        params={"limit": 1000},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def test_a_job_whose_routes_moved_rediscovers_once_and_remembers(studio, submit, sandbox):
    # Found on a guide-layout server; the server has since been laid out as the reference says.
    credential = studio.credential
    credential.discovered_generation_path, credential.discovered_history_path = IG, BARE
    credential.save()
    sandbox.configure(ds_layout="reference")
    sandbox.control("DELETE", "counters")

    job = submit()
    run_until_done(job)

    assert job.state == "succeeded", job.error
    assert job.attempts == 1
    assert sandbox.calls("GET ds.models") == 1  # exactly one look, on the first candidate
    assert sandbox.calls("GET ds.history") == 0  # the history family did not move
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 1
    credential.refresh_from_db()
    assert (credential.discovered_generation_path, credential.discovered_history_path) == (
        BARE,
        BARE,
    )

    again = submit()
    run_until_done(again)
    assert again.state == "succeeded", again.error
    assert sandbox.calls("GET ds.models") == 1  # the next job goes straight to the new place


def test_a_sync_whose_routes_moved_rediscovers_once_and_remembers(studio, sandbox):
    credential = studio.credential
    credential.discovered_generation_path, credential.discovered_history_path = IG, BARE
    credential.save()
    sandbox.seed_history(5)
    sandbox.configure(ds_layout="overview")

    run = full_sync(studio)

    assert run.state == "ok", run.error
    assert run.entries_new == 5
    credential.refresh_from_db()
    assert credential.discovered_history_path == IG


def test_a_delete_whose_routes_moved_is_not_mistaken_for_already_gone(studio, submit, sandbox):
    job = submit()
    run_until_done(job)
    image = job.images.get()
    sandbox.configure(ds_layout="overview")  # history moved from the bare prefix

    image_delete_at_provider(image_id=image.pk)

    assert sandbox.calls("DELETE ds.history_item") == 1  # it really was deleted there
    studio.credential.refresh_from_db()
    assert studio.credential.discovered_history_path == IG


def test_a_path_typed_by_an_admin_is_not_rediscovered(studio, submit, sandbox):
    credential = studio.credential
    credential.generation_path = IG
    credential.save()
    sandbox.configure(ds_layout="reference")

    job = submit()
    run_until_done(job)

    assert job.state == "failed"
    assert "could not find the image generation route (404)" in job.error
    assert sandbox.calls("GET ds.models") == 0
    credential.refresh_from_db()
    assert (credential.generation_path, credential.discovered_generation_path) == (IG, "")
