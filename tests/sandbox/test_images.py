"""The pictures themselves: real, decodable, sized as asked, deterministic per prompt and seed."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import Neuroflash, decode


def _bytes(nf: Neuroflash, **body: object) -> bytes:
    [image] = nf.generate(**body)["images"]
    response = nf.http.get(image["url"], timeout=10)
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize(
    ("aspect_ratio", "size"),
    [
        ("1:1", (1024, 1024)),
        ("16:9", (1024, 576)),
        ("9:16", (576, 1024)),
        ("21:9", (1024, 440)),
        ("4:5", (816, 1024)),
    ],
)
def test_it_renders_at_the_size_the_aspect_ratio_implies(nf: Neuroflash, aspect_ratio, size):
    image = decode(_bytes(nf, aspect_ratio=aspect_ratio, output_format="jpeg"))

    assert image.size == size


@pytest.mark.parametrize(
    ("output_format", "pil_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")]
)
def test_it_encodes_the_requested_output_format(nf: Neuroflash, output_format, pil_format):
    image = decode(_bytes(nf, output_format=output_format, aspect_ratio="16:9"))

    assert image.format == pil_format


def test_it_renders_identical_bytes_for_the_same_prompt_and_seed(nf: Neuroflash):
    first = _bytes(nf, prompt="a red fox", seed=1234)
    second = _bytes(nf, prompt="a red fox", seed=1234)

    assert first == second


def test_it_renders_a_different_picture_for_another_seed(nf: Neuroflash):
    assert _bytes(nf, prompt="a red fox", seed=1) != _bytes(nf, prompt="a red fox", seed=2)


def test_it_renders_a_different_picture_for_another_prompt(nf: Neuroflash):
    assert _bytes(nf, prompt="a red fox", seed=1) != _bytes(nf, prompt="a blue fox", seed=1)


def test_it_picks_a_fresh_seed_when_none_is_given(nf: Neuroflash):
    nf.generate(prompt="same")
    nf.generate(prompt="same")

    seeds = {entry["parameters"]["seed"] for entry in nf.history()}
    assert len(seeds) == 2


def test_it_records_the_request_parameters_in_history(nf: Neuroflash):
    nf.generate(aspect_ratio="3:2", output_format="jpeg", seed=5)

    assert nf.history()[0]["parameters"] == {
        "aspect_ratio": "3:2",
        "output_format": "jpeg",
        "num_images": 1,
        "seed": 5,
    }
