"""Downloading, verifying, thumbnailing and storing a provider's image, against a real server."""

from __future__ import annotations

import errno
import hashlib
import io
import random
import socket
import struct
import zlib
from collections.abc import Iterator

import pytest
from django.core.files.storage import InMemoryStorage, default_storage
from PIL import Image as PILImage

from gallery.ingest import (
    ImageFacts,
    IngestError,
    IngestLimits,
    StorageUnavailable,
    download_image,
    inspect_image,
    make_thumbnail,
    store_image,
    verify_and_store,
)
from gallery.models import Image
from providers.netguard import NetworkPolicy
from tests.factories import WorkspaceFactory
from tests.gallery.image_server import ImageServer, Route

MIB = 1024 * 1024
FAST = (1.0, 2.0)
# Stands in for a provider's URL signature: it must never show up in an error message.
SIGNED = "?sig=SECRET-SIGNATURE&expires=1700000000"


@pytest.fixture
def server() -> Iterator[ImageServer]:
    srv = ImageServer().start()
    yield srv
    srv.stop()


def fetch(server: ImageServer, url: str, **kwargs) -> bytes:
    options = {
        "network": NetworkPolicy.allowing([server.host]),
        "max_bytes": 20 * MIB,
        "timeout": FAST,
    }
    return download_image(url, **(options | kwargs))


def encode(image: PILImage.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def picture(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> PILImage.Image:
    image = PILImage.new(mode, size)
    for x in range(size[0]):
        image.putpixel((x, x % size[1]), (255,) * len(mode) if mode != "P" else 1)
    return image


def noise(size: tuple[int, int], mode: str = "RGB") -> PILImage.Image:
    channels = len(mode)
    data = random.Random(size[0] * 31 + channels).randbytes(size[0] * size[1] * channels)
    return PILImage.frombytes(mode, size, data)


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes of PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def big_noisy_png() -> bytes:
    # Noise in 4x4 blocks: per-pixel noise averages out to smooth grey when scaled down and then
    # compresses well, blocks stay noise at thumbnail size and need the quality steps and more.
    blocks = noise((512, 512)).resize((2048, 2048), PILImage.Resampling.NEAREST)
    return encode(blocks, "PNG", compress_level=1)


# --- download_image ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "expected"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpeg"), ("WEBP", "image/webp", "webp")],
)
def test_it_downloads_and_inspects_an_image(server, fmt, content_type, expected):
    body = encode(picture((64, 48)), fmt)
    url = server.serve("/files/a", Route(body=body, content_type=content_type))

    content = fetch(server, url + SIGNED)
    facts = inspect_image(content, max_pixels=10_000)

    assert content == body
    assert facts == ImageFacts(
        width=64,
        height=48,
        format=expected,
        bytes=len(body),
        checksum=hashlib.sha256(body).hexdigest(),
    )
    assert server.seen == ["/files/a" + SIGNED]


def test_it_accepts_a_chunked_image_with_a_charset_in_its_content_type(server):
    body = encode(noise((128, 128)), "PNG")
    url = server.serve("/a.png", Route(body=body, content_type="Image/PNG; q=1", chunked=True))

    assert fetch(server, url) == body


def test_it_matches_an_allowed_host_case_insensitively(server):
    body = encode(picture(), "PNG")
    port = server.host.rsplit(":", 1)[1]
    server.serve("/a.png", Route(body=body))

    content = fetch(
        server,
        f"http://LocalHost:{port}/a.png",
        network=NetworkPolicy.allowing([f"localhost:{port}"]),
    )

    assert content == body


@pytest.mark.parametrize(
    ("allowed", "what"),
    [
        ((), "a loopback address"),
        (("cdn.provider.example",), "a loopback address"),
        (("127.0.0.1:1",), "a loopback address"),  # another port of that host
    ],
)
def test_it_refuses_a_non_public_host_that_is_not_allowed_before_any_request(server, allowed, what):
    url = server.serve("/a.png", Route(body=encode(picture(), "PNG")))

    with pytest.raises(IngestError) as caught:
        fetch(server, url + SIGNED, network=NetworkPolicy.allowing(allowed))

    assert caught.value.message == (
        f"refused to download http://{server.host}/a.png: 127.0.0.1 is {what}, "
        "which the worker may not connect to"
    )
    assert "SECRET" not in caught.value.message
    assert not caught.value.transient
    assert server.seen == []


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("10.1.2.3", "a private address"),
        ("192.168.0.10", "a private address"),
        ("[::1]", "a loopback address"),
        ("[::ffff:127.0.0.1]", "a loopback address"),
        ("100.64.0.1", "a non-public address"),  # carrier-grade NAT
        ("0.0.0.0", "a loopback address"),  # noqa: S104 - the address under test
    ],
)
def test_it_refuses_internal_addresses_without_connecting(address, what):
    with pytest.raises(IngestError, match=f"is {what}, which the worker may not"):
        download_image(
            f"http://{address}/latest/meta-data",
            network=NetworkPolicy(),
            max_bytes=MIB,
            timeout=FAST,
        )


def test_a_url_that_parsers_read_differently_never_reaches_either_host(server):
    """urlsplit sees 127.0.0.1:<allowed> after the '@'; requests would connect to the other
    port. Backslashes and userinfo are refused outright, and nothing reaches either server."""
    other = ImageServer().start()
    try:
        other.serve("/x.png", Route(body=encode(picture(), "PNG")))
        server.serve("/x.png", Route(body=encode(picture(), "PNG")))
        for url in (
            f"http://{other.host}\\@{server.host}/x.png",
            f"http://{other.host}\\\\@{server.host}/x.png",
            f"http://user@{other.host}/x.png",
            f"http://{server.host}@{other.host}/x.png",
        ):
            with pytest.raises(IngestError, match=r"backslash|user name"):
                fetch(server, url)
        assert server.seen == []
        assert other.seen == []
    finally:
        other.stop()


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/a.png", "file:///etc/passwd", "a.png"])
def test_it_refuses_anything_but_http_and_https(server, url):
    with pytest.raises(IngestError, match=r"only http:// and https://"):
        fetch(server, url)


def test_it_refuses_a_redirect(server):
    target = "http://169.254.169.254/latest/meta-data" + SIGNED
    url = server.serve("/a.png", Route(302, content_type=None, headers={"Location": target}))

    with pytest.raises(IngestError) as caught:
        fetch(server, url + SIGNED)

    message = caught.value.message
    assert message == (
        f"http://{server.host}/a.png answered with a redirect (302 to 169.254.169.254); "
        "redirects are not followed"
    )
    assert not caught.value.transient
    assert server.seen == ["/a.png" + SIGNED]


def test_it_refuses_an_image_whose_content_length_is_over_the_limit(server):
    url = server.serve("/a.png", Route(body=b"\x89PNG", headers={"Content-Length": str(30 * MIB)}))

    with pytest.raises(IngestError) as caught:
        fetch(server, url)

    assert caught.value.message == "image is larger than the 20 MB limit"


def test_it_stops_reading_a_chunked_image_once_it_is_over_the_limit(server):
    url = server.serve("/a.png", Route(body=bytes(2 * MIB), chunked=True))

    with pytest.raises(IngestError) as caught:
        fetch(server, url, max_bytes=100 * 1024)

    assert caught.value.message == "image is larger than the 100 KB limit"
    assert not caught.value.transient


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "image/svg+xml", None])
def test_it_refuses_a_body_that_is_not_an_image(server, content_type):
    url = server.serve("/a.png", Route(body=b"<html>expired</html>", content_type=content_type))

    with pytest.raises(IngestError, match="is not an image") as caught:
        fetch(server, url + SIGNED)

    assert not caught.value.transient


def test_it_treats_404_as_permanent(server):
    url = server.serve("/a.png", Route(404, b"gone", content_type="text/plain"))

    with pytest.raises(IngestError) as caught:
        fetch(server, url + SIGNED)

    assert not caught.value.transient
    assert caught.value.status == 404
    assert caught.value.message == (
        f"the image host answered 404 for http://{server.host}/a.png (the link may have expired)"
    )


def test_it_treats_503_as_transient_and_keeps_retry_after(server):
    route = Route(503, b"busy", content_type="text/plain", headers={"Retry-After": "7"})
    url = server.serve("/a.png", route)

    with pytest.raises(IngestError) as caught:
        fetch(server, url + SIGNED)

    assert caught.value.transient
    assert caught.value.status == 503
    assert caught.value.retry_after == 7


@pytest.mark.parametrize(
    "route",
    [Route(body=b"x" * 100, delay_headers=1.0), Route(body=b"x" * 100, delay_body=1.0)],
    ids=["before-headers", "mid-body"],
)
def test_it_treats_a_read_timeout_as_transient(server, route):
    url = server.serve("/slow.png", route)

    with pytest.raises(IngestError) as caught:
        fetch(server, url + SIGNED, timeout=(1.0, 0.2))

    assert caught.value.transient
    assert caught.value.message == f"downloading http://{server.host}/slow.png timed out"


def test_it_treats_a_refused_connection_as_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"

    with pytest.raises(IngestError, match=r"^could not connect to download") as caught:
        download_image(
            f"http://{host}/a.png{SIGNED}",
            network=NetworkPolicy.allowing([host]),
            max_bytes=MIB,
            timeout=FAST,
        )

    assert caught.value.transient


def test_it_treats_a_download_that_breaks_off_as_transient(server):
    headers = {"Content-Length": "1000", "Connection": "close"}
    url = server.serve("/a.png", Route(body=b"x" * 100, headers=headers))

    with pytest.raises(IngestError) as caught:
        fetch(server, url + SIGNED)

    assert caught.value.transient
    assert caught.value.message == f"the download of http://{server.host}/a.png broke off"


def test_it_never_shows_the_query_string_in_errors(server):
    server.serve("/404.png", Route(404))
    server.serve("/html.png", Route(body=b"<html>", content_type="text/html"))
    server.serve("/slow.png", Route(delay_headers=1.0))
    messages = []
    for path in ("/404.png", "/html.png", "/slow.png", "/missing.png"):
        with pytest.raises(IngestError) as caught:
            fetch(server, server.url(path) + SIGNED, timeout=(1.0, 0.2))
        messages.append(str(caught.value))
    with pytest.raises(IngestError) as caught:
        fetch(server, "http://elsewhere.example/a.png" + SIGNED)
    messages.append(str(caught.value))

    assert all("SECRET" not in m and "expires" not in m for m in messages), messages


# --- inspect_image ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"definitely not an image", encode(noise((200, 200)), "PNG")[:5000]],
    ids=["empty", "text", "truncated-png"],
)
def test_it_rejects_corrupt_bytes(content):
    with pytest.raises(IngestError) as caught:
        inspect_image(content, max_pixels=10**6)

    assert caught.value.message == "the provider returned a file that is not a valid image"
    assert not caught.value.transient


def test_it_rejects_a_truncated_jpeg():
    content = encode(noise((256, 256)), "JPEG")

    with pytest.raises(IngestError, match="not a valid image"):
        inspect_image(content[: len(content) // 2], max_pixels=10**6)


def test_it_rejects_a_format_it_does_not_store():
    with pytest.raises(IngestError, match="returned a BMP file"):
        inspect_image(encode(picture(), "BMP"), max_pixels=10**6)


def test_it_rejects_a_decompression_bomb_from_its_header():
    bomb = png_declaring(8_000, 5_000)

    with pytest.raises(IngestError) as caught:
        inspect_image(bomb, max_pixels=1_000_000)

    assert caught.value.message == (
        "the image is 8000x5000 pixels, more than the limit of 1 megapixels "
        "that can be processed safely"
    )
    assert len(bomb) < 200


@pytest.mark.parametrize(
    ("width", "height"), [(20_000, 20_000), (10_000, 9_000)], ids=["error", "warning"]
)
def test_it_turns_pillows_own_bomb_check_into_an_ingest_error(width, height):
    # Pillow raises over ~179 megapixels and only warns over ~89; both must stop us.
    with pytest.raises(IngestError, match="more pixels than can be processed safely"):
        inspect_image(png_declaring(width, height), max_pixels=10**12)


def test_it_uses_the_pixel_limit_from_settings(settings):
    settings.IMAGE_MAX_PIXELS = 1000

    with pytest.raises(IngestError, match=r"more than the limit of 0\.001 megapixels"):
        verify_and_store(Image(workspace_id=7), png_declaring(100, 100))


# --- verify_and_store -------------------------------------------------------------------------


def test_it_verifies_then_stores_in_one_step(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    body = encode(picture(), "WEBP")
    image = Image(workspace_id=7)

    verify_and_store(image, body)

    assert (image.format, image.width, image.height) == ("webp", 64, 48)
    assert image.checksum == hashlib.sha256(body).hexdigest()
    assert read_stored(image.file.name) == body


def test_it_stores_nothing_over_the_byte_limit(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = Image(workspace_id=7)

    with pytest.raises(IngestError, match="larger than the 100 bytes limit"):
        verify_and_store(image, bytes(101), limits=IngestLimits(max_bytes=100))

    assert not image.file
    assert not any(tmp_path.rglob("*.*"))


def test_it_stores_nothing_that_is_not_an_image(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = Image(workspace_id=7)

    with pytest.raises(IngestError, match="not a valid image"):
        verify_and_store(image, b"<html>not an image</html>")

    assert not image.file


# --- make_thumbnail ---------------------------------------------------------------------------


def open_webp(data: bytes) -> PILImage.Image:
    image = PILImage.open(io.BytesIO(data))
    assert image.format == "WEBP"
    return image


def test_it_fits_a_large_noisy_image_into_the_thumbnail_budget(big_noisy_png):
    thumbnail = make_thumbnail(big_noisy_png)

    assert len(thumbnail) <= 40_000
    assert max(open_webp(thumbnail).size) <= 384


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_it_keeps_transparency_within_budget(mode):
    thumbnail = make_thumbnail(encode(noise((1024, 1024), mode), "PNG", compress_level=1))

    assert len(thumbnail) <= 40_000
    assert open_webp(thumbnail).mode == "RGBA"


def test_it_handles_a_palette_image_with_transparency():
    image = noise((600, 400), "L").convert("P")
    image.info["transparency"] = 0
    thumbnail = make_thumbnail(encode(image, "PNG"))

    result = open_webp(thumbnail)
    width, height = result.size
    assert len(thumbnail) <= 40_000
    assert result.mode == "RGBA"
    assert width <= 384
    assert width * 2 == height * 3


def test_it_handles_a_gif():
    thumbnail = make_thumbnail(encode(picture((100, 50), "P"), "GIF"))

    assert open_webp(thumbnail).size == (100, 50)


def test_it_keeps_the_aspect_ratio_and_never_enlarges():
    wide = open_webp(make_thumbnail(encode(picture((1000, 500)), "PNG")))
    small = open_webp(make_thumbnail(encode(picture((120, 90)), "PNG")))

    assert wide.size == (384, 192)
    assert small.size == (120, 90)


def test_it_applies_the_exif_orientation():
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    content = encode(picture((400, 200)), "JPEG", exif=exif)

    assert open_webp(make_thumbnail(content)).size == (192, 384)


def test_it_shrinks_the_thumbnail_when_quality_alone_is_not_enough(big_noisy_png):
    thumbnail = make_thumbnail(big_noisy_png, max_side=384, max_bytes=20_000)

    assert len(thumbnail) <= 20_000
    assert max(open_webp(thumbnail).size) < 384


def test_it_makes_the_same_thumbnail_every_time():
    content = encode(noise((500, 300)), "JPEG")

    assert make_thumbnail(content) == make_thumbnail(content)


# --- store_image ------------------------------------------------------------------------------


def read_stored(name: str) -> bytes:
    """A stored file's bytes, from the disk or the bucket (`TEST_MEDIA_STORAGE=s3`)."""
    with default_storage.open(name) as stored_file:
        return stored_file.read()


def stored(image: Image, content: bytes, settings, tmp_path) -> ImageFacts:
    settings.MEDIA_ROOT = tmp_path
    facts = inspect_image(content, max_pixels=10**7)
    store_image(image, content, facts)
    return facts


def test_it_stores_the_original_and_a_thumbnail(settings, tmp_path):
    content = encode(noise((800, 600)), "JPEG")
    image = Image(workspace_id=7)

    facts = stored(image, content, settings, tmp_path)

    stem = image.file.name.removeprefix("images/7/").removesuffix(".jpg")
    assert len(stem) == 32
    assert image.thumbnail.name == f"images/7/{stem}.thumb.webp"
    assert (image.width, image.height, image.format) == (800, 600, "jpeg")
    assert image.bytes == len(content) == facts.bytes
    assert image.checksum == hashlib.sha256(content).hexdigest()
    assert read_stored(image.file.name) == content
    with PILImage.open(io.BytesIO(read_stored(image.file.name))) as original:
        assert original.size == (800, 600)
    with PILImage.open(io.BytesIO(read_stored(image.thumbnail.name))) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("WEBP", (384, 288))


def test_it_gives_every_stored_image_its_own_name(settings, tmp_path):
    content = encode(picture(), "PNG")
    first, second = Image(workspace_id=7), Image(workspace_id=7)

    stored(first, content, settings, tmp_path)
    stored(second, content, settings, tmp_path)

    names = {first.file.name, first.thumbnail.name, second.file.name, second.thumbnail.name}
    assert len(names) == 4
    assert first.file.name.endswith(".png")
    assert all(default_storage.exists(name) for name in names)


def test_it_uses_the_thumbnail_settings(settings, tmp_path):
    settings.THUMBNAIL_MAX_SIDE = 100
    image = Image(workspace_id=7)

    stored(image, encode(picture((400, 200)), "PNG"), settings, tmp_path)

    with PILImage.open(io.BytesIO(read_stored(image.thumbnail.name))) as thumbnail:
        assert thumbnail.size == (100, 50)


def test_it_stores_through_any_storage_backend():
    storage = InMemoryStorage()
    content = encode(picture(), "GIF")
    image = Image(workspace_id=3)

    store_image(image, content, inspect_image(content, max_pixels=10**6), storage=storage)

    assert storage.exists(image.file.name)
    assert storage.exists(image.thumbnail.name)
    with storage.open(image.file.name) as original:
        assert original.read() == content
    with storage.open(image.thumbnail.name) as thumbnail:
        assert PILImage.open(thumbnail).format == "WEBP"


class BrokenStorage(InMemoryStorage):
    """Writes the original, then fails on the next write (the thumbnail) with `error`."""

    def __init__(self, error: OSError, *, after: int = 0) -> None:
        super().__init__()
        self.error, self.writes_left = error, after
        self.written: list[str] = []

    def _save(self, name, content):
        if self.writes_left == 0:
            raise self.error
        self.writes_left -= 1
        self.written.append(super()._save(name, content))
        return self.written[-1]


@pytest.mark.parametrize(
    ("error", "after", "says"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), 0, "refused the write"),
        (FileExistsError(errno.EEXIST, "File exists"), 0, "cannot be reached"),
        (OSError(errno.ENOSPC, "No space left on device"), 1, "is full"),
    ],
)
def test_a_storage_that_cannot_be_written_is_transient_and_leaves_nothing_behind(
    error, after, says, settings
):
    backend = {"BACKEND": f"{__name__}.BrokenStorage", "OPTIONS": {"error": error, "after": after}}
    settings.STORAGES = {**settings.STORAGES, "default": backend}
    storage = default_storage
    content = encode(picture(), "PNG")
    image = Image(workspace_id=3)

    with pytest.raises(StorageUnavailable) as caught:
        store_image(image, content, inspect_image(content, max_pixels=10**6))

    assert caught.value.transient
    assert str(caught.value).startswith(f"the media storage {says}")
    assert len(storage.written) == after
    assert not any(storage.exists(name) for name in storage.written)  # the original is removed


def test_it_writes_nothing_for_bytes_it_cannot_thumbnail():
    storage = InMemoryStorage()
    facts = ImageFacts(width=1, height=1, format="png", bytes=3, checksum="0" * 64)
    image = Image(workspace_id=3)

    with pytest.raises(IngestError):
        store_image(image, b"bad", facts, storage=storage)

    assert storage.listdir("")[1] == []
    assert not image.file


@pytest.mark.django_db
def test_it_stores_a_row_that_reads_back(settings, tmp_path):
    workspace = WorkspaceFactory()
    content = encode(picture((300, 200)), "WEBP")
    image = Image(workspace=workspace, provider_image_id="img-1")

    stored(image, content, settings, tmp_path)
    image.save()
    image.refresh_from_db()

    assert image.file.name.startswith(f"images/{workspace.pk}/")
    assert (image.width, image.height, image.format, image.bytes) == (
        300,
        200,
        "webp",
        len(content),
    )
    with image.file.open("rb") as original:
        assert hashlib.sha256(original.read()).hexdigest() == image.checksum
    with image.thumbnail.open("rb") as thumbnail, PILImage.open(thumbnail) as opened:
        assert opened.size == (300, 200)
