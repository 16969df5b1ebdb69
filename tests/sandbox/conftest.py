"""Helpers for driving the sandbox over real HTTP, the way a provider client would."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from PIL import Image

from tests.sandbox_fixture import SandboxHandle

DS = "/api/ds-prototypes"
DS_IG = "/api/ds-prototypes/image_generation"
TIMEOUT = 10


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


@dataclass
class Neuroflash:
    sandbox: SandboxHandle
    http: requests.Session
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "x-workspace-id": self.sandbox.workspace_id,
        }

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = path if path.startswith("http") else f"{self.sandbox.url}{path}"
        return self.http.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def generate(self, prefix: str = DS_IG, **body: Any) -> dict[str, Any]:
        response = self.post(f"{prefix}/", json={"prompt": "a lighthouse at dawn", **body})
        assert response.status_code == 200, response.text
        return response.json()

    def history(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get(f"{DS}/history", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        return body if isinstance(body, list) else body["items"]

    def quota(self) -> dict[str, Any]:
        path = f"/api/usage-service/v1/workspaces/{self.sandbox.workspace_id}/quotas"
        response = self.get(path, params={"usageTypeKey": "images"})
        assert response.status_code == 200, response.text
        return response.json()["data"][0]


@pytest.fixture
def nf(sandbox: SandboxHandle, http: requests.Session) -> Neuroflash:
    return Neuroflash(sandbox, http, sandbox.access_token())


@dataclass
class NanoGPT:
    sandbox: SandboxHandle
    http: requests.Session

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.sandbox.api_key}"}

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(f"{self.sandbox.url}{path}", timeout=TIMEOUT, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", self.headers)
        return self.http.post(f"{self.sandbox.url}{path}", timeout=TIMEOUT, **kwargs)

    def generate(self, **body: Any) -> dict[str, Any]:
        response = self.post("/v1/images/generations", json={"prompt": "a fox", **body})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def ng(sandbox: SandboxHandle, http: requests.Session) -> NanoGPT:
    return NanoGPT(sandbox, http)
