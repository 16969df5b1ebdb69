"""`make install` gets uv with nothing but Python, even where venv and pip are missing."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest

from config import getuv

WHEELS = [
    "uv-0.9.0-py3-none-macosx_10_12_x86_64.whl",
    "uv-0.9.0-py3-none-macosx_11_0_arm64.whl",
    "uv-0.9.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "uv-0.9.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "uv-0.9.0-py3-none-musllinux_1_1_x86_64.whl",
    "uv-0.9.0.tar.gz",
]


@pytest.mark.parametrize(
    ("tags", "wheel"),
    [
        (("manylinux", "x86_64"), WHEELS[3]),
        (("manylinux", "aarch64"), WHEELS[2]),
        (("musllinux", "x86_64"), WHEELS[4]),
        (("macosx", "arm64"), WHEELS[1]),
        (("macosx", "x86_64"), WHEELS[0]),
    ],
)
def test_it_picks_the_wheel_for_the_machine(tags, wheel):
    release = {"urls": [{"filename": name} for name in WHEELS]}
    assert getuv.pick_wheel(release, tags)["filename"] == wheel


def _fake_pypi(tmp_path, *, sha256: str | None = None) -> str:
    """A PyPI JSON answer, as a file:// URL, offering one wheel with a uv binary inside."""
    tags = getuv.wheel_tags()
    name = f"uv-0.9.0-py3-none-{tags[0]}_2_17_{tags[1]}.whl"
    wheel = tmp_path / name
    with zipfile.ZipFile(wheel, "w") as zipped:
        zipped.writestr("uv-0.9.0.data/scripts/uv", "#!/bin/sh\necho uv 0.9.0\n")
        zipped.writestr("uv-0.9.0.dist-info/METADATA", "Name: uv\n")
    digest = sha256 or hashlib.sha256(wheel.read_bytes()).hexdigest()
    index = tmp_path / "uv.json"
    index.write_text(
        json.dumps(
            {"urls": [{"filename": name, "url": wheel.as_uri(), "digests": {"sha256": digest}}]}
        )
    )
    return index.as_uri()


def test_it_unpacks_uv_from_the_wheel_on_pypi(tmp_path):
    tools = tmp_path / ".tools"
    assert getuv.from_pypi(tools, _fake_pypi(tmp_path))
    uv = tools / "bin" / "uv"
    assert uv.read_text() == "#!/bin/sh\necho uv 0.9.0\n"
    assert uv.stat().st_mode & 0o111


def test_it_refuses_a_wheel_whose_checksum_does_not_match(tmp_path):
    tools = tmp_path / ".tools"
    with pytest.raises(SystemExit, match="checksum"):
        getuv.from_pypi(tools, _fake_pypi(tmp_path, sha256="0" * 64))
    assert not (tools / "bin" / "uv").exists()


def test_it_falls_back_to_the_next_way_when_one_fails(tmp_path, monkeypatch):
    tools = tmp_path / ".tools"
    binary = tmp_path / "uv"
    binary.write_text("#!/bin/sh\n")
    tried = []

    def no_venv_module(tools):
        tried.append("venv")
        return False

    def no_network(tools):
        tried.append("pip")
        raise OSError("no network")

    def from_the_wheel(tools):
        tried.append("pypi")
        getuv._place(binary, tools)
        return True

    monkeypatch.setattr(getuv, "from_venv", no_venv_module)
    monkeypatch.setattr(getuv, "from_pip_user", no_network)
    monkeypatch.setattr(getuv, "from_pypi", from_the_wheel)
    assert getuv.main(tools) == 0
    assert tried == ["venv", "pip", "pypi"]
    assert (tools / "bin" / "uv").exists()
