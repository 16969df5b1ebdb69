"""Compare models: one prompt to two to four models at once, all queued and reserved or none,
and the results side by side."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.urls import reverse

from gallery.models import (
    CatalogModel,
    Comparison,
    Image,
    Job,
    LedgerEntry,
    QuotaSnapshot,
    ReviewState,
)
from gallery.services.comparisons import comparison_submit, job_key
from gallery.services.jobs import JobRequest, SubmitRefused
from tests.gallery.running import run_until_done
from tests.gallery.test_budgets import give, used

THREE = ("nano-banana-2", "imagen-4", "seedream-4")


def pick(workspace, model_id: str) -> str:
    """The prefix of a model's option fields on the compare form."""
    return f"m{CatalogModel.objects.get(workspace=workspace, provider_model_id=model_id).pk}"


def compare_form(workspace, models=THREE, key: str = "cmp-1", **options) -> dict[str, object]:
    """The compare form as a browser sends it: `options` as `<model id>__<option>`."""
    data: dict[str, object] = {
        "prompt": "a lighthouse at dusk",
        "models": list(models),
        "idempotency_key": key,
    }
    for name, value in options.items():
        model_id, option = name.split("__")
        data[f"{pick(workspace, model_id.replace('_', '-'))}-{option}"] = value
    return data


def compare_url(workspace) -> str:
    return reverse("gallery:compare", args=[workspace.slug])


@pytest.fixture(autouse=True)
def _no_broker(sent_tasks):
    """Job messages are recorded, not sent: the tests run the jobs themselves."""


def test_three_sandbox_models_run_and_show_side_by_side(
    member_client, studio, member, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    form = compare_form(studio, nano_banana_2__n="2")
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(compare_url(studio), form)
    comparison = Comparison.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("gallery:comparison", args=[studio.slug, comparison.pk])
    jobs = list(comparison.jobs.order_by("pk"))
    assert [job.model_id for job in jobs] == list(THREE)  # in the catalog's order
    assert jobs[0].params == {"n": 2, "aspect_ratio": "1:1", "output_format": "jpeg"}
    assert {job.author for job in jobs} == {member}
    for job in jobs:
        run_until_done(job)
        assert job.state == "succeeded", job.error

    url = response["Location"]
    with django_assert_max_num_queries(9):
        page = member_client.get(url)
    html = page.content.decode()
    assert html.count('class="compare-col"') == 3
    for name in ("Nano Banana 2", "Imagen 4", "Seedream 4"):
        assert f">{name}</h2>" in html
    assert html.count('class="compare-result"') == 4  # 2 + 1 + 1 images
    assert html.count(">Approve</button>") == 4  # each one can win
    assert 'hx-trigger="every 2s"' not in html  # all done: nothing polls any more


def test_the_comparison_polls_while_a_model_is_still_running(member_client, studio):
    member_client.post(compare_url(studio), compare_form(studio, models=THREE[:2]))
    comparison = Comparison.objects.get()
    run_until_done(comparison.jobs.order_by("pk").first())
    url = reverse("gallery:comparison", args=[studio.slug, comparison.pk])
    html = member_client.get(url).content.decode()
    assert html.count('hx-trigger="every 2s"') == 1  # the columns together, not each card
    fragment = member_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.strip().startswith('<div id="compare-results"')
    assert "Queued" in fragment
    assert "Done" in fragment


def test_a_comparison_over_the_budget_is_refused_whole_with_its_total(
    member_client, studio, member
):
    give(studio, member, 4)
    form = compare_form(
        studio, nano_banana_2__n="2", imagen_4__n="2", seedream_4__n="2"
    )  # 6 images, 4 in the budget: the first two fit
    response = member_client.post(compare_url(studio), form)
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        "Nothing was queued: the 3 models cost 6 images; you have 4 of your 4 left this month."
    ) in html
    ask = reverse("gallery:budget_ask", args=[studio.slug])
    assert f'href="{ask}?amount=2">Ask for more</a>' in html
    assert not Comparison.objects.exists()
    assert not Job.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert used(studio, member) == 0


def test_the_quota_counts_the_models_before_too(member_client, studio, quota_left):
    quota_left(3)
    form = compare_form(studio, nano_banana_2__n="2", imagen_4__n="2", seedream_4__n="1")
    response = member_client.post(compare_url(studio), form)
    assert (
        "Nothing was queued: Imagen 4 does not fit once the models before it were counted. "
        "2 images requested, 1 left this month."
    ) in response.content.decode()
    assert not Job.objects.exists()


def test_a_comparison_that_fits_reserves_every_model(member_client, studio, member):
    give(studio, member, 6)
    form = compare_form(studio, nano_banana_2__n="2", imagen_4__n="2", seedream_4__n="2")
    member_client.post(compare_url(studio), form)
    assert Comparison.objects.get().jobs.count() == 3
    assert used(studio, member) == 6


def test_a_double_click_queues_the_comparison_once(member_client, studio, member):
    first = member_client.post(compare_url(studio), compare_form(studio, key="same"))
    second = member_client.post(compare_url(studio), compare_form(studio, key="same"))
    assert Comparison.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert Job.objects.count() == 3
    assert set(Job.objects.values_list("idempotency_key", flat=True)) == {
        job_key("same", model_id) for model_id in THREE
    }


def test_each_jobs_key_is_short_enough_whatever_the_model_id():
    key = job_key("k" * 64, "vendor/" + "x" * 190)
    assert len(key) <= 64
    assert key != job_key("k" * 64, "vendor/" + "y" * 190)


@pytest.mark.parametrize(
    ("models", "error"),
    [
        (THREE[:1], "Pick at least two models to compare (one is ticked)."),
        ((*THREE, "nano-banana", "ideogram-v3"), "Pick at most four models (5 are ticked)."),
        ((), "Pick two to four models to compare."),
        (("nano-banana-2", "gpt-image-1"), "gpt-image-1 is not a model this workspace"),
    ],
)
def test_it_asks_for_two_to_four_models_of_the_plan(member_client, studio, models, error):
    response = member_client.post(compare_url(studio), compare_form(studio, models=models))
    assert response.status_code == 422
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not Job.objects.exists()


def test_an_option_a_model_lacks_is_refused_next_to_its_field(member_client, studio):
    form = compare_form(studio, imagen_4__aspect_ratio="21:9")  # Imagen 4 has no 21:9
    response = member_client.post(compare_url(studio), form)
    assert response.status_code == 422
    assert "Select a valid choice. 21:9 is not one of the available choices." in (
        response.content.decode()
    )
    assert not Job.objects.exists()


# --- The cost, live -----------------------------------------------------------------------------


def preview(client, workspace, models, **options) -> str:
    query = {"models": list(models)}
    for name, value in options.items():
        model_id, option = name.split("__")
        query[f"{pick(workspace, model_id.replace('_', '-'))}-{option}"] = value
    url = reverse("gallery:compare_preview", args=[workspace.slug])
    html = client.get(url, query, HTTP_HX_REQUEST="true").content.decode()
    return re.sub(r"\s+", " ", html)


def test_the_total_sums_each_models_images_against_the_quota(member_client, studio):
    QuotaSnapshot.objects.create(
        workspace=studio, kind="credits", monthly_available=86, monthly_limit=100, monthly_used=14
    )
    html = preview(member_client, studio, THREE, nano_banana_2__n="3", seedream_4__n="2")
    total = "Total:</span> 3 models · 6 images of the workspace quota · leaves 80 this month"
    assert total in html
    assert html.count('class="pick-panel"') == 3
    assert "3 images of the workspace quota" in html  # Nano Banana 2's own share
    assert 'hx-swap-oob="innerHTML"' in html


def test_the_total_in_dollars_and_unknown_when_any_price_is(member_client, nanogpt_studio):
    studio = nanogpt_studio
    models = ("hidream", "openai/gpt-image-1", "recraft-v3")
    html = preview(member_client, studio, models, hidream__n="2")
    # 2 x $0.0112 + $0.04 + $0.04
    assert "Total:</span> 3 models · 4 images · ≈ $0.1024" in html
    CatalogModel.objects.filter(workspace=studio, provider_model_id="recraft-v3").update(prices=[])
    html = preview(member_client, studio, models, hidream__n="2")
    assert "Total:</span> 3 models · 4 images · price unknown" in html


def test_the_preview_says_when_too_many_models_are_ticked(member_client, studio):
    html = preview(member_client, studio, (*THREE, "nano-banana", "ideogram-v3"))
    assert "Pick at most four models: 5 are ticked." in html


# --- Each result is an ordinary job and image -------------------------------------------------


def test_a_result_shows_in_the_gallery_and_can_be_reviewed(member_client, studio, member):
    member_client.post(compare_url(studio), compare_form(studio, models=THREE[:2]))
    for job in Job.objects.all():
        run_until_done(job)
    image = Image.objects.get(model_id="imagen-4")
    gallery = member_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
    assert reverse("gallery:image_detail", args=[studio.slug, image.pk]) in gallery
    review = reverse("gallery:image_review", args=[studio.slug, image.pk])
    response = member_client.post(review, {"state": "approved"}, HTTP_HX_REQUEST="true")
    assert "data-review-state>Approved<" in response.content.decode()  # what the button swaps in
    image.refresh_from_db()
    assert image.review_state == ReviewState.APPROVED
    assert image.job.comparison == Comparison.objects.get()


# --- Who may do what --------------------------------------------------------------------------


def test_a_viewer_sees_comparisons_but_cannot_start_one(member_client, viewer_client, studio):
    member_client.post(compare_url(studio), compare_form(studio, models=THREE[:2]))
    for job in Job.objects.all():
        run_until_done(job)
    comparison = Comparison.objects.get()
    page = viewer_client.get(compare_url(studio)).content.decode()
    assert "starting one needs a member" in page
    assert 'name="models"' not in page
    assert "a lighthouse at dusk" in page  # the past comparison
    detail = viewer_client.get(reverse("gallery:comparison", args=[studio.slug, comparison.pk]))
    html = detail.content.decode()
    assert html.count("Favourite</button>") == 2  # a viewer may favourite
    assert ">Approve</button>" not in html  # but not review
    response = viewer_client.post(compare_url(studio), compare_form(studio, key="v"))
    assert response.status_code == 403
    assert Comparison.objects.count() == 1


def test_an_outsider_finds_no_comparison(member_client, outsider_client, studio):
    member_client.post(compare_url(studio), compare_form(studio, models=THREE[:2]))
    comparison = Comparison.objects.get()
    url = reverse("gallery:comparison", args=[studio.slug, comparison.pk])
    assert outsider_client.get(url).status_code == 404


# --- Past comparisons -------------------------------------------------------------------------


def make_comparisons(workspace, author, count: int) -> None:
    start = Comparison.objects.count()
    for i in range(start, start + count):
        comparison = Comparison.objects.create(
            workspace=workspace, author=author, prompt=f"prompt {i}", idempotency_key=f"k{i}"
        )
        for model_id in THREE:
            job = Job.objects.create(
                workspace=workspace,
                author=author,
                prompt=comparison.prompt,
                model_id=model_id,
                idempotency_key=job_key(f"k{i}", model_id),
                comparison=comparison,
                state="succeeded",
            )
            Image.objects.create(workspace=workspace, job=job, prompt=job.prompt, model_id=model_id)


def test_past_comparisons_take_the_same_queries_however_many(
    member_client, studio, member, django_assert_max_num_queries
):
    make_comparisons(studio, member, 2)
    url = compare_url(studio)
    member_client.get(url)  # warm: the session, the catalog
    # 12, and 3 for the total's queued jobs and the member's budget (see test_cost_preview)
    with django_assert_max_num_queries(15) as few:
        member_client.get(url)
    make_comparisons(studio, member, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = member_client.get(url).content.decode()
    assert html.count('class="past-row"') == 10
    assert html.count('class="past-thumb"') == 30


def test_past_comparisons_come_a_page_at_a_time(member_client, studio, member):
    make_comparisons(studio, member, 23)
    html = member_client.get(compare_url(studio)).content.decode()
    assert html.count('class="past-row"') == 20
    newest = Comparison.objects.order_by("-id")
    older = re.search(r'href="\?before=(\d+)">Older comparisons', html)
    assert older
    assert int(older.group(1)) == newest[19].pk
    rest = member_client.get(compare_url(studio), {"before": older.group(1)}).content.decode()
    assert rest.count('class="past-row"') == 3
    assert "Older comparisons" not in rest
    assert "Newest comparisons" in rest


def test_without_javascript_show_their_options_fills_the_form_from_the_address(
    member_client, studio
):
    query = {"prompt": "a harbour", "models": ["imagen-4", "seedream-4"]}
    query[f"{pick(studio, 'imagen-4')}-aspect_ratio"] = "16:9"
    html = member_client.get(compare_url(studio), query).content.decode()
    assert "a harbour</textarea>" in html
    assert html.count('class="pick-panel"') == 2
    assert '<option value="16:9" selected>16:9</option>' in html
    assert "Total:</span> 2 models · 2 images of the workspace quota" in html


def test_the_comparison_page_takes_the_same_queries_however_many_models_and_images(
    member_client, studio, member, django_assert_max_num_queries
):
    make_comparisons(studio, member, 1)
    two = Comparison.objects.get()
    Job.objects.filter(comparison=two, model_id="seedream-4").delete()
    make_comparisons(studio, member, 1)
    four = Comparison.objects.latest("pk")
    job = four.jobs.first()
    Image.objects.create(workspace=studio, job=job, prompt=job.prompt, model_id=job.model_id)
    Job.objects.create(
        workspace=studio, author=member, prompt=job.prompt, model_id="ideogram-v3",
        idempotency_key="fourth", comparison=four, state="running",
    )  # fmt: skip
    member_client.get(reverse("gallery:comparison", args=[studio.slug, two.pk]))  # warm
    with django_assert_max_num_queries(12) as few:
        member_client.get(reverse("gallery:comparison", args=[studio.slug, two.pk]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = member_client.get(
            reverse("gallery:comparison", args=[studio.slug, four.pk])
        ).content.decode()
    assert html.count('class="compare-col"') == 4
    assert html.count('class="compare-result"') == 4


# --- At the same moment -----------------------------------------------------------------------


def at_once(count: int, work) -> tuple[list[object], list[BaseException]]:
    """Run `work(i)` in `count` threads released together; their results and their errors."""
    start = threading.Barrier(count)
    results: list[object] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            start.wait()
            results.append(work(i))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def requests_for(models=THREE) -> list[JobRequest]:
    return [JobRequest("text2image", "a burst", model_id, {"n": 1}) for model_id in models]


@pytest.mark.django_db(transaction=True)
def test_the_same_comparison_sent_many_times_at_once_is_queued_once(studio, member):
    def send(i: int) -> int:
        return comparison_submit(
            workspace=studio,
            author=member,
            prompt="a burst",
            requests=requests_for(),
            idempotency_key="one-click",
        ).pk

    results, errors = at_once(5, send)
    assert errors == []
    assert len(set(results)) == 1
    assert Comparison.objects.count() == 1
    assert Job.objects.count() == 3
    assert LedgerEntry.objects.filter(kind="reserve").count() == 3


@pytest.mark.django_db(transaction=True)
def test_comparisons_at_once_are_each_reserved_whole_or_refused_whole(studio, member, settings):
    """Five comparisons of three images against a budget of 7: two fit, three are refused,
    and none is left half queued."""
    settings.JOBS_MAX_ACTIVE_PER_WORKSPACE = 1000
    settings.JOBS_PER_MEMBER_PER_MINUTE = 1000
    give(studio, member, 7)

    def send(i: int) -> str:
        try:
            comparison_submit(
                workspace=studio,
                author=member,
                prompt="a burst",
                requests=requests_for(),
                idempotency_key=f"burst-{i}",
            )
        except SubmitRefused:
            return "refused"
        return "queued"

    results, errors = at_once(5, send)
    assert errors == []
    assert sorted(results) == ["queued"] * 2 + ["refused"] * 3
    assert Comparison.objects.count() == 2
    assert all(c.jobs.count() == 3 for c in Comparison.objects.all())
    assert Job.objects.count() == 6
    assert used(studio, member) == 6
