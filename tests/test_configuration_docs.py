"""Every environment variable the code reads is documented in .env.example and README.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READERS = re.compile(
    r"""env_(?:str|bool|int|float|list)\(\s*"([A-Z0-9_]+)"|os\.environ\.get\("([A-Z0-9_]+)\""""
)
SOURCES = ["config/settings.py", "tests/browser/conftest.py", "Procfile", "Makefile"]
NOT_CONFIGURATION = {"CI", "DJANGO_ALLOW_ASYNC_UNSAFE", "SCREENSHOT_DIR", "DJANGO_SETTINGS_MODULE"}


def _variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for source in SOURCES:
        text = (ROOT / source).read_text()
        names |= {a or b for a, b in READERS.findall(text)}
        names |= set(re.findall(r"\$\{([A-Z_]+)", text))
    return names - NOT_CONFIGURATION


def test_it_documents_every_variable_in_env_example():
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert _variables_read_by_the_code() - documented == set()


def test_it_documents_every_variable_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, re.M))
    assert _variables_read_by_the_code() - documented == set()
    example = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert documented == example, "README's table and .env.example list different variables"
