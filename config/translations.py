"""Compile the message catalogues (locale/*/LC_MESSAGES/*.po -> .mo) in pure Python.

GNU gettext's msgfmt is not on a bare machine, and `make run` needs nothing but Python, so the
catalogues are compiled with polib: by `make install` (every make target), by the test session and
by `python manage.py compilemessages` (accounts/management/commands/compilemessages.py, which
replaces Django's msgfmt-based command). The .mo files are build output and not committed.

Run as `python -m config.translations`: no Django settings needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every .po file under `locale_dir`."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def is_stale(po_path: Path) -> bool:
    """Whether the .mo beside `po_path` is missing or older than it."""
    mo_path = po_path.with_suffix(".mo")
    return not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime


def compile_catalogue(po_path: Path) -> Path:
    """Write the .mo beside `po_path`, leaving out fuzzy and untranslated entries (as msgfmt)."""
    mo_path = po_path.with_suffix(".mo")
    catalogue = polib.pofile(str(po_path))
    # Written beside it and renamed into place: a web process starting meanwhile never reads
    # half a file.
    tmp_path = mo_path.with_suffix(".mo.tmp")
    catalogue.save_as_mofile(str(tmp_path))
    tmp_path.replace(mo_path)
    return mo_path


def compile_all(locale_dir: Path = LOCALE_DIR, *, only_stale: bool = False) -> list[Path]:
    """Compile every catalogue (or only those whose .mo is missing or older); the .mo paths."""
    return [
        compile_catalogue(po) for po in catalogues(locale_dir) if not only_stale or is_stale(po)
    ]


if __name__ == "__main__":
    compiled = compile_all(only_stale="--stale" in sys.argv)
    if "-q" not in sys.argv:
        for path in compiled:
            print(f"compiled {path.relative_to(LOCALE_DIR.parent)}")
