"""The gallery page costs the same number of queries whatever the filter and however deep."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery.models import Image, QuotaSnapshot

# User (the session comes from the cache), the user's memberships (the one for this workspace,
# with its credential, and the switcher's list), the page of images, the filter bar's options,
# the quota report and the sync panel's runs.
GALLERY_QUERIES = 5

FILTERS = [
    {},
    {"q": "lighthouse"},
    {"review": "approved", "author": "me"},
    {"provider": "sandbox", "model": "m", "source": "job", "edited": "original"},
    {"since": "2020-01-01", "until": "2099-12-31", "favourites": "1", "sort": "oldest"},
    {"collection": "1"},
]


@pytest.fixture
def gallery(workspace, member):
    QuotaSnapshot.objects.create(workspace=workspace, kind="credits", monthly_available=10)
    Image.objects.bulk_create(
        Image(workspace=workspace, author=member, prompt=f"a lighthouse {i}", thumbnail=f"t{i}")
        for i in range(60)
    )
    return workspace


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: ",".join(p) or "none")
def test_it_costs_the_same_queries_whatever_the_filter(
    params, member_client, gallery, django_assert_num_queries
):
    url = reverse("gallery:home", args=[gallery.slug])
    member_client.get(url)  # the first visit remembers the workspace (one write, once)
    with django_assert_num_queries(GALLERY_QUERIES):
        assert member_client.get(url, params).status_code == 200


def test_a_deeper_page_costs_the_same(member_client, gallery, django_assert_num_queries):
    url = reverse("gallery:home", args=[gallery.slug])
    cursor = member_client.get(url).context["page"].next_cursor
    with django_assert_num_queries(GALLERY_QUERIES):
        assert member_client.get(url, {"after": cursor}).status_code == 200


@pytest.mark.parametrize("failures_since", [0, 1, 25])
def test_the_sync_panel_finds_the_latest_run_and_the_last_success(workspace, failures_since):
    from gallery.models import HistorySync
    from gallery.selectors import sync_status

    def run(state: str) -> HistorySync:
        return HistorySync.objects.create(workspace=workspace, mode="full", state=state)

    run(HistorySync.State.OK)
    success = run(HistorySync.State.OK)
    failed = [run(HistorySync.State.FAILED) for _ in range(failures_since)]
    status = sync_status(workspace=workspace)
    assert status.last_success == success
    assert status.latest == (failed[-1] if failed else success)


def test_the_sync_panel_knows_a_workspace_that_never_synced(workspace):
    from gallery.selectors import sync_status

    status = sync_status(workspace=workspace)
    assert (status.latest, status.last_success, status.mirrored) == (None, None, 0)
