"""Exporting a workspace: every original and its metadata, streamed, in a fixed few queries."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, AuditVerb
from gallery.models import CatalogModel, Comment, Image, Job, JobState, ReviewState
from gallery.services.lifecycle import EXPORT_COLUMNS, workspace_export
from tests.gallery.pictures import picture
from tests.gallery.zips import stream_to_file, unzip


def export(client, workspace):
    return client.post(reverse("gallery:workspace_export", args=[workspace.slug]))


def local(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def test_the_export_matches_the_database(workspace, owner, member, viewer, outsider, owner_client):
    CatalogModel.objects.create(
        workspace=workspace,
        provider_model_id="flux-pro",
        name="FLUX Pro",
        refreshed_at=timezone.now(),
    )
    parent = picture(workspace, author=member, prompt="A lighthouse, at dusk", model_id="flux-pro")
    job = Job.objects.create(
        workspace=workspace,
        author=owner,
        kind="edit",
        prompt="=make it night",
        model_id="nano-banana-2",
        params={"n": 1, "aspect_ratio": "16:9", "seed": 7},
        idempotency_key="k",
        parent_image=parent,
        state=JobState.SUCCEEDED,
        finished_at=timezone.now(),
    )
    child = picture(
        workspace,
        author=owner,
        prompt="=make it night",
        job=job,
        parent=parent,
        review_state=ReviewState.NEEDS_CHANGES,
    )
    Comment.objects.create(image=child, author=viewer, body="Too dark, try again")
    Comment.objects.create(image=child, author=member, body='I like it, "really"')
    Comment.objects.create(image=parent, author=owner, body="Approved for print")
    history = Image.objects.create(workspace=workspace, prompt="no file yet", source="history")
    gone = picture(workspace, author=member, prompt="deleted")
    Image.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    picture(outsider.memberships.get().workspace, prompt="elsewhere")

    response = export(owner_client, workspace)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="darkroom-studio-export-{day}.zip"'
    )
    archive = unzip(response)
    parent_name = f"images/{parent.pk}-a-lighthouse-at-dusk.png"
    child_name = f"images/{child.pk}-make-it-night.png"
    assert archive.namelist() == [parent_name, child_name, "images.json", "images.csv"]
    for image, name in ((parent, parent_name), (child, child_name)):
        with image.file.open("rb") as stored:
            assert archive.read(name) == stored.read()

    records = json.loads(archive.read("images.json"))
    expected = []
    for image in Image.objects.visible().filter(workspace=workspace).order_by("pk"):
        comments = [
            {
                "author": c.author.display_name,
                "body": c.body,
                "created_at": local(c.created_at),
            }
            for c in image.comments.order_by("created_at", "pk")
        ]
        expected.append(
            {
                "id": image.pk,
                "file": {parent.pk: parent_name, child.pk: child_name}.get(image.pk, ""),
                "prompt": image.prompt,
                "model": image.model_id,
                "model_name": {"flux-pro": "FLUX Pro"}.get(image.model_id, image.model_id),
                "parameters": image.job.params if image.job else {},
                "kind": image.job.kind if image.job else None,
                "author": image.author.display_name if image.author else None,
                "author_email": image.author.email if image.author else None,
                "source": image.source,
                "created_at": local(image.created_at),
                "finished_at": local(image.job.finished_at) if image.job else None,
                "provider_created_at": None,
                "review_state": image.review_state,
                "parent_image": image.parent_id,
                "parent_file": parent_name if image.parent_id == parent.pk else None,
                "job": image.job_id,
                "comments": comments,
            }
        )
    assert records == expected
    assert [r["id"] for r in records] == [parent.pk, child.pk, history.pk]
    assert records[1]["parameters"] == {"n": 1, "aspect_ratio": "16:9", "seed": 7}
    assert [c["body"] for c in records[1]["comments"]] == [
        "Too dark, try again",
        'I like it, "really"',
    ]

    rows = list(csv.DictReader(io.StringIO(archive.read("images.csv").decode())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [row["id"] for row in rows] == [str(r["id"]) for r in records]
    assert rows[1]["prompt"] == "'=make it night"  # a formula to a spreadsheet: kept as text
    assert json.loads(rows[1]["parameters"]) == records[1]["parameters"]
    assert json.loads(rows[1]["comments"]) == records[1]["comments"]
    assert rows[1]["parent_image"] == str(parent.pk)
    assert rows[2]["file"] == rows[2]["parent_image"] == ""

    event = AuditEvent.objects.get(verb=AuditVerb.WORKSPACE_EXPORTED)
    assert (event.workspace, event.actor) == (workspace, owner)


def test_it_reads_the_same_few_queries_however_many_images(
    workspace, owner, member, django_assert_num_queries
):
    def queries_for(count: int) -> int:
        for n in range(count):
            image = picture(workspace, author=member, prompt=f"p{n}")
            Comment.objects.create(image=image, author=owner, body="c")
        with CaptureQueriesContext(connection) as captured:
            archive = b"".join(workspace_export(workspace=workspace, actor=owner))
        assert len(zipfile.ZipFile(io.BytesIO(archive)).namelist()) == Image.objects.count() + 2
        return len(captured)

    few, many = queries_for(2), queries_for(20)
    assert few == many
    # The audit record, the catalog's names, the images, their comments.
    with django_assert_num_queries(4):
        b"".join(workspace_export(workspace=workspace, actor=owner))


def test_a_large_workspace_never_sits_in_memory(workspace, member, owner, tmp_path):
    size = 1_000_000
    for n in range(20):
        picture(workspace, author=member, prompt=f"big {n}", content=os.urandom(size))
    out = tmp_path / "out.zip"

    streamed = stream_to_file(workspace_export(workspace=workspace, actor=owner), out)

    assert out.stat().st_size > 20 * size
    assert streamed.peak_bytes < 3 * 1024 * 1024, f"peak {streamed.peak_bytes / 1e6:.1f} MB"
    assert streamed.largest_piece < 200 * 1024
    assert len(streamed.names) == 22


def test_it_exports_from_a_bucket_too(s3, workspace, owner, owner_client):
    made = picture(workspace, author=owner, prompt="in the bucket")
    archive = unzip(export(owner_client, workspace))
    assert archive.read(f"images/{made.pk}-in-the-bucket.png") == s3.read(made.file.name)


def test_a_member_cannot_export(workspace, member_client):
    assert export(member_client, workspace).status_code == 403
    assert not AuditEvent.objects.filter(verb=AuditVerb.WORKSPACE_EXPORTED).exists()
