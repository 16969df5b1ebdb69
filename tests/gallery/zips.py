"""What the ZIP tests (a selection's download, a workspace's export) share: reading an archive
back, and streaming one to disk while measuring what it held in memory."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


def unzip(response) -> zipfile.ZipFile:
    """The archive a streamed response holds, each file's CRC checked."""
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return archive


@dataclass(frozen=True)
class Streamed:
    peak_bytes: int  # Python's allocations at their highest while it streamed
    largest_piece: int
    names: list[str]


def stream_to_file(pieces: Iterable[bytes], out: Path) -> Streamed:
    """Write the pieces as a download writes them, then check the archive they make."""
    largest_piece = 0
    tracemalloc.start()
    try:
        with out.open("wb") as sink:
            for piece in pieces:
                sink.write(piece)
                largest_piece = max(largest_piece, len(piece))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
    return Streamed(peak, largest_piece, names)
