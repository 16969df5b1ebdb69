"""Fault injection over `/_control/faults`: every kind, filters, counts and clearing."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from tests.sandbox.conftest import DS, NanoGPT, Neuroflash
from tests.sandbox_fixture import SandboxError

WORKSPACES = "/api/workspace-service/v1/workspaces"


def test_it_injects_429_with_retry_after_a_set_number_of_times(sandbox, nf: Neuroflash):
    sandbox.faults(status=429, retry_after=2, count=3)

    statuses = [nf.get(WORKSPACES) for _ in range(4)]

    assert [r.status_code for r in statuses] == [429, 429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "2"
    assert statuses[0].json()["code"] == "RATE_LIMITED"
    assert sandbox.calls("GET nf.workspaces") == 4


def test_it_limits_a_fault_to_a_path_prefix(sandbox, nf: Neuroflash):
    sandbox.faults(status=500, path="/api/ds-prototypes")

    assert nf.get(WORKSPACES).status_code == 200
    assert nf.get(f"{DS}/models").status_code == 500
    assert nf.get(f"{DS}/models").json()["code"] == "INTERNAL_ERROR"


def test_it_limits_a_fault_to_a_route_and_method(sandbox, nf: Neuroflash):
    sandbox.faults(status=503, route="ds.history_item", method="DELETE")
    image_id = nf.generate()["images"][0]["image_id"]

    assert nf.get(f"{DS}/history/{image_id}").status_code == 200
    assert nf.delete(f"{DS}/history/{image_id}").status_code == 503


def test_it_fails_about_the_given_share_of_calls(sandbox, nf: Neuroflash):
    sandbox.faults(status=500, rate=0.5, seed=7)

    failures = sum(nf.get(WORKSPACES).status_code == 500 for _ in range(40))

    assert 8 <= failures <= 32


def test_it_adds_latency(sandbox, nf: Neuroflash):
    sandbox.faults(latency=0.4, count=1)

    started = time.monotonic()
    response = nf.get(WORKSPACES)
    slow = time.monotonic() - started
    started = time.monotonic()
    nf.get(WORKSPACES)
    fast = time.monotonic() - started

    assert response.status_code == 200
    assert slow >= 0.4
    assert fast < 0.3


def test_it_combines_latency_with_a_status(sandbox, nf: Neuroflash):
    sandbox.faults(latency=0.3, status=503, count=1)

    started = time.monotonic()
    response = nf.get(WORKSPACES)

    assert response.status_code == 503
    assert time.monotonic() - started >= 0.3


def test_it_hangs_until_the_client_times_out(sandbox, nf: Neuroflash):
    sandbox.faults(hang=True, count=1)

    with pytest.raises(requests.ReadTimeout):
        nf.http.get(f"{sandbox.url}{WORKSPACES}", headers=nf.headers, timeout=0.5)

    assert nf.get(WORKSPACES).status_code == 200


def test_it_ends_a_hang_by_itself_after_the_bounded_time(sandbox, nf: Neuroflash):
    sandbox.faults(hang=True, seconds=0.5, count=1)

    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        nf.http.get(f"{sandbox.url}{WORKSPACES}", headers=nf.headers, timeout=5)

    assert 0.4 <= time.monotonic() - started < 4


def test_it_releases_hung_requests_when_faults_are_cleared(sandbox, nf: Neuroflash):
    sandbox.faults(hang=True, seconds=30, count=1)
    session = requests.Session()
    started = time.monotonic()
    try:
        # A second connection clears the faults while the first one hangs.
        timer = threading.Timer(0.3, sandbox.clear_faults)
        timer.start()
        with pytest.raises(requests.ConnectionError):
            session.get(f"{sandbox.url}{WORKSPACES}", headers=nf.headers, timeout=10)
        timer.join()
    finally:
        session.close()

    assert time.monotonic() - started < 5


def test_it_answers_malformed_json(sandbox, nf: Neuroflash):
    sandbox.faults(malformed_json=True, count=1)

    response = nf.get(WORKSPACES)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert nf.get(WORKSPACES).json()["_embedded"]


def test_it_exhausts_the_neuroflash_quota_on_demand(sandbox, nf: Neuroflash):
    sandbox.faults(quota_exhausted=True, count=1)

    refused = nf.post(f"{DS}/", json={"prompt": "x"})
    accepted = nf.post(f"{DS}/", json={"prompt": "x"})

    assert refused.status_code == 429
    assert refused.json()["code"] == "QUOTA_EXCEEDED"
    assert accepted.status_code == 200
    assert nf.quota()["usedAmount"] == 1


def test_it_exhausts_the_nanogpt_balance_on_demand(sandbox, ng: NanoGPT):
    sandbox.faults(quota_exhausted=True)

    response = ng.post("/v1/images/generations", json={"prompt": "x"})

    assert response.status_code == 402
    assert response.json()["error"] == "Insufficient balance"


def test_it_leaves_non_charging_routes_alone_when_the_quota_is_exhausted(sandbox, nf: Neuroflash):
    sandbox.faults(quota_exhausted=True)

    assert nf.get(f"{DS}/history").status_code == 200


@pytest.mark.parametrize("status", [401, 503])
def test_it_injects_neuroflash_errors_in_the_neuroflash_format(sandbox, nf: Neuroflash, status):
    sandbox.faults(status=status, count=1)

    response = nf.get(f"{DS}/models")

    assert response.status_code == status
    assert isinstance(response.json()["error"], str)
    assert response.json()["code"]


def test_it_injects_token_errors_in_the_oauth_format(sandbox, http):
    sandbox.faults(status=401, path="/oauth", count=1)

    response = http.post(sandbox.token_url, data={}, timeout=10)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("status", "kind"), [(401, "authentication_error"), (429, "rate_limit_error")]
)
def test_it_injects_nanogpt_errors_in_the_openai_format(sandbox, ng: NanoGPT, status, kind):
    sandbox.faults(status=status, path="/v1/images", count=1)

    response = ng.post("/v1/images/generations", json={"prompt": "x"})

    assert response.status_code == status
    assert response.json()["error"]["type"] == kind


def test_it_answers_with_a_custom_body(sandbox, nf: Neuroflash):
    sandbox.faults(status=400, body={"detail": "fastapi says no"}, count=1)

    response = nf.get(WORKSPACES)

    assert response.status_code == 400
    assert response.json() == {"detail": "fastapi says no"}


def test_it_applies_several_rules_in_order(sandbox, nf: Neuroflash):
    sandbox.faults({"status": 500, "count": 1}, {"status": 503, "count": 1})

    codes = [nf.get(WORKSPACES).status_code for _ in range(3)]

    assert codes == [500, 503, 200]


def test_it_lists_and_clears_faults(sandbox, nf: Neuroflash):
    sandbox.faults(status=500)
    [rule] = sandbox.control("GET", "faults")["faults"]
    assert rule["status"] == 500

    sandbox.clear_faults()

    assert sandbox.control("GET", "faults")["faults"] == []
    assert nf.get(WORKSPACES).status_code == 200


def test_it_never_faults_the_control_api(sandbox):
    sandbox.faults(status=500)

    assert sandbox.counters()["calls"] == {}


@pytest.mark.parametrize(
    "rule",
    [
        {},
        {"status": 999},
        {"status": 200},
        {"status": 500, "count": 0},
        {"status": 500, "rate": 2},
        {"status": 500, "colour": "red"},
        {"latency": "slow"},
        {"latency": 1, "after": True},
        {"status": 500, "every": 0},
    ],
)
def test_it_rejects_nonsense_faults(sandbox, rule):
    with pytest.raises(SandboxError):
        sandbox.control("POST", "faults", rule)


def test_skip_lets_the_first_matching_calls_through(sandbox):
    import requests

    sandbox.faults(route="ng.models", status=500, skip=2, count=1)
    statuses = [
        requests.get(f"{sandbox.url}/api/v1/images/models", timeout=5).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 500, 200]


def test_after_does_the_work_and_charges_then_answers_the_fault(sandbox, nf: Neuroflash):
    sandbox.faults(route="ds.generate", status=503, after=True, count=1)

    lost = nf.post(f"{DS}/", json={"prompt": "a lost answer", "num_images": 2})

    assert lost.status_code == 503
    assert nf.quota()["usedAmount"] == 2  # charged all the same
    assert [e["prompt"] for e in nf.history()] == ["a lost answer", "a lost answer"]
    assert sandbox.counters()["images_charged"] == 2


def test_after_charges_nanogpt_then_cuts_the_answer(sandbox, ng: NanoGPT):
    balance = ng.post("/api/check-balance").json()["usd_balance"]
    sandbox.faults(route="ng.generate", malformed_json=True, after=True, count=1)

    lost = ng.post("/v1/images/generations", json={"prompt": "x", "model": "hidream"})

    assert lost.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(lost.text)
    assert float(ng.post("/api/check-balance").json()["usd_balance"]) < float(balance)


def test_every_fires_on_every_nth_matching_call(sandbox):
    sandbox.faults(route="ng.models", status=500, every=2)
    statuses = [
        requests.get(f"{sandbox.url}/api/v1/images/models", timeout=5).status_code for _ in range(4)
    ]
    assert statuses == [200, 500, 200, 500]
