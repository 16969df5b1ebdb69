"""Image credits: one per generated image, daily and monthly limits, warnings, exhaustion."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.sandbox.conftest import DS, Neuroflash
from tests.sandbox_fixture import SandboxError


def test_it_charges_one_credit_per_generated_image(sandbox, nf: Neuroflash):
    nf.generate(num_images=3)
    nf.generate(num_images=1)

    quota = nf.quota()
    assert quota["usedAmount"] == 4
    assert quota["usedAmountDaily"] == 4
    assert quota["availableAmount"] == 996
    assert sandbox.counters()["images_charged_by_provider"]["neuroflash"] == 4


def test_it_charges_edits_too(nf: Neuroflash):
    nf.generate()
    source = nf.history()[0]["output_image_url"]

    nf.post(f"{DS}/edit", json={"prompt": "x", "image_urls": [source], "num_images": 2})

    assert nf.quota()["usedAmount"] == 3


def test_it_refuses_generation_when_the_monthly_quota_is_used_up(sandbox, nf: Neuroflash):
    sandbox.set_quota(limit_monthly=5, used_monthly=5)

    response = nf.post(f"{DS}/", json={"prompt": "x"})

    assert response.status_code == 429
    assert response.json()["code"] == "QUOTA_EXCEEDED"
    assert "Retry-After" not in response.headers
    assert nf.quota()["usedAmount"] == 5


def test_it_refuses_generation_when_the_daily_limit_is_reached(sandbox, nf: Neuroflash):
    sandbox.set_quota(limit_daily=2)
    nf.generate(num_images=2)

    response = nf.post(f"{DS}/", json={"prompt": "x"})

    assert response.status_code == 429
    assert response.json()["code"] == "DAILY_QUOTA_EXCEEDED"
    assert 0 < int(response.headers["Retry-After"]) <= 86400
    assert nf.quota()["availableAmount"] == 998  # the month still has room


def test_it_can_answer_quota_exhaustion_with_403(sandbox, nf: Neuroflash):
    sandbox.configure(quota_status=403)
    sandbox.set_quota(used_monthly=1000)

    response = nf.post(f"{DS}/", json={"prompt": "x"})

    assert response.status_code == 403
    assert response.json()["code"] == "QUOTA_EXCEEDED"


def test_it_grants_what_is_left_and_warns_in_detail(sandbox, nf: Neuroflash):
    sandbox.set_quota(limit_monthly=10, used_monthly=8)

    body = nf.generate(num_images=4)

    assert len(body["images"]) == 2
    assert "QUOTA WARNING" in body["detail"]
    assert nf.quota()["availableAmount"] == 0


def test_it_warns_when_the_quota_runs_low(sandbox, nf: Neuroflash):
    sandbox.set_quota(limit_monthly=100, used_monthly=95)

    body = nf.generate()

    assert len(body["images"]) == 1
    assert "4 images left this cycle" in body["detail"]


def test_it_counts_bonus_credits_as_room(sandbox, nf: Neuroflash):
    sandbox.set_quota(limit_monthly=5, used_monthly=5, bonus=1)

    assert len(nf.generate()["images"]) == 1


def test_it_resets_daily_use_on_a_new_utc_day(sandbox, nf: Neuroflash):
    sandbox.set_quota(used_daily=200, used_monthly=300)
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    sandbox.set_quota(daily_refreshed=yesterday)

    quota = nf.quota()

    assert quota["usedAmountDaily"] == 0
    assert quota["usedAmount"] == 300
    assert quota["dailyRefreshed"] != yesterday


def test_it_reports_the_fair_use_flag(sandbox, nf: Neuroflash):
    sandbox.set_quota(fair_use_limit_reached=True)

    assert nf.quota()["fairUseLimitReached"] is True
    assert nf.generate()["images"]  # a flag, not a block


def test_it_restores_the_default_quota_on_reset(sandbox, nf: Neuroflash):
    sandbox.set_quota(limit_monthly=3, used_monthly=3)

    sandbox.reset()

    quota = nf.quota()
    assert (quota["limitAmount"], quota["usedAmount"]) == (1000, 0)


def test_it_rejects_unknown_quota_keys(sandbox):
    with pytest.raises(SandboxError, match="unknown keys"):
        sandbox.set_quota(limitAmount=3)


def test_it_never_overspends_under_concurrent_requests(sandbox, nf: Neuroflash):
    sandbox.set_quota(limit_monthly=10)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(
                lambda _: nf.post(f"{DS}/", json={"prompt": "race", "num_images": 2}), range(8)
            )
        )

    granted = sum(len(r.json()["images"]) for r in responses if r.status_code == 200)
    assert granted == 10
    assert nf.quota()["usedAmount"] == 10
    assert {r.status_code for r in responses} <= {200, 429}
