"""The history mirror against the sandbox seeded with thousands of entries made elsewhere."""

from __future__ import annotations

import pytest

from gallery.models import HistorySync, Image
from gallery.services.sync import files_fetch_missing, sync_request, sync_run
from tests.gallery.running import run_until_done

SEEDED = 2500


def sync(studio, mode: str = "incremental") -> HistorySync:
    run = sync_request(workspace=studio, mode=mode)
    result = sync_run(run_id=run.pk)
    run.refresh_from_db()
    assert result is not None or run.state != "queued"
    return run


def mirrored(studio) -> int:
    return Image.objects.visible().filter(workspace=studio).count()


@pytest.fixture
def seeded(studio, sandbox):
    sandbox.seed_history(SEEDED, prompt="made by a script")
    return studio


def test_a_full_sync_mirrors_everything_made_elsewhere(seeded, sandbox):
    run = sync(seeded, "full")
    assert run.state == "ok", run.error
    assert (run.entries_new, run.entries_removed) == (SEEDED, 0)
    assert mirrored(seeded) == SEEDED
    assert sandbox.calls("GET ds.history") == 3  # 1000 per page
    image = Image.objects.filter(workspace=seeded).first()
    assert (image.source, image.author) == ("history", None)
    assert image.prompt.startswith("made by a script")
    assert image.provider_url.startswith("/api/ds-prototypes/image_generation/")


def test_running_it_again_changes_nothing(seeded):
    sync(seeded, "full")
    again = sync(seeded, "full")
    assert (again.entries_new, again.entries_updated, again.entries_removed) == (0, 0, 0)
    assert mirrored(seeded) == SEEDED


def test_an_incremental_sync_after_ten_new_entries_reads_at_most_two_pages(seeded, sandbox):
    sync(seeded, "full")
    sandbox.seed_history(10)
    sandbox.control("DELETE", "counters")
    run = sync(seeded)
    assert run.entries_new == 10
    assert sandbox.calls("GET ds.history") <= 2
    assert mirrored(seeded) == SEEDED + 10


def test_a_full_sync_marks_exactly_the_entries_deleted_at_the_provider(seeded, sandbox, owner):
    import requests

    sync(seeded, "full")
    doomed = list(Image.objects.filter(workspace=seeded).order_by("?")[:5])
    token = sandbox.access_token()
    for image in doomed:
        requests.delete(
            f"{sandbox.url}/api/ds-prototypes/image_generation/history/{image.provider_image_id}",
            headers={"Authorization": f"Bearer {token}", "x-workspace-id": sandbox.workspace_id},
            timeout=5,
        ).raise_for_status()
    run = sync(seeded, "full")
    assert run.entries_removed == 5
    gone = set(
        Image.objects.filter(workspace=seeded, removed_at_provider=True).values_list(
            "pk", flat=True
        )
    )
    assert gone == {image.pk for image in doomed}
    assert mirrored(seeded) == SEEDED - 5


def test_an_incremental_sync_never_removes_anything(seeded, sandbox):
    sync(seeded, "full")
    sandbox.reset()  # the provider's history is now empty
    run = sync(seeded)
    assert run.entries_removed == 0
    assert mirrored(seeded) == SEEDED


@pytest.mark.parametrize("shape", ["list", "items"])
def test_it_reads_both_history_shapes(studio, sandbox, shape):
    sandbox.configure(history_shape=shape)
    sandbox.seed_history(30)
    assert sync(studio, "full").entries_new == 30


def test_a_failure_on_page_seven_then_a_rerun_leaves_no_duplicates_and_nothing_missing(
    studio, sandbox, settings
):
    settings.HISTORY_PAGE_SIZE = 100
    sandbox.seed_history(1000)
    sandbox.faults(route="ds.history", status=500, skip=6, count=1)
    first = sync(studio)  # incremental, 100 per page: pages 1-6 stored, page 7 fails
    assert first.state == "failed"
    assert "server error" in first.error
    assert mirrored(studio) == 600
    second = sync(studio)  # incremental: it walks on past the known pages to finish the job
    assert second.state == "ok"
    assert mirrored(studio) == 1000
    assert Image.objects.filter(workspace=studio).count() == 1000


def test_two_syncs_of_one_workspace_never_run_at_once(studio, sandbox):
    sandbox.seed_history(10)
    running = HistorySync.objects.create(workspace=studio, mode="full", state="running")
    from django.utils import timezone

    HistorySync.objects.filter(pk=running.pk).update(heartbeat_at=timezone.now())
    assert (
        sync_request(workspace=studio, mode="incremental").pk == running.pk
    )  # no second one queued
    other = HistorySync.objects.create(workspace=studio, mode="incremental")
    assert sync_run(run_id=other.pk) is None
    other.refresh_from_db()
    assert other.state == "skipped"
    assert sandbox.calls("GET ds.history") == 0


def test_a_sync_whose_worker_died_stops_holding_the_lock(studio, sandbox, settings):
    import datetime as dt

    from django.utils import timezone

    settings.HISTORY_SYNC_STALE_SECONDS = 60
    HistorySync.objects.create(
        workspace=studio,
        mode="full",
        state="running",
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5),
    )
    sandbox.seed_history(5)
    run = HistorySync.objects.create(workspace=studio, mode="full")
    assert sync_run(run_id=run.pk).state == "ok"


def test_darkroom_images_are_matched_not_duplicated(studio, submit, sandbox):
    job = submit(n=2)
    run_until_done(job)
    run = sync(studio, "full")
    assert run.entries_new == 0
    assert Image.objects.filter(workspace=studio).count() == 2
    assert set(Image.objects.values_list("source", flat=True)) == {"job"}


def test_mirrored_images_get_their_files_and_thumbnails(studio, sandbox):
    sandbox.seed_history(3)
    sync(studio, "full")
    stored, more = files_fetch_missing(workspace=studio)
    assert (stored, more) == (3, False)
    for image in Image.objects.filter(workspace=studio):
        assert image.file
        assert image.thumbnail
        assert image.checksum
        assert image.thumbnail.size <= 40_000


def test_sync_now_queues_a_full_sync_and_the_panel_polls_until_done(member_client, studio, sandbox):
    from django.urls import reverse

    sandbox.seed_history(12)
    html = member_client.post(
        reverse("gallery:sync_now", args=[studio.slug]), HTTP_HX_REQUEST="true"
    ).content.decode()
    run = HistorySync.objects.get()
    assert run.mode == "full"
    assert 'hx-trigger="every 1s"' in html
    assert "Syncing with the provider" in html
    sync_run(run_id=run.pk)
    html = member_client.get(
        reverse("gallery:sync_panel", args=[studio.slug]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "hx-trigger" not in html
    assert "12 images made elsewhere" in html
    assert "last run: 12 new, 0 updated, 0 removed" in html
    home = member_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
    assert home.count('class="tile ') == 12
    assert "Fetching from the provider" in home  # files arrive in the background


def test_the_panel_explains_a_failed_sync_in_plain_words(member_client, studio, sandbox):
    from django.urls import reverse

    sandbox.faults(route="ds.history", status=503, count=1)
    sync(studio)
    html = member_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
    assert "Last sync failed: Sandbox had a server error" in html


def test_nanogpt_workspaces_say_there_is_no_history_to_mirror(member_client, studio):
    from django.urls import reverse

    studio.credential.kind = "nanogpt"
    studio.credential.save()
    html = member_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
    assert "NanoGPT keeps no history of its own" in html
    assert "Sync now" not in html


def test_viewers_see_the_status_but_cannot_sync(viewer_client, studio):
    from django.urls import reverse

    html = viewer_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
    assert "Provider history" in html
    assert "Sync now" not in html
    assert viewer_client.post(reverse("gallery:sync_now", args=[studio.slug])).status_code == 403


def test_a_file_the_provider_cannot_serve_now_comes_on_the_tasks_next_try(studio, sandbox):
    from gallery.tasks import fetch_missing_files

    sandbox.seed_history(3)
    sync(studio, "full")
    sandbox.faults(route="ds.view", status=503, count=1)
    fetch_missing_files.apply(args=(studio.pk,))  # retried at once when run eagerly
    assert Image.objects.filter(workspace=studio, file="").count() == 0
    assert sandbox.calls("GET ds.view") == 4


def test_a_file_the_provider_refuses_is_marked_and_not_asked_for_again(studio, sandbox):
    sandbox.seed_history(3)
    sync(studio, "full")
    sandbox.faults(route="ds.view", status=404, count=1)
    assert files_fetch_missing(workspace=studio) == (2, False)
    (missing,) = Image.objects.filter(workspace=studio, file="")
    assert "not found" in missing.file_error.lower() or "404" in missing.file_error
    assert files_fetch_missing(workspace=studio) == (0, False)
    assert sandbox.calls("GET ds.view") == 3


def test_whether_there_is_a_history_is_the_providers_own_word(member_client, studio):
    """Not a `kind != "nanogpt"` in the app: the adapter class's capabilities decide, for the
    page and for the scheduled syncs alike."""
    from unittest import mock

    from django.urls import reverse

    from gallery.tasks import sync_all_histories
    from providers.adapters import NeuroflashProvider

    without = NeuroflashProvider.capabilities.__class__(has_get_image=True)
    with mock.patch.object(NeuroflashProvider, "capabilities", without):
        assert not studio.credential.capabilities.has_history
        html = member_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
        sync_all_histories("incremental")
    assert "Sandbox (local, for trying Darkroom out) keeps no history of its own" in html
    assert not HistorySync.objects.filter(workspace=studio).exists()
    sync_all_histories("incremental")
    assert HistorySync.objects.filter(workspace=studio).count() == 1
