from __future__ import annotations

import io
from pathlib import Path

import pytest
from dotenv import dotenv_values

from config.initenv import LOCAL_HTTP, complete


@pytest.fixture(autouse=True)
def _no_real_values(monkeypatch):
    for name in (
        "DEBUG",
        "SECRET_KEY",
        "CREDENTIAL_KEYS",
        "SECURE_COOKIES",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_it_writes_fresh_secrets_into_a_new_file():
    text, filled = complete("")
    assert filled == ["SECRET_KEY", "CREDENTIAL_KEYS", "DEBUG", *LOCAL_HTTP]
    assert "DEBUG=false" in text
    assert "SECURE_SSL_REDIRECT=false" in text


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
    assert set(filled) == {"DEBUG", "SECRET_KEY", "CREDENTIAL_KEYS", *LOCAL_HTTP}
    values = dotenv_values(stream=io.StringIO(text))
    assert (values["DEBUG"], values["SECURE_SSL_REDIRECT"]) == ("false", "false")
    assert len(values["CREDENTIAL_KEYS"]) == 44


def test_it_never_weakens_a_file_that_already_decides_debug():
    text, filled = complete("DEBUG=false\nSECRET_KEY=x\nCREDENTIAL_KEYS=y\n")
    assert filled == []
    assert "SECURE" not in text
