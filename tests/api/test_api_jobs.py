"""Submitting through the API: the Generate page's form and `job_submit`, so the same
validation, idempotency, limits, quota and budgets, and an ordinary job at the end."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import AuditEvent
from gallery.models import Job, LedgerEntry
from tests.gallery.running import run_until_done
from tests.gallery.test_budgets import give, spend

JOB = {"prompt": "a lighthouse at dusk", "model": "nano-banana-2", "n": 2}


def jobs_url() -> str:
    return reverse("api:job_create")


def test_it_queues_an_ordinary_job_as_the_tokens_owner(member_api, member, studio, sandbox):
    response = member_api.post(jobs_url(), {**JOB, "aspect_ratio": "16:9"})
    assert response.status_code == 201
    body = response.json()
    job = Job.objects.get()
    assert body["id"] == job.pk
    assert (body["state"], body["finished"], body["author"]["id"]) == ("queued", False, member.pk)
    assert (job.author, job.workspace, job.kind) == (member, studio, "text2image")
    # Options left out take the form's defaults, exactly as the page would have sent them.
    assert job.params == {"n": 2, "aspect_ratio": "16:9", "output_format": "jpeg"}
    assert LedgerEntry.objects.filter(job=job, kind="reserve").exists()  # budgets count it
    assert sandbox.calls("POST ds.generate") == 0  # queued, not called from the web tier


def test_the_job_appears_in_the_gallery_with_its_author(member_api, member, client_for, owner):
    job_id = member_api.post(jobs_url(), {**JOB, "n": 1}).json()["id"]
    run_until_done(Job.objects.get(pk=job_id))
    done = member_api.get(reverse("api:job_detail", args=[job_id])).json()
    assert (done["state"], done["finished"]) == ("succeeded", True)
    [image] = done["images"]
    assert image["author"] == {"id": member.pk, "name": member.display_name}
    gallery = client_for(owner).get(reverse("gallery:home", args=["studio"])).content.decode()
    assert f"/images/{image['id']}/" in gallery
    page = client_for(owner).get(image["page_url"]).content.decode()
    assert member.display_name in page
    assert "a lighthouse at dusk" in page


def test_the_same_idempotency_key_returns_the_same_job(member_api):
    first = member_api.post(jobs_url(), JOB, **{"Idempotency-Key": "run-42"})
    again = member_api.post(jobs_url(), JOB, **{"Idempotency-Key": "run-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Job.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="reserve").count() == 1  # reserved once
    other = member_api.post(jobs_url(), JOB, **{"Idempotency-Key": "run-43"})
    assert other.status_code == 201
    assert Job.objects.count() == 2


def test_an_idempotency_key_is_the_members_own(member_api, api_as, owner, member):
    mine = member_api.post(jobs_url(), JOB, **{"Idempotency-Key": "shared"}).json()
    theirs = api_as(owner).post(jobs_url(), JOB, **{"Idempotency-Key": "shared"}).json()
    assert mine["id"] != theirs["id"]
    assert theirs["author"]["id"] == owner.pk


def test_without_a_key_each_submit_is_a_new_job(member_api):
    member_api.post(jobs_url(), JOB)
    member_api.post(jobs_url(), JOB)
    assert Job.objects.count() == 2


def test_a_key_longer_than_the_forms_is_refused_by_its_header_name(member_api):
    response = member_api.post(jobs_url(), JOB, **{"Idempotency-Key": "k" * 65})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Job.objects.exists()


def test_bad_input_gets_the_forms_messages_by_field(member_api):
    response = member_api.post(
        jobs_url(), {"prompt": " ", "model": "gpt-image-1", "aspect_ratio": "1:7"}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["prompt"] == ["Describe what you want to see."]
    assert errors["model"] == ["GPT Image 1 is not available: not included in this account's plan."]
    assert not Job.objects.exists()


def test_an_option_the_model_lacks_is_named(member_api):
    response = member_api.post(jobs_url(), {**JOB, "aspect_ratio": "1:7", "size": "1024x1024"})
    errors = response.json()["errors"]
    assert errors["aspect_ratio"][0].startswith("Select a valid choice.")
    assert errors["size"] == ["Nano Banana 2 has no size option."]


def test_unknown_fields_and_bad_json_are_400_with_a_message(member_api):
    response = member_api.post(jobs_url(), {**JOB, "steps": 50})
    assert response.status_code == 400
    assert "steps" in response.json()["errors"]
    broken = member_api.client.post(
        jobs_url(),
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {member_api.token}"},
    )
    assert broken.status_code == 400
    assert broken.json()["message"]


def test_a_viewer_token_reads_but_does_not_submit(api_as, viewer, member, studio):
    response = api_as(viewer).post(jobs_url(), JOB)
    assert response.status_code == 403
    assert "viewer role" in response.json()["message"]
    read_only = api_as(member, role="viewer")
    assert read_only.post(jobs_url(), JOB).status_code == 403
    assert read_only.get(reverse("api:model_list")).status_code == 200
    assert not Job.objects.exists()


def test_the_per_member_rate_limit_is_a_429_with_retry_after(member_api, settings, submit):
    settings.JOBS_PER_MEMBER_PER_MINUTE = 2
    settings.JOBS_MAX_ACTIVE_PER_WORKSPACE = 10
    submit()
    submit()
    response = member_api.post(jobs_url(), JOB)
    assert response.status_code == 429
    body = response.json()
    assert body["message"] == "You can start 2 jobs a minute. Try again in a moment."
    assert body["reason"] == "rate"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Job.objects.count() == 2


def test_the_workspace_cap_on_running_jobs_is_a_429(member_api, settings, submit):
    settings.JOBS_MAX_ACTIVE_PER_WORKSPACE = 1
    submit()
    response = member_api.post(jobs_url(), JOB)
    assert response.status_code == 429
    assert response.json()["message"].startswith("1 jobs are already queued or running")
    assert response.json()["reason"] == "busy"


def test_the_providers_quota_refuses_like_the_form(member_api, quota_left, submit):
    quota_left(3)
    submit(n=2)
    response = member_api.post(jobs_url(), JOB)
    assert response.status_code == 409
    assert response.json()["message"] == "2 images requested, 1 left this month."
    assert response.json()["reason"] == "quota"


def test_the_members_budget_refuses_with_what_is_lacking(member_api, studio, member):
    give(studio, member, 50)
    spend(studio, member, 49)
    response = member_api.post(jobs_url(), {**JOB, "n": 4})
    assert response.status_code == 409
    body = response.json()
    assert body["message"] == "This costs 4 images; you have 1 of your 50 left this month."
    assert (body["reason"], body["lacking"]) == ("budget", "3")
    assert not Job.objects.exists()


def test_an_edit_of_a_gallery_image(member_api, studio, member):
    first = member_api.post(jobs_url(), {**JOB, "n": 1}).json()
    run_until_done(Job.objects.get(pk=first["id"]))
    source = Job.objects.get(pk=first["id"]).images.get()
    response = member_api.post(
        jobs_url(),
        {"prompt": "make it night", "model": "nano-banana-2", "source_image_id": source.pk},
    )
    assert response.status_code == 201
    edit = Job.objects.get(pk=response.json()["id"])
    assert (edit.kind, edit.parent_image) == ("edit", source)
    assert edit.params["aspect_ratio"] == "auto"  # the edit form's default: keep the source's
    run_until_done(edit)
    done = member_api.get(reverse("api:job_detail", args=[edit.pk])).json()
    assert done["images"][0]["parent_id"] == source.pk


def test_models_are_the_forms_choices(member_api):
    models = {m["id"]: m for m in member_api.get(reverse("api:model_list")).json()}
    assert models["nano-banana-2"]["allowed"] is True
    assert models["gpt-image-1"]["allowed"] is False  # listed greyed on the page, refused
    edits = member_api.get(reverse("api:model_list"), {"kind": "edit"}).json()
    assert all(m["can_edit"] for m in edits)
    assert member_api.get(reverse("api:model_list"), {"kind": "nope"}).status_code == 400


def test_nothing_secret_is_logged(member_api, logs):
    member_api.post(jobs_url(), {**JOB, "model": "nope"})
    not_bearer = {"Authorization": "Token zq-not-a-bearer-9x"}
    member_api.client.get(reverse("api:model_list"), headers=not_bearer)
    secret = member_api.token.split("_", 2)[2]  # drk_<prefix>_<secret>; the secret may hold "_"
    assert secret not in logs.text
    assert "zq-not-a-bearer-9x" not in logs.text
    assert not AuditEvent.objects.filter(detail__contains=secret).exists()
