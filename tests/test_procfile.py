"""`make run` starts what the Procfile lists; its once-only password must stay readable."""

from __future__ import annotations

from pathlib import Path

PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"


def processes() -> dict[str, str]:
    lines = (line.partition(":") for line in PROCFILE.read_text().splitlines() if line.strip())
    return {name.strip(): command.strip() for name, _, command in lines}


def test_celery_starts_without_its_banners():
    """The banners were ~60 lines printed right after the password, which scrolled away."""
    started = processes()
    assert {"web", "worker", "beat", "sandbox"} <= started.keys()
    for name in ("worker", "beat"):
        assert started[name].startswith("celery -A config --quiet "), started[name]
