"""The generate page: a form built from the catalog, refusing bad input before any provider call."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from gallery.models import Job

VALID = {
    "prompt": "a lighthouse at dusk",
    "model": "nano-banana-2",
    "n": "2",
    "aspect_ratio": "16:9",
    "output_format": "png",
    "idempotency_key": "k-1",
}


def generate_url(ws) -> str:
    return reverse("gallery:generate", args=[ws.slug])


def test_it_builds_the_model_list_from_the_catalog(member_client, studio):
    html = member_client.get(generate_url(studio)).content.decode()
    assert '<option value="nano-banana-2"' in html
    assert re.search(r'<option value="gpt-image-1"\s+disabled>GPT Image 1 — not in your plan', html)
    assert "2 models shown greyed out are not included in this account's plan." in html


def test_it_shows_the_options_of_the_chosen_model(member_client, studio):
    url = reverse("gallery:model_options", args=[studio.slug])
    html = member_client.get(url, {"model": "ideogram-v3"}, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="model-options"')
    assert '<option value="16:9"' in html
    assert '<option value="21:9"' not in html  # Ideogram does not offer it
    assert "This model makes one image at a time." in html
    html = member_client.get(
        url, {"model": "nano-banana-2"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert '<option value="4">4</option>' in html
    assert '<option value="webp">WEBP</option>' in html


def test_it_queues_a_job_and_returns_at_once_without_calling_the_provider(
    member_client, member, studio, sandbox
):
    response = member_client.post(generate_url(studio), VALID)
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"#job-{job.pk}")
    assert (job.state, job.author, job.model_id) == ("queued", member, "nano-banana-2")
    assert job.params == {"n": 2, "aspect_ratio": "16:9", "output_format": "png"}
    assert sandbox.calls("POST ds.generate") == 0


def test_a_double_submit_makes_one_job(member_client, studio):
    first = member_client.post(generate_url(studio), VALID)
    second = member_client.post(generate_url(studio), VALID)
    assert Job.objects.count() == 1
    assert first["Location"] == second["Location"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"prompt": "   "}, "prompt", "Describe what you want to see."),
        ({"prompt": "x" * 2001}, "prompt", "Keep it under 2000 characters (this has 2001)."),
        ({"n": "5"}, "n", "Select a valid choice. 5 is not one of the available choices."),
        (
            {"aspect_ratio": "7:5"},
            "aspect_ratio",
            "Select a valid choice. 7:5 is not one of the available choices.",
        ),
        (
            {"model": "gpt-image-1"},
            "model",
            "GPT Image 1 is not available: not included in this account&#x27;s plan.",
        ),
        (
            {"model": "dall-e-9"},
            "model",
            "This model is not offered by the workspace&#x27;s provider.",
        ),
    ],
)
def test_it_refuses_bad_input_next_to_the_field_and_calls_nobody(
    member_client, studio, sandbox, change, field, message
):
    response = member_client.post(generate_url(studio), {**VALID, **change})
    html = response.content.decode()
    assert response.status_code == 422
    assert message in html
    assert Job.objects.count() == 0
    assert sandbox.calls("POST ds.generate") == 0
    # The error sits in the field's own block, and what was typed is kept.
    if field in ("prompt",) and change["prompt"].strip():
        assert change["prompt"] in html


def test_it_refuses_a_workspace_without_a_credential(member_client, studio):
    studio.credential.kind = "nanogpt"
    studio.credential.save()
    response = member_client.post(generate_url(studio), VALID)
    assert "This workspace has no provider credential yet." in response.content.decode()
    assert Job.objects.count() == 0


def test_it_refuses_more_images_than_the_quota_has_left(member_client, studio, quota_left, sandbox):
    quota_left(2)
    response = member_client.post(generate_url(studio), {**VALID, "n": "3"})
    assert "3 images requested, 2 left this month." in response.content.decode()
    assert Job.objects.count() == 0


def test_it_counts_images_already_queued_against_the_quota(
    member_client, studio, quota_left, submit
):
    quota_left(3)
    submit(n=2)
    response = member_client.post(generate_url(studio), {**VALID, "n": "2"})
    assert "2 images requested, 1 left this month." in response.content.decode()


def test_it_says_when_the_daily_limit_is_what_binds(member_client, studio, quota_left):
    quota_left(50, daily_limit=10, daily_used=9)
    response = member_client.post(generate_url(studio), VALID)
    assert "2 images requested, 1 left today." in response.content.decode()


def test_it_caps_queued_jobs_per_workspace(member_client, studio, submit, settings):
    settings.JOBS_MAX_ACTIVE_PER_WORKSPACE = 2
    submit()
    submit()
    response = member_client.post(generate_url(studio), VALID)
    assert "2 jobs are already queued or running in this workspace." in response.content.decode()


def test_it_limits_how_fast_one_member_submits(member_client, studio, submit, settings):
    settings.JOBS_PER_MEMBER_PER_MINUTE = 2
    settings.JOBS_MAX_ACTIVE_PER_WORKSPACE = 10
    submit()
    submit()
    response = member_client.post(generate_url(studio), VALID)
    assert "You can start 2 jobs a minute." in response.content.decode()


def test_viewers_cannot_open_the_generate_page(viewer_client, studio):
    assert viewer_client.get(generate_url(studio)).status_code == 403


def test_it_answers_htmx_with_the_workbench_and_a_fresh_form(member_client, studio):
    response = member_client.post(generate_url(studio), VALID, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="workbench"')
    job = Job.objects.get()
    assert f'id="job-{job.pk}"' in html
    assert 'hx-trigger="every 2s"' in html  # the new card polls
    assert 'value="k-1"' not in html  # a fresh idempotency key for the next job


def test_the_new_jobs_card_takes_the_focus_and_the_queueing_is_announced(
    member_client, studio, submit
):
    older = submit("an older job")
    html = member_client.post(generate_url(studio), VALID, HTTP_HX_REQUEST="true").content.decode()
    job = Job.objects.latest("pk")
    card = re.search(rf'<article id="job-{job.pk}"[^>]*>', html)
    assert card, html
    # htmx focuses what it swaps in with autofocus; the card is named by its state and prompt.
    assert " autofocus" in card.group(0)
    assert 'tabindex="-1"' in card.group(0)
    assert f'aria-labelledby="job-{job.pk}-state job-{job.pk}-title"' in card.group(0)
    older_card = re.search(rf'<article id="job-{older.pk}"[^>]*>', html)
    assert older_card
    assert "autofocus" not in older_card.group(0)
    # Out of band into base.html's polite status region.
    assert (
        '<span id="announcer" hx-swap-oob="innerHTML">Job queued: a lighthouse at dusk</span>'
    ) in html


def test_the_page_itself_focuses_no_job(member_client, studio, submit):
    submit()
    html = member_client.get(generate_url(studio)).content.decode()
    assert "autofocus" not in html
    assert 'id="announcer" hx-swap-oob' not in html
    assert '<div id="announcer" class="visually-hidden" role="status" aria-live="polite">' in html


def test_after_a_submit_the_form_keeps_the_model_and_options_just_used(member_client, studio):
    data = {**VALID, "model": "seedream-4", "aspect_ratio": "3:4", "output_format": "webp"}
    html = member_client.post(generate_url(studio), data, HTTP_HX_REQUEST="true").content.decode()
    assert '<option value="seedream-4" selected' in html
    assert '<option value="3:4" selected>' in html
    assert '<option value="webp" selected>' in html


def test_a_long_prompt_is_explained_not_cut(member_client, studio):
    html = member_client.get(generate_url(studio)).content.decode()
    assert 'maxlength="2000"' not in html  # a browser limit would trim a paste without a word
