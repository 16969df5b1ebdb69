"""The sandbox's caption: German letters drawn as letters, never as boxes."""

from __future__ import annotations

import pytest
from PIL import ImageFont

from sandbox.imaging import _drawable, _font


def test_with_dejavu_sans_umlauts_are_drawn_as_they_are():
    font = _font(20)
    if not str(getattr(font, "path", "")).endswith("DejaVuSans.ttf"):
        pytest.skip("no DejaVu Sans on this machine: the next test covers that case")
    assert _drawable("Abenddämmerung, Straße", font) == "Abenddämmerung, Straße"
    # Glyphs of their own, not the font's "missing" box (every missing glyph is the same box).
    assert bytes(font.getmask("ä")) != bytes(font.getmask("ü"))


def test_with_pillows_own_font_they_are_spelled_out():
    font = ImageFont.load_default(size=20)
    assert _drawable("Abenddämmerung, Straße, Öl", font) == "Abenddaemmerung, Strasse, Oel"
