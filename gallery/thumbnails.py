"""Signed, expiring thumbnail URLs: a capability handed out when a member's page renders.

A page of 48 tiles would otherwise cost 48 requests that each load the session, the user and the
membership. Instead the page signs each thumbnail's storage path (with the workspace and an
expiry) and `/t/<token>/` serves the file after checking only the signature and the clock: no
database query. Whoever holds the URL can fetch that one thumbnail until it expires, signed in
or not (README, "Using it", roles). Originals keep the full membership check.

Expiries are rounded up to a window boundary, so every page rendered within one window hands out
the same URL for a thumbnail and the browser's cache keeps working; a URL is valid for between
one and two windows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import posixpath
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core import signing

from gallery.models import Image

SALT = "gallery.thumbnail-url"
# Where they are served: `/t/<token>/` (config.urls, gallery.middleware).
URL_PREFIX = "t/"
WINDOW_SECONDS = 3600
# What every thumbnail's storage name looks like: `images/<workspace id>/<file>` (models.images).
_FOLDER = "images"
_SUFFIX = ".thumb.webp"  # gallery.ingest.store_image


@dataclass(frozen=True)
class Grant:
    """What a valid token lets its holder fetch, and until when (Unix seconds)."""

    path: str
    expires: int


def _signer() -> signing.Signer:
    """One signer per key: building one costs about as much as signing (48 a page)."""
    return _signer_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@lru_cache(maxsize=4)
def _signer_for(key: str, fallbacks: tuple[str, ...]) -> signing.Signer:
    return signing.Signer(key=key, fallback_keys=list(fallbacks), salt=SALT)


def thumbnail_expiry(now: float | None = None) -> int:
    """The expiry of URLs issued at `now`: the end of the next window."""
    now = time.time() if now is None else now
    return (int(now) // WINDOW_SECONDS + 2) * WINDOW_SECONDS


def thumbnail_token(image: Image, *, expires: int) -> str:
    """The token for `image`'s thumbnail (which must have one), valid until `expires`: exactly
    `_signer().sign_object(payload)` (a test holds them equal), but with the HMAC's key derived
    once per secret rather than per call, as `salted_hmac` does (48 tokens a page; a third less
    time)."""
    payload = [image.workspace_id, image.thumbnail.name, expires]
    value = signing.b64_encode(json.dumps(payload, separators=(",", ":")).encode("latin-1"))
    mac = _keyed_mac(settings.SECRET_KEY).copy()
    mac.update(value)
    return f"{value.decode()}:{signing.b64_encode(mac.digest()).decode()}"


@lru_cache(maxsize=4)
def _keyed_mac(key: str) -> hmac.HMAC:
    """`Signer(key=key, salt=SALT).signature()`'s HMAC before any message (SHA-256, the key
    derived from the salt and the secret as django.utils.crypto.salted_hmac derives it)."""
    derived = hashlib.sha256(f"{SALT}signer".encode() + key.encode()).digest()
    return hmac.new(derived, digestmod=hashlib.sha256)


def thumbnail_grant(token: str, *, now: float | None = None) -> Grant | None:
    """The file a token grants, or None for a token that was tampered with, has expired or names
    anything but a thumbnail (`images/<workspace id>/<name>.thumb.webp`) of its own workspace."""
    try:
        workspace_id, path, expires = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    now = time.time() if now is None else now
    if not isinstance(expires, int) or expires <= now:
        return None
    if not isinstance(workspace_id, int) or not isinstance(path, str):
        return None
    # Only the server signs, so this holds for every token it made; checked anyway so that a
    # leaked key or a bug elsewhere cannot turn the fast path into a reader of any file.
    folder = f"{_FOLDER}/{workspace_id}/"
    if not path.startswith(folder) or posixpath.normpath(path) != path or "\\" in path:
        return None
    if "/" in path.removeprefix(folder) or "\x00" in path:
        return None
    if not path.endswith(_SUFFIX):  # an original (gallery.ingest names both), never served here
        return None
    return Grant(path, expires)
