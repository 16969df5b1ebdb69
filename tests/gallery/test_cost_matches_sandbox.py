"""The estimate shown before the click is what the provider then takes: for every model and size
of the sandbox's catalogs, a job is run over HTTP and its reported cost compared."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gallery.costs import cost_estimate
from gallery.models import CatalogModel
from sandbox.catalog import NANO_MODELS, NEUROFLASH_MODELS
from tests.gallery.running import run_until_done

NANO_CASES = [(model.id, size) for model in NANO_MODELS for size in model.resolutions]
NEUROFLASH_CASES = [model.id for model in NEUROFLASH_MODELS if model.allowed]


def _count(row: CatalogModel) -> int:
    """Two images where the model makes more than one: the price is per image."""
    return min(row.max_images or 1, 2)


@pytest.mark.parametrize(("model_id", "size"), NANO_CASES, ids=[f"{m}@{s}" for m, s in NANO_CASES])
def test_the_dollar_estimate_is_what_nanogpt_charges(
    nanogpt_studio, submit, sandbox, model_id, size
):
    row = CatalogModel.objects.get(workspace=nanogpt_studio, provider_model_id=model_id)
    assert size in row.sizes  # the form offers it
    n = _count(row)
    estimate = cost_estimate(model=row, n=n, size=size, quota_kind="balance", quota=None)
    assert estimate.amount is not None, estimate.text
    balance_before = Decimal(sandbox.quota()["balance"])

    job = submit(model=model_id, n=n, size=size)
    run_until_done(job)

    assert job.state == "succeeded", job.error
    assert (job.cost, job.currency) == (estimate.amount, estimate.currency)
    assert balance_before - Decimal(sandbox.quota()["balance"]) == estimate.amount
    assert job.images.count() == estimate.images


@pytest.mark.parametrize("model_id", NEUROFLASH_CASES)
def test_the_image_estimate_is_what_neuroflash_counts(studio, submit, sandbox, model_id):
    row = CatalogModel.objects.get(workspace=studio, provider_model_id=model_id)
    n = _count(row)
    estimate = cost_estimate(model=row, n=n, size=None, quota_kind="credits", quota=None)
    used_before = sandbox.quota()["quota"]["usedAmount"]

    job = submit(model=model_id, n=n)
    run_until_done(job)

    assert job.state == "succeeded", job.error
    assert (job.cost, job.currency, job.delivered) == (estimate.images, "credits", estimate.images)
    assert sandbox.quota()["quota"]["usedAmount"] - used_before == estimate.images
