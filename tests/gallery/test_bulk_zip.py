"""Download as a ZIP: the originals and a manifest, streamed while it is written."""

from __future__ import annotations

import csv
import io
import os
import zipfile

from django.urls import reverse
from django.utils import timezone

from gallery.models import CatalogModel, Image, ReviewState
from gallery.services.bulk import images_zip
from tests.gallery.pictures import picture
from tests.gallery.zips import stream_to_file, unzip


def download(client, workspace, images=(), **fields):
    data = {"action": "download", "image": [str(i.pk) for i in images], **fields}
    return client.post(reverse("gallery:images_bulk", args=[workspace.slug]), data)


def test_the_zip_holds_each_original_and_a_manifest_that_matches_the_database(
    viewer_client, workspace, member, owner, outsider
):
    lighthouse = picture(workspace, author=member, prompt="A lighthouse, at dusk")
    fox = picture(
        workspace,
        author=owner,
        prompt='a fox "in" snow',
        model_id="flux-pro",
        review_state=ReviewState.APPROVED,
    )
    CatalogModel.objects.create(
        workspace=workspace,
        provider_model_id="flux-pro",
        name="FLUX Pro",
        refreshed_at=timezone.now(),
    )
    names = {"flux-pro": "FLUX Pro", "nano-banana-2": "nano-banana-2"}  # the catalog's, or the id
    pending = Image.objects.create(workspace=workspace, prompt="still being fetched")
    foreign = picture(outsider.memberships.get().workspace, prompt="elsewhere")

    response = download(viewer_client, workspace, [lighthouse, fox, pending, foreign])

    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="darkroom-studio-{day}.zip"'
    archive = unzip(response)  # every CRC right
    assert archive.namelist() == [
        f"{fox.pk}-a-fox-in-snow.png",  # newest first, as in the gallery
        f"{lighthouse.pk}-a-lighthouse-at-dusk.png",
        "manifest.csv",
    ]
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    for image, slug in ((fox, "a-fox-in-snow"), (lighthouse, "a-lighthouse-at-dusk")):
        with image.file.open("rb") as stored:
            assert archive.read(f"{image.pk}-{slug}.png") == stored.read()
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert rows == [
        {
            "file": f"{image.pk}-{slug}.png",
            "prompt": image.prompt,
            "model": image.model_id,
            "model_name": names.get(image.model_id, image.model_id),
            "author": image.author.display_name,
            "review_state": image.review_state,
            "created": timezone.localtime(image.created_at).isoformat(timespec="seconds"),
        }
        for image, slug in ((fox, "a-fox-in-snow"), (lighthouse, "a-lighthouse-at-dusk"))
    ]


def test_a_large_selection_never_sits_in_memory(workspace, member, tmp_path):
    size = 1_000_000
    for n in range(30):
        picture(workspace, author=member, prompt=f"big {n}", content=os.urandom(size))
    out = tmp_path / "out.zip"
    images = Image.objects.filter(workspace=workspace)

    streamed = stream_to_file(images_zip(images=images), out)

    assert out.stat().st_size > 30 * size
    assert streamed.peak_bytes < 3 * 1024 * 1024, f"peak {streamed.peak_bytes / 1e6:.1f} MB"
    assert streamed.largest_piece < 200 * 1024
    assert len(streamed.names) == 31


def test_a_selection_without_files_is_said_not_zipped(member_client, workspace, outsider):
    pending = Image.objects.create(workspace=workspace, prompt="still being fetched")
    foreign = picture(outsider.memberships.get().workspace, prompt="elsewhere")
    response = download(member_client, workspace, [pending, foreign])
    assert response.status_code == 302
    assert not response.streaming


def test_a_prompt_that_looks_like_a_formula_stays_text_in_the_manifest(workspace, member):
    picture(workspace, author=member, prompt='=HYPERLINK("https://evil.example","open")')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(images_zip(images=Image.objects.all()))))
    row = next(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert row["prompt"] == '\'=HYPERLINK("https://evil.example","open")'
