"""ds-prototypes history: list, item, delete, view, both envelopes, paging, seeding."""

from __future__ import annotations

import time

import pytest

from tests.sandbox.conftest import DS, DS_IG, Neuroflash, decode

ENTRY_FIELDS = {
    "output_image_id",
    "batch_id",
    "user_id",
    "workspace_id",
    "prompt",
    "model",
    "parameters",
    "input_images",
    "output_image_url",
    "output_image_width",
    "output_image_height",
    "output_image_size",
    "created_at",
}


def test_it_lists_history_newest_first_as_a_bare_list(nf: Neuroflash):
    first = nf.generate(prompt="first")["images"][0]["image_id"]
    second = nf.generate(prompt="second")["images"][0]["image_id"]

    response = nf.get(f"{DS}/history")

    assert isinstance(response.json(), list)
    entries = response.json()
    assert [e["output_image_id"] for e in entries] == [second, first]
    assert set(entries[0]) == ENTRY_FIELDS
    assert entries[0]["output_image_url"] == f"{DS_IG}/{second}/view"
    assert entries[0]["workspace_id"] == nf.sandbox.workspace_id


def test_it_answers_history_in_the_items_shape_when_configured(sandbox, nf: Neuroflash):
    nf.generate()
    sandbox.configure(history_shape="items")

    body = nf.get(f"{DS}/history").json()

    assert set(body) == {"items"}
    assert len(body["items"]) == 1


def test_it_goes_back_to_the_bare_list_after_a_reset(sandbox, nf: Neuroflash):
    sandbox.configure(history_shape="items")

    sandbox.reset()

    assert nf.get(f"{DS}/history").json() == []


def test_it_serves_history_under_both_base_paths(nf: Neuroflash):
    nf.generate()

    assert nf.get(f"{DS}/history").json() == nf.get(f"{DS_IG}/history").json()


def test_it_filters_history_by_model(nf: Neuroflash):
    nf.generate(model="nano-banana-2")
    nf.generate(model="imagen-4")

    entries = nf.history(model="imagen-4")

    assert [e["model"] for e in entries] == ["imagen-4"]


def test_it_pages_history_with_limit_and_offset(sandbox, nf: Neuroflash):
    sandbox.seed_history(25)

    pages, offset = [], 0
    while True:
        page = nf.history(limit=10, offset=offset)
        pages.append(page)
        offset += len(page)
        if len(page) < 10:
            break

    assert [len(page) for page in pages] == [10, 10, 5]
    ids = [e["output_image_id"] for page in pages for e in page]
    assert len(set(ids)) == 25
    created = [e["created_at"] for page in pages for e in page]
    assert created == sorted(created, reverse=True)


def test_it_defaults_the_history_limit_to_100(sandbox, nf: Neuroflash):
    sandbox.seed_history(120)

    assert len(nf.history()) == 100


@pytest.mark.parametrize(("param", "value"), [("limit", 1001), ("limit", 0), ("offset", -1)])
def test_it_rejects_history_paging_out_of_range(nf: Neuroflash, param, value):
    response = nf.get(f"{DS}/history", params={param: value})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == param


def test_it_seeds_ten_thousand_entries_in_seconds(sandbox, nf: Neuroflash):
    started = time.monotonic()
    result = sandbox.seed_history(10_000, model="nano-banana")
    elapsed = time.monotonic() - started

    assert result["inserted"] == 10_000
    assert elapsed < 5
    page = nf.history(limit=1000, offset=9_500)
    assert len(page) == 500
    assert {e["model"] for e in page} == {"nano-banana"}


def test_it_renders_a_seeded_entry_on_first_view_and_keeps_the_bytes(sandbox, nf: Neuroflash):
    sandbox.seed_history(3)
    entry = nf.history()[0]
    assert entry["output_image_size"] is None  # not rendered yet

    first = nf.get(entry["output_image_url"])
    second = nf.get(entry["output_image_url"])

    assert first.status_code == 200
    assert first.content == second.content
    image = decode(first.content)
    assert image.size == (entry["output_image_width"], entry["output_image_height"])
    refreshed = nf.get(f"{DS}/history/{entry['output_image_id']}").json()
    assert refreshed["output_image_size"] == len(first.content)


def test_it_gets_one_history_entry(nf: Neuroflash):
    image_id = nf.generate()["images"][0]["image_id"]

    for prefix in (DS, DS_IG):
        response = nf.get(f"{prefix}/history/{image_id}")
        assert response.status_code == 200
        assert response.json()["output_image_id"] == image_id


def test_it_404s_an_unknown_history_entry(nf: Neuroflash):
    response = nf.get(f"{DS}/history/does-not-exist")

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_it_deletes_a_generation_and_its_image(nf: Neuroflash):
    [image] = nf.generate()["images"]
    view = f"{DS_IG}/{image['image_id']}/view"
    assert nf.get(view).status_code == 200

    response = nf.delete(f"{DS}/history/{image['image_id']}")

    assert response.status_code == 200
    assert response.json() == {}
    assert nf.get(f"{DS}/history/{image['image_id']}").status_code == 404
    assert nf.get(view).status_code == 404
    assert nf.http.get(image["url"], timeout=10).status_code == 404
    assert nf.history() == []


def test_it_404s_a_delete_by_batch_id(nf: Neuroflash):
    batch_id = nf.generate()["batch_id"]

    response = nf.delete(f"{DS}/history/{batch_id}")

    assert response.status_code == 404
    assert len(nf.history()) == 1


def test_it_404s_a_second_delete(nf: Neuroflash):
    image_id = nf.generate()["images"][0]["image_id"]
    nf.delete(f"{DS_IG}/history/{image_id}")

    assert nf.delete(f"{DS_IG}/history/{image_id}").status_code == 404


def test_it_views_the_stored_bytes_of_a_generation(nf: Neuroflash):
    [image] = nf.generate(output_format="webp", aspect_ratio="2:3")["images"]
    entry = nf.history()[0]

    response = nf.get(entry["output_image_url"])

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/webp"
    assert response.content == nf.http.get(image["url"], timeout=10).content
    assert decode(response.content).format == "WEBP"
    assert decode(response.content).size == (680, 1024)


def test_it_requires_a_token_to_view(nf: Neuroflash):
    nf.generate()
    url = nf.history()[0]["output_image_url"]

    response = nf.http.get(f"{nf.sandbox.url}{url}", timeout=10)

    assert response.status_code == 401
