"""neuroflash: the OAuth token issuer, workspaces, usage quotas and the image-service catalog.

The ds-prototypes image routes live in `ds_prototypes.py`; they reuse the error helpers here.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode

from sandbox.catalog import NEUROFLASH_MODELS
from sandbox.store import Quota
from sandbox.web import ApiError, BodyError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from sandbox.app import App

NF = "/api"
WORKSPACES = f"{NF}/workspace-service/v1/workspaces"
WORKSPACE = r"(?P<workspace_id>[^/]+)"


# -- error shapes (NF-ERR) ------------------------------------------------------------------------


def nf_error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> ApiError:
    body: dict[str, Any] = {"error": message}
    if code:
        body["code"] = code
    return ApiError(json_response(body, status, headers))


def nf_validation(errors: list[tuple[str, str]]) -> ApiError:
    return ApiError(
        json_response(
            {"errors": [{"field": f, "message": m, "type": "validation"} for f, m in errors]}, 422
        )
    )


def json_body(req: Request) -> dict[str, Any]:
    try:
        return req.json_object()
    except BodyError as exc:
        raise nf_error(400, str(exc), "INVALID_REQUEST_BODY") from None


def query_int(
    req: Request, name: str, default: int, low: int, high: int, errors: list[tuple[str, str]]
) -> int:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.append((name, f"{name} must be an integer"))
        return default
    if not low <= value <= high:
        errors.append((name, f"{name} must be between {low} and {high}"))
    return value


def require_token(app: App, req: Request) -> str:
    """The client id the bearer token was issued to; 401 without a valid one."""
    token = req.bearer_token()
    if token is None:
        raise nf_error(401, "Missing bearer token", "UNAUTHORIZED", {"WWW-Authenticate": "Bearer"})
    client_id = app.store.token_client(token)
    if client_id is None:
        raise nf_error(
            401,
            "The access token is invalid or has expired",
            "UNAUTHORIZED",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return client_id


def known_workspace(app: App, client_id: str, workspace_id: str) -> str:
    if workspace_id not in app.workspaces_of(client_id):
        raise nf_error(404, f"Workspace {workspace_id} not found", "WORKSPACE_NOT_FOUND")
    return workspace_id


def page_meta(size: int, total: int, page: int) -> dict[str, int]:
    return {
        "size": size,
        "totalElements": total,
        "totalPages": math.ceil(total / size) if total else 0,
        "currentPage": page,
    }


# -- OAuth2 client credentials (NF-AUTH) ----------------------------------------------------------


def _oauth_error(status: int, error: str, description: str, **headers: str) -> ApiError:
    body = {"error": error, "error_description": description}
    return ApiError(json_response(body, status, {"Cache-Control": "no-store", **headers}))


def _basic_credentials(req: Request) -> tuple[str, str] | None:
    scheme, _, encoded = (req.header("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _oauth_error(400, "invalid_request", "malformed Basic credentials") from None
    return unquote(client_id), unquote(secret)


def token(app: App, req: Request) -> Response:
    content_type = (req.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise _oauth_error(
            400, "invalid_request", "the body must be application/x-www-form-urlencoded"
        )
    try:
        form = req.form()
    except BodyError as exc:
        raise _oauth_error(400, "invalid_request", str(exc)) from None
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise _oauth_error(
            400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
        )

    basic = _basic_credentials(req)
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    # The configured client, or a demo account of its own (same secret; see App.is_demo_account).
    expected_id = client_id if app.is_demo_account(client_id) else app.settings.client_id
    if not (
        hmac.compare_digest(client_id.encode(), expected_id.encode())
        & hmac.compare_digest(secret.encode(), app.settings.client_secret.encode())
    ):
        extra = {"WWW-Authenticate": 'Basic realm="sandbox"'} if basic else {}
        raise _oauth_error(401, "invalid_client", "client authentication failed", **extra)
    if "openid" not in form.get("scope", "").split():
        raise _oauth_error(400, "invalid_scope", "the scope must include openid")

    ttl = app.config.token_ttl
    access_token = app.store.issue_token(client_id, ttl)
    return json_response(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": math.ceil(ttl)},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# -- workspace service (NF-WS) --------------------------------------------------------------------


def _workspace(app: App, index: int, workspace_id: str) -> dict[str, Any]:
    suffix = f" {index + 1}" if index else ""
    return {
        "id": workspace_id,
        "name": f"Sandbox Workspace{suffix}",
        "_embedded": {"avatar": None},
        "billingContact": {"email": "billing@sandbox.invalid", "country": "DE"},
        "currentSubscription": {
            "_embedded": {},
            "newPricingPlan": {"key": "business", "name": "Business", "imageGeneration": True},
            "availableWords": None,
        },
        "_links": {"self": {"href": app.absolute(f"{WORKSPACES}/{workspace_id}")}},
    }


def workspaces(app: App, req: Request) -> Response:
    client_id = require_token(app, req)
    items = [_workspace(app, i, ws) for i, ws in enumerate(app.workspaces_of(client_id))]
    return json_response(
        {
            "_embedded": {"workspaces": items},
            "_links": {"self": {"href": app.absolute(WORKSPACES)}},
        }
    )


# -- usage service (NF-QUOTAS) --------------------------------------------------------------------


def quota_entry(quota: Quota) -> dict[str, Any]:
    return {
        "id": f"quota-images-{quota.workspace_id}",
        "workspaceId": quota.workspace_id,
        "usageTypeKey": "images",
        "bonusAmount": quota.bonus,
        "spilloverAmount": quota.spillover,
        "usedAmount": quota.used_monthly,
        "usedAmountDaily": quota.used_daily,
        "dailyRefreshed": quota.daily_refreshed,
        "availableAmount": quota.available,
        "limitAmount": quota.limit_monthly,
        "limitAmountDaily": quota.limit_daily,
        "fairUseLimitReached": quota.fair_use,
    }


def _token_quota(workspace_id: str, today: str) -> dict[str, Any]:
    # Text tokens are not the sandbox's business; listed so a client has to filter by key.
    return {
        "id": f"quota-tokens-{workspace_id}",
        "workspaceId": workspace_id,
        "usageTypeKey": "tokens",
        "bonusAmount": 0,
        "spilloverAmount": 0,
        "usedAmount": 0,
        "usedAmountDaily": 0,
        "dailyRefreshed": today,
        "availableAmount": 2_000_000,
        "limitAmount": 2_000_000,
        "limitAmountDaily": 200_000,
        "fairUseLimitReached": False,
    }


def quotas(app: App, req: Request) -> Response:
    client_id = require_token(app, req)
    workspace_id = known_workspace(app, client_id, req.params["workspace_id"])
    errors: list[tuple[str, str]] = []
    page = query_int(req, "page", 1, 1, 1_000_000, errors)
    size = query_int(req, "size", 20, 1, 200, errors)
    if errors:
        raise nf_validation(errors)
    quota = app.store.quota(workspace_id)
    assert quota is not None  # every workspace a client can reach has a row (App.workspaces_of)
    entries = [quota_entry(quota), _token_quota(workspace_id, quota.daily_refreshed)]
    usage_type = req.arg("usageTypeKey")
    if usage_type:
        entries = [e for e in entries if e["usageTypeKey"] == usage_type]
    start = (page - 1) * size
    return json_response(
        {"data": entries[start : start + size], "page": page_meta(size, len(entries), page)}
    )


# -- image service catalog (NF-IMG-MODELS) --------------------------------------------------------


def image_models(app: App, req: Request) -> Response:
    client_id = require_token(app, req)
    workspace_id = known_workspace(app, client_id, req.params["workspace_id"])
    errors: list[tuple[str, str]] = []
    page = query_int(req, "page", 1, 1, 1_000_000, errors)
    size = query_int(req, "size", 50, 1, 200, errors)
    if errors:
        raise nf_validation(errors)
    models = [model.camel() for model in NEUROFLASH_MODELS]
    meta = page_meta(size, len(models), page)
    base = f"{NF}/image-service/v1/workspaces/{workspace_id}/image-models"

    def link(number: int) -> dict[str, str]:
        return {"href": app.absolute(f"{base}?{urlencode({'page': number, 'size': size})}")}

    links = {"self": link(page), "first": link(1), "last": link(max(1, meta["totalPages"]))}
    if page < meta["totalPages"]:
        links["next"] = link(page + 1)
    if 1 < page <= meta["totalPages"] + 1:
        links["prev"] = link(page - 1)
    start = (page - 1) * size
    return json_response({"page": meta, "data": models[start : start + size], "_links": links})


def register(router: Router) -> None:
    router.add("POST", "/oauth/v2/token", "nf.token", token)
    router.add("GET", WORKSPACES, "nf.workspaces", workspaces)
    router.add("GET", f"{NF}/usage-service/v1/workspaces/{WORKSPACE}/quotas", "nf.quotas", quotas)
    router.add(
        "GET",
        f"{NF}/image-service/v1/workspaces/{WORKSPACE}/image-models",
        "nf.image_models",
        image_models,
    )
