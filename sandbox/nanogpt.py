"""NanoGPT: model discovery, the OpenAI-compatible generation route, balance, signed files."""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import math
import random
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from PIL import Image, UnidentifiedImageError

from sandbox import imaging
from sandbox.catalog import DEFAULT_NANO_MODEL, NANO_MODELS, NanoModel, nano_model
from sandbox.web import ApiError, BodyError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from sandbox.app import App

MAX_DATA_URL = 4 * 1024 * 1024
DATA_URL = re.compile(r"^data:image/(png|jpe?g|webp|gif);base64,(.*)$", re.DOTALL)
USD_PER_NANO = Decimal("0.9")


def ng_error(
    status: int,
    message: str,
    type_: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    """OpenAI-style error, the shape most `/api/v1/*` routes use (NG-ERR)."""
    error: dict[str, Any] = {"message": message, "type": type_}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return ApiError(json_response({"error": error}, status, headers))


def _invalid(message: str, code: str, param: str | None = None) -> ApiError:
    return ng_error(400, message, "invalid_request_error", code, param)


def _api_key(req: Request) -> str | None:
    return req.bearer_token() or req.header("x-api-key")


def _key_is_valid(app: App, key: str) -> bool:
    return hmac.compare_digest(key.encode(), app.settings.api_key.encode())


def require_key(app: App, req: Request) -> None:
    key = _api_key(req)
    if not key:
        raise ng_error(
            401,
            "Missing API key: send Authorization: Bearer <key> or x-api-key",
            "authentication_error",
            "missing_api_key",
        )
    if not _key_is_valid(app, key):
        raise ng_error(401, "Invalid API key", "authentication_error", "invalid_api_key")


# -- discovery ------------------------------------------------------------------------------------


def _list(data: list[dict[str, Any]]) -> dict[str, Any]:
    generated_at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return {
        "object": "list",
        "data": data,
        "meta": {"count": len(data), "generated_at": generated_at},
    }


def models(app: App, req: Request) -> Response:
    return json_response(_list([model.discovery() for model in NANO_MODELS]))


def image_models(app: App, req: Request) -> Response:
    raw = (req.arg("detailed") or "true").lower()
    if raw not in ("true", "false", "1", "0"):
        raise _invalid("detailed must be true or false", "invalid_parameter", "detailed")
    detailed = raw in ("true", "1")
    return json_response(_list([model.legacy(detailed=detailed) for model in NANO_MODELS]))


def model_endpoints(app: App, req: Request) -> Response:
    model = nano_model(req.params["model_id"])
    if model is None:
        raise ng_error(
            404, f"Model {req.params['model_id']!r} not found", "not_found_error", "model_not_found"
        )
    return json_response(model.endpoints())


# -- generation -----------------------------------------------------------------------------------


def _source_image(body: dict[str, Any], model: NanoModel) -> bytes | None:
    urls = body.get("imageDataUrls")
    if urls is None and body.get("imageDataUrl") is not None:
        urls = [body["imageDataUrl"]]
    if urls is None:
        return None
    if not model.image_to_image:
        raise _invalid(f"{model.id} does not accept input images", "image_input_not_supported")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise _invalid("imageDataUrls must be a list of data URLs", "invalid_image_data_url")
    images = []
    for url in urls:
        if len(url) > MAX_DATA_URL:
            raise ng_error(
                413, "Input image exceeds 4 MB", "invalid_request_error", "image_input_too_large"
            )
        found = DATA_URL.match(url)
        if not found:
            # Plain remote URLs are refused on this route; only base64 data URLs are accepted.
            raise _invalid("input images must be base64 data URLs", "invalid_image_data_url")
        try:
            data = base64.b64decode(found[2], validate=True)
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except (binascii.Error, UnidentifiedImageError, OSError):
            raise _invalid(
                "the data URL does not hold a readable image", "invalid_image_data_url"
            ) from None
        images.append(data)
    return images[0]


def _int_field(body: dict[str, Any], key: str, default: int | None) -> int | None:
    value = body.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _invalid(f"{key} must be an integer", f"invalid_{key}", key)
    return value


@dataclass
class NanoJob:
    model: NanoModel
    prompt: str
    count: int
    size: str
    response_format: str
    output_format: str
    seed: int
    source: bytes | None


def _parse(body: dict[str, Any]) -> NanoJob:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _invalid("prompt is required", "missing_prompt", "prompt")
    model_id = body.get("model", DEFAULT_NANO_MODEL)
    model = nano_model(model_id) if isinstance(model_id, str) else None
    if model is None:
        raise _invalid(f"Model {model_id!r} not found", "model_not_found", "model")
    n = _int_field(body, "n", 1)
    assert n is not None
    if not 1 <= n <= model.max_images:
        raise _invalid(
            f"n must be between 1 and {model.max_images} for {model.id}", "invalid_n", "n"
        )
    count = model.fixed_image_count or n
    size = body.get("size") or model.resolutions[0]
    if size not in model.prices:
        supported = ", ".join(model.resolutions)
        raise _invalid(
            f"size {size!r} is not supported by {model.id}: {supported}", "invalid_size", "size"
        )
    response_format = body.get("response_format", "b64_json")
    if response_format not in ("b64_json", "url"):
        raise _invalid(
            "response_format must be url or b64_json", "invalid_response_format", "response_format"
        )
    output_format = body.get("output_format", "png")
    if output_format not in imaging.FORMATS:
        raise _invalid(
            "output_format must be png, jpeg or webp", "invalid_output_format", "output_format"
        )
    seed = _int_field(body, "seed", None)
    if seed is None:
        seed = random.randrange(2**31)
    source = _source_image(body, model)
    return NanoJob(model, prompt, count, size, response_format, output_format, seed, source)


def _signed_url(app: App, file_name: str) -> str:
    expires = math.ceil(time.time() + app.config.url_ttl)
    query = urlencode({"expires": expires, "sig": app.sign(f"{file_name}:{expires}")})
    return app.absolute(f"/files/{file_name}?{query}")


def generate(app: App, req: Request) -> Response:
    require_key(app, req)
    try:
        body = req.json_object()
    except BodyError as exc:
        raise _invalid(str(exc), "invalid_json") from None
    job = _parse(body)

    cost = job.model.prices[job.size] * job.count
    insufficient = {"error": "Insufficient balance", "requiredBalance": float(cost), "status": 402}
    # The legacy simple error shape is what NG-ERR shows for a 402, so the sandbox uses it too.
    if app.faults.take_quota_exhausted(req):
        raise ApiError(json_response(insufficient, 402))
    remaining = app.store.charge_balance(cost)
    if remaining is None:
        raise ApiError(json_response(insufficient, 402))
    app.counters.charge("nanogpt", job.count)

    width, height = imaging.parse_resolution(job.size)
    fmt = job.output_format
    data = []
    for i in range(job.count):
        picture = imaging.render(job.prompt, job.seed + i, width, height, fmt, source=job.source)
        # The real route falls back to b64_json when presigning fails; force_b64 mimics that.
        if job.response_format == "url" and not app.config.force_b64:
            file_id = app.store.put_file(imaging.content_type(fmt), picture)
            data.append({"url": _signed_url(app, f"{file_id}.{fmt}")})
        else:
            data.append({"b64_json": base64.b64encode(picture).decode()})
    return json_response(
        {
            "created": int(time.time()),
            "data": data,
            "cost": float(cost),
            "paymentSource": "USD",
            "remainingBalance": float(remaining),
        }
    )


def file(app: App, req: Request) -> Response:
    """Signed, expiring download URLs, in the spirit of the real presigned storage links."""
    file_name = f"{req.params['file_id']}.{req.params['ext']}"
    expires, sig = req.arg("expires") or "", req.arg("sig") or ""
    if not expires.isdigit() or not app.signature_matches(f"{file_name}:{expires}", sig):
        return json_response({"error": "AccessDenied", "message": "invalid signature"}, 403)
    if int(expires) < time.time():
        return json_response({"error": "AccessDenied", "message": "Request has expired"}, 403)
    stored = app.store.get_file(req.params["file_id"])
    if stored is None:
        return json_response({"error": "NoSuchKey", "message": "file not found"}, 404)
    content_type, content = stored
    return Response(200, content, content_type)


# -- balance --------------------------------------------------------------------------------------


def check_balance(app: App, req: Request) -> Response:
    key = _api_key(req)
    # The `/api/*` legacy routes answer errors in the simple shape (NG-ERR).
    if not key:
        raise ApiError(json_response({"error": "Missing API key", "status": 401}, 401))
    if not _key_is_valid(app, key):
        raise ApiError(json_response({"error": "Invalid API key", "status": 401}, 401))
    balance = app.store.balance()
    return json_response(
        {
            "usd_balance": f"{balance:.8f}",
            "nano_balance": f"{balance / USD_PER_NANO:.8f}",
            "nanoDepositAddress": "nano_1sandbox000000000000000000000000000000000000000000000000",
        }
    )


def register(router: Router) -> None:
    router.add("GET", "/api/v1/images/models", "ng.models", models)
    router.add("GET", "/api/v1/image-models", "ng.image_models", image_models)
    # Model ids carry slashes (`openai/gpt-image-1`), raw or percent-encoded: match greedily.
    router.add(
        "GET",
        "/api/v1/images/models/(?P<model_id>.+)/endpoints",
        "ng.model_endpoints",
        model_endpoints,
    )
    router.add("POST", "/v1/images/generations", "ng.generate", generate)
    router.add("POST", "/api/v1/images/generations", "ng.generate", generate)
    router.add("POST", "/api/check-balance", "ng.check_balance", check_balance)
    router.add("GET", r"/files/(?P<file_id>[0-9a-f]{32})\.(?P<ext>[a-z]+)", "ng.file", file)
