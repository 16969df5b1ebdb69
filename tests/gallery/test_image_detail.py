"""One image's page and lightbox: its facts, lineage, ← → within the gallery filter."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from gallery.models import Comment, Image, Job, ReviewEvent, ReviewState
from tests.gallery.known_images import png


def _detail(image: Image, query: str = "") -> str:
    url = reverse("gallery:image_detail", args=[image.workspace.slug, image.pk])
    return f"{url}?{query}" if query else url


@pytest.fixture
def job(workspace, member) -> Job:
    return Job.objects.create(
        workspace=workspace,
        author=member,
        prompt="a lighthouse at dusk",
        model_id="seedream-4",
        idempotency_key="k",
        params={"n": 2, "aspect_ratio": "16:9", "output_format": "png", "extra": {"seed": 42}},
        cost=Decimal("4"),
        currency="credits",
        batch_id="batch-77",
    )


@pytest.fixture
def images(workspace, member):
    """Five images a minute apart, the newest last; made() gives them in the gallery's order."""
    start = timezone.now() - dt.timedelta(hours=1)
    made = []
    for i in range(5):
        image = Image.objects.create(workspace=workspace, author=member, prompt=f"image {i}")
        Image.objects.filter(pk=image.pk).update(created_at=start + dt.timedelta(minutes=i))
        made.append(image)
    return made


def test_the_page_shows_model_parameters_cost_and_provider_ids(member_client, job, member):
    image = Image.objects.create(
        workspace=job.workspace,
        job=job,
        author=member,
        prompt=job.prompt,
        model_id="seedream-4",
        provider_image_id="img-123",
        width=1344,
        height=768,
        format="png",
        bytes=123_456,
    )
    html = member_client.get(_detail(image)).content.decode()
    for fact in (
        "<dt>Aspect ratio</dt><dd>16:9</dd>",
        "<dt>Images in the job</dt><dd>2</dd>",
        "<dt>Seed</dt><dd>42</dd>",
        "4 images of the quota",
        "for the job's 2 images",
        "img-123",
        "batch-77",
        "1344 \u00d7 768 · PNG · 120.6\xa0KB",
    ):
        assert fact in html, fact


def test_the_image_repeats_no_prompt_in_its_alt_and_its_link_says_what_it_does(
    member_client, workspace, member
):
    image = Image.objects.create(workspace=workspace, author=member, prompt="a fox in the snow")
    image.file.save(f"{image.pk}.png", ContentFile(png(8, 8, "#2563eb")))
    html = member_client.get(_detail(image)).content.decode()
    # The prompt is the page's <h1>; the image is a link named by its title.
    assert '<h1 id="image-title" class="image-title">a fox in the snow</h1>' in html
    zoom = re.search(r'<a class="zoom" [^>]*title="Show at actual size"><img [^>]*alt=""', html)
    assert zoom, html
    assert "{#" not in html  # no template comment spilled onto the page


def test_an_image_made_elsewhere_shows_no_cost(member_client, workspace):
    image = Image.objects.create(workspace=workspace, prompt="from history", source="history")
    html = member_client.get(_detail(image)).content.decode()
    assert "<dt>Cost</dt><dd>—</dd>" in html


def test_reuse_prompt_opens_the_generate_form_with_every_parameter(member_client, job, member):
    image = Image.objects.create(
        workspace=job.workspace, job=job, author=member, prompt=job.prompt, model_id="seedream-4"
    )
    html = member_client.get(_detail(image)).content.decode()
    generate = reverse("gallery:generate", args=[job.workspace.slug])
    assert f'href="{generate}?prompt=a+lighthouse+at+dusk&amp;model=seedream-4&amp;n=2' in html


def test_a_viewer_gets_no_edit_reuse_or_delete(viewer_client, images):
    html = viewer_client.get(_detail(images[0])).content.decode()
    assert "Reuse prompt" not in html
    assert 'id="edit"' not in html
    assert "Delete image" not in html
    assert "Copy prompt" in html  # reading is for everyone


def test_the_lineage_walks_up_to_the_original_and_down_to_the_edits(
    member_client, workspace, member
):
    original = Image.objects.create(
        workspace=workspace, author=member, prompt="original", thumbnail="t.png"
    )
    first = Image.objects.create(workspace=workspace, parent=original, prompt="first edit")
    second = Image.objects.create(workspace=workspace, parent=first, prompt="second edit")
    child = Image.objects.create(workspace=workspace, parent=second, prompt="third edit")
    gone = Image.objects.create(
        workspace=workspace, parent=second, prompt="deleted edit", deleted_at=timezone.now()
    )
    html = member_client.get(_detail(second, "review=approved")).content.decode()
    lineage = html.split('id="lineage-heading"')[1]
    chain = [f'href="{_detail(i, "review=approved")}"' for i in (original, first)]
    assert lineage.index(chain[0]) < lineage.index(chain[1]) < lineage.index("This image")
    assert f'href="{_detail(child, "review=approved")}"' in lineage
    assert _detail(gone) not in html
    assert lineage.count('src="/t/') == 1  # the original's signed thumbnail; the rest have none


def test_a_deleted_parent_stays_in_the_chain_without_a_link(member_client, workspace):
    original = Image.objects.create(workspace=workspace, prompt="original")
    parent = Image.objects.create(workspace=workspace, parent=original, prompt="gone")
    image = Image.objects.create(workspace=workspace, parent=parent, prompt="edit")
    Image.objects.filter(pk=parent.pk).update(deleted_at=timezone.now())
    html = member_client.get(_detail(image)).content.decode()
    assert "Edit 1 (deleted)" in html
    assert f'href="{_detail(original)}"' in html
    assert f'href="{_detail(parent)}"' not in html.split('id="lineage-heading"')[1]


def test_arrows_go_to_the_neighbours_in_the_gallery_order(member_client, images):
    # Newest first: image 3's previous is image 4 (newer), its next is image 2.
    html = member_client.get(_detail(images[3])).content.decode()
    assert f'data-nav="prev" aria-keyshortcuts="ArrowLeft" href="{_detail(images[4])}"' in html
    assert f'data-nav="next" aria-keyshortcuts="ArrowRight" href="{_detail(images[2])}"' in html


def test_arrows_follow_the_filter_and_skip_images_outside_it(member_client, images):
    for image in (images[0], images[2], images[4]):
        Image.objects.filter(pk=image.pk).update(review_state=ReviewState.APPROVED)
    html = member_client.get(_detail(images[2], "review=approved")).content.decode()
    assert f'href="{_detail(images[4], "review=approved")}"' in html  # skips image 3
    assert f'href="{_detail(images[0], "review=approved")}"' in html  # skips image 1
    assert _detail(images[3]) not in html
    assert _detail(images[1]) not in html


def test_arrows_follow_the_sort_and_stop_at_the_ends(member_client, images):
    html = member_client.get(_detail(images[4], "sort=oldest")).content.decode()
    assert f'href="{_detail(images[3], "sort=oldest")}"' in html
    assert 'data-nav="next"' not in html
    assert '<span class="btn btn-small is-disabled" aria-disabled="true">Next →</span>' in html


def test_the_lightbox_is_the_detail_without_the_page_around_it(member_client, images):
    response = member_client.get(
        _detail(images[2], "review=unreviewed"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="lightbox"
    )
    html = response.content.decode()
    assert html.lstrip().startswith("<dialog")
    assert "<html" not in html
    assert 'class="topbar"' not in html
    assert f'href="{_detail(images[2], "review=unreviewed")}">Open the page</a>' in html
    # ← → swap the neighbour into the lightbox; without JavaScript they are links.
    neighbour = _detail(images[1], "review=unreviewed")
    assert f'href="{neighbour}" hx-get="{neighbour}" hx-target="#lightbox"' in html
    assert 'id="review"' in html
    assert 'id="comments"' in html
    assert f'id="favourite-{images[2].pk}"' in html  # unique: a comparison shows several
    assert 'id="edit"' not in html  # the edit form is on the page


def test_other_htmx_requests_for_the_image_get_the_whole_page(member_client, images):
    html = member_client.get(_detail(images[2]), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" in html


def test_the_page_costs_the_same_queries_however_much_it_shows(
    member_client, workspace, member, viewer, images, django_assert_num_queries
):
    image = images[2]
    member_client.get(_detail(image))  # the first page of a workspace remembers it: one write
    # User (the session comes from the cache), memberships (with their workspaces and
    # credentials), image, edit models, neighbours (2), lineage (2), favourite, history, comments,
    # collections; the header's quota and credential, model names.
    with django_assert_num_queries(15) as bare:
        member_client.get(_detail(image, "review=unreviewed"))
    parent = image
    for i in range(4):
        parent = Image.objects.create(workspace=workspace, parent=parent, prompt=f"edit {i}")
    deep = parent
    for i in range(5):
        Image.objects.create(workspace=workspace, parent=deep, prompt=f"child {i}")
        Comment.objects.create(image=deep, author=viewer if i % 2 else member, body=f"c{i}")
        ReviewEvent.objects.create(
            image=deep, actor=member, from_state="unreviewed", to_state="approved"
        )
    with django_assert_num_queries(len(bare.captured_queries)):
        html = member_client.get(_detail(deep, "review=unreviewed")).content.decode()
    assert html.count('class="comment"') == 5
    assert html.count("lineage-thumb") >= 4 + 1 + 5  # ancestors, this image, children
