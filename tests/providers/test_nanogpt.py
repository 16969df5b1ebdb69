"""The NanoGPT client against a scripted local server."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from providers.base import ImageData
from providers.errors import InvalidRequestError, NotFoundError, QuotaExhaustedError
from tests.providers.conftest import API_KEY, load
from tests.providers.scripted_server import Reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 16
MODELS = "/api/v1/images/models"
LEGACY = "/api/v1/image-models"


def slash_model(model_id: str, *, link: bool = True) -> dict:
    row = load("ng_images_models_seed003.json")["data"][0] | {"id": model_id, "name": model_id}
    if link:
        row["endpoints"] = f"/api/v1/images/models/{model_id}/endpoints"
    else:
        row.pop("endpoints")
    return row


def test_it_merges_both_model_listings_with_endpoint_pricing(server, ng):
    server.on(
        "GET",
        MODELS,
        Reply(json={"object": "list", "data": [slash_model("openai/gpt-image-1")], "meta": {}}),
    )
    legacy_row = load("ng_image_models_legacy_spec.json")["data"][0] | {"id": "openai/gpt-image-1"}
    legacy_row["supported_parameters"] = {
        "resolutions": ["1024x1024", "1536x1024", "auto"],
        "max_images": 10,
        "rendering_speed": ["TURBO", "DEFAULT"],
        "fixed_image_count": 1,
    }
    other_legacy = load("ng_image_models_legacy_spec.json")["data"][0]
    server.on("GET", LEGACY, Reply(json={"object": "list", "data": [legacy_row, other_legacy]}))
    server.on(
        "GET",
        "/api/v1/images/models/openai/gpt-image-1/endpoints",
        Reply(json=load("ng_model_endpoints_spec.json")),
    )
    # the one model only the legacy list knows has no endpoints link and keeps legacy prices
    first, second = ng.list_models()

    assert first.id == "openai/gpt-image-1"
    assert first.sizes == ("1024x1024", "1536x1024", "auto")
    assert first.default_size == "1024x1024"
    assert first.max_images == 10
    assert first.fixed_image_count == 1
    assert first.rendering_speeds == ("TURBO", "DEFAULT")
    assert first.price_for("1024x1024").amount == Decimal("0.06551")
    assert first.capabilities == ("text2image", "image2image")
    assert second.id == "pruna-ai/p-image/text-to-image"
    assert second.price_for("1024x1024").amount == Decimal("0.005")

    (legacy_call,) = server.calls("GET", LEGACY)
    assert legacy_call.param("detailed") == "true"
    (pricing_call,) = server.calls("GET", "/api/v1/images/models/openai/gpt-image-1/endpoints")
    assert pricing_call.header("Authorization") == f"Bearer {API_KEY}"


def test_it_builds_endpoint_urls_with_literal_slashes_when_no_link_is_given(server, ng):
    server.on(
        "GET",
        MODELS,
        Reply(json={"data": [slash_model("pruna-ai/p-image/text-to-image", link=False)]}),
    )
    server.on("GET", LEGACY, Reply(json={"data": []}))
    server.on(
        "GET",
        "/api/v1/images/models/pruna-ai/p-image/text-to-image/endpoints",
        Reply(json=load("ng_model_endpoints_spec.json")),
    )
    (model,) = ng.list_models()
    assert model.prices[0].amount == Decimal("0.06551")
    assert ng.endpoints_url("odd id/v1") == (
        f"{ng.base_url}/api/v1/images/models/odd%20id/v1/endpoints"
    )


def test_a_model_without_pricing_does_not_hide_the_catalog(server, ng):
    server.on("GET", MODELS, Reply(json={"data": [slash_model("a/b")]}))
    server.on("GET", LEGACY, Reply(404, json={"error": "gone"}))
    (model,) = ng.list_models()  # its endpoints route is not scripted: 404
    assert model.id == "a/b"
    assert model.prices == ()


def test_it_fails_when_neither_listing_exists(server, ng):
    server.on("GET", MODELS, Reply(404))
    server.on("GET", LEGACY, Reply(404))
    with pytest.raises(NotFoundError):
        ng.list_models()


def test_it_generates_with_bearer_auth_and_captures_cost(server, ng):
    encoded = base64.b64encode(PNG).decode()
    server.on(
        "POST",
        "/v1/images/generations",
        Reply(
            json={
                "created": 1778155200,
                "data": [{"b64_json": encoded}, {"url": "https://cdn.example/x.png?sig=1"}],
                "cost": 0.06,
                "paymentSource": "USD",
                "remainingBalance": 12.34,
            }
        ),
    )
    result = ng.generate(prompt="a fox", model="openai/gpt-image-1", n=2, size="1024x1024", seed=7)
    assert result.images[0].data == PNG
    assert result.images[1].url == "https://cdn.example/x.png?sig=1"
    assert result.cost == Decimal("0.06")
    assert result.remaining_balance == Decimal("12.34")
    (call,) = server.calls("POST", "/v1/images/generations")
    assert call.header("Authorization") == f"Bearer {API_KEY}"
    assert call.header("x-x402") is None
    assert call.json() == {
        "prompt": "a fox",
        "model": "openai/gpt-image-1",
        "n": 2,
        "size": "1024x1024",
        "seed": 7,
        "response_format": "b64_json",
    }


def test_it_can_send_the_key_as_x_api_key(server, make_ng):
    client = make_ng(auth_header="x-api-key")
    server.on("POST", "/v1/images/generations", Reply(json=load("ng_generation_url_spec.json")))
    client.generate(prompt="a fox")
    (call,) = server.calls()
    assert call.header("x-api-key") == API_KEY
    assert call.header("Authorization") is None


def test_it_checks_the_balance_with_x_api_key(server, ng):
    server.on("POST", "/api/check-balance", Reply(json=load("ng_balance_spec.json")))
    balance = ng.check_balance()
    assert balance.usd_balance == Decimal("129.46956147")
    (call,) = server.calls()
    assert call.header("x-api-key") == API_KEY
    assert call.body == b""


def test_insufficient_balance_is_quota_not_retry(server, ng):
    server.on(
        "POST", "/v1/images/generations", Reply(402, json=load("ng_error_legacy_402_spec.json"))
    )
    with pytest.raises(QuotaExhaustedError) as caught:
        ng.generate(prompt="a fox")
    assert not caught.value.transient
    assert caught.value.message == (
        "NanoGPT reports an insufficient balance while generating images (402): "
        "Insufficient balance"
    )


def test_it_sends_edit_sources_as_data_urls(server, ng):
    server.on("POST", "/v1/images/generations", Reply(json=load("ng_generation_url_spec.json")))
    one = ng.data_url(ImageData(PNG, "image/png"))
    ng.generate(prompt="sepia", image_data_urls=[one])
    ng.generate(prompt="sepia", image_data_urls=[one, one])
    first, second = (c.json() for c in server.calls())
    assert first["imageDataUrl"] == one
    assert "imageDataUrls" not in first
    assert second["imageDataUrls"] == [one, one]
    assert one.startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    "source",
    ["https://example.com/cat.png", "data:image/png;base64," + "A" * (4 * 1024 * 1024)],
    ids=["remote-link", "over-4-MB"],
)
def test_it_refuses_unusable_edit_sources_before_any_request(server, ng, source):
    with pytest.raises(InvalidRequestError):
        ng.generate(prompt="sepia", image_data_urls=[source])
    assert server.seen == []
