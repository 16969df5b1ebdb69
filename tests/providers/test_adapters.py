"""``build_provider`` and the ``ImageProvider`` adapters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers import (
    ConfigurationError,
    DsRoutes,
    EditRequest,
    GenerateRequest,
    ImageData,
    ImageProvider,
    InMemoryTokenStore,
    InvalidRequestError,
    NanoGPTProvider,
    NeuroflashProvider,
    ProviderConfig,
    UnsupportedCapability,
    build_provider,
    capabilities_for,
)
from tests.providers.conftest import (
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    DS,
    DS_HISTORY,
    TOKEN_PATH,
    WORKSPACE,
    TokenIssuer,
    load,
)
from tests.providers.scripted_server import Reply

WORKSPACES = "/api/workspace-service/v1/workspaces"
QUOTAS = f"/api/usage-service/v1/workspaces/{WORKSPACE}/quotas"
CATALOG = f"/api/image-service/v1/workspaces/{WORKSPACE}/image-models"


@pytest.fixture
def neuroflash(server, issuer):
    provider = build_provider(
        ProviderConfig(
            kind="neuroflash",
            client_id=CLIENT_ID,
            secret=CLIENT_SECRET,
            workspace_id=WORKSPACE,
            base_url=server.url,
            issuer_url=server.url,
            read_timeout=2,
            generate_timeout=2,
        )
    )
    yield provider
    provider.close()


@pytest.fixture
def nanogpt(server):
    provider = build_provider(
        ProviderConfig(kind="nanogpt", secret=API_KEY, base_url=server.url, read_timeout=2)
    )
    yield provider
    provider.close()


def test_it_builds_each_kind():
    store = InMemoryTokenStore()
    nf = build_provider(
        ProviderConfig(kind="neuroflash", client_id="id", secret="secret", token_store=store)
    )
    assert isinstance(nf, NeuroflashProvider)
    assert isinstance(nf, ImageProvider)
    assert nf.client.issuer_url == "https://id.neuroflash.com"
    assert nf.client.api_base_url == "https://app.neuroflash.com"
    # Until discovery says otherwise, the guide's layout (spec §1.6.0).
    assert nf.client.ds_routes == DsRoutes(
        generation="/api/ds-prototypes/image_generation", history="/api/ds-prototypes"
    )
    assert nf.client.token_store is store

    ng = build_provider(ProviderConfig(kind="nanogpt", secret="key"))
    assert isinstance(ng, NanoGPTProvider)
    assert isinstance(ng, ImageProvider)
    assert ng.client.base_url == "https://nano-gpt.com"


def test_the_sandbox_kind_uses_one_host_and_the_demo_account():
    provider = build_provider(ProviderConfig(kind="sandbox", base_url="http://127.0.0.1:9999/"))
    client = provider.client
    assert client.issuer_url == client.api_base_url == "http://127.0.0.1:9999"
    assert client.client_id == "sandbox-client"
    assert client.workspace_id == "sandbox-workspace"
    assert provider.name == "sandbox"


def test_it_refuses_unusable_configs():
    with pytest.raises(ConfigurationError):
        build_provider(ProviderConfig(kind="neuroflash", client_id="id"))
    with pytest.raises(ConfigurationError):
        build_provider(ProviderConfig(kind="nanogpt"))
    with pytest.raises(ConfigurationError):
        build_provider(ProviderConfig(kind="dall-e"))  # type: ignore[arg-type]


def test_capabilities_are_declared():
    nf = build_provider(ProviderConfig(kind="neuroflash", client_id="i", secret="s"))
    ng = build_provider(ProviderConfig(kind="nanogpt", secret="k"))
    assert nf.capabilities.has_history
    assert nf.capabilities.has_delete
    assert nf.capabilities.edit_source == "relative_url"
    assert not ng.capabilities.has_history
    assert not ng.capabilities.has_delete
    assert ng.capabilities.has_edit
    assert ng.capabilities.has_quota
    assert ng.capabilities.edit_source == "image_bytes"


def test_nanogpt_has_no_history_and_says_so_without_a_request(server, nanogpt):
    for call in (
        lambda: nanogpt.iter_history(),
        lambda: nanogpt.history_pages(),
        lambda: nanogpt.get_image("x"),
        lambda: nanogpt.get_image_content("x"),
        lambda: nanogpt.delete_image("x"),
    ):
        with pytest.raises(UnsupportedCapability) as caught:
            call()
        assert caught.value.provider == "NanoGPT"
        assert caught.value.message.startswith("NanoGPT does not support ")
    assert server.seen == []


def test_neuroflash_connection_test_reports_everything(server, neuroflash):
    server.on(
        "GET",
        WORKSPACES,
        Reply(json={"_embedded": {"workspaces": [{"id": WORKSPACE, "name": "Studio"}]}}),
    )
    server.on("GET", QUOTAS, Reply(json=load("nf_quotas_spec.json")))
    server.on("GET", CATALOG, Reply(json=load("nf_image_models_seed000.json")))
    # A server laid out as the API reference says: every ds route under the bare prefix.
    server.on("GET", f"{DS_HISTORY}/models", Reply(json=load("nf_ds_models_guide_seed002.json")))
    server.on("GET", f"{DS_HISTORY}/history", Reply(json=[]))
    result = neuroflash.test_connection()
    assert result.ok
    assert result.ds_routes == DsRoutes(generation=DS_HISTORY, history=DS_HISTORY)
    assert neuroflash.client.ds_routes == result.ds_routes  # used from now on
    assert result.token_ok
    assert result.workspace_found
    assert result.quota_left == 47  # daily room (50 - 3) is tighter than the month's 88
    assert result.model_count == 1
    assert result.round_trip_ms > 0
    assert [w.name for w in result.workspaces] == ["Studio"]


def test_neuroflash_connection_test_lists_workspaces_when_ours_is_missing(server, neuroflash):
    server.on("GET", WORKSPACES, Reply(json={"_embedded": {"workspaces": [{"id": "other"}]}}))
    result = neuroflash.test_connection()
    assert not result.ok
    assert result.workspace_found is False
    assert [w.id for w in result.workspaces] == ["other"]
    assert server.count("GET", QUOTAS) == 0
    assert result.ds_routes is None  # no workspace to ask in


def test_neuroflash_connection_test_fails_when_no_ds_route_answers(server, neuroflash):
    server.on("GET", WORKSPACES, Reply(json={"_embedded": {"workspaces": [{"id": WORKSPACE}]}}))
    server.on("GET", QUOTAS, Reply(json=load("nf_quotas_spec.json")))
    server.on("GET", CATALOG, Reply(json=load("nf_image_models_seed000.json")))
    with pytest.raises(ConfigurationError) as caught:
        neuroflash.test_connection()
    assert caught.value.message.startswith("no ds-prototypes generation route answered at")
    assert f"tried {DS}/models, {DS_HISTORY}/models" in caught.value.message


def test_neuroflash_quota_is_normalised(server, neuroflash):
    server.on("GET", QUOTAS, Reply(json=load("nf_quotas_spec.json")))
    quota = neuroflash.get_quota()
    assert (quota.monthly_used, quota.monthly_available, quota.monthly_limit) == (12, 88, 100)
    assert (quota.daily_used, quota.daily_limit, quota.daily_remaining) == (3, 50, 47)
    assert (quota.bonus, quota.spillover, quota.fair_use_limit_reached) == (0, 0, False)
    assert quota.kind == "credits"


def test_neuroflash_models_fall_back_to_ds_prototypes(server, neuroflash):
    server.on("GET", CATALOG, Reply(404))
    server.on("GET", f"{DS}/models", Reply(json=load("nf_ds_models_guide_seed002.json")))
    (model,) = neuroflash.list_models()
    assert model.id == "nano-banana-2"
    assert model.max_images == 4
    assert model.can_edit


def test_neuroflash_generate_and_edit_map_to_results(server, neuroflash):
    server.on("POST", f"{DS}/", Reply(json=load("nf_ds_generate_guide_seed002.json")))
    server.on("POST", f"{DS_HISTORY}/edit", Reply(json=load("nf_ds_generate_guide_seed002.json")))
    result = neuroflash.generate(
        GenerateRequest(prompt="p", model="nano-banana-2", n=1, aspect_ratio="16:9", seed=3)
    )
    (image,) = result.images
    assert image.provider_image_id == "3c4ce5dc-00be-4451-9559-0324f9fc4c88"
    assert image.url.startswith("https://storage.example.com/")
    assert result.batch_id == "6872b83c-901e-47c5-8b90-96a3d9839d06"
    assert (result.cost, result.currency) == (Decimal(1), "credits")
    assert "seed" not in server.calls("POST", f"{DS}/")[0].json()

    neuroflash.edit(EditRequest(prompt="p", source_urls=(f"{DS}/img-1/view",)))
    with pytest.raises(InvalidRequestError):
        neuroflash.edit(EditRequest(prompt="p", source_images=(ImageData(b"x", "image/png"),)))


def test_neuroflash_history_is_mapped(server, neuroflash):
    server.on(
        "GET", f"{DS_HISTORY}/history", Reply(json=load("nf_ds_history_reference_seed001.json"))
    )
    (page,) = list(neuroflash.history_pages(page_size=10))
    (item,) = page
    assert item.provider_image_id == "string"
    assert item.relative_url.endswith("/view")
    assert [i.provider_image_id for i in neuroflash.iter_history(page_size=10)] == ["string"]


def test_nanogpt_quota_generation_and_connection_test(server, nanogpt):
    server.on("POST", "/api/check-balance", Reply(json=load("ng_balance_spec.json")))
    server.on("GET", "/api/v1/images/models", Reply(json=load("ng_images_models_seed003.json")))
    server.on("POST", "/v1/images/generations", Reply(json=load("ng_generation_url_spec.json")))

    quota = nanogpt.get_quota()
    assert (quota.kind, quota.balance, quota.currency) == (
        "balance",
        Decimal("129.46956147"),
        "USD",
    )
    assert quota.remaining == Decimal("129.46956147")

    result = nanogpt.generate(GenerateRequest(prompt="p", model="gpt-image-2", size="1024x1024"))
    assert result.images[0].url == "https://...signed-url..."
    assert (result.cost, result.remaining_balance) == (Decimal("0.06"), Decimal("12.34"))

    edit = nanogpt.edit(
        EditRequest(prompt="p", source_images=(ImageData(b"\x89PNG\r\n\x1a\n", "image/png"),))
    )
    assert edit.images
    assert (
        server.calls("POST", "/v1/images/generations")[1]
        .json()["imageDataUrl"]
        .startswith("data:image/png;base64,")
    )

    check = nanogpt.test_connection()
    assert check.ok
    assert check.workspace_found is None
    assert check.quota_left == Decimal("129.46956147")
    assert check.model_count == 1


def test_a_shared_token_store_reaches_the_client(server):
    issuer = TokenIssuer()
    server.on("POST", TOKEN_PATH, issuer)
    server.on("GET", WORKSPACES, Reply(json={"_embedded": {"workspaces": []}}))
    store = InMemoryTokenStore()
    config = ProviderConfig(kind="sandbox", base_url=server.url, token_store=store, read_timeout=2)
    for _ in range(3):
        with build_provider(config) as provider:
            provider.test_connection()
    assert len(issuer.issued) == 1


@pytest.mark.parametrize(
    ("kind", "adapter"),
    [
        ("neuroflash", NeuroflashProvider),
        ("sandbox", NeuroflashProvider),
        ("nanogpt", NanoGPTProvider),
    ],
)
def test_capabilities_come_from_the_adapter_without_a_client(kind, adapter):
    assert capabilities_for(kind) is adapter.capabilities


def test_the_quota_kind_and_history_are_declared_per_provider():
    assert (capabilities_for("nanogpt").has_history, capabilities_for("nanogpt").quota_kind) == (
        False,
        "balance",
    )
    assert (capabilities_for("sandbox").has_history, capabilities_for("sandbox").quota_kind) == (
        True,
        "credits",
    )


def test_an_unknown_kind_has_no_capabilities():
    with pytest.raises(ConfigurationError, match="unknown provider kind 'dalle'"):
        capabilities_for("dalle")
