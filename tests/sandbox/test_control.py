"""The control API: counters, reset, config and the routing edges a client may stumble on."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import DS, DS_IG, NanoGPT, Neuroflash
from tests.sandbox_fixture import SandboxError


def test_it_counts_calls_per_method_and_route(sandbox, nf: Neuroflash, ng: NanoGPT):
    nf.generate(DS, num_images=2)
    nf.generate(DS_IG)
    nf.history()
    ng.generate(n=3)
    ng.get("/api/v1/images/models")

    counters = sandbox.counters()

    assert counters["calls"] == {
        "POST nf.token": 1,  # the `nf` fixture's token
        "POST ds.generate": 2,
        "GET ds.history": 1,
        "POST ng.generate": 1,
        "GET ng.models": 1,
    }
    assert counters["images_charged"] == 6
    assert counters["images_charged_by_provider"] == {"neuroflash": 3, "nanogpt": 3}


def test_it_counts_calls_that_fail(sandbox, nf: Neuroflash):
    nf.post(f"{DS}/", json={})
    nf.get(f"{DS}/history", headers={"x-workspace-id": ""})

    calls = sandbox.counters()["calls"]
    assert calls["POST ds.generate"] == 1
    assert calls["GET ds.history"] == 1
    assert sandbox.counters()["images_charged"] == 0


def test_it_clears_counters_alone(sandbox, nf: Neuroflash):
    nf.generate()

    sandbox.control("DELETE", "counters")

    assert sandbox.counters()["calls"] == {}
    assert len(nf.history()) == 1


def test_it_resets_to_a_fresh_world(sandbox, nf: Neuroflash, ng: NanoGPT):
    nf.generate()
    ng.generate()
    sandbox.faults(status=500, path="/nothing")
    sandbox.configure(history_shape="items", url_ttl=5, ds_layout="reference")

    sandbox.reset()

    assert sandbox.counters()["calls"] == {}
    assert sandbox.control("GET", "faults")["faults"] == []
    config = sandbox.control("GET", "config")
    assert config["history_shape"] == "list"
    assert config["url_ttl"] == 3600
    assert config["ds_layout"] == "both"
    assert nf.history() == []
    assert nf.quota()["usedAmount"] == 0
    assert sandbox.quota()["balance"] == "25.00000000"


def test_it_shows_and_sets_the_config(sandbox):
    config = sandbox.configure(
        token_ttl=10,
        quota_status=403,
        force_b64=True,
        storage_url="http://localhost:9/",
        ds_layout="guide",
    )

    assert config == {
        "history_shape": "list",
        "token_ttl": 10,
        "url_ttl": 3600,
        "quota_status": 403,
        "force_b64": True,
        "storage_url": "http://localhost:9",
        "ds_layout": "guide",
    }


@pytest.mark.parametrize(
    "change",
    [
        {"history_shape": "dict"},
        {"token_ttl": 0},
        {"url_ttl": "soon"},
        {"quota_status": 500},
        {"force_b64": "yes"},
        {"storage_url": "ftp://elsewhere"},
        {"ds_layout": "everywhere"},
        {"colour": "red"},
    ],
)
def test_it_rejects_bad_config(sandbox, change):
    with pytest.raises(SandboxError):
        sandbox.configure(**change)


def test_it_seeds_history_into_the_requested_model_and_workspace(sandbox, nf: Neuroflash):
    result = sandbox.seed_history(5, model="imagen-4", prompt="Archive")

    assert result == {
        "inserted": 5,
        "workspace_id": "sandbox-workspace",
        "model": "imagen-4",
        "total": 5,
    }
    entries = nf.history()
    assert {e["model"] for e in entries} == {"imagen-4"}
    assert all(e["prompt"].startswith("Archive #") for e in entries)
    assert nf.quota()["usedAmount"] == 0  # history from the past costs nothing now


def test_it_rejects_a_seed_for_an_unknown_workspace(sandbox):
    with pytest.raises(SandboxError, match="unknown workspace"):
        sandbox.seed_history(1, workspace_id="elsewhere")


def test_it_404s_an_unknown_path(nf: Neuroflash):
    response = nf.get("/api/nothing-here")

    assert response.status_code == 404


def test_it_405s_a_wrong_method(nf: Neuroflash):
    response = nf.get(f"{DS}/edit")

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_it_answers_health(sandbox):
    assert sandbox.control("GET", "health") == {"ok": True, "url": sandbox.url}
