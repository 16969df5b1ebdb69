"""One job form: the generate page and the image page's edit form are the same markup, and a link
(Reuse prompt, the no-JavaScript "Show its options") fills in every option the model offers."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.models import CatalogModel, Image, Job


@pytest.fixture
def edit_model(workspace) -> CatalogModel:
    return CatalogModel.objects.create(
        workspace=workspace,
        provider_model_id="kontext-max",
        name="Kontext Max",
        description="Keeps faces and layout while it changes what you describe",
        capabilities=["text2image", "image2image"],
        fixed_image_count=1,
        aspect_ratios=["1:1", "16:9"],
        output_formats=["png", "webp"],
        refreshed_at=timezone.now(),
    )


def _image(workspace, author, **params) -> Image:
    job = Job.objects.create(
        workspace=workspace,
        author=author,
        prompt="a lighthouse at dusk",
        model_id="nano-banana-2",
        params=params,
        idempotency_key="k-1",
        state="succeeded",
    )
    return Image.objects.create(
        workspace=workspace,
        job=job,
        author=author,
        prompt=job.prompt,
        model_id=job.model_id,
        format=params.get("output_format", "png"),
    )


def _selected(page: str, name: str) -> str | None:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert select, f"no {name} field"
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(0))
    return chosen.group(1) if chosen else None


def _detail(client, image) -> str:
    return client.get(
        reverse("gallery:image_detail", args=[image.workspace.slug, image.pk])
    ).content.decode()


def test_the_edit_form_is_the_generate_form(member_client, member, workspace, edit_model):
    page = _detail(member_client, _image(workspace, member))
    form = page[page.index('id="edit" aria-labelledby="edit-heading"') :]
    assert "Keeps faces and layout while it changes what you describe" in form  # description
    assert "This model always makes 1 image." in form  # the fixed-count note
    detail_url = reverse("gallery:image_detail", args=[workspace.slug, Image.objects.get().pk])
    assert re.search(  # the no-JavaScript fallback, back to this page
        rf'<noscript>.*formaction="{detail_url}" formmethod="get".*Show its options.*</noscript>',
        form,
        re.S,
    )
    assert "?kind=edit" in form
    assert ">Edit image</button>" in form


def test_show_its_options_keeps_what_the_edit_form_had(
    member_client, member, workspace, edit_model
):
    image = _image(workspace, member)
    url = reverse("gallery:image_detail", args=[workspace.slug, image.pk])
    query = {"prompt": "make it snow", "model": "kontext-max", "aspect_ratio": "16:9"}
    page = member_client.get(url, {**query, "output_format": "gif", "preview": "1"}).content
    page = page.decode()
    assert "make it snow</textarea>" in page
    # GIF is not offered: the format shows its default
    assert (_selected(page, "aspect_ratio"), _selected(page, "output_format")) == ("16:9", "png")


def test_reuse_prompt_opens_the_generate_form_with_every_option(member_client, member, studio):
    image = _image(studio, member, n=3, aspect_ratio="16:9", output_format="webp")
    detail = _detail(member_client, image)
    link = html.unescape(re.search(r'href="([^"]+)">Reuse prompt</a>', detail)[1])

    page = member_client.get(link).content.decode()

    assert "a lighthouse at dusk</textarea>" in page
    assert _selected(page, "model") == "nano-banana-2"
    assert (_selected(page, "n"), _selected(page, "aspect_ratio")) == ("3", "16:9")
    assert _selected(page, "output_format") == "webp"


def test_options_the_model_does_not_offer_are_dropped_quietly(member_client, studio):
    """Ideogram makes one image, in PNG, and has no 21:9: each field shows its default."""
    url = reverse("gallery:generate", args=[studio.slug])
    query = {"prompt": "p", "model": "ideogram-v3", "n": "3", "aspect_ratio": "21:9"}
    response = member_client.get(url, {**query, "output_format": "webp"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="error"' not in page
    assert (_selected(page, "model"), _selected(page, "n")) == ("ideogram-v3", "1")
    assert (_selected(page, "aspect_ratio"), _selected(page, "output_format")) == ("1:1", "png")
