"""The generate page before the catalog is there: it asks the provider once, polls while the
answer is on its way, and stops with the reason when the provider refuses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery.models import CatalogModel
from gallery.tasks import refresh_catalog

POLLS = 'hx-trigger="load delay:2s"'


@pytest.fixture
def unlisted(workspace, sandbox):
    """The cast's workspace on the live sandbox, its catalog not fetched yet."""
    credential = workspace.credential
    credential.base_url = sandbox.url
    credential.save()
    return workspace


@pytest.fixture
def page(member_client, unlisted, django_capture_on_commit_callbacks):
    """The generate page as the browser loads it (full) or polls it (htmx), with what the
    request queued sent once it commits."""

    def load(*, poll: bool = False) -> str:
        headers = {"HTTP_HX_REQUEST": "true"} if poll else {}
        url = reverse("gallery:generate", args=[unlisted.slug])
        with django_capture_on_commit_callbacks(execute=True):
            response = member_client.get(url, **headers)
        assert response.status_code == 200
        return response.content.decode()

    return load


def refreshes(sent_tasks) -> int:
    return sum(task.name == "gallery.tasks.refresh_catalog" for task in sent_tasks)


def test_polling_while_the_catalog_is_on_its_way_queues_one_refresh(page, sent_tasks):
    html = page()
    assert "Loading the models your provider offers" in html
    assert POLLS in html
    for _ in range(3):
        assert POLLS in page(poll=True)
    assert refreshes(sent_tasks) == 1


def test_a_refused_credential_is_shown_and_polling_stops(
    page, unlisted, sent_tasks, sandbox, member_client, django_capture_on_commit_callbacks
):
    sandbox.faults(route="nf.image_models", status=401)
    page()
    refresh_catalog(unlisted.pk)  # the worker runs the one refresh queued
    models_calls = sandbox.calls("GET nf.image_models")
    assert models_calls >= 1

    partial = page(poll=True)
    assert "The models could not be loaded. The provider refused the credential: " in partial
    assert "(401)" in partial
    assert "hx-trigger" not in partial.split('id="queue"')[0]  # the loader no longer polls
    assert "Try again" in partial
    full = page()
    assert "The provider refused the credential: " in full
    assert POLLS not in full
    assert refreshes(sent_tasks) == 1  # the page loads after the failure queued nothing
    assert sandbox.calls("GET nf.image_models") == models_calls

    sandbox.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(reverse("gallery:catalog_refresh", args=[unlisted.slug]))
    assert response.status_code == 302
    assert refreshes(sent_tasks) == 2  # Try again: one more
    html = page()
    assert POLLS in html  # loading again
    assert "refused the credential" not in html
    refresh_catalog(unlisted.pk)
    assert CatalogModel.objects.filter(workspace=unlisted).exists()
    assert '<option value="nano-banana-2"' in page()
    assert refreshes(sent_tasks) == 2


def test_a_provider_that_is_down_is_said_plainly(page, unlisted, sandbox):
    sandbox.faults(route="nf.image_models", status=503)
    page()
    refresh_catalog(unlisted.pk)
    partial = page(poll=True)
    assert "The provider could not list its models: " in partial
    assert POLLS not in partial


def test_a_refresh_that_never_answered_is_asked_for_again_after_a_while(page, unlisted, sent_tasks):
    from django.utils import timezone

    from gallery.models import CatalogStatus
    from gallery.services.catalog import REFRESH_PENDING_SECONDS

    page()
    lost = timezone.now() - timezone.timedelta(seconds=REFRESH_PENDING_SECONDS + 1)
    CatalogStatus.objects.filter(workspace=unlisted).update(requested_at=lost)
    page(poll=True)
    assert refreshes(sent_tasks) == 2


def test_an_admin_is_pointed_at_the_provider_settings(client_for, owner, member, unlisted, sandbox):
    sandbox.faults(route="nf.image_models", status=401)
    refresh_catalog(unlisted.pk)
    url = reverse("gallery:generate", args=[unlisted.slug])
    settings_url = reverse("accounts:settings_provider", args=[unlisted.slug])
    assert settings_url in client_for(owner).get(url).content.decode()
    assert settings_url not in client_for(member).get(url).content.decode()


def test_a_poll_that_saw_no_models_queues_nothing_once_the_refresh_has_landed(
    page, unlisted, sent_tasks
):
    """The page looks at the models, then asks for a refresh; a worker's refresh may land in
    between (the catalog there, the request done). That poll must not ask the provider again."""
    from gallery.services.catalog import catalog_refresh_request

    page()  # the one refresh is queued
    refresh_catalog(unlisted.pk)  # and lands, after the poll below looked at the models
    assert CatalogModel.objects.filter(workspace=unlisted).exists()
    assert not catalog_refresh_request(workspace=unlisted)  # what that poll does next
    assert refreshes(sent_tasks) == 1
    assert catalog_refresh_request(workspace=unlisted, again=True)  # Ask again still asks
