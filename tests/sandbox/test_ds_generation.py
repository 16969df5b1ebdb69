"""ds-prototypes text2image and image2image, under both documented base paths."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import DS, DS_IG, Neuroflash, decode

ROUTES = [
    ("POST", "/"),
    ("POST", "/edit"),
    ("GET", "/models"),
    ("GET", "/history"),
    ("GET", "/history/some-id"),
    ("DELETE", "/history/some-id"),
]


@pytest.mark.parametrize("prefix", [DS, DS_IG])
def test_it_generates_under_both_base_paths(nf: Neuroflash, prefix):
    body = nf.generate(prefix, model="nano-banana-2", num_images=1, aspect_ratio="16:9")

    [image] = body["images"]
    assert image["width"] == 1024
    assert image["height"] == 576
    assert image["content_type"] == "image/png"
    assert image["image_id"]
    assert body["batch_id"]
    assert body["prompt"] == "a lighthouse at dawn"
    assert body["detail"] is None


@pytest.mark.parametrize("prefix", [DS, DS_IG])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_it_requires_x_workspace_id(nf: Neuroflash, prefix, method, path):
    headers = {"Authorization": f"Bearer {nf.token}"}

    response = nf.http.request(
        method, f"{nf.sandbox.url}{prefix}{path}", headers=headers, json={}, timeout=10
    )

    assert response.status_code == 400
    assert response.json()["code"] == "MISSING_WORKSPACE_ID"


def test_it_requires_x_workspace_id_on_the_view_route(nf: Neuroflash):
    nf.generate()
    url = nf.history()[0]["output_image_url"]

    response = nf.get(url, headers={"x-workspace-id": ""})

    assert response.status_code == 400


def test_it_refuses_a_workspace_the_client_cannot_access(nf: Neuroflash):
    response = nf.post(f"{DS}/", json={"prompt": "x"}, headers={"x-workspace-id": "other"})

    assert response.status_code == 403
    assert response.json()["code"] == "WORKSPACE_ACCESS_DENIED"


def test_it_checks_the_token_before_the_workspace_header(nf: Neuroflash):
    response = nf.http.get(f"{nf.sandbox.url}{DS}/models", timeout=10)

    assert response.status_code == 401


def test_it_serves_the_absolute_url_without_auth(nf: Neuroflash):
    [image] = nf.generate(output_format="jpeg")["images"]

    response = nf.http.get(image["url"], timeout=10)

    assert image["url"].startswith(nf.sandbox.url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert len(response.content) == image["file_size"]
    assert decode(response.content).format == "JPEG"


def test_it_generates_several_images_in_one_batch(nf: Neuroflash):
    body = nf.generate(num_images=3, seed=11)

    ids = [image["image_id"] for image in body["images"]]
    assert len(set(ids)) == 3
    history = nf.history()
    assert {entry["output_image_id"] for entry in history} == set(ids)
    assert {entry["batch_id"] for entry in history} == {body["batch_id"]}


def test_it_limits_generations_to_one_when_asked(nf: Neuroflash):
    body = nf.generate(num_images=4, limit_generations=True)

    assert len(body["images"]) == 1


def test_it_accepts_the_model_as_an_empty_object_like_the_reference_example(nf: Neuroflash):
    nf.generate(model={})

    assert nf.history()[0]["model"] == "nano-banana-2"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({}, "prompt"),
        ({"prompt": "x", "num_images": 5}, "num_images"),
        ({"prompt": "x", "num_images": 0}, "num_images"),
        ({"prompt": "x", "model": "ideogram-v3", "num_images": 2}, "num_images"),
        ({"prompt": "x", "aspect_ratio": "7:5"}, "aspect_ratio"),
        ({"prompt": "x", "model": "imagen-4", "output_format": "webp"}, "output_format"),
        ({"prompt": "x", "model": "no-such-model"}, "model"),
        ({"prompt": "x", "seed": "abc"}, "seed"),
    ],
)
def test_it_rejects_invalid_generation_requests_in_the_validation_format(
    nf: Neuroflash, body, field
):
    response = nf.post(f"{DS_IG}/", json=body)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert field in {error["field"] for error in errors}
    assert all(error["type"] == "validation" for error in errors)


def test_it_reports_every_invalid_field_at_once(nf: Neuroflash):
    response = nf.post(f"{DS_IG}/", json={"num_images": 99, "aspect_ratio": "1:7"})

    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"prompt", "num_images", "aspect_ratio"}


def test_it_refuses_a_listed_model_that_is_not_allowed(sandbox, nf: Neuroflash):
    response = nf.post(f"{DS_IG}/", json={"prompt": "x", "model": "flux-pro-ultra"})

    assert response.status_code == 403
    assert response.json()["code"] == "MODEL_NOT_ALLOWED"
    assert sandbox.counters()["images_charged"] == 0


def test_it_rejects_a_body_that_is_not_json(nf: Neuroflash):
    response = nf.post(f"{DS_IG}/", data=b"{not json", headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST_BODY"


def test_it_lists_models_snake_case_as_a_bare_array(nf: Neuroflash):
    for prefix in (DS, DS_IG):
        models = nf.get(f"{prefix}/models").json()

        assert isinstance(models, list)
        assert {"max_images", "aspect_ratios", "output_formats", "allowed"} <= set(models[0])


# -- image2image ----------------------------------------------------------------------------------


def test_it_edits_an_image_from_its_relative_output_image_url(nf: Neuroflash):
    nf.generate(aspect_ratio="4:3", seed=1)
    source = nf.history()[0]

    response = nf.post(
        f"{DS}/edit",
        json={"prompt": "make the sky orange", "image_urls": [source["output_image_url"]]},
    )

    assert response.status_code == 200, response.text
    [image] = response.json()["images"]
    # aspect_ratio defaults to `auto`: the edit keeps the source's size.
    assert (image["width"], image["height"]) == (1024, 768)
    edited = nf.history()[0]
    assert edited["output_image_id"] == image["image_id"]
    assert edited["input_images"] == [source["output_image_url"]]


def test_it_fails_an_edit_with_an_absolute_url_as_the_docs_warn(nf: Neuroflash):
    nf.generate()
    relative = nf.history()[0]["output_image_url"]

    response = nf.post(
        f"{DS}/edit", json={"prompt": "x", "image_urls": [f"https://app.neuroflash.com{relative}"]}
    )

    assert response.status_code == 500


def test_it_fails_an_edit_with_the_storage_url_from_the_generate_response(nf: Neuroflash):
    [image] = nf.generate()["images"]

    response = nf.post(f"{DS}/edit", json={"prompt": "x", "image_urls": [image["url"]]})

    assert response.status_code == 500


def test_it_404s_an_edit_of_an_unknown_image(nf: Neuroflash):
    path = "/api/ds-prototypes/image_generation/00000000-0000-0000-0000-000000000000/view"

    response = nf.post(f"{DS}/edit", json={"prompt": "x", "image_urls": [path]})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x"}, "image_urls"),
        ({"prompt": "x", "image_urls": []}, "image_urls"),
        ({"prompt": "x", "image_urls": ["/somewhere/else.png"]}, "image_urls"),
        (
            {"prompt": "x", "model": "imagen-4", "image_urls": ["/api/ds-prototypes/x"]},
            "model",
        ),
    ],
)
def test_it_rejects_invalid_edit_requests(nf: Neuroflash, body, field):
    response = nf.post(f"{DS_IG}/edit", json=body)

    assert response.status_code == 422
    assert field in {error["field"] for error in response.json()["errors"]}


def test_it_edits_with_an_explicit_aspect_ratio(nf: Neuroflash):
    nf.generate()
    source = nf.history()[0]["output_image_url"]

    response = nf.post(
        f"{DS_IG}/edit", json={"prompt": "x", "image_urls": [source], "aspect_ratio": "9:16"}
    )

    [image] = response.json()["images"]
    assert (image["width"], image["height"]) == (576, 1024)
