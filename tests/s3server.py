"""A real S3-protocol server for the tests: moto in server mode, in its own process on loopback.

`TEST_MEDIA_STORAGE=s3` (tests/environment.py) starts one for the whole session and points the
app's media at it through the environment, so Celery workers started by tests store into the
same bucket. Tests about the bucket itself use the `s3` fixture (tests/conftest.py), which
reuses that server or starts one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.http import HttpResponseBase

BUCKET = "darkroom-test-media"
REGION = "us-east-1"
# moto accepts any credentials; the app signs with these as it would with real ones.
ACCESS_KEY_ID = "darkroom-test-key"
SECRET_ACCESS_KEY = "darkroom-test-secret"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str = BUCKET

    def environment(self) -> dict[str, str]:
        """The app's variables for media in this server's bucket."""
        return {
            "MEDIA_STORAGE": "s3",
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }

    def client(self) -> Any:
        """A boto3 client with the app's credentials, for looking into the bucket."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def keys(self, prefix: str = "") -> set[str]:
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_s3_server() -> tuple[S3Server, subprocess.Popen[bytes]]:
    """Start moto's server on a free loopback port and create the (private) bucket."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Not the suite's settings: moto must not read the app's S3 or AWS variables.
        env={key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto's S3 server did not start on port {port}") from None
            time.sleep(0.1)
    server = S3Server(f"http://127.0.0.1:{port}")
    server.client().create_bucket(Bucket=server.bucket)
    return server, process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


# Tests that look at media on the local disk (paths under MEDIA_ROOT); each has a sibling for the
# bucket in tests/gallery/test_media_storage.py.
local_media_only = pytest.mark.skipif(
    os.environ.get("TEST_MEDIA_STORAGE") == "s3", reason="looks at media on the local disk"
)


@dataclass(frozen=True)
class Fetched:
    status: int
    content: bytes
    headers: Mapping[str, str]


def fetch(response: HttpResponseBase) -> Fetched:
    """What a browser ends up with for a media response: the file Django served, or what the
    presigned URL it redirected to answers (fetched anonymously, as a browser would)."""
    location = response.get("Location", "")
    if response.status_code == 302 and location.startswith(("http://", "https://")):
        with requests.Session() as session:
            session.trust_env = False  # never through a proxy from the environment
            answer = session.get(location, timeout=10)
        return Fetched(answer.status_code, answer.content, answer.headers)
    streamed = response.streaming
    content = b"".join(response.streaming_content) if streamed else response.content  # type: ignore[attr-defined]
    return Fetched(response.status_code, content, response.headers)
