"""An idempotency key belongs to the member who sent it: reusing another member's key (a copied
form, a shared link) makes a job of one's own and never hands back theirs."""

from __future__ import annotations

from django.urls import reverse

from gallery.models import Job

FORM = {
    "prompt": "a lighthouse at dusk",
    "model": "nano-banana-2",
    "n": "1",
    "aspect_ratio": "1:1",
    "output_format": "png",
    "idempotency_key": "k-shared",
}


def test_another_members_same_key_makes_a_new_job(
    member_client, owner_client, member, owner, studio
):
    url = reverse("gallery:generate", args=[studio.slug])
    first = member_client.post(url, FORM)
    second = owner_client.post(url, {**FORM, "prompt": "the owner's own idea"})

    theirs, mine = Job.objects.get(author=member), Job.objects.get(author=owner)
    assert theirs.pk != mine.pk
    assert mine.prompt == "the owner's own idea"
    assert first["Location"].endswith(f"#job-{theirs.pk}")
    assert second["Location"].endswith(f"#job-{mine.pk}")


def test_the_same_member_resending_a_key_still_gets_the_one_job(member_client, studio):
    url = reverse("gallery:generate", args=[studio.slug])
    member_client.post(url, FORM)
    member_client.post(url, FORM)

    assert Job.objects.count() == 1
