"""The neuroflash client against each documented ds-prototypes layout of the live sandbox.

The docs disagree on where the routes live (spec §1.6.0); the sandbox serves one layout at a
time and answers 404 elsewhere, so a client that sends a route to the wrong prefix fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from providers import (
    ConfigurationError,
    DsRoutes,
    EditRequest,
    GenerateRequest,
    NeuroflashProvider,
    NotFoundError,
    ProviderConfig,
    ServerError,
    build_provider,
)

pytestmark = pytest.mark.contract

IG = "/api/ds-prototypes/image_generation"
BARE = "/api/ds-prototypes"
# Where each layout puts (generation, history), as the sandbox serves it.
LAYOUTS = {
    "reference": DsRoutes(generation=BARE, history=BARE),
    "guide": DsRoutes(generation=IG, history=BARE),
    "overview": DsRoutes(generation=IG, history=IG),
}
PROBES = ("GET ds.models", "GET ds.history")


@pytest.fixture
def make_provider(sandbox) -> Iterator[Callable[..., NeuroflashProvider]]:
    built: list[NeuroflashProvider] = []

    def make(**options: Any) -> NeuroflashProvider:
        config = ProviderConfig(
            kind="sandbox", base_url=sandbox.url, read_timeout=10, generate_timeout=30, **options
        )
        provider = build_provider(config)
        assert isinstance(provider, NeuroflashProvider)
        built.append(provider)
        return provider

    yield make
    for provider in built:
        provider.close()


def works_end_to_end(provider: NeuroflashProvider, sandbox) -> None:
    """generate, history sync, get, edit from the history path, delete: all through the client."""
    made = provider.generate(GenerateRequest(prompt="a lighthouse", n=2))
    assert len(made.images) == 2
    synced = list(provider.iter_history(page_size=10))
    assert {i.provider_image_id for i in synced} == {i.provider_image_id for i in made.images}
    first = provider.get_image(made.images[0].provider_image_id or "")
    assert first.relative_url == f"{IG}/{first.provider_image_id}/view"
    edited = provider.edit(
        EditRequest(prompt="make it night", source_urls=(first.relative_url or "",))
    )
    assert len(edited.images) == 1
    provider.delete_image(first.provider_image_id)
    with pytest.raises(NotFoundError):
        provider.get_image(first.provider_image_id)
    assert sandbox.counters()["images_charged"] == 3


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_discovery_finds_each_layout_and_then_everything_works(sandbox, make_provider, layout):
    sandbox.configure(ds_layout=layout)
    provider = make_provider()

    routes = provider.client.discover_routes()
    assert routes == LAYOUTS[layout]
    provider.client.ds_routes = routes
    sandbox.control("DELETE", "counters")

    works_end_to_end(provider, sandbox)
    # Nothing went to a wrong prefix: the only look is the one after the genuine 404 for the
    # deleted image, which found the history where it was.
    assert sandbox.calls("GET ds.models") == 0
    assert sandbox.calls("GET ds.history") == 2  # the one sync page and that look


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_connection_test_reports_where_the_routes_are(sandbox, make_provider, layout):
    sandbox.configure(ds_layout=layout)
    result = make_provider().test_connection()
    assert result.ok
    assert result.ds_routes == LAYOUTS[layout]


def test_both_prefixes_answering_gives_the_guides_layout(sandbox, make_provider):
    assert make_provider().client.discover_routes() == LAYOUTS["guide"]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_client_that_never_discovered_finds_its_way_after_one_404(sandbox, make_provider, layout):
    sandbox.configure(ds_layout=layout)
    remembered: list[DsRoutes] = []
    provider = make_provider(on_routes_discovered=remembered.append)

    works_end_to_end(provider, sandbox)

    assert provider.client.ds_routes == LAYOUTS[layout]
    # The guide's layout is the default; elsewhere one family moved and was reported once.
    assert remembered == ([] if layout == "guide" else [LAYOUTS[layout]])


def test_stale_routes_are_rediscovered_once_and_the_paid_call_made_once(sandbox, make_provider):
    sandbox.configure(ds_layout="reference")
    remembered: list[DsRoutes] = []
    provider = make_provider(
        generation_path=IG, history_path=IG, on_routes_discovered=remembered.append
    )

    made = provider.generate(GenerateRequest(prompt="a fox"))

    assert len(made.images) == 1
    assert remembered == [DsRoutes(generation=BARE, history=IG)]  # only the family that moved
    assert sandbox.calls("POST ds.generate") == 1  # the 404 at the old prefix is not counted
    assert sandbox.calls("GET ds.models") == 1  # one probe found it on the first candidate
    assert sandbox.counters()["images_charged"] == 1


def test_a_genuine_404_is_raised_after_one_look(sandbox, make_provider):
    sandbox.configure(ds_layout="reference")
    remembered: list[DsRoutes] = []
    provider = make_provider(
        generation_path=BARE, history_path=BARE, on_routes_discovered=remembered.append
    )

    with pytest.raises(NotFoundError, match="could not find the image no-such-image"):
        provider.get_image("no-such-image")
    with pytest.raises(NotFoundError):
        provider.get_image("no-such-image-either")

    assert remembered == []
    assert sandbox.calls("GET ds.history") == 1  # looked once per client, not per 404


def test_a_server_error_on_generate_never_sends_the_client_looking(sandbox, make_provider):
    sandbox.faults(route="ds.generate", status=502, count=1)
    provider = make_provider()

    with pytest.raises(ServerError) as caught:
        provider.generate(GenerateRequest(prompt="a fox"))

    assert caught.value.outcome_unknown
    assert all(sandbox.calls(probe) == 0 for probe in PROBES)
    assert sandbox.calls("POST ds.generate") == 1


def test_a_family_set_by_hand_is_never_rediscovered(sandbox, make_provider):
    sandbox.configure(ds_layout="reference")
    provider = make_provider(generation_path=IG, pinned_routes=frozenset({"generation"}))

    with pytest.raises(NotFoundError, match="could not find the image generation route"):
        provider.generate(GenerateRequest(prompt="a fox"))

    assert sandbox.calls("GET ds.models") == 0
    assert provider.client.ds_routes.generation == IG


def test_discovery_checks_a_family_set_by_hand_only_where_it_was_set(sandbox, make_provider):
    sandbox.configure(ds_layout="guide")
    provider = make_provider(history_path=IG, pinned_routes=frozenset({"history"}))

    with pytest.raises(ConfigurationError) as caught:
        provider.client.discover_routes()

    assert caught.value.message.startswith(
        "no ds-prototypes history route answered at "
        f"{sandbox.url} (tried {IG}/history) (generation answered at {IG})"
    )
