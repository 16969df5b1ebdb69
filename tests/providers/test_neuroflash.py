"""The neuroflash client against a scripted local server: paths, headers, paging, id rules."""

from __future__ import annotations

import itertools

import pytest

from providers.base import DsRoutes
from providers.errors import (
    ConfigurationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)
from tests.providers.conftest import (
    DS,
    DS_HISTORY,
    TOKEN_PATH,
    TOKEN_PREFIX,
    WORKSPACE,
    load,
)
from tests.providers.scripted_server import Reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
QUOTAS = f"/api/usage-service/v1/workspaces/{WORKSPACE}/quotas"
CATALOG = f"/api/image-service/v1/workspaces/{WORKSPACE}/image-models"


def entry(n: int) -> dict:
    return {
        "output_image_id": f"img-{n}",
        "batch_id": f"batch-{n // 4}",
        "prompt": f"prompt {n}",
        "model": "nano-banana-2",
        "output_image_url": f"{DS}/img-{n}/view",
        "created_at": "2024-01-15T10:30:00Z",
    }


def test_it_lists_workspaces_from_the_hal_envelope(server, nf):
    server.on(
        "GET",
        "/api/workspace-service/v1/workspaces",
        Reply(json={"_embedded": {"workspaces": [{"id": "a", "name": "A"}, {"id": "b"}]}}),
    )
    assert [(w.id, w.name) for w in nf.list_workspaces()] == [("a", "A"), ("b", None)]


def test_it_follows_a_hal_next_link_on_its_own_host(server, nf):
    path = "/api/workspace-service/v1/workspaces"
    server.on(
        "GET",
        path,
        Reply(
            json={
                "_embedded": {"workspaces": [{"id": "a"}]},
                "_links": {"next": {"href": f"{server.url}{path}/page2"}},
            }
        ),
    )
    server.on("GET", f"{path}/page2", Reply(json={"_embedded": {"workspaces": [{"id": "b"}]}}))
    assert [w.id for w in nf.list_workspaces()] == ["a", "b"]


def test_it_reads_the_image_quota(server, nf):
    server.on("GET", QUOTAS, Reply(json=load("nf_quotas_spec.json")))
    quota = nf.get_image_quota()
    assert quota.available_amount == 88
    assert quota.daily_remaining == 47
    (call,) = server.calls("GET", QUOTAS)
    assert call.param("usageTypeKey") == "images"
    assert call.param("page") == "1"
    # The usage service is scoped by the path; no x-workspace-id there.
    assert call.header("x-workspace-id") is None


def test_it_escapes_workspace_ids_in_paths(server, make_nf, issuer):
    client = make_nf(workspace_id="team/one two")
    server.on(
        "GET",
        "/api/usage-service/v1/workspaces/team%2Fone%20two/quotas",
        Reply(json=load("nf_quotas_guide_seed002.json")),
    )
    assert client.get_image_quota().limit_amount == 100


def test_it_follows_every_catalog_page(server, nf):
    def page(seen):
        number = int(seen.param("page"))
        rows = [
            {"id": f"m{number}-{i}", "name": f"M {number}.{i}", "order": 10 * number - i}
            for i in range(2)
        ]
        info = {"size": 2, "totalElements": 6, "totalPages": 3, "currentPage": number}
        return Reply(json={"page": info, "data": rows})

    server.on("GET", CATALOG, page)
    models = nf.list_image_models()
    assert len(models) == 6
    assert [c.param("page") for c in server.calls("GET", CATALOG)] == ["1", "2", "3"]
    assert {c.param("size") for c in server.calls("GET", CATALOG)} == {"200"}
    assert [m.order for m in models] == sorted(m.order for m in models)


def test_it_stops_paging_on_the_placeholder_page_info_of_the_docs(server, nf):
    # seed 000's example has totalPages 0: one request, one model
    server.on("GET", CATALOG, Reply(json=load("nf_image_models_seed000.json")))
    (model,) = nf.list_image_models()
    assert model.id == "nano-banana-2"
    assert server.count("GET", CATALOG) == 1


def test_it_refuses_an_oversized_catalog_page(nf):
    with pytest.raises(InvalidRequestError):
        nf.list_image_models(page_size=201)


def test_it_generates_with_the_workspace_header_and_the_model_id_string(server, nf):
    server.on("POST", f"{DS}/", Reply(json=load("nf_ds_generate_guide_seed002.json")))
    generation = nf.generate(
        prompt="a lighthouse", model="nano-banana-2", num_images=2, aspect_ratio="16:9"
    )
    assert generation.images[0].image_id == "3c4ce5dc-00be-4451-9559-0324f9fc4c88"
    (call,) = server.calls("POST", f"{DS}/")
    assert call.header("x-workspace-id") == WORKSPACE
    assert call.header("Authorization") == f"Bearer {TOKEN_PREFIX}1"
    assert call.json() == {
        "prompt": "a lighthouse",
        "model": "nano-banana-2",
        "num_images": 2,
        "aspect_ratio": "16:9",
    }


def test_the_ds_routes_are_configurable(server, make_nf, issuer):
    client = make_nf(ds_routes=DsRoutes(generation="/api/ds-prototypes/", history=DS))
    server.on(
        "GET", "/api/ds-prototypes/models", Reply(json=load("nf_ds_models_guide_seed002.json"))
    )
    server.on("GET", f"{DS}/history", Reply(json=[]))
    assert [m.id for m in client.list_models()] == ["nano-banana-2"]
    assert client.history_page() == []


def test_it_edits_from_a_relative_history_path(server, nf):
    server.on("POST", f"{DS_HISTORY}/edit", Reply(json=load("nf_ds_generate_guide_seed002.json")))
    source = f"{DS}/b64b61f6-a7d2-4fa0-9f88-289dae46c41f/view"
    nf.edit(prompt="make the sky orange", image_urls=[source])
    (call,) = server.calls("POST", f"{DS_HISTORY}/edit")
    assert call.json()["image_urls"] == [source]
    assert call.header("x-workspace-id") == WORKSPACE


@pytest.mark.parametrize(
    "source",
    [
        "https://app.neuroflash.com/api/ds-prototypes/image_generation/abc/view",
        "https://storage.example.com/generated/image-abc123.png?X-Amz-Signature=deadbeef",
        "//storage.example.com/generated/image-abc123.png",
        "api/ds-prototypes/image_generation/abc/view",
    ],
)
def test_it_refuses_an_absolute_edit_source_before_any_request(server, nf, source):
    with pytest.raises(InvalidRequestError) as caught:
        nf.edit(prompt="make the sky orange", image_urls=[source])
    assert "relative output_image_url from history" in caught.value.message
    assert "deadbeef" not in caught.value.message  # presigned query is not echoed
    assert server.seen == []  # not even a token request


def test_it_refuses_an_edit_without_sources(server, nf):
    with pytest.raises(InvalidRequestError):
        nf.edit(prompt="x", image_urls=[])
    assert server.seen == []


@pytest.mark.parametrize(
    "body",
    [
        load("nf_ds_history_reference_seed001.json"),  # seed 001: bare array
        {"items": load("nf_ds_history_reference_seed001.json")},  # seed 002: history["items"]
    ],
    ids=["bare-list", "items-envelope"],
)
def test_it_accepts_both_history_shapes(server, nf, body):
    server.on("GET", f"{DS_HISTORY}/history", Reply(json=body))
    (entry_,) = nf.history_page(limit=10, offset=0, model="nano-banana")
    assert entry_.output_image_url.endswith("/view")
    (call,) = server.calls("GET", f"{DS_HISTORY}/history")
    assert (call.param("limit"), call.param("offset"), call.param("model")) == (
        "10",
        "0",
        "nano-banana",
    )
    assert call.header("x-workspace-id") == WORKSPACE


def test_it_refuses_an_unknown_history_shape(server, nf):
    server.on("GET", f"{DS_HISTORY}/history", Reply(json={"data": []}))
    with pytest.raises(MalformedResponseError):
        nf.history_page()


@pytest.mark.parametrize("limit", [0, 1001])
def test_it_keeps_history_pages_within_the_documented_limit(server, nf, limit):
    with pytest.raises(InvalidRequestError):
        nf.history_page(limit=limit)
    assert server.seen == []


def test_it_streams_a_ten_thousand_entry_history_lazily(server, nf):
    total = 10_000

    def history(seen):
        offset, limit = int(seen.param("offset")), int(seen.param("limit"))
        return Reply(json=[entry(n) for n in range(offset, min(offset + limit, total))])

    server.on("GET", f"{DS_HISTORY}/history", history)
    entries = nf.iter_history()
    first = list(itertools.islice(entries, 3))
    assert [e.output_image_id for e in first] == ["img-0", "img-1", "img-2"]
    assert server.count("GET", f"{DS_HISTORY}/history") == 1  # only what was consumed was fetched
    rest = list(entries)
    assert len(first) + len(rest) == total
    assert len({e.output_image_id for e in first + rest}) == total
    calls = server.calls("GET", f"{DS_HISTORY}/history")
    # ten full pages, then an empty one that proves the end
    assert [int(c.param("offset")) for c in calls] == list(range(0, 10_001, 1000))
    assert {c.param("limit") for c in calls} == {"1000"}


def test_history_paging_skips_entries_shifted_by_new_generations(server, nf):
    pages = [
        [entry(1), entry(2)],
        [entry(2), entry(3)],  # a new image pushed entry 2 onto the next page
        [entry(4)],
    ]
    server.on("GET", f"{DS_HISTORY}/history", *(Reply(json=p) for p in pages))
    ids = [e.output_image_id for e in nf.iter_history(page_size=2)]
    assert ids == ["img-1", "img-2", "img-3", "img-4"]


def test_it_gets_and_deletes_by_output_image_id(server, nf):
    server.on("GET", f"{DS_HISTORY}/history/img-7", Reply(json=entry(7)))
    server.on("DELETE", f"{DS_HISTORY}/history/img-7", Reply(204))
    got = nf.get_history_entry("img-7")
    assert got.batch_id == "batch-1"
    nf.delete_history_entry(got.output_image_id)
    (call,) = server.calls("DELETE")
    assert call.path == f"{DS_HISTORY}/history/img-7"
    assert call.header("x-workspace-id") == WORKSPACE


def test_a_delete_answering_an_empty_object_is_success(server, nf):
    # seed 001 "Delete Generation" example body: {}
    server.on(
        "DELETE",
        f"{DS_HISTORY}/history/img-1",
        Reply(200, json=load("nf_ds_delete_reference_seed001.json")),
    )
    nf.delete_history_entry("img-1")


def test_a_missing_image_is_not_found(server, nf):
    server.on("GET", f"{DS_HISTORY}/history", Reply(json=[]))
    server.on(
        "GET", f"{DS_HISTORY}/history/gone", Reply(404, json={"detail": "Generation not found"})
    )
    with pytest.raises(NotFoundError) as caught:
        nf.get_history_entry("gone")
    assert caught.value.message == (
        "neuroflash could not find the image gone (404): Generation not found"
    )
    # It looked once whether the history had moved, found it where it was, and let the 404 be.
    assert server.count("GET", f"{DS_HISTORY}/history") == 1
    assert nf.ds_routes.history == DS_HISTORY


def test_it_views_image_bytes_by_id_and_by_history_path(server, nf):
    view = f"{DS}/img-1/view"
    server.on("GET", view, Reply(body=PNG, headers={"Content-Type": "image/png"}))
    by_id = nf.view_image("img-1")
    by_path = nf.view_image(path=view)
    assert by_id.content == by_path.content == PNG
    assert by_id.content_type == "image/png"
    assert all(c.header("x-workspace-id") == WORKSPACE for c in server.calls("GET", view))


def test_a_view_that_returns_json_is_malformed(server, nf):
    server.on("GET", f"{DS}/img-1/view", Reply(json={"detail": "oops"}))
    with pytest.raises(MalformedResponseError):
        nf.view_image("img-1")


def test_ds_calls_need_a_workspace_and_say_so_before_any_request(server, make_nf, issuer):
    client = make_nf(workspace_id=None)
    with pytest.raises(ConfigurationError) as caught:
        client.generate(prompt="a cat")
    assert "workspace" in caught.value.message
    assert server.count("POST", f"{DS}/") == 0
    assert server.count("POST", TOKEN_PATH) == 0


# -- where the ds-prototypes routes are (spec §1.6.0) -------------------------------------


def test_discovery_treats_404_and_405_as_not_here(server, nf):
    server.on("GET", f"{DS}/models", Reply(405, json={"detail": "Method Not Allowed"}))
    server.on("GET", f"{DS_HISTORY}/models", Reply(json=[]))
    server.on("GET", f"{DS_HISTORY}/history", Reply(json=[]))

    assert nf.discover_routes() == DsRoutes(generation=DS_HISTORY, history=DS_HISTORY)
    (probe,) = server.calls("GET", f"{DS_HISTORY}/history")
    assert probe.query == {"limit": ["1"]}
    assert probe.header("x-workspace-id") == WORKSPACE


@pytest.mark.parametrize(
    ("status", "error"), [(403, PermissionDeniedError), (503, ServerError)], ids=["403", "503"]
)
def test_discovery_lets_other_errors_through(server, nf, status, error):
    server.on("GET", f"{DS}/models", Reply(status, json={"error": "no"}))
    with pytest.raises(error):
        nf.discover_routes()
    assert server.count("GET", f"{DS_HISTORY}/models") == 0  # no guessing past a real error


def test_a_404_on_edit_finds_the_history_elsewhere_and_edits_once(server, make_nf, issuer):
    remembered = []
    client = make_nf(on_routes_discovered=remembered.append)
    server.on("GET", f"{DS}/history", Reply(json=[]))
    server.on("POST", f"{DS}/edit", Reply(json=load("nf_ds_generate_guide_seed002.json")))

    client.edit(prompt="night", image_urls=[f"{DS}/img-1/view"])

    assert remembered == [DsRoutes(generation=DS, history=DS)]
    assert server.count("POST", f"{DS_HISTORY}/edit") == 1  # the 404 at the default
    assert server.count("POST", f"{DS}/edit") == 1


def test_a_failure_to_remember_the_routes_does_not_fail_the_call(server, make_nf, issuer):
    def broken(routes: DsRoutes) -> None:
        raise RuntimeError("database is down")

    client = make_nf(on_routes_discovered=broken)
    server.on("GET", f"{DS}/history", Reply(json=[]))
    assert client.history_page() == []
    assert client.ds_routes.history == DS
