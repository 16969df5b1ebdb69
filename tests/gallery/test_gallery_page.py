"""The gallery page: every filter and their combinations against a known set of images, the
filter bar, chips, keyset pages while new images arrive, the htmx partials and their queries."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from gallery.models import Collection, CollectionItem, Favourite, Image, ReviewState
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.gallery.known_images import make_image, make_many

HX = {"HTTP_HX_REQUEST": "true"}
HX_RESULTS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


@pytest.fixture
def known(workspace, owner, member):
    """Five visible images with known facts, oldest first; one deleted; one in another
    workspace. The member likes the whale and the city; the owner likes the fox."""
    fox = make_image(
        workspace, member, "red fox in the snow", days_ago=5, model_id="nano-banana-2",
        provider="sandbox", review_state=ReviewState.APPROVED,
    )  # fmt: skip
    whale = make_image(
        workspace, owner, "blue whale at dawn", days_ago=4, model_id="flux-dev",
        provider="sandbox", review_state=ReviewState.REJECTED,
    )  # fmt: skip
    cub = make_image(
        workspace, None, "fox cub asleep", days_ago=3, model_id="nano-banana-2",
        provider="neuroflash", source="history",
    )  # fmt: skip
    edit = make_image(
        workspace, member, "red fox, darker", days_ago=2, model_id="nano-banana-2",
        provider="sandbox", parent=fox, review_state=ReviewState.NEEDS_CHANGES,
    )  # fmt: skip
    city = make_image(
        workspace, owner, "city at night", days_ago=1, model_id="flux-dev", provider="sandbox"
    )
    make_image(workspace, member, "deleted fox", deleted_at=timezone.now())
    make_image(WorkspaceFactory(), None, "a fox elsewhere")
    Favourite.objects.create(user=member, image=whale)
    Favourite.objects.create(user=member, image=city)
    Favourite.objects.create(user=owner, image=fox)
    spring = Collection.objects.create(workspace=workspace, name="Spring campaign")
    logos = Collection.objects.create(workspace=workspace, name="Logo ideas")
    for collection, image in ((spring, edit), (spring, city), (logos, fox)):
        CollectionItem.objects.create(collection=collection, image=image)
    return {
        "fox": fox, "whale": whale, "cub": cub, "edit": edit, "city": city,
        "spring": spring, "logos": logos,
    }  # fmt: skip


def shown(response) -> list[str]:
    """The prompts of the page's images, in the page's order."""
    return [image.prompt for image in response.context["page"].images]


def day(image: Image) -> str:
    return timezone.localdate(image.created_at).isoformat()


FILTERS = [
    ({}, ["city", "edit", "cub", "whale", "fox"]),
    ({"q": "fox"}, ["edit", "cub", "fox"]),
    ({"q": "red fox"}, ["edit", "fox"]),  # every word
    ({"q": "FOX -red"}, ["cub"]),  # any case; "-word" leaves out
    ({"model": "flux-dev"}, ["city", "whale"]),
    ({"provider": "neuroflash"}, ["cub"]),
    ({"author": "me"}, ["edit", "fox"]),
    ({"review": "approved"}, ["fox"]),
    ({"review": "unreviewed"}, ["city", "cub"]),
    ({"favourites": "1"}, ["city", "whale"]),  # mine, not the owner's
    ({"source": "history"}, ["cub"]),
    ({"source": "job"}, ["city", "edit", "whale", "fox"]),
    ({"edited": "edited"}, ["edit"]),
    ({"edited": "original"}, ["city", "cub", "whale", "fox"]),
    ({"sort": "oldest"}, ["fox", "whale", "cub", "edit", "city"]),
    ({"q": "fox", "author": "me", "edited": "original"}, ["fox"]),
    ({"model": "nano-banana-2", "review": "needs_changes", "source": "job"}, ["edit"]),
    ({"favourites": "1", "model": "flux-dev", "sort": "oldest"}, ["whale", "city"]),
    ({"q": "fox", "provider": "sandbox", "favourites": "1"}, []),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_each_filter_and_combination_lets_through_just_its_images(
    member_client, workspace, known, query, expected
):
    response = member_client.get(reverse("gallery:home", args=[workspace.slug]), query)
    assert shown(response) == [known[name].prompt for name in expected]


def test_authors_collections_and_dates_filter_too(member_client, workspace, known, owner):
    url = reverse("gallery:home", args=[workspace.slug])

    def prompts(**query: object) -> list[str]:
        return shown(member_client.get(url, query))

    names = {image.prompt: name for name, image in known.items() if isinstance(image, Image)}
    by_owner = prompts(author=owner.pk)
    assert [names[p] for p in by_owner] == ["city", "whale"]
    assert [names[p] for p in prompts(collection=known["spring"].pk)] == ["city", "edit"]
    assert [names[p] for p in prompts(since=day(known["cub"]))] == ["city", "edit", "cub"]
    assert [names[p] for p in prompts(until=day(known["whale"]))] == ["whale", "fox"]
    between = prompts(since=day(known["whale"]), until=day(known["edit"]), author="me")
    assert [names[p] for p in between] == ["edit"]
    assert prompts(collection=known["logos"].pk, favourites=1) == []


def test_bad_values_are_ignored_and_their_errors_shown_by_their_fields(
    member_client, workspace, known
):
    query = {"since": "last tuesday", "author": "bob", "review": "great", "q": "fox"}
    response = member_client.get(reverse("gallery:home", args=[workspace.slug]), query)
    assert response.status_code == 200
    assert shown(response) == [known[n].prompt for n in ("edit", "cub", "fox")]  # q still applies
    html = response.content.decode()
    assert re.search(r'id="id_since_error"[^>]*>Enter a valid date\.<', html)
    assert re.search(r'id="id_author_error"[^>]*>Pick a member, or &quot;me&quot;\.<', html)
    assert re.search(r'id="id_review_error"[^>]*>Select a valid choice', html)
    assert 'aria-invalid="true" aria-describedby="id_since_error"' in html  # read with the field
    until_first = member_client.get(
        reverse("gallery:home", args=[workspace.slug]),
        {"since": "2026-05-02", "until": "2026-05-01"},
    ).content.decode()
    assert "The end date is before the start date." in until_first


def test_the_filter_bar_offers_what_the_workspace_has(member_client, workspace, known, owner):
    MembershipFactory(workspace=workspace, role=Role.VIEWER, user__first_name="Vera",
                      user__last_name="Viewer")  # fmt: skip
    form = member_client.get(reverse("gallery:home", args=[workspace.slug])).context["form"]
    assert [v for v, _ in form.fields["model"].widget.choices] == ["", "flux-dev", "nano-banana-2"]
    authors = dict(form.fields["author"].widget.choices)
    assert authors["me"] == "Me"
    assert authors[str(owner.pk)] == owner.display_name
    assert "Vera Viewer" in authors.values()
    assert len(authors) == 4  # anyone, me, the owner, the viewer: not me twice
    collections = [label for _, label in form.fields["collection"].widget.choices]
    assert collections == ["Any collection", "Logo ideas", "Spring campaign"]


def test_the_provider_filter_shows_only_when_images_came_from_several(
    member_client, workspace, known
):
    url = reverse("gallery:home", args=[workspace.slug])
    assert 'name="provider"' in member_client.get(url).content.decode()  # sandbox, neuroflash
    known["cub"].delete()
    from django.core.cache import cache

    cache.clear()  # the providers present are remembered for a few minutes
    assert 'name="provider"' not in member_client.get(url).content.decode()


def test_active_filters_are_chips_that_remove_themselves(member_client, workspace, known):
    url = reverse("gallery:home", args=[workspace.slug])
    query = {"q": "fox", "review": "approved", "collection": known["logos"].pk, "sort": "oldest"}
    html = member_client.get(url, query).content.decode()
    chips = re.findall(r'<li class="chip">(.*?)<a class="chip-remove" href="([^"]*)"', html)
    assert [label for label, _ in chips] == ["“fox”", "Approved", "In Logo ideas"]
    logos = known["logos"].pk
    assert chips[0][1] == f"{url}?review=approved&amp;collection={logos}&amp;sort=oldest"
    assert chips[1][1] == f"{url}?q=fox&amp;collection={logos}&amp;sort=oldest"
    assert f'href="{url}">Clear all' in html


def test_each_tile_says_what_it_is_and_keeps_the_filter_in_its_link(
    member_client, workspace, known, member
):
    known["city"].thumbnail.name = "images/city.png"
    known["city"].save()
    url = reverse("gallery:home", args=[workspace.slug])
    html = member_client.get(url, {"sort": "oldest", "model": "flux-dev"}).content.decode()
    city = html[html.index(f'data-image="{known["city"].pk}"') :]
    city = city[: city.index("</article>")]
    detail = reverse("gallery:image_detail", args=[workspace.slug, known["city"].pk])
    assert f'href="{detail}?model=flux-dev&amp;sort=oldest"' in city
    assert f'hx-get="{detail}?model=flux-dev&amp;sort=oldest" hx-target="#lightbox"' in city
    assert 'loading="lazy" width="1024" height="1024"' in city
    assert 'form="bulk-form"' in city
    assert 'name="image"' in city
    assert "♥" in city  # the member's favourite
    assert "Alice" in city  # the owner's, by name
    whale = html[html.index(f'data-image="{known["whale"].pk}"') :]
    assert "Rejected" in whale[: whale.index("</article>")]
    everything = member_client.get(url).content.decode()
    assert "Provider history" in everything  # the cub
    assert re.search(r'class="tile-author">You<', everything)
    assert '<div id="lightbox"></div>' in everything
    assert "gallery/bulk_bar.html" not in everything  # included, not named


def test_a_tile_escapes_the_prompt_and_the_authors_name(member_client, workspace, owner):
    """The tiles are built in Python (grid_tags.gallery_tiles): every value still escaped."""
    owner.first_name = '<b>Al</b> "x"'
    owner.save()
    prompt = '<script>alert(1)</script> a "quoted" & long prompt that is cut in the label'
    image = make_image(workspace, owner, prompt, thumbnail=True)
    html = member_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    tile = html[html.index(f'data-image="{image.pk}"') :]
    tile = tile[: tile.index("</article>")]
    assert "<script>" not in tile
    assert "<b>" not in tile
    assert (
        'aria-label="Select “&lt;script&gt;alert(1)&lt;/script&gt; a &quot;quoted&quot; &amp; …”"'
    ) in tile
    assert (
        '<span class="tile-prompt">&lt;script&gt;alert(1)&lt;/script&gt; a &quot;quoted&quot; '
        "&amp; long prompt that is cut in the label</span>"
    ) in tile
    assert "&lt;b&gt;Al&lt;/b&gt; &quot;x&quot;" in tile


def test_nothing_matching_is_not_the_same_as_nothing_yet(member_client, workspace, member):
    url = reverse("gallery:home", args=[workspace.slug])
    empty = member_client.get(url).content.decode()
    assert "No images yet" in empty
    make_image(workspace, member, "a lighthouse")
    none = member_client.get(url, {"q": "zebra"}).content.decode()
    assert "No images match these filters" in none
    assert "No images yet" not in none
    assert f'href="{url}">Clear filters' in none


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_pages_have_no_gaps_or_repeats_while_new_images_arrive(
    member_client, workspace, member, sort
):
    before = make_many(workspace, [member], 60)
    url = reverse("gallery:home", args=[workspace.slug])
    first = member_client.get(url, {"sort": sort})
    arrived = make_many(workspace, [member], 10)  # newer than all of the first 60
    for image in arrived:
        Image.objects.filter(pk=image.pk).update(created_at=timezone.now())
    cursor = first.context["page"].next_cursor
    rest = member_client.get(url, {"sort": sort, "after": cursor}, **HX).content.decode()
    seen = [int(pk) for pk in re.findall(r'data-image="(\d+)"', first.content.decode() + rest)]
    assert len(seen) == len(set(seen))
    if sort == "newest":  # the new ones are above page 1: the old ones all follow, once
        assert sorted(seen) == sorted(i.pk for i in before)
    else:  # the new ones come at the end
        assert sorted(seen) == sorted(i.pk for i in before + arrived)
    assert 'class="grid-more"' not in rest


def test_the_scroll_sentinel_gets_just_the_next_tiles_and_the_next_sentinel(
    member_client, workspace, member
):
    make_many(workspace, [member], 100)
    url = reverse("gallery:home", args=[workspace.slug])
    first = member_client.get(url, {"q": "study"})
    html = first.content.decode()
    sentinel = re.search(r'<div class="grid-more" hx-get="([^"]+)" hx-trigger="revealed"', html)
    assert sentinel
    next_url = sentinel.group(1).replace("&amp;", "&")
    assert next_url.startswith(f"{url}?q=study&after=")
    assert f'<a class="btn" href="{sentinel.group(1)}">Next page</a>' in html  # without JS
    more = member_client.get(next_url, **HX).content.decode()
    assert more.count('class="tile ') == 48
    assert 'class="grid-more"' in more
    assert "<html" not in more
    assert 'id="results"' not in more
    assert 'id="filter-bar"' not in more
    # Without JavaScript, the next page is a whole page, with a way back to the first.
    page_two = member_client.get(next_url).content.decode()
    assert f'<a href="{url}?q=study">← Back to the first page</a>' in page_two
    assert page_two.count('class="tile ') == 48


def test_a_filter_change_gets_the_results_and_the_canonical_address(
    member_client, workspace, known
):
    url = reverse("gallery:home", args=[workspace.slug])
    query = {"q": "fox", "model": "", "author": "", "since": "nope", "sort": "newest"}
    response = member_client.get(url, query, **HX_RESULTS)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert 'id="filter-bar"' not in html
    assert response["HX-Push-Url"] == f"{url}?q=fox"
    assert 'id="id_since_error" hx-swap-oob="true">Enter a valid date.' in html
    assert "HX-Request" in response["Vary"]
    assert '<span id="filters-set" hx-swap-oob="true"></span>' in html  # the search is no fold
    more = member_client.get(url, {"q": "fox", "model": "flux-dev"}, **HX_RESULTS)
    assert '<span id="filters-set" hx-swap-oob="true"> (1)</span>' in more.content.decode()


def test_the_filters_fold_is_open_while_any_filter_is_set(member_client, workspace, known):
    url = reverse("gallery:home", args=[workspace.slug])
    assert '<details class="filter-more">' in member_client.get(url, {"q": "fox"}).content.decode()
    for query in ({"review": "approved"}, {"sort": "oldest"}, {"since": "nope"}):
        html = member_client.get(url, query).content.decode()
        assert '<details class="filter-more" open>' in html


def test_going_back_in_history_gets_the_whole_page(member_client, workspace, known):
    url = reverse("gallery:home", args=[workspace.slug])
    response = member_client.get(
        url, {"q": "fox"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert 'id="filter-bar"' in response.content.decode()


EVERY_FILTER = {
    "q": "fox", "model": "nano-banana-2", "provider": "sandbox", "author": "me",
    "since": "2020-01-01", "until": "2099-01-01", "review": "approved", "favourites": "1",
    "collection": "1", "source": "job", "edited": "original", "sort": "oldest",
}  # fmt: skip


@pytest.mark.parametrize(
    "query",
    [{}, EVERY_FILTER, {"q": "red fox -whale"}, "deep"],
    ids=["no filter", "every filter", "search", "deep cursor"],
)
def test_a_page_costs_five_queries_whatever_the_filter(
    member_client, workspace, member, owner, django_assert_num_queries, query
):
    images = make_many(workspace, [member, owner], 120)
    for image in images[::3]:
        Favourite.objects.create(user=member, image=image)
    Collection.objects.create(workspace=workspace, name="Spring")
    url = reverse("gallery:home", args=[workspace.slug])
    if query == "deep":
        query = {"after": member_client.get(url, {"q": "study"}).context["page"].next_cursor}
    member_client.get(url)  # remembers the workspace: a write only on the first visit
    # User (the session comes from the cache), memberships (with the workspace, its
    # credential, the switcher's list), the page of images, the filter bar's options, the quota
    # and sync status.
    with django_assert_num_queries(5):
        member_client.get(url, query)
    with django_assert_num_queries(4):  # no status panel
        member_client.get(url, query, **HX_RESULTS)
    with django_assert_num_queries(3):  # no filter bar
        member_client.get(url, {**query, "after": "1-1"}, **HX)


def test_the_grid_asks_for_no_count(member_client, workspace, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_many(workspace, [member], 10)
    url = reverse("gallery:home", args=[workspace.slug])
    with CaptureQueriesContext(connection) as queries:
        member_client.get(url)
    # The header bell counts the member's unread notifications; nothing counts the images.
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if "gallery_image" in sql]
    assert len(counts) <= 1


def test_outsiders_get_404(outsider_client, workspace, known):
    url = reverse("gallery:home", args=[workspace.slug])
    assert outsider_client.get(url, {"q": "fox"}).status_code == 404
    assert outsider_client.get(url, {"q": "fox"}, **HX_RESULTS).status_code == 404


def test_search_is_full_text_on_postgresql_and_words_on_sqlite(member_client, workspace, known):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("gallery:home", args=[workspace.slug])
    with CaptureQueriesContext(connection) as queries:
        response = member_client.get(url, {"q": "foxes"})
    (page_query,) = [q["sql"] for q in queries.captured_queries if "LIMIT 49" in q["sql"]]
    if connection.vendor == "postgresql":
        # The GIN index's expression, and English stems: "foxes" finds "fox".
        assert "to_tsvector('english'::regconfig" in page_query
        assert "websearch_to_tsquery" in page_query
        assert [i.prompt for i in response.context["page"].images] == [
            known[name].prompt for name in ("edit", "cub", "fox")
        ]
    else:
        assert "LIKE" in page_query
        assert response.context["page"].images == []


@pytest.mark.parametrize(
    ("width", "height", "css_class"),
    [(1024, 1024, "ar-0"), (1920, 1080, "ar-29"), (1080, 1920, "ar-n29"), (None, None, "ar-0"),
     (10000, 100, "ar-60"), (100, 10000, "ar-n60")],
)  # fmt: skip
def test_a_tile_class_holds_its_ratio_within_one_percent(width, height, css_class):
    from gallery.templatetags.grid_tags import RATIO_STEP, aspect_class, ratio_step

    assert aspect_class(Image(width=width, height=height)) == css_class
    if width and abs(ratio_step(width, height)) < 60:
        shown_ratio = RATIO_STEP ** ratio_step(width, height)
        assert abs(shown_ratio / (width / height) - 1) <= 0.01


def test_the_stylesheet_has_every_ratio_class():
    from django.contrib.staticfiles import finders

    from gallery.templatetags.grid_tags import ratio_css

    with open(finders.find("css/app.css"), encoding="utf-8") as css:
        assert ratio_css() in css.read()


def test_a_collections_gallery_is_named_above_its_images(member_client, workspace, member):
    board = Collection.objects.create(workspace=workspace, name="Spring campaign")
    url = reverse("gallery:home", args=[workspace.slug])
    html = member_client.get(url, {"collection": board.pk}).content.decode()
    assert '<h2 class="results-collection">Spring campaign' in html
    assert "By me" not in html
    html = member_client.get(url, {"author": "me"}).content.decode()
    assert "By me" in html  # the chip, in the words of a sentence


def test_every_description_a_field_points_to_is_on_the_page(member_client, workspace):
    html = member_client.get(
        reverse("gallery:home", args=[workspace.slug]), {"since": "not a date"}
    ).content.decode()
    described = {
        ref for refs in re.findall(r'aria-describedby="([^"]+)"', html) for ref in refs.split()
    }
    assert described  # the bad date's error, at least
    missing = {ref for ref in described if f'id="{ref}"' not in html}
    assert not missing
