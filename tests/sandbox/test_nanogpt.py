"""NanoGPT: model discovery, OpenAI-compatible generation, balance and signed file URLs."""

from __future__ import annotations

import base64
import io
import time
from decimal import Decimal
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from PIL import Image

from tests.sandbox.conftest import NanoGPT, decode


def _data_url(size: tuple[int, int] = (64, 64)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# -- discovery ------------------------------------------------------------------------------------


def test_it_lists_image_models_without_auth(ng: NanoGPT):
    response = ng.get("/api/v1/images/models")

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert body["meta"]["count"] == len(body["data"])
    gpt = next(m for m in body["data"] if m["id"] == "openai/gpt-image-1")
    assert gpt["endpoints"] == "/api/v1/images/models/openai/gpt-image-1/endpoints"
    assert gpt["supported_parameters"]["n"] == {"type": "range", "min": 1, "max": 4, "default": 1}
    assert gpt["supported_parameters"]["resolution"]["type"] == "enum"
    assert gpt["capabilities"]["image_to_image"] is True
    assert gpt["supports_streaming"] is False


def test_it_lists_legacy_image_models_in_detail_by_default(ng: NanoGPT):
    data = ng.get("/api/v1/image-models").json()["data"]
    explicit = ng.get("/api/v1/image-models", params={"detailed": "true"}).json()["data"]

    assert [m["id"] for m in data] == [m["id"] for m in explicit]
    pruna = next(m for m in data if m["id"] == "pruna-ai/p-image/text-to-image")
    assert pruna["supported_parameters"]["resolutions"] == ["1024x1024", "1376x768", "1184x896"]
    assert pruna["pricing"]["per_image"]["1024*1024"] == 0.005
    kontext = next(m for m in data if m["id"] == "flux-kontext")
    assert kontext["supported_parameters"]["fixed_image_count"] == 1


def test_it_lists_only_basic_fields_when_not_detailed(ng: NanoGPT):
    data = ng.get("/api/v1/image-models", params={"detailed": "false"}).json()["data"]

    assert all(set(model) == {"id", "object", "created", "owned_by"} for model in data)


def test_it_rejects_a_non_boolean_detailed_flag(ng: NanoGPT):
    assert ng.get("/api/v1/image-models", params={"detailed": "maybe"}).status_code == 400


@pytest.mark.parametrize(
    "model_id", ["openai/gpt-image-1", "pruna-ai/p-image/text-to-image", "hidream"]
)
@pytest.mark.parametrize("encode", [False, True])
def test_it_routes_model_ids_with_slashes_to_their_endpoints(ng: NanoGPT, model_id, encode):
    path_id = quote(model_id, safe="") if encode else model_id

    response = ng.get(f"/api/v1/images/models/{path_id}/endpoints")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == model_id
    [endpoint] = body["endpoints"]
    assert endpoint["pricing"][0]["billable"] == "output_image"
    assert endpoint["provider_tag"] is None


def test_it_names_the_upstream_provider_of_an_endpoint(ng: NanoGPT):
    body = ng.get("/api/v1/images/models/openai/gpt-image-1/endpoints").json()

    assert body["endpoints"][0]["provider_name"] == "OpenAI"
    assert body["endpoints"][0]["input_reference_constraints"]["max_items"] == 4


def test_it_follows_the_endpoints_path_from_the_listing(ng: NanoGPT):
    for model in ng.get("/api/v1/images/models").json()["data"]:
        assert ng.get(model["endpoints"]).json()["id"] == model["id"]


def test_it_404s_endpoints_of_an_unknown_model(ng: NanoGPT):
    response = ng.get("/api/v1/images/models/acme/nothing/endpoints")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


# -- generation -----------------------------------------------------------------------------------


def test_it_generates_b64_json_by_default(ng: NanoGPT):
    body = ng.generate(model="hidream", size="768x1024", seed=3)

    [item] = body["data"]
    assert set(item) == {"b64_json"}
    image = decode(base64.b64decode(item["b64_json"]))
    assert image.size == (768, 1024)
    assert image.format == "PNG"
    assert body["cost"] == pytest.approx(0.0112)
    assert body["remainingBalance"] == pytest.approx(25 - 0.0112)
    assert body["paymentSource"]
    assert isinstance(body["created"], int)


def test_it_generates_signed_urls_on_request(ng: NanoGPT):
    body = ng.generate(model="openai/gpt-image-1", n=2, response_format="url")

    assert len(body["data"]) == 2
    for item in body["data"]:
        assert set(item) == {"url"}
        query = parse_qs(urlsplit(item["url"]).query)
        assert {"expires", "sig"} <= set(query)
        response = ng.http.get(item["url"], timeout=10)
        assert response.status_code == 200
        assert decode(response.content).size == (1024, 1024)
    assert body["cost"] == pytest.approx(0.08)


def test_it_generates_the_same_bytes_for_the_same_seed(ng: NanoGPT):
    first = ng.generate(prompt="kiwi", seed=9)["data"][0]["b64_json"]
    second = ng.generate(prompt="kiwi", seed=9)["data"][0]["b64_json"]

    assert first == second


@pytest.mark.parametrize("output_format", ["jpeg", "webp"])
def test_it_honours_an_output_format(ng: NanoGPT, output_format):
    item = ng.generate(output_format=output_format)["data"][0]

    assert decode(base64.b64decode(item["b64_json"])).format == output_format.upper()


def test_it_falls_back_to_b64_json_when_configured(sandbox, ng: NanoGPT):
    sandbox.configure(force_b64=True)

    [item] = ng.generate(response_format="url")["data"]

    assert set(item) == {"b64_json"}


def test_it_returns_the_fixed_image_count_whatever_n_says(ng: NanoGPT):
    body = ng.generate(model="flux-kontext", n=1)

    assert len(body["data"]) == 1


def test_it_edits_from_a_data_url(ng: NanoGPT):
    body = ng.generate(model="openai/gpt-image-1", imageDataUrl=_data_url(), size="1024x768")

    image = decode(base64.b64decode(body["data"][0]["b64_json"]))
    assert image.size == (1024, 768)


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ({"prompt": ""}, "missing_prompt", 400),
        ({"prompt": "x", "model": "nope"}, "model_not_found", 400),
        ({"prompt": "x", "n": 5}, "invalid_n", 400),
        ({"prompt": "x", "size": "4096x4096"}, "invalid_size", 400),
        ({"prompt": "x", "response_format": "png"}, "invalid_response_format", 400),
        (
            {"prompt": "x", "imageDataUrl": "data:image/png;base64,AAAA"},
            "image_input_not_supported",
            400,
        ),
        (
            {"prompt": "x", "model": "flux-kontext", "imageDataUrl": "https://example.com/a.png"},
            "invalid_image_data_url",
            400,
        ),
        (
            {"prompt": "x", "model": "flux-kontext", "imageDataUrl": "data:image/png;base64,AAAA"},
            "invalid_image_data_url",
            400,
        ),
        (
            {
                "prompt": "x",
                "model": "flux-kontext",
                "imageDataUrl": "data:image/png;base64," + "A" * 4_200_000,
            },
            "image_input_too_large",
            413,
        ),
    ],
)
def test_it_rejects_invalid_generation_requests_openai_style(ng: NanoGPT, body, code, status):
    response = ng.post("/v1/images/generations", json=body)

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] == "invalid_request_error"
    assert error["message"]


def test_it_charges_nothing_for_a_rejected_request(sandbox, ng: NanoGPT):
    ng.post("/v1/images/generations", json={"prompt": "x", "n": 9})

    assert sandbox.counters()["images_charged"] == 0


def test_it_serves_the_legacy_generation_path_too(ng: NanoGPT):
    response = ng.post("/api/v1/images/generations", json={"prompt": "x"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "missing_api_key"), ({"Authorization": "Bearer wrong"}, "invalid_api_key")],
)
def test_it_requires_an_api_key_to_generate(ng: NanoGPT, headers, code):
    response = ng.post("/v1/images/generations", json={"prompt": "x"}, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["type"] == "authentication_error"


def test_it_accepts_the_api_key_in_x_api_key(sandbox, ng: NanoGPT):
    headers = {"x-api-key": sandbox.api_key}

    assert ng.post("/v1/images/generations", json={"prompt": "x"}, headers=headers).ok


def test_it_answers_402_when_the_balance_does_not_cover_the_cost(sandbox, ng: NanoGPT):
    sandbox.set_quota(balance="0.01")

    response = ng.post("/v1/images/generations", json={"prompt": "x", "model": "recraft-v3"})

    assert response.status_code == 402
    assert response.json() == {
        "error": "Insufficient balance",
        "requiredBalance": 0.04,
        "status": 402,
    }
    assert sandbox.quota()["balance"] == "0.01000000"


# -- balance --------------------------------------------------------------------------------------


def test_it_reports_the_balance_as_decimal_strings(sandbox, ng: NanoGPT):
    response = ng.post("/api/check-balance", headers={"x-api-key": sandbox.api_key})

    assert response.status_code == 200
    body = response.json()
    assert body["usd_balance"] == "25.00000000"
    assert isinstance(body["nano_balance"], str)
    assert body["nanoDepositAddress"].startswith("nano_")


def test_it_decrements_the_balance_by_the_cost(sandbox, ng: NanoGPT):
    cost = ng.generate(model="recraft-v3", n=2)["cost"]

    body = ng.post("/api/check-balance", headers={"x-api-key": sandbox.api_key}).json()

    assert Decimal(body["usd_balance"]) == Decimal("25") - Decimal(str(cost))
    assert sandbox.counters()["images_charged_by_provider"]["nanogpt"] == 2


def test_it_refuses_a_balance_check_with_a_wrong_key(ng: NanoGPT):
    response = ng.post("/api/check-balance", headers={"x-api-key": "wrong"})

    assert response.status_code == 401
    assert response.json()["error"] == "Invalid API key"


# -- signed file URLs -----------------------------------------------------------------------------


def test_it_expires_signed_urls(sandbox, ng: NanoGPT):
    sandbox.configure(url_ttl=0.3)
    [item] = ng.generate(response_format="url")["data"]
    expires = int(parse_qs(urlsplit(item["url"]).query)["expires"][0])

    time.sleep(max(0.0, expires - time.time()) + 0.1)

    response = ng.http.get(item["url"], timeout=10)
    assert response.status_code == 403
    assert "expired" in response.json()["message"]


def test_it_refuses_a_tampered_signature(ng: NanoGPT):
    [item] = ng.generate(response_format="url")["data"]

    response = ng.http.get(item["url"].replace("sig=", "sig=0"), timeout=10)

    assert response.status_code == 403


def test_it_refuses_a_url_whose_expiry_was_pushed_back(ng: NanoGPT):
    [item] = ng.generate(response_format="url")["data"]
    expires = parse_qs(urlsplit(item["url"]).query)["expires"][0]

    response = ng.http.get(item["url"].replace(expires, str(int(expires) + 3600)), timeout=10)

    assert response.status_code == 403
