from __future__ import annotations

import io
from pathlib import Path

import pytest
from dotenv import dotenv_values

from config.initenv import complete


@pytest.fixture(autouse=True)
def _no_real_values(monkeypatch):
    for name in ("DEBUG", "SECRET_KEY", "CREDENTIAL_KEYS"):
        monkeypatch.delenv(name, raising=False)


def test_it_writes_fresh_secrets_into_a_new_file():
    text, filled = complete("")
    assert filled == ["DEBUG", "SECRET_KEY", "CREDENTIAL_KEYS"]
    assert "DEBUG=true" in text


def test_it_never_replaces_a_key_that_is_set():
    text, filled = complete("SECRET_KEY=keep-me\nCREDENTIAL_KEYS=abc\nDEBUG=false\n")
    assert filled == []
    assert "SECRET_KEY=keep-me" in text


def test_it_fills_empty_values_copied_from_the_example():
    text, filled = complete("DEBUG=false\nSECRET_KEY=\nCREDENTIAL_KEYS=\n")
    assert filled == ["SECRET_KEY", "CREDENTIAL_KEYS"]
    assert "DEBUG=false" in text
    assert "SECRET_KEY=\n" not in text


def test_it_completes_a_copy_of_the_example_file():
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    text, filled = complete(example)
    assert filled == ["DEBUG", "SECRET_KEY", "CREDENTIAL_KEYS"]
    values = dotenv_values(stream=io.StringIO(text))
    assert values["DEBUG"] == "true"
    assert len(values["CREDENTIAL_KEYS"]) == 44
