"""Contract tests: every client call against the live sandbox server (``python -m sandbox``).

The sandbox is written independently from the wire docs, so agreement here means both sides
read the docs the same way.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from providers import (
    AuthenticationError,
    EditRequest,
    GenerateRequest,
    ImageData,
    InvalidRequestError,
    MalformedResponseError,
    NanoGPTClient,
    NeuroflashClient,
    NeuroflashProvider,
    NotFoundError,
    ProviderConfig,
    ProviderTimeout,
    QuotaExhaustedError,
    RateLimitedError,
    ServerError,
    Timeouts,
    build_provider,
)

pytestmark = pytest.mark.contract

DS = "/api/ds-prototypes/image_generation"
TIMEOUTS = Timeouts(connect=2.0, read=10.0, generate=30.0)
IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp"}


@pytest.fixture
def provider(sandbox) -> Iterator[NeuroflashProvider]:
    # Only the URL: the sandbox kind must default to the sandbox's demo account by itself.
    built = build_provider(
        ProviderConfig(kind="sandbox", base_url=sandbox.url, read_timeout=10, generate_timeout=30)
    )
    assert isinstance(built, NeuroflashProvider)
    yield built
    built.close()


@pytest.fixture
def nf(provider) -> NeuroflashClient:
    return provider.client


@pytest.fixture
def ng(sandbox) -> Iterator[NanoGPTClient]:
    client = NanoGPTClient(
        api_key=sandbox.api_key, base_url=sandbox.nanogpt_url, timeouts=TIMEOUTS, trust_env=False
    )
    yield client
    client.close()


# -- neuroflash -----------------------------------------------------------------------------------


def test_the_sandbox_kind_passes_the_connection_test(provider, sandbox):
    result = provider.test_connection()
    assert result.ok
    assert sandbox.workspace_id in {w.id for w in result.workspaces}
    assert result.quota_left > 0
    assert result.model_count > 0
    assert sandbox.calls("POST nf.token") == 1


def test_it_reads_workspaces_quota_and_both_catalogs(nf, provider, sandbox):
    assert sandbox.workspace_id in [w.id for w in nf.list_workspaces()]
    sandbox.set_quota(limit_monthly=100, used_monthly=12, limit_daily=50, used_daily=3)
    quota = provider.get_quota()
    assert (quota.monthly_used, quota.monthly_limit) == (12, 100)
    assert (quota.daily_used, quota.daily_limit) == (3, 50)
    assert quota.monthly_available is not None
    assert quota.fair_use_limit_reached is False
    catalog = nf.list_image_models(page_size=1)  # forces paging through every page
    assert len(catalog) == len(nf.list_models()) > 1
    assert {m.id for m in catalog} == {m.id for m in nf.list_models()}
    assert sandbox.calls("GET nf.image_models") >= len(catalog)
    assert any(m.allowed for m in catalog)


def test_it_generates_downloads_and_edits_through_history(nf, provider, sandbox):
    before = provider.get_quota().monthly_used
    result = provider.generate(
        GenerateRequest(prompt="a lighthouse", model="nano-banana-2", n=2, aspect_ratio="16:9")
    )
    assert len(result.images) == 2
    assert result.batch_id
    image = result.images[0]
    assert image.url.startswith("http")
    stored = requests.get(image.url, timeout=10)  # the absolute storage URL, without auth
    assert stored.headers["Content-Type"] in IMAGE_TYPES

    entry = provider.get_image(image.provider_image_id)
    assert entry.relative_url == f"{DS}/{image.provider_image_id}/view"
    assert entry.batch_id == result.batch_id
    viewed = provider.get_image_content(image.provider_image_id)
    assert viewed.content == stored.content
    assert nf.view_image(path=entry.relative_url).content == stored.content

    edited = provider.edit(
        EditRequest(prompt="make the sky orange", source_urls=(entry.relative_url,))
    )
    assert edited.images
    assert provider.get_quota().monthly_used == before + 2 + len(edited.images)


def test_an_absolute_edit_url_never_reaches_the_sandbox(nf, sandbox):
    with pytest.raises(InvalidRequestError):
        nf.edit(prompt="x", image_urls=[f"{sandbox.url}{DS}/abc/view"])
    assert sandbox.calls("POST ds.edit") == 0


@pytest.mark.parametrize("shape", ["list", "items"])
def test_it_reads_both_history_shapes(nf, sandbox, shape):
    sandbox.configure(history_shape=shape)
    sandbox.seed_history(3)
    entries = nf.history_page(limit=10)
    assert len(entries) == 3
    assert all(e.output_image_url.startswith(DS) for e in entries)


def test_it_streams_a_long_history_page_by_page(provider, sandbox):
    sandbox.seed_history(2500)
    items = provider.iter_history()
    assert len(list(itertools.islice(items, 5))) == 5
    assert sandbox.calls("GET ds.history") == 1
    rest = list(items)
    assert 5 + len(rest) == 2500
    assert sandbox.calls("GET ds.history") == 3  # 1000 + 1000 + 500 (short page ends it)


def test_it_deletes_by_output_image_id(provider, sandbox):
    sandbox.seed_history(2)
    first, second = provider.iter_history()
    provider.delete_image(first.provider_image_id)
    with pytest.raises(NotFoundError):
        provider.get_image(first.provider_image_id)
    assert [i.provider_image_id for i in provider.iter_history()] == [second.provider_image_id]


def test_one_token_serves_many_calls(nf, sandbox):
    for _ in range(5):
        nf.list_workspaces()
        nf.history_page(limit=1)
    assert sandbox.calls("POST nf.token") == 1


def test_a_revoked_token_is_refreshed_once(nf, sandbox):
    nf.list_workspaces()
    sandbox.reset(revoke_tokens=True)
    assert nf.list_workspaces()
    # counters were reset with the tokens: one 401, one new token, one replay
    assert sandbox.calls("POST nf.token") == 1
    assert sandbox.calls("GET nf.workspaces") == 2


def test_an_injected_401_is_answered_with_one_new_token_and_one_replay(nf, sandbox):
    nf.list_workspaces()
    sandbox.faults(route="nf.workspaces", status=401, count=1)
    assert nf.list_workspaces()
    assert sandbox.calls("POST nf.token") == 2
    assert sandbox.calls("GET nf.workspaces") == 3


def test_a_second_401_is_an_authentication_error_not_a_loop(nf, sandbox):
    sandbox.faults(route="nf.workspaces", status=401, count=5)
    with pytest.raises(AuthenticationError):
        nf.list_workspaces()
    assert sandbox.calls("GET nf.workspaces") == 2


def test_added_latency_is_waited_out_within_the_timeout(nf, sandbox):
    sandbox.faults(route="ds.models", latency=0.5, count=1)
    started = time.monotonic()
    assert nf.list_models()
    assert time.monotonic() - started >= 0.5


def test_a_wrong_secret_is_an_authentication_error(sandbox):
    config = ProviderConfig(kind="sandbox", base_url=sandbox.url, secret="not-the-secret")
    with build_provider(config) as provider, pytest.raises(AuthenticationError) as caught:
        provider.test_connection()
    assert caught.value.message == "sandbox rejected the client ID or secret (401)"


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        ({"status": 503, "retry_after": 5}, ServerError),
        ({"status": 429, "retry_after": 2}, RateLimitedError),
        ({"status": 500}, ServerError),
        ({"malformed_json": True}, MalformedResponseError),
        ({"status": 404}, NotFoundError),
    ],
)
def test_injected_faults_map_to_our_errors(nf, sandbox, fault, error_type):
    sandbox.faults(route="ds.history", count=1, **fault)
    with pytest.raises(error_type) as caught:
        nf.history_page()
    if "retry_after" in fault:
        assert caught.value.retry_after == fault["retry_after"]
    assert nf.history_page() == []  # the fault was used up; no hidden retry consumed it
    # A 404 makes the client look once whether the history moved (one more cheap GET, which
    # finds it where it was: the 404 stands).
    probes = 1 if fault.get("status") == 404 else 0
    assert sandbox.calls("GET ds.history") == 2 + probes


def test_a_hanging_sandbox_times_out(sandbox):
    sandbox.faults(route="ds.models", hang=True, seconds=5, count=1)
    client = NeuroflashClient(
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        workspace_id=sandbox.workspace_id,
        issuer_url=sandbox.url,
        api_base_url=sandbox.url,
        timeouts=Timeouts(connect=2, read=0.3),
        trust_env=False,
    )
    with pytest.raises(ProviderTimeout):
        client.list_models()
    client.close()
    sandbox.clear_faults()  # releases the hung request


@pytest.mark.parametrize("status", [403, 429])
def test_a_used_up_quota_is_quota_exhausted(provider, sandbox, status):
    sandbox.configure(quota_status=status)
    sandbox.set_quota(limit_daily=5, used_daily=5)
    with pytest.raises(QuotaExhaustedError) as caught:
        provider.generate(GenerateRequest(prompt="a fox"))
    assert caught.value.status == status
    assert not caught.value.transient


# -- NanoGPT --------------------------------------------------------------------------------------


def test_nanogpt_models_are_merged_with_pricing(ng):
    models = {m.id: m for m in ng.list_models()}
    gpt = models["openai/gpt-image-1"]  # a slash id: pricing came through its endpoints link
    assert gpt.price_for("1024x1024").amount == Decimal("0.04")
    assert "image2image" in gpt.capabilities
    assert models["flux-kontext"].fixed_image_count == 1
    assert models["recraft-v3"].rendering_speeds == ("standard", "fast")
    assert all(m.sizes for m in models.values())


def test_a_429_on_one_models_pricing_keeps_the_model_and_the_catalog(ng, sandbox):
    every = {m.id for m in ng.list_models()}
    sandbox.faults(route="ng.model_endpoints", status=429, retry_after=1, count=1)
    assert {m.id for m in ng.list_models()} == every  # one refused price hides no model


@pytest.mark.parametrize("response_format", ["b64_json", "url"])
def test_nanogpt_generates_and_reports_cost(ng, response_format):
    before = ng.check_balance().usd_balance
    result = ng.generate(
        prompt="a fox",
        model="openai/gpt-image-1",
        n=2,
        size="1024x1024",
        response_format=response_format,
    )
    assert len(result.images) == 2
    assert result.cost == Decimal("0.08")
    assert result.remaining_balance == before - result.cost
    for image in result.images:
        if response_format == "b64_json":
            data = image.data
        else:
            data = requests.get(image.url, timeout=10).content
        assert data[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb", b"RIFF")


def test_nanogpt_falls_back_to_b64_when_urls_fail(ng, sandbox):
    sandbox.configure(force_b64=True)
    result = ng.generate(prompt="a fox", response_format="url")
    assert result.images[0].data
    assert result.images[0].url is None


def test_nanogpt_edits_from_image_bytes(ng, sandbox):
    source = ng.generate(prompt="a fox", model="openai/gpt-image-1").images[0]
    provider = build_provider(
        ProviderConfig(kind="nanogpt", secret=sandbox.api_key, base_url=sandbox.nanogpt_url)
    )
    with provider:
        edited = provider.edit(
            EditRequest(
                prompt="sepia",
                model="openai/gpt-image-1",
                source_images=(ImageData(source.data, source.content_type),),
            )
        )
    assert edited.images[0].data


def test_nanogpt_insufficient_balance_and_bad_key(ng, sandbox):
    sandbox.set_quota(balance="0.00")
    with pytest.raises(QuotaExhaustedError):
        ng.generate(prompt="a fox")
    bad = NanoGPTClient(api_key="wrong-key", base_url=sandbox.nanogpt_url, trust_env=False)
    with pytest.raises(AuthenticationError) as caught:
        bad.check_balance()
    assert caught.value.message == (
        "NanoGPT rejected the API key while checking the balance (401): Invalid API key"
    )
    bad.close()


def test_nanogpt_provider_connection_test(sandbox):
    config = ProviderConfig(kind="nanogpt", secret=sandbox.api_key, base_url=sandbox.nanogpt_url)
    with build_provider(config) as provider:
        result = provider.test_connection()
    assert result.ok
    assert result.model_count == 5
    assert result.quota_left > 0


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "after": True},
        {"status": 502, "after": True},
        {"status": 503, "after": True},
        {"malformed_json": True, "after": True},
    ],
)
def test_a_paid_call_that_fails_after_charging_has_an_unknown_outcome(provider, sandbox, fault):
    sandbox.faults(route="ds.generate", count=1, **fault)
    with pytest.raises((ServerError, MalformedResponseError)) as caught:
        provider.generate(GenerateRequest(prompt="a lost answer"))
    assert caught.value.outcome_unknown is True  # the caller must look before paying again
    assert sandbox.counters()["images_charged"] == 1


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        ({"status": 422}, InvalidRequestError),
        ({"status": 429, "retry_after": 1}, RateLimitedError),
        ({"quota_exhausted": True}, QuotaExhaustedError),
    ],
)
def test_a_paid_call_the_provider_refused_is_a_known_outcome(provider, sandbox, fault, error_type):
    sandbox.faults(route="ds.generate", count=1, **fault)
    with pytest.raises(error_type) as caught:
        provider.generate(GenerateRequest(prompt="refused"))
    assert caught.value.outcome_unknown is False
    assert sandbox.counters()["images_charged"] == 0


def test_a_server_error_on_a_free_call_is_a_known_outcome(provider, sandbox):
    sandbox.faults(route="ds.history", status=503, count=1)
    with pytest.raises(ServerError) as caught:
        next(provider.history_pages())
    assert caught.value.outcome_unknown is False  # nothing is paid for reading


def test_a_nanogpt_call_cut_short_after_charging_has_an_unknown_outcome(sandbox):
    provider = build_provider(
        ProviderConfig(kind="nanogpt", base_url=sandbox.url, secret=sandbox.api_key)
    )
    sandbox.faults(route="ng.generate", status=502, after=True, count=1)
    with pytest.raises(ServerError) as caught:
        provider.generate(GenerateRequest(prompt="a lost answer", model="hidream"))
    assert caught.value.outcome_unknown is True
    assert sandbox.counters()["images_charged_by_provider"]["nanogpt"] == 1
