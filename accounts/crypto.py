"""Encryption of provider secrets at rest (Fernet, with MultiFernet for key rotation)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _cipher() -> MultiFernet:
    keys = settings.CREDENTIAL_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "CREDENTIAL_KEYS is not set. Generate a key with `make key` "
            "(`make run` writes one into .env)."
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "CREDENTIAL_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)."
        ) from None


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            _("The stored secret cannot be decrypted with the configured CREDENTIAL_KEYS.")
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a token under the first (current) key; it must decrypt with one of the keys."""
    try:
        return _cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            _("The stored secret cannot be decrypted with the configured CREDENTIAL_KEYS.")
        ) from None
