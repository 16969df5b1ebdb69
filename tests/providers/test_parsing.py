"""The payload dataclasses read the providers' own documented examples.

Each data file is copied verbatim from the example named in the test's comment: "seed NNN" is
/work/shared/seeds/NNN_*.txt, "spec §x" is docs/provider-spec.md quoting the public page.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from providers._parse import PayloadError
from providers.http import error_details
from providers.nanogpt import merge_model
from providers.nanogpt_payloads import (
    Balance,
    ImageApiModel,
    LegacyImageModel,
    ModelEndpoints,
    NanoGeneration,
)
from providers.neuroflash_payloads import (
    AccessToken,
    Generation,
    HistoryEntry,
    ImageModel,
    PageInfo,
    Quota,
    Workspace,
)
from tests.providers.conftest import load


def test_it_reads_the_image_service_catalog_example():
    # seed 000: GET /v1/workspaces/{workspaceId}/image-models, "Response:" example.
    body = load("nf_image_models_seed000.json")
    (model,) = [ImageModel.from_api(row) for row in body["data"]]
    assert model.id == "nano-banana-2"
    assert model.name == "Nano Banana 2"
    assert model.provider == "fal.ai"
    assert model.capabilities == ("text2image", "image2image")
    assert model.max_images == 4
    assert model.aspect_ratios[0] == "21:9"
    assert len(model.aspect_ratios) == 10
    assert model.output_formats == ("jpeg", "png", "webp")
    assert model.allowed is True
    assert model.order == 1
    # The example's page values are 0 placeholders; they still parse.
    assert PageInfo.from_api(body["page"]).total_pages == 0


def test_it_reads_the_snake_case_ds_models_examples():
    # seed 001 "Get Available Models" response and seed 002 step 4 response.
    (reference,) = [ImageModel.from_api(r) for r in load("nf_ds_models_reference_seed001.json")]
    assert reference.allowed is False
    assert reference.max_images == 0
    assert reference.aspect_ratios == ("string",)
    (guide,) = [ImageModel.from_api(r) for r in load("nf_ds_models_guide_seed002.json")]
    assert guide.id == "nano-banana-2"
    assert guide.max_images == 4
    assert guide.output_formats == ("jpeg", "png", "webp")
    assert guide.allowed is True


def test_it_reads_the_reference_generate_example_with_object_placeholders():
    # seed 001 "Generate Text2Image" response: width/height/image_id/batch_id/detail are {}.
    generation = Generation.from_api(load("nf_ds_generate_reference_seed001.json"))
    (image,) = generation.images
    assert image.url == "string"
    assert image.width is None
    assert image.height is None
    assert image.image_id is None
    assert image.file_name is None
    assert image.file_size is None
    assert generation.batch_id is None
    assert generation.detail is None
    # seed 001 "Generate Image2Image" documents the same response shape.
    assert Generation.from_api(load("nf_ds_edit_reference_seed001.json")).images == (image,)


def test_it_reads_the_guide_generate_example():
    # seed 002 step 5 response.
    generation = Generation.from_api(load("nf_ds_generate_guide_seed002.json"))
    (image,) = generation.images
    assert image.url == "https://storage.example.com/generated/image-abc123.png"
    assert image.content_type == "image/png"
    assert (image.width, image.height) == (1024, 576)
    assert image.image_id == "3c4ce5dc-00be-4451-9559-0324f9fc4c88"
    assert generation.batch_id == "6872b83c-901e-47c5-8b90-96a3d9839d06"
    assert generation.description is None


def test_it_reads_the_spec_generate_example_with_nulls():
    # spec §1.6.1 response (nulls for file_name/file_size/detail).
    generation = Generation.from_api(load("nf_ds_generate_spec.json"))
    assert generation.images[0].file_name is None
    assert generation.detail is None


def test_it_surfaces_a_detail_warning_as_text():
    body = load("nf_ds_generate_guide_seed002.json") | {"detail": "QUOTA WARNING: 3 images left"}
    assert Generation.from_api(body).detail == "QUOTA WARNING: 3 images left"


def test_it_reads_the_history_list_example():
    # seed 001 "Get Generation History" response (a bare array).
    (entry,) = [HistoryEntry.from_api(r) for r in load("nf_ds_history_reference_seed001.json")]
    assert entry.output_image_id == "string"
    assert entry.output_image_url == (
        "/api/ds-prototypes/image_generation/b64b61f6-a7d2-4fa0-9f88-289dae46c41f/view"
    )
    assert entry.user_id == "0"
    assert entry.width is None
    assert entry.size_bytes is None
    assert entry.input_images is None
    assert entry.created_at == dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.UTC)


def test_it_reads_the_history_item_example_with_an_object_url():
    # seed 001 "Get Generation By Id" response: output_image_url is typed object, shown {}.
    entry = HistoryEntry.from_api(load("nf_ds_history_item_reference_seed001.json"))
    assert entry.output_image_id == "string"
    assert entry.output_image_url is None


def test_it_refuses_a_history_entry_without_an_image_id():
    with pytest.raises(PayloadError):
        HistoryEntry.from_api({"batch_id": "b-1"})


@pytest.mark.parametrize(
    ("name", "refreshed"),
    [
        # seed 002 step 3 response (no dailyRefreshed).
        ("nf_quotas_guide_seed002.json", None),
        # spec §1.3 (NF-QUOTAS), which includes dailyRefreshed.
        ("nf_quotas_spec.json", dt.date(2024, 6, 15)),
    ],
)
def test_it_reads_the_quota_examples(name, refreshed):
    (quota,) = [Quota.from_api(row) for row in load(name)["data"]]
    assert quota.usage_type_key == "images"
    assert quota.available_amount == 88
    assert quota.used_amount == 12
    assert quota.limit_amount == 100
    assert quota.used_amount_daily == 3
    assert quota.limit_amount_daily == 50
    assert quota.daily_remaining == 47
    assert quota.bonus_amount == 0
    assert quota.spillover_amount == 0
    assert quota.fair_use_limit_reached is False
    assert quota.daily_refreshed == refreshed


def test_it_reads_the_token_example():
    # spec §1.1 response (NF-AUTH).
    token = AccessToken.from_api(load("nf_token_spec.json"))
    assert token.access_token == "eyJhbGciOi..."
    assert token.expires_in == 14399
    assert "eyJhbGciOi" not in repr(token)


def test_it_reads_the_workspace_example():
    # spec §1.2 (NF-GUIDE shape): _embedded.workspaces[i].id
    rows = load("nf_workspaces_spec.json")["_embedded"]["workspaces"]
    (workspace,) = [Workspace.from_api(r) for r in rows]
    assert workspace.id == "<workspace-id>"
    assert workspace.raw["..."] == "..."


def test_it_reads_the_image_api_models_example():
    # seed 003: GET /api/v1/images/models response.
    (model,) = [ImageApiModel.from_api(r) for r in load("ng_images_models_seed003.json")["data"]]
    assert model.id == "gpt-image-2"
    assert model.endpoints == "/api/v1/images/models/gpt-image-2/endpoints"
    assert model.supported_parameters["resolution"].values == ("1024x1024", "1024x768")
    assert model.supported_parameters["resolution"].default == "1024x1024"
    assert model.supported_parameters["n"].max == 4
    assert model.capabilities["image_to_image"] is True
    assert model.input_modalities == ("text", "image")


def test_it_reads_the_legacy_models_example_and_normalises_price_keys():
    # spec §2.2 item (NG-LEGACY-MODELS; seed 004 describes the same fields without a body).
    (model,) = [
        LegacyImageModel.from_api(r) for r in load("ng_image_models_legacy_spec.json")["data"]
    ]
    assert model.id == "pruna-ai/p-image/text-to-image"
    assert model.resolutions == ("1024x1024", "1376x768", "1184x896")
    assert model.max_images == 4
    assert model.fixed_image_count is None
    assert model.rendering_speeds == ()
    assert model.price_per_image == {"1024x1024": Decimal("0.005"), "1376x768": Decimal("0.005")}
    assert model.currency == "USD"
    assert model.modality == "text->image"


def test_it_reads_the_optional_legacy_fields_from_seed_004():
    # seed 004 lists rendering_speed and fixed_image_count as optional supported_parameters.
    row = load("ng_image_models_legacy_spec.json")["data"][0]
    row["supported_parameters"] |= {"rendering_speed": ["TURBO", "QUALITY"], "fixed_image_count": 2}
    model = LegacyImageModel.from_api(row)
    assert model.rendering_speeds == ("TURBO", "QUALITY")
    assert model.fixed_image_count == 2


def test_it_reads_the_model_endpoints_example():
    # spec §2.3 (NG-MODEL-EP).
    endpoints = ModelEndpoints.from_api(load("ng_model_endpoints_spec.json"))
    (price,) = endpoints.prices
    assert price.cost_usd == Decimal("0.06551")
    assert price.resolution == "1024x1024"
    assert endpoints.endpoints[0].input_reference_constraints["max_items"] == 4


def test_it_merges_the_documented_examples_into_one_model_description():
    primary = ImageApiModel.from_api(load("ng_images_models_seed003.json")["data"][0])
    endpoints = ModelEndpoints.from_api(load("ng_model_endpoints_spec.json"))
    info = merge_model(primary, None, endpoints)
    assert info.sizes == ("1024x1024", "1024x768")
    assert info.max_images == 4
    assert info.capabilities == ("text2image", "image2image")
    assert info.price_for("1024x1024").amount == Decimal("0.06551")

    legacy = LegacyImageModel.from_api(load("ng_image_models_legacy_spec.json")["data"][0])
    only_legacy = merge_model(None, legacy, None)
    assert only_legacy.price_for("1376x768").amount == Decimal("0.005")
    assert only_legacy.capabilities == ("text2image",)


def test_it_reads_the_url_generation_example():
    # spec §2.5 response (NG-OPENAI).
    generation = NanoGeneration.from_api(load("ng_generation_url_spec.json"))
    (image,) = generation.images
    assert image.url == "https://...signed-url..."
    assert image.data is None
    assert generation.cost == Decimal("0.06")
    assert generation.remaining_balance == Decimal("12.34")
    assert generation.payment_source == "<string>"
    assert generation.created == 1778155200


def test_it_reads_the_b64_generation_shape():
    # spec §2.5 shows {"b64_json": "<base64>"}; the placeholder is replaced by real base64.
    body = load("ng_generation_url_spec.json") | {"data": [{"b64_json": "iVBORw0KGgo="}]}
    generation = NanoGeneration.from_api(body)
    assert generation.images[0].data == b"\x89PNG\r\n\x1a\n"
    assert generation.images[0].content_type == "image/png"
    assert "iVBORw0KGgo=" not in str(generation.raw)


def test_it_refuses_an_image_with_neither_url_nor_b64():
    with pytest.raises(PayloadError):
        NanoGeneration.from_api({"data": [{}]})


def test_it_reads_the_balance_example_as_decimals():
    # spec §2.6 (NG-BAL).
    balance = Balance.from_api(load("ng_balance_spec.json"))
    assert balance.usd_balance == Decimal("129.46956147")
    assert balance.nano_balance == Decimal("26.71801147")
    assert balance.nano_deposit_address == "nano_1..."


@pytest.mark.parametrize(
    ("name", "message", "code"),
    [
        # spec §2.4 (NG-IMGAPI)
        (
            "ng_error_image_api_spec.json",
            "model is required for /api/v1/images. (parameter: model)",
            "missing_model",
        ),
        # spec §2.7 (NG-RATE)
        (
            "ng_error_rate_limit_spec.json",
            "Daily request limit exceeded (1000/1000). Resets at midnight UTC.",
            "daily_rpd_limit_exceeded",
        ),
        # spec §2.8 (NG-ERR legacy shape)
        ("ng_error_legacy_402_spec.json", "Insufficient balance", None),
    ],
)
def test_it_reads_the_documented_error_bodies(name, message, code):
    assert error_details(load(name)) == (message, code)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # NF-ERR simple and validation shapes (spec §1.4)
        (
            {"error": "Target audience limit reached", "code": "TARGET_AUDIENCE_LIMIT_REACHED"},
            ("Target audience limit reached", "TARGET_AUDIENCE_LIMIT_REACHED"),
        ),
        (
            {"errors": [{"field": "name", "message": "must not be blank", "type": "validation"}]},
            ("name: must not be blank", None),
        ),
        # FastAPI-style bodies the ds-prototypes service may send (spec §1.4, inferred)
        ({"detail": "x-workspace-id header missing"}, ("x-workspace-id header missing", None)),
        (
            {"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}]},
            ("prompt: field required", None),
        ),
        # NanoGPT OpenAPI schema: error as an int next to message (spec §2.8)
        ({"error": 400, "message": "bad size"}, ("bad size", "400")),
        # OAuth2 token errors
        (
            {"error": "invalid_client", "error_description": "client not found"},
            ("client not found", "invalid_client"),
        ),
    ],
)
def test_it_reads_every_error_shape(body, expected):
    assert error_details(body) == expected
