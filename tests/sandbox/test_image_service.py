"""image-service v1: generation tasks and the workspace's images, workspace in the path."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import DS, Neuroflash, decode

BASE = "/api/image-service/v1/workspaces/sandbox-workspace"


def _generate(nf: Neuroflash, **body: object) -> dict:
    response = nf.post(f"{BASE}/image-generation-tasks", json={"prompt": "a kite", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_it_returns_the_generated_images_inline(nf: Neuroflash):
    body = _generate(nf, numImages=2, aspectRatio="16:9", outputFormat="jpeg", modelId="imagen-4")

    assert len(body["images"]) == 2
    image = body["images"][0]
    assert image["generationId"] == body["generationId"]
    assert image["workspaceId"] == "sandbox-workspace"
    assert (image["imageWidth"], image["imageHeight"]) == (1024, 576)
    assert image["model"] == "imagen-4"
    assert image["_links"]["content"] == f"{BASE}/images/{image['id']}/content"
    assert body["detail"] is None


def test_it_needs_no_x_workspace_id(nf: Neuroflash):
    response = nf.post(
        f"{BASE}/image-generation-tasks", json={"prompt": "x"}, headers={"x-workspace-id": ""}
    )

    assert response.status_code == 201


def test_it_serves_the_content_link_with_the_bearer_token(nf: Neuroflash):
    image = _generate(nf, outputFormat="webp")["images"][0]

    response = nf.get(image["_links"]["content"])
    anonymous = nf.http.get(f"{nf.sandbox.url}{image['_links']['content']}", timeout=10)

    assert response.status_code == 200
    assert decode(response.content).format == "WEBP"
    assert len(response.content) == image["imageSize"]
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x", "numImages": 9}, "numImages"),
        ({"prompt": "x", "aspectRatio": "1:9"}, "aspectRatio"),
        ({"prompt": "x", "modelId": "nope"}, "modelId"),
    ],
)
def test_it_names_invalid_fields_in_camel_case(nf: Neuroflash, body, field):
    response = nf.post(f"{BASE}/image-generation-tasks", json=body)

    assert response.status_code == 422
    assert field in {error["field"] for error in response.json()["errors"]}


def test_it_shares_images_and_quota_with_ds_prototypes(nf: Neuroflash):
    image_id = _generate(nf)["images"][0]["id"]

    assert nf.history()[0]["output_image_id"] == image_id
    assert nf.quota()["usedAmount"] == 1


def test_it_pages_the_image_list_newest_first(sandbox, nf: Neuroflash):
    sandbox.seed_history(5)
    newest = _generate(nf)["images"][0]["id"]

    first = nf.get(f"{BASE}/images", params={"size": 4}).json()
    second = nf.get(f"{BASE}/images", params={"size": 4, "page": 2}).json()

    assert first["page"] == {"size": 4, "totalElements": 6, "totalPages": 2, "currentPage": 1}
    assert first["data"][0]["id"] == newest
    assert len(second["data"]) == 2


def test_it_gets_and_deletes_one_image(nf: Neuroflash):
    image_id = _generate(nf)["images"][0]["id"]

    assert nf.get(f"{BASE}/images/{image_id}").json()["id"] == image_id
    assert nf.delete(f"{BASE}/images/{image_id}").status_code == 204
    assert nf.get(f"{BASE}/images/{image_id}").status_code == 404
    assert nf.get(f"{DS}/history/{image_id}").status_code == 404


def test_it_lists_the_input_image_ids_of_an_edit(nf: Neuroflash):
    source = _generate(nf)["images"][0]
    path = nf.history()[0]["output_image_url"]
    edited = nf.post(f"{DS}/edit", json={"prompt": "x", "image_urls": [path]}).json()

    image = nf.get(f"{BASE}/images/{edited['images'][0]['image_id']}").json()

    assert image["inputImageIds"] == [source["id"]]


def test_it_404s_an_unknown_workspace(nf: Neuroflash):
    response = nf.post(
        "/api/image-service/v1/workspaces/other/image-generation-tasks", json={"prompt": "x"}
    )

    assert response.status_code == 404
