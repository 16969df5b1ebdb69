"""A script's view of the API, over real HTTP: a live server, a real worker, the sandbox as the
provider. Submit, poll until finished, list, download the original."""

from __future__ import annotations

import time

import pytest
import requests

from accounts.api_tokens import api_token_create
from accounts.models import Membership
from gallery.models import Image

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_in_tmp():
    """The worker stores where the run's settings say; the live server must read there too
    (so not the gallery tests' per-test folder)."""


def test_a_script_submits_polls_lists_and_downloads(live_server, celery_worker, studio, member):
    membership = Membership.objects.select_related("user", "workspace").get(user=member)
    token = api_token_create(membership=membership, name="e2e", role="member").raw
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    base = f"{live_server.url}/api"

    models = api.get(f"{base}/models", timeout=10).json()
    assert "seedream-4" in {m["id"] for m in models if m["allowed"]}

    submitted = api.post(
        f"{base}/jobs",
        json={"prompt": "a red lighthouse on a cliff", "model": "seedream-4", "n": 2},
        headers={"Idempotency-Key": "e2e-1"},
        timeout=10,
    )
    assert submitted.status_code == 201, submitted.text
    job_id = submitted.json()["id"]

    deadline = time.monotonic() + 60
    while True:
        job = api.get(f"{base}/jobs/{job_id}", timeout=10).json()
        if job["finished"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert job["state"] == "succeeded", job
    assert len(job["images"]) == 2
    assert job["author"]["id"] == member.pk

    listed = api.get(f"{base}/images", params={"author": "me", "limit": 1}, timeout=10).json()
    assert listed["items"][0]["job_id"] == job_id
    assert listed["next_cursor"]
    rest = api.get(
        f"{base}/images", params={"author": "me", "cursor": listed["next_cursor"]}, timeout=10
    ).json()
    assert {i["id"] for i in listed["items"] + rest["items"]} == {i["id"] for i in job["images"]}

    original = api.get(listed["items"][0]["original_url"], timeout=10)
    assert original.status_code == 200
    image = Image.objects.get(pk=listed["items"][0]["id"])
    with image.file.open("rb") as stored:
        assert original.content == stored.read()
    assert original.headers["Content-Disposition"].startswith("attachment")

    again = api.post(
        f"{base}/jobs",
        json={"prompt": "a red lighthouse on a cliff", "model": "seedream-4", "n": 2},
        headers={"Idempotency-Key": "e2e-1"},
        timeout=10,
    )
    assert (again.status_code, again.json()["id"]) == (200, job_id)
