"""Where media lives: the local disk (default) or a private S3-compatible bucket.

`config/settings.py` builds `STORAGES["default"]` from the environment with `s3_storage()`; the
test suite builds the same thing for its local S3-protocol server (tests/s3server.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile

# Browsers may keep an object for a day: its name is unique (gallery.ingest) and never rewritten.
OBJECT_CACHE_CONTROL = "private, max-age=86400, immutable"


def s3_storage(
    *,
    bucket: str,
    endpoint_url: str,
    region: str,
    access_key_id: str,
    secret_access_key: str,
    prefix: str,
    presign_seconds: int,
) -> dict[str, Any]:
    """`STORAGES["default"]` for a private bucket: no public ACL, every URL presigned."""
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            # Empty: boto3's own chain (an instance role, AWS_* variables, ~/.aws).
            "access_key": access_key_id or None,
            "secret_key": secret_access_key or None,
            "location": prefix.strip("/"),
            "default_acl": None,  # the bucket's own (private) policy; never public-read
            "querystring_auth": True,
            "querystring_expire": presign_seconds,
            "file_overwrite": False,
            "object_parameters": {"CacheControl": OBJECT_CACHE_CONTROL},
            # Reading an object (the ZIP download, an edit's parent) spills to a temporary
            # file past this size instead of holding it all in memory.
            "max_memory_size": 256 * 1024,
            # One plain GET per object, streamed in this thread (no pool of download threads).
            "transfer_config": TransferConfig(use_threads=False),
            # Explicit timeouts and a few retries of transient failures, as for the providers.
            # (Given a client_config, django-storages ignores its own signature_version and
            # addressing_style options: they are set here.) Other S3-compatible servers (MinIO,
            # moto, Ceph) do not all resolve bucket host names; AWS prefers them.
            "client_config": Config(
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                signature_version="s3v4",
                s3={"addressing_style": "path" if endpoint_url else "virtual"},
            ),
        },
    }


def s3_origin(*, bucket: str, endpoint_url: str, region: str) -> str:
    """The origin browsers fetch presigned media from (the Content-Security-Policy allows it)."""
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    return f"https://{bucket}.s3.{region or 'us-east-1'}.amazonaws.com"


def storage_check() -> None:
    """Raise if the media storage cannot be reached (for a readiness probe): the media folder
    must be writable; the bucket must answer one HEAD with our credentials (a refusal, a
    missing bucket or a timeout raises)."""
    from django.core.files.storage import FileSystemStorage, default_storage

    if isinstance(default_storage, FileSystemStorage):
        root = Path(default_storage.location)
        root.mkdir(parents=True, exist_ok=True)
        if not os.access(root, os.W_OK):
            raise PermissionError(f"The media folder {root} is not writable")
        return
    # The bucket itself: a HEAD on a missing object in a missing bucket is just "not found".
    bucket: Any = default_storage  # storages.backends.s3.S3Storage
    bucket.connection.meta.client.head_bucket(Bucket=bucket.bucket_name)


def open_stream(file: FieldFile) -> IO[bytes]:
    """`file` opened for reading once, front to back, in chunks; FileNotFoundError if it is gone.

    With a bucket this is the object's body as it arrives: django-storages' own file first
    copies the whole object, and the boto3 resource objects it builds for each file are garbage
    in reference cycles that only a full collection frees (about 100 KB an image, which a ZIP
    of thousands would pile up)."""
    from django.conf import settings

    if settings.MEDIA_STORAGE != "s3":
        return file.open("rb")
    from botocore.exceptions import ClientError

    storage: Any = file.storage  # storages.backends.s3.S3Storage
    key = storage._normalize_name(file.name)  # the name under S3_PREFIX
    try:
        answer = storage.connection.meta.client.get_object(Bucket=storage.bucket_name, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            raise FileNotFoundError(f"No object {key} in the bucket") from None
        raise
    return answer["Body"]
