"""The ds-prototypes layout switch: one documented layout at a time, everything else 404."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import DS, DS_IG, Neuroflash

# (method, path under the prefix, family) for every ds route a client calls.
ROUTES = [
    ("POST", "/", "generation"),
    ("GET", "/models", "generation"),
    ("POST", "/edit", "history"),
    ("GET", "/history", "history"),
    ("GET", "/history/{id}", "history"),
    ("DELETE", "/history/{id}", "history"),
]
# Which prefix answers for each family, as the docs describe each layout.
LAYOUTS = {
    "reference": {"generation": DS, "history": DS},
    "guide": {"generation": DS_IG, "history": DS},
    "overview": {"generation": DS_IG, "history": DS_IG},
}


def call(nf: Neuroflash, method: str, path: str, image_id: str) -> int:
    path = path.replace("{id}", image_id)
    json = None
    if method == "POST":
        json = {"prompt": "a fox"}
        if path.endswith("/edit"):
            json["image_urls"] = [f"{DS_IG}/{image_id}/view"]
    return nf.request(method, path, json=json).status_code


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_it_serves_each_family_only_where_the_layout_puts_it(sandbox, nf: Neuroflash, layout):
    sandbox.configure(ds_layout=layout)
    for method, tail, family in ROUTES:
        for prefix in (DS, DS_IG):
            image_id = nf.generate(LAYOUTS[layout]["generation"])["images"][0]["image_id"]
            status = call(nf, method, f"{prefix}{tail}", image_id)
            if prefix == LAYOUTS[layout][family]:
                assert status == 200, (layout, method, prefix, tail)
            else:
                assert status == 404, (layout, method, prefix, tail)


@pytest.mark.parametrize("layout", ["both", *sorted(LAYOUTS)])
def test_the_view_route_works_in_every_layout(sandbox, nf: Neuroflash, layout):
    sandbox.configure(ds_layout="both")
    image_id = nf.generate()["images"][0]["image_id"]
    sandbox.configure(ds_layout=layout)

    response = nf.get(f"{DS_IG}/{image_id}/view")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/")


def test_both_answers_every_route_under_either_prefix(sandbox, nf: Neuroflash):
    for prefix in (DS, DS_IG):
        assert nf.get(f"{prefix}/models").status_code == 200
        assert nf.get(f"{prefix}/history").status_code == 200


def test_a_route_outside_the_layout_is_not_counted_as_a_call(sandbox, nf: Neuroflash):
    sandbox.configure(ds_layout="reference")
    assert nf.get(f"{DS_IG}/models").status_code == 404
    assert nf.get(f"{DS}/models").status_code == 200

    assert sandbox.calls("GET ds.models") == 1


def test_a_reset_serves_both_again(sandbox, nf: Neuroflash):
    sandbox.configure(ds_layout="overview")
    sandbox.reset()

    assert nf.get(f"{DS}/history").status_code == 200


def test_the_layout_can_be_chosen_at_startup(tmp_path):
    from tests.sandbox_fixture import start_sandbox

    handle = start_sandbox(tmp_path / "s.sqlite3", env={"SANDBOX_DS_LAYOUT": "reference"})
    try:
        assert handle.control("GET", "config")["ds_layout"] == "reference"
        handle.reset()  # a reset goes back to the startup layout, not to "both"
        assert handle.control("GET", "config")["ds_layout"] == "reference"
    finally:
        handle.stop()
