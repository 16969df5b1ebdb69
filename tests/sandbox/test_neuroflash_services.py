"""Workspace service, usage quotas and the image-service model catalog."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sandbox.conftest import Neuroflash

QUOTA_FIELDS = {
    "id",
    "workspaceId",
    "usageTypeKey",
    "bonusAmount",
    "spilloverAmount",
    "usedAmount",
    "usedAmountDaily",
    "dailyRefreshed",
    "availableAmount",
    "limitAmount",
    "limitAmountDaily",
    "fairUseLimitReached",
}
MODEL_FIELDS = {
    "id",
    "name",
    "provider",
    "description",
    "capabilities",
    "maxImages",
    "aspectRatios",
    "outputFormats",
    "allowed",
    "order",
}


def _models_path(nf: Neuroflash) -> str:
    return f"/api/image-service/v1/workspaces/{nf.sandbox.workspace_id}/image-models"


def test_it_lists_workspaces_in_the_hal_envelope(nf: Neuroflash):
    response = nf.get("/api/workspace-service/v1/workspaces")

    assert response.status_code == 200
    workspaces = response.json()["_embedded"]["workspaces"]
    assert [w["id"] for w in workspaces] == ["sandbox-workspace"]
    assert workspaces[0]["name"]


def test_it_reports_the_image_quota_with_every_documented_field(nf: Neuroflash):
    path = f"/api/usage-service/v1/workspaces/{nf.sandbox.workspace_id}/quotas"
    response = nf.get(path, params={"usageTypeKey": "images"})

    assert response.status_code == 200
    body = response.json()
    assert body["page"] == {"size": 20, "totalElements": 1, "totalPages": 1, "currentPage": 1}
    quota = body["data"][0]
    assert set(quota) == QUOTA_FIELDS
    assert quota["workspaceId"] == "sandbox-workspace"
    assert quota["usageTypeKey"] == "images"
    assert (quota["limitAmount"], quota["limitAmountDaily"]) == (1000, 200)
    assert (quota["usedAmount"], quota["usedAmountDaily"]) == (0, 0)
    assert quota["availableAmount"] == 1000
    assert quota["fairUseLimitReached"] is False
    assert len(quota["dailyRefreshed"]) == 10  # YYYY-MM-DD


def test_it_lists_other_usage_types_without_the_filter(nf: Neuroflash):
    path = f"/api/usage-service/v1/workspaces/{nf.sandbox.workspace_id}/quotas"

    data = nf.get(path).json()["data"]

    assert {entry["usageTypeKey"] for entry in data} == {"images", "tokens"}


def test_it_counts_bonus_and_spillover_into_available(sandbox, nf: Neuroflash):
    sandbox.set_quota(limit_monthly=100, used_monthly=90, bonus=5, spillover=7)

    quota = nf.quota()

    assert quota["availableAmount"] == 100 + 5 + 7 - 90


def test_it_404s_quotas_of_an_unknown_workspace(nf: Neuroflash):
    response = nf.get("/api/usage-service/v1/workspaces/nope/quotas")

    assert response.status_code == 404
    assert response.json()["code"] == "WORKSPACE_NOT_FOUND"


def test_it_lists_the_model_catalog_with_defaults(nf: Neuroflash):
    response = nf.get(_models_path(nf))

    assert response.status_code == 200
    body = response.json()
    assert body["page"] == {"size": 50, "totalElements": 7, "totalPages": 1, "currentPage": 1}
    assert all(set(model) == MODEL_FIELDS for model in body["data"])
    allowed = {model["id"]: model["allowed"] for model in body["data"]}
    assert allowed["nano-banana-2"] is True
    assert allowed["flux-pro-ultra"] is False
    assert "next" not in body["_links"]


def test_it_pages_the_model_catalog(nf: Neuroflash):
    seen, url, pages = [], _models_path(nf) + "?page=1&size=2", 0
    while url:
        body = nf.get(url).json()
        pages += 1
        assert body["page"]["currentPage"] == pages
        assert body["page"]["totalPages"] == 4
        assert len(body["data"]) <= 2
        seen += [model["id"] for model in body["data"]]
        url = body["_links"].get("next", {}).get("href")

    assert pages == 4
    assert len(seen) == len(set(seen)) == 7
    assert sorted(seen) == sorted(m["id"] for m in nf.get(_models_path(nf)).json()["data"])


def test_it_links_pages_with_absolute_urls(nf: Neuroflash):
    links = nf.get(_models_path(nf), params={"page": 2, "size": 3}).json()["_links"]

    assert set(links) == {"self", "first", "last", "next", "prev"}
    assert links["next"]["href"].startswith(nf.sandbox.url)
    assert parse_qs(urlsplit(links["next"]["href"]).query) == {"page": ["3"], "size": ["3"]}


def test_it_answers_an_empty_page_past_the_end(nf: Neuroflash):
    body = nf.get(_models_path(nf), params={"page": 9, "size": 2}).json()

    assert body["data"] == []
    assert body["page"]["currentPage"] == 9


@pytest.mark.parametrize(
    ("param", "value"), [("size", 201), ("size", 0), ("page", 0), ("page", "x")]
)
def test_it_rejects_bad_paging_in_the_validation_format(nf: Neuroflash, param, value):
    response = nf.get(_models_path(nf), params={param: value})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == param
    assert error["type"] == "validation"


def test_it_accepts_the_maximum_page_size(nf: Neuroflash):
    assert nf.get(_models_path(nf), params={"size": 200}).status_code == 200
