"""The one way a provider's image becomes a stored, verified file with a grid thumbnail.

Job results (``gallery/services/results.py``) and the history mirror (``services/sync.py``) both
call ``ingest_image``: ``image_content`` takes the bytes sent inline, else downloads the URL
behind the worker's SSRF guard (``download_image``, ``providers.netguard``), else asks the
provider's authenticated view route; ``verify_and_store`` checks them (size, type, pixels) and
writes them and a thumbnail through Django's storage API. Provider download links (NanoGPT's)
expire within the hour, so a job downloads at once.

Every failure is an ``IngestError``: ``transient`` says whether trying again later may work,
``retry_after`` how long the other side asked us to wait; a storage that cannot be written is a
``StorageUnavailable`` (always transient). Messages never show a URL's query: it carries the
signature.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError
from urllib3.exceptions import ReadTimeoutError

from accounts.text import stored_message_id
from providers import ImageProvider, ProviderError
from providers.http import parse_retry_after
from providers.netguard import NetworkPolicy, UnsafeURL, blocked_reason, check_url, guarded_session

if TYPE_CHECKING:
    from gallery.models import Image

MIB = 1024 * 1024
# Pillow format name -> what we store in ``Image.format``; MPO is a JPEG with extra frames.
# Stored in a job's error in English, shown in the reader's language (stored_text): our words,
# around the host's or the file's facts.
STORAGE_TROUBLE = stored_message_id(gettext_noop("the media storage %(what)s"))
REFUSED_UNSAFE = stored_message_id(gettext_noop("refused to download %(shown)s: %(exc)s"))
REFUSED_BLOCKED = stored_message_id(gettext_noop("refused to download %(shown)s: %(blocked)s"))
DOWNLOAD_TIMED_OUT = stored_message_id(gettext_noop("downloading %(shown)s timed out"))
DOWNLOAD_BROKE_OFF = stored_message_id(gettext_noop("the download of %(shown)s broke off"))
COULD_NOT_CONNECT = stored_message_id(gettext_noop("could not connect to download %(shown)s"))
COULD_NOT_DOWNLOAD = stored_message_id(gettext_noop("could not download %(shown)s (%(__name__)s)"))
REDIRECTED = stored_message_id(
    gettext_noop(
        "%(shown)s answered with a redirect (%(status)s%(where)s); redirects are not followed"
    )
)
HOST_ANSWERED = stored_message_id(gettext_noop("the image host answered %(status)s for %(shown)s"))
HOST_REFUSED = stored_message_id(
    gettext_noop("the image host answered %(status)s for %(shown)s%(hint)s")
)
HOST_NOT_200 = stored_message_id(
    gettext_noop("the image host answered %(status)s for %(shown)s, not 200")
)
NOT_AN_IMAGE_TYPE = stored_message_id(
    gettext_noop("%(shown)s is not an image (Content-Type %(type)s)")
)
TOO_LARGE = stored_message_id(gettext_noop("image is larger than the %(value)s limit"))
TOO_MANY_PIXELS = stored_message_id(
    gettext_noop(
        "the image is %(width)sx%(height)s pixels, more than the limit of %(megapixels)s "
        "megapixels that can be processed safely"
    )
)
WRONG_FORMAT = stored_message_id(
    gettext_noop("the provider returned a %(value)s file, not an image")
)
THUMBNAIL_TOO_LARGE = stored_message_id(
    gettext_noop("could not make a thumbnail smaller than %(value)s")
)

_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp", "GIF": "gif"}
_EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif"}
_CONTENT_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif"}
_CHUNK = 64 * 1024
_THUMBNAIL_QUALITIES = (80, 65, 50, 40, 30)
_NOT_AN_IMAGE = "the provider returned a file that is not a valid image"


class IngestError(Exception):
    """The image could not be fetched, verified or stored; ``message`` is for people.

    ``transient``: a timeout, a broken connection, 429 or 5xx; the same fetch may work later.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.status = status
        self.retry_after = retry_after


class StorageUnavailable(IngestError):
    """The media storage could not be written: a volume gone or unwritable, object storage out
    of reach. Always worth another try later; the image itself was fine."""

    def __init__(self, cause: BaseException) -> None:
        what = _STORAGE_TROUBLE.get(
            getattr(cause, "errno", None) or 0, gettext_lazy("cannot be reached")
        )
        super().__init__(_(STORAGE_TROUBLE) % {"what": what}, transient=True)


# An OSError's own text can mislead ("File exists" where a volume's mount point is gone).
_STORAGE_TROUBLE = {
    errno.EACCES: gettext_lazy("refused the write (permission denied)"),
    errno.EPERM: gettext_lazy("refused the write (permission denied)"),
    errno.EROFS: gettext_lazy("is read-only"),
    errno.ENOSPC: gettext_lazy("is full"),
    errno.EDQUOT: gettext_lazy("is over its quota"),
}

# What a storage write raises when the storage, not the image, is the trouble: the filesystem's
# OSError (a missing or read-only volume) and, with object storage, botocore's connection errors.
STORAGE_ERRORS = (OSError, BotoConnectionError, HTTPClientError)


@dataclass(frozen=True, slots=True)
class ImageFacts:
    width: int
    height: int
    format: str  # png, jpeg, webp or gif
    bytes: int
    checksum: str  # SHA-256, hex


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_bytes: int = 20 * MIB
    max_pixels: int = 40_000_000
    thumbnail_max_bytes: int = 40_000
    thumbnail_max_side: int = 384

    @classmethod
    def from_settings(cls) -> IngestLimits:
        """The limits from settings; names not set keep the defaults above."""
        defaults = cls()
        return cls(
            max_bytes=_setting("IMAGE_MAX_BYTES", defaults.max_bytes),
            max_pixels=_setting("IMAGE_MAX_PIXELS", defaults.max_pixels),
            thumbnail_max_bytes=_setting("THUMBNAIL_MAX_BYTES", defaults.thumbnail_max_bytes),
            thumbnail_max_side=_setting("THUMBNAIL_MAX_SIDE", defaults.thumbnail_max_side),
        )


def _setting(name: str, default: int) -> int:
    value = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a positive whole number; got {value!r}")
    return value


def download_image(
    url: str,
    *,
    network: NetworkPolicy,
    max_bytes: int,
    timeout: tuple[float, float],
) -> bytes:
    """The body of ``url``, which must be an image on a public host, or on a non-public host
    ``network`` allows (the provider's own, when that is the sandbox or a test server)."""
    shown = _display_url(url)
    try:
        check_url(url)
    except UnsafeURL as exc:
        raise IngestError(_(REFUSED_UNSAFE) % {"shown": shown, "exc": exc}) from None
    answered = False
    with guarded_session(network, pool_maxsize=1) as http:
        try:
            with http.get(
                url,
                stream=True,
                timeout=timeout,
                # A redirect could lead anywhere (an internal address, say); refuse them all.
                allow_redirects=False,
                # Count what is on the wire: a gzip-encoded body could inflate past the limit.
                headers={
                    "Accept": ", ".join(sorted(_CONTENT_TYPES)),
                    "Accept-Encoding": "identity",
                },
            ) as response:
                answered = True
                _check_response(response, shown, max_bytes)
                return _read_body(response, max_bytes)
        except (requests.Timeout, requests.ConnectionError) as exc:
            blocked = blocked_reason(exc)
            if blocked:
                raise IngestError(
                    _(REFUSED_BLOCKED) % {"shown": shown, "blocked": blocked}
                ) from None
            # A read timeout while streaming arrives as ConnectionError(ReadTimeoutError(...)).
            cause = exc.args[0] if exc.args else None
            if isinstance(exc, requests.Timeout) or isinstance(cause, ReadTimeoutError):
                raise IngestError(
                    _(DOWNLOAD_TIMED_OUT) % {"shown": shown}, transient=True
                ) from None
            if answered:
                raise IngestError(
                    _(DOWNLOAD_BROKE_OFF) % {"shown": shown}, transient=True
                ) from None
            raise IngestError(_(COULD_NOT_CONNECT) % {"shown": shown}, transient=True) from None
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ):
            raise IngestError(_(DOWNLOAD_BROKE_OFF) % {"shown": shown}, transient=True) from None
        except requests.RequestException as exc:
            raise IngestError(
                _(COULD_NOT_DOWNLOAD) % {"shown": shown, "__name__": type(exc).__name__}
            ) from None


def _display_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "an invalid URL"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def _check_response(response: requests.Response, shown: str, max_bytes: int) -> None:
    status = response.status_code
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("Location", "")).netloc.rpartition("@")[2]
        where = _(" to %(target)s") % {"target": target} if target else ""
        raise IngestError(
            _(REDIRECTED) % {"shown": shown, "status": status, "where": where},
            status=status,
        )
    if status == 429 or status >= 500:
        raise IngestError(
            _(HOST_ANSWERED) % {"status": status, "shown": shown},
            transient=True,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 400:
        # Signed provider links expire within the hour and then answer 403 or 404.
        hint = _(" (the link may have expired)") if status in (403, 404, 410) else ""
        raise IngestError(
            _(HOST_REFUSED) % {"status": status, "shown": shown, "hint": hint},
            status=status,
        )
    if status != 200:
        raise IngestError(
            _(HOST_NOT_200) % {"status": status, "shown": shown},
            status=status,
        )
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in _CONTENT_TYPES:
        raise IngestError(
            _(NOT_AN_IMAGE_TYPE)
            % {"shown": shown, "type": repr(content_type) if content_type else _("missing")}
        )
    try:
        declared = int(response.headers.get("Content-Length", ""))
    except ValueError:
        declared = None
    if declared is not None and declared > max_bytes:
        raise IngestError(_(TOO_LARGE) % {"value": _size(max_bytes)})


def _read_body(response: requests.Response, max_bytes: int) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise IngestError(_(TOO_LARGE) % {"value": _size(max_bytes)})
    return bytes(body)


def _size(n: int) -> str:
    for unit, scale in (("MB", MIB), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def inspect_image(content: bytes, *, max_pixels: int) -> ImageFacts:
    """Check that ``content`` is one whole PNG/JPEG/WebP/GIF of at most ``max_pixels``."""
    try:
        # Pillow only warns between its own limit and twice that; make the warning count too.
        # (catch_warnings is process-wide, which is fine in prefork Celery workers.)
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(content)) as probe:
                width, height = probe.size
                format_name = probe.format or ""
                # The header alone tells the size: refuse before decoding anything.
                if width * height > max_pixels:
                    raise IngestError(
                        _(TOO_MANY_PIXELS)
                        % {
                            "width": width,
                            "height": height,
                            "megapixels": f"{max_pixels / 1_000_000:g}",
                        }
                    )
                probe.verify()
            # verify() leaves the image unusable and does not decode the pixels; a full load
            # catches truncated data (e.g. a JPEG cut short), bounded by the check above.
            with PILImage.open(io.BytesIO(content)) as image:
                image.load()
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        # Pillow's own limit (about 89 megapixels) struck first, at open().
        raise IngestError(_("the image has more pixels than can be processed safely")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise IngestError(_NOT_AN_IMAGE) from None
    image_format = _FORMATS.get(format_name)
    if image_format is None:
        raise IngestError(_(WRONG_FORMAT) % {"value": format_name or "unknown"})
    return ImageFacts(
        width=width,
        height=height,
        format=image_format,
        bytes=len(content),
        checksum=hashlib.sha256(content).hexdigest(),
    )


def make_thumbnail(content: bytes, *, max_side: int = 384, max_bytes: int = 40_000) -> bytes:
    """A WebP of at most ``max_side`` per side and ``max_bytes``; call after ``inspect_image``."""
    try:
        with PILImage.open(io.BytesIO(content)) as source:
            # JPEG can decode at 1/2..1/8 scale directly: much faster for big originals.
            source.draft("RGB", (max_side, max_side))
            icc_profile = source.info.get("icc_profile")
            image = ImageOps.exif_transpose(source)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise IngestError(_NOT_AN_IMAGE) from None
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    side = max_side
    while side >= 1:
        frame = image.copy()
        frame.thumbnail((side, side), PILImage.Resampling.LANCZOS)
        for quality in _THUMBNAIL_QUALITIES:
            out = io.BytesIO()
            # WebP keeps alpha lossless unless told otherwise: noisy RGBA would never fit.
            options: dict[str, Any] = {"quality": quality, "alpha_quality": quality, "method": 4}
            if icc_profile:
                options["icc_profile"] = icc_profile
            frame.save(out, format="WEBP", **options)
            if out.tell() <= max_bytes:
                return out.getvalue()
        # Even the lowest quality is too big (noise compresses badly): shrink and try again.
        side = side * 3 // 4
    raise IngestError(_(THUMBNAIL_TOO_LARGE) % {"value": _size(max_bytes)})


def store_image(
    image: Image, content: bytes, facts: ImageFacts, *, storage: Storage | None = None
) -> None:
    """Save the original and its thumbnail and set the facts on ``image`` (not saved).

    ``storage`` replaces the fields' storage for this instance only; rows read back later use
    the fields' own storage, so pass one only where that is the same place (or in tests).
    """
    if image.workspace_id is None:
        raise ValueError("store_image needs an image with a workspace (files go under its id)")
    limits = IngestLimits.from_settings()
    # Made before anything is written, so a bad image leaves nothing behind in storage.
    thumbnail = make_thumbnail(
        content, max_side=limits.thumbnail_max_side, max_bytes=limits.thumbnail_max_bytes
    )
    if storage is not None:
        image.file.storage = storage
        image.thumbnail.storage = storage
    stem = uuid.uuid4().hex
    try:
        image.file.save(f"{stem}.{_EXTENSIONS[facts.format]}", ContentFile(content), save=False)
    except STORAGE_ERRORS as exc:
        raise StorageUnavailable(exc) from exc
    try:
        image.thumbnail.save(f"{stem}.thumb.webp", ContentFile(thumbnail), save=False)
    except Exception as exc:
        with contextlib.suppress(*STORAGE_ERRORS):  # the storage may be gone for this too
            image.file.delete(save=False)
        if isinstance(exc, STORAGE_ERRORS):
            raise StorageUnavailable(exc) from exc
        raise
    image.width = facts.width
    image.height = facts.height
    image.format = facts.format
    image.bytes = facts.bytes
    image.checksum = facts.checksum


def download_network(provider: ImageProvider) -> NetworkPolicy:
    """Where result images may come from besides public hosts: the provider's own hosts (the
    sandbox, a test server) and the non-public storage hosts the operator allowed."""
    return NetworkPolicy.allowing([*provider.hosts, *settings.PROVIDER_DOWNLOAD_HOSTS])


def image_content(
    provider: ImageProvider, *, data: bytes | None = None, url: str = "", image_id: str = ""
) -> bytes:
    """The image's bytes: ``data`` when the provider sent them inline, else from ``url``, else
    from the provider's authenticated view route (a storage host that is not allowed or fails
    must not lose a paid image)."""
    if data:
        return data
    failed: IngestError | None = None
    if url:
        try:
            return download_image(
                url,
                network=download_network(provider),
                max_bytes=settings.IMAGE_MAX_BYTES,
                timeout=(settings.PROVIDER_CONNECT_TIMEOUT, settings.PROVIDER_READ_TIMEOUT),
            )
        except IngestError as exc:
            failed = exc
    if image_id and provider.capabilities.has_get_image:
        try:
            return provider.get_image_content(image_id).content
        except ProviderError as exc:
            # Worth another try if either way might work later.
            raise IngestError(
                exc.message,
                transient=exc.transient or bool(failed and failed.transient),
                status=exc.status,
                retry_after=exc.retry_after or (failed.retry_after if failed else None),
            ) from None
    raise failed or IngestError("the provider returned no image data and no way to fetch it")


def ingest_image(
    image: Image,
    provider: ImageProvider,
    *,
    data: bytes | None = None,
    url: str = "",
    image_id: str = "",
) -> None:
    """Fetch (``image_content``), verify and store one provider image on ``image`` (not saved)."""
    verify_and_store(image, image_content(provider, data=data, url=url, image_id=image_id))


def verify_and_store(image: Image, content: bytes, *, limits: IngestLimits | None = None) -> None:
    """The one gate every provider image passes (job results and mirrored history alike): size
    cap, Pillow verification with the pixel limit, then storage with a thumbnail."""
    limits = limits or IngestLimits.from_settings()
    if len(content) > limits.max_bytes:
        raise IngestError(_(TOO_LARGE) % {"value": _size(limits.max_bytes)})
    store_image(image, content, inspect_image(content, max_pixels=limits.max_pixels))
