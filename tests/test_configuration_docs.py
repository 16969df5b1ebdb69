"""Every environment variable the code reads is documented in .env.example and README.md."""

from __future__ import annotations

import re
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[1]
READERS = re.compile(
    r"""env_(?:str|bool|int|float|list)\(\s*"([A-Z0-9_]+)"|os\.environ\.get\("([A-Z0-9_]+)\""""
)
SOURCES = [
    "config/settings.py",
    "config/gunicorn.py",
    "tests/browser/conftest.py",
    "Procfile",
    "Procfile.prod",
    "Makefile",
]
NOT_CONFIGURATION = {"CI", "DJANGO_ALLOW_ASYNC_UNSAFE", "SCREENSHOT_DIR", "DJANGO_SETTINGS_MODULE"}


def _variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for source in SOURCES:
        text = (ROOT / source).read_text()
        names |= {a or b for a, b in READERS.findall(text)}
        names |= set(re.findall(r"\$\{([A-Z_]+)", text))
    return names - NOT_CONFIGURATION


def _variables_in_env_example() -> set[str]:
    """`NAME=value` lines, commented out (`# NAME=value`) or not."""
    return set(re.findall(r"^(?:# ?)?([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))


def test_it_documents_every_variable_in_env_example():
    assert _variables_read_by_the_code() - _variables_in_env_example() == set()


def test_it_documents_every_variable_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, re.M))
    assert _variables_read_by_the_code() - documented == set()
    assert documented == _variables_in_env_example(), (
        "README's table and .env.example list different variables"
    )


def test_it_changes_nothing_when_env_example_is_copied_to_env():
    assert dotenv_values(ROOT / ".env.example") == {}
