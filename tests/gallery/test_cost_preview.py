"""The cost under the submit button: on the full page without JavaScript, and live through htmx."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from gallery.models import CatalogModel, Image, LedgerEntry, MemberBudget, QuotaSnapshot
from tests.gallery.running import run_until_done


def generate_url(ws) -> str:
    return reverse("gallery:generate", args=[ws.slug])


def preview_url(ws) -> str:
    return reverse("gallery:cost_preview", args=[ws.slug])


def cost_line(html: str) -> str:
    """The preview's text, tags dropped: what a person (and a screen reader) reads."""
    found = re.search(r'<p id="cost-preview"[^>]*>(.*?)</p>', html, re.S)
    assert found, "no cost preview"
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def test_the_page_shows_the_cost_of_the_defaults_without_javascript(
    member_client, studio, quota_left
):
    quota_left(40)
    html = member_client.get(generate_url(studio)).content.decode()
    assert 'aria-live="polite"' in html[html.index('id="cost-preview"') - 40 :]
    assert cost_line(html) == "Cost: 1 image of the workspace quota · leaves 39 this month"


def test_show_its_options_and_cost_prices_what_was_chosen(member_client, studio, quota_left):
    quota_left(40)
    query = {"prompt": "p", "model": "imagen-4", "n": "3", "preview": "1"}
    html = member_client.get(generate_url(studio), query).content.decode()
    assert cost_line(html) == "Cost: 3 images of the workspace quota · leaves 37 this month"


def test_the_partial_follows_the_count(member_client, studio, quota_left):
    quota_left(40)
    response = member_client.get(
        preview_url(studio), {"model": "nano-banana-2", "n": "4"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    assert " ".join(text.split()) == "Cost: 4 images of the workspace quota · leaves 36 this month"


def test_a_count_the_model_does_not_offer_is_priced_at_its_default(member_client, studio):
    response = member_client.get(
        preview_url(studio), {"model": "ideogram-v3", "n": "4"}, HTTP_HX_REQUEST="true"
    )
    assert "1 image of the workspace quota" in response.content.decode()


def test_a_new_model_brings_its_options_and_their_cost_together(member_client, studio):
    url = reverse("gallery:model_options", args=[studio.slug])
    html = member_client.get(url, {"model": "ideogram-v3"}, HTTP_HX_REQUEST="true").content
    html = html.decode()
    assert html.lstrip().startswith('<div id="model-options"')
    assert re.search(r'<p id="cost-preview"[^>]*hx-swap-oob="innerHTML"', html)
    assert cost_line(html) == "Cost: 1 image of the workspace quota"


def test_the_live_preview_asks_with_the_model_and_its_options(member_client, studio):
    html = member_client.get(generate_url(studio)).content.decode()
    tag = re.search(r'<p id="cost-preview"[^>]*>', html)[0]
    assert f'hx-get="{preview_url(studio)}?kind=text2image"' in tag
    assert 'hx-trigger="change from:#job-options"' in tag
    assert 'hx-include="#id_model, #model-options"' in tag
    assert 'hx-target="this"' in tag  # not the form's #workbench, which it would inherit


def test_nanogpt_is_priced_in_dollars_from_the_catalog(member_client, nanogpt_studio):
    QuotaSnapshot.objects.create(
        workspace=nanogpt_studio, kind="balance", balance=Decimal("9.45"), currency="USD"
    )
    query = {"model": "openai/gpt-image-1", "n": "4", "size": "1024x1024"}
    html = member_client.get(preview_url(nanogpt_studio), query, HTTP_HX_REQUEST="true")
    text = " ".join(re.sub(r"<[^>]+>", " ", html.content.decode()).split())
    assert text == "Cost: 4 images · ≈ $0.16 · leaves $9.29"


def test_an_unpriced_model_says_price_unknown(member_client, nanogpt_studio):
    CatalogModel.objects.filter(workspace=nanogpt_studio, provider_model_id="hidream").update(
        prices=[]
    )
    html = member_client.get(generate_url(nanogpt_studio), {"model": "hidream"})
    assert cost_line(html.content.decode()) == "Cost: 1 image · price unknown"
    assert 'class="cost-line cost-unknown"' in html.content.decode()


def test_the_edit_form_shows_its_cost_too(member_client, member, nanogpt_studio):
    image = Image.objects.create(
        workspace=nanogpt_studio, author=member, prompt="p", model_id="openai/gpt-image-1"
    )
    page = member_client.get(
        reverse("gallery:image_detail", args=[nanogpt_studio.slug, image.pk])
    ).content.decode()
    form = page[page.index('id="edit"') :]
    assert f'hx-get="{preview_url(nanogpt_studio)}?kind=edit"' in form
    assert cost_line(form).startswith("Cost: 1 image · ≈ $0.")


@pytest.mark.parametrize(
    "query",
    [
        {"model": "nano-banana-2", "n": "2"},
        {"model": "imagen-4", "n": "4", "aspect_ratio": "16:9"},
        {"model": "unknown-model"},
    ],
)
def test_the_preview_takes_a_few_queries_whatever_is_asked(
    member_client, studio, quota_left, django_assert_num_queries, query
):
    quota_left(40)
    member_client.get(preview_url(studio), HTTP_HX_REQUEST="true")  # the session is warm
    # The user, the membership with its workspace and credential, the catalog, the latest quota,
    # the queued jobs' images, the workspace's budget and the member's own (none set).
    with django_assert_num_queries(7):
        response = member_client.get(preview_url(studio), query, HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_it_is_for_members(viewer_client, outsider_client, studio):
    assert viewer_client.get(preview_url(studio), HTTP_HX_REQUEST="true").status_code == 403
    assert outsider_client.get(preview_url(studio), HTTP_HX_REQUEST="true").status_code == 404


def test_the_preview_counts_queued_jobs_and_shows_the_members_budget(
    member_client, studio, member, quota_left, submit
):
    quota_left(40)
    submit(model="imagen-4", n=3)  # queued: its 3 images are not in the report
    MemberBudget.objects.create(workspace=studio, user=member, limit=Decimal(10), unlimited=False)
    LedgerEntry.objects.create(
        workspace=studio, member=member, kind="adjust", amount=Decimal(5), unit="images"
    )
    query = {"model": "imagen-4", "n": "3"}
    html = member_client.get(preview_url(studio), query, HTTP_HX_REQUEST="true").content.decode()
    assert " ".join(re.sub(r"<[^>]+>", " ", html).split()) == (
        "Cost: 3 images of the workspace quota · leaves 34 this month after recent jobs · "
        "over budget: 2 of your 10 images left this month"
    )
    assert "cost-short" in html
    fits = member_client.get(preview_url(studio), {**query, "n": "2"}, HTTP_HX_REQUEST="true")
    assert "leaves 0 of your 10 images budget this month" in fits.content.decode()


def test_a_job_that_ended_after_the_quota_report_still_counts(
    member_client, studio, quota_left, submit
):
    job = submit(model="imagen-4", n=2)
    run_until_done(job)  # done before the report: the report shows it
    quota_left(40)
    query = {"model": "imagen-4", "n": "1"}
    line = cost_line_of(member_client.get(preview_url(studio), query, HTTP_HX_REQUEST="true"))
    assert line == "Cost: 1 image of the workspace quota · leaves 39 this month"
    later = submit(model="imagen-4", n=2)
    run_until_done(later)  # done after it, before the next report: not in it yet
    assert later.state == "succeeded", later.error
    line = cost_line_of(member_client.get(preview_url(studio), query, HTTP_HX_REQUEST="true"))
    assert line == "Cost: 1 image of the workspace quota · leaves 37 this month after recent jobs"


def cost_line_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())
