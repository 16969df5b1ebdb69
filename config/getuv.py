"""Put a uv binary at .tools/bin/uv, needing nothing but Python (used by `make install`).

Tried in order, so it works on a bare Debian too:

1. a virtualenv in .tools with uv installed by pip (needs python3-venv);
2. `pip install --user uv` (needs pip, and a Python that allows user installs);
3. uv's wheel from PyPI, downloaded with the standard library, checked against PyPI's sha256
   and unpacked (a wheel is a zip file; the uv binary is inside it).

Standard library only: it runs before any dependency is installed.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent.parent / ".tools"
PYPI_JSON = "https://pypi.org/pypi/uv/json"


def _run(*command: str) -> bool:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=False).returncode == 0  # noqa: S603


def from_venv(tools: Path) -> bool:
    return _run(sys.executable, "-m", "venv", str(tools)) and _run(
        str(tools / "bin" / "pip"), "install", "--quiet", "uv"
    )


def from_pip_user(tools: Path) -> bool:
    if not _run(sys.executable, "-m", "pip", "install", "--user", "--quiet", "uv"):
        return False
    found = subprocess.run(
        [sys.executable, "-c", "import uv; print(uv.find_uv_bin())"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        return False
    _place(Path(found.stdout.strip()), tools)
    return True


def wheel_tags() -> tuple[str, str]:
    """The platform and architecture parts of a uv wheel name for this machine."""
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform == "darwin":
        return "macosx", "arm64" if arch == "aarch64" else arch
    libc = "musllinux" if platform.libc_ver()[0] != "glibc" else "manylinux"
    return libc, arch


def pick_wheel(release: dict[str, Any], tags: tuple[str, str]) -> dict[str, Any]:
    """The wheel of PyPI's JSON answer for `uv` that runs here."""
    system, arch = tags
    for file in release["urls"]:
        name = file["filename"]
        if name.endswith(".whl") and system in name and name.removesuffix(".whl").endswith(arch):
            return dict(file)
    raise SystemExit(f"PyPI has no uv wheel for {system} {arch}; install uv by hand.")


def from_pypi(tools: Path, index_url: str = PYPI_JSON) -> bool:
    with urllib.request.urlopen(index_url, timeout=60) as answer:  # noqa: S310
        release = json.load(answer)
    wheel = pick_wheel(release, wheel_tags())
    print(f"+ download {wheel['filename']}", flush=True)
    with urllib.request.urlopen(wheel["url"], timeout=300) as answer:  # noqa: S310
        data = answer.read()
    if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
        raise SystemExit(f"{wheel['filename']}: checksum does not match PyPI's; not using it.")
    archive = tools / str(wheel["filename"])
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(data)
    with zipfile.ZipFile(archive) as zipped:
        [member] = [n for n in zipped.namelist() if n.endswith((".data/scripts/uv", "/bin/uv"))]
        unpacked = Path(zipped.extract(member, tools / "wheel"))
    _place(unpacked, tools)
    return True


def _place(binary: Path, tools: Path) -> None:
    uv = tools / "bin" / "uv"
    uv.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, uv)
    uv.chmod(0o755)


def main(tools: Path = TOOLS) -> int:
    uv = tools / "bin" / "uv"
    print(f"uv not found: installing it into {tools}", flush=True)
    for way in (from_venv, from_pip_user, from_pypi):
        try:
            done = way(tools)
        except OSError as exc:  # no network, no disk space, ...
            print(f"({way.__name__}: {exc})", flush=True)
            done = False
        if done and uv.exists():
            print(f"uv is at {uv}")
            return 0
        print(f"({way.__name__} did not work)", flush=True)
    print("Could not install uv. Install it by hand: https://docs.astral.sh/uv/", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
