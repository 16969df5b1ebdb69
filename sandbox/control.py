"""`/_control/*`: how tests and operators steer the sandbox. Never counted, never faulted."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sandbox import ds_prototypes
from sandbox.catalog import ALL_RATIOS, DEFAULT_NEUROFLASH_MODEL, neuroflash_model
from sandbox.imaging import size_for_aspect_ratio
from sandbox.neuroflash import quota_entry
from sandbox.store import ImageRow, iso, utc_now
from sandbox.web import ApiError, BodyError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from sandbox.app import App

MAX_SEED = 100_000
SEED_USER_ID = 4242
_SUBJECTS = ("lighthouse", "fox", "city skyline", "bowl of ramen", "mountain lake", "robot")
_STYLES = ("at dawn", "in watercolour", "as a poster", "in neon light", "on film", "isometric")


def _bad(message: str) -> ApiError:
    return ApiError(json_response({"error": message}, 400))


def _body(req: Request, *, optional: bool = False) -> dict[str, Any]:
    if optional and not req.body.strip():
        return {}
    try:
        return req.json_object()
    except BodyError as exc:
        raise _bad(str(exc)) from None


def _reject_unknown(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise _bad(
            f"unknown keys: {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}"
        )


def _int(data: dict[str, Any], key: str, low: int = 0, high: int = 10**9) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"{key} must be an integer between {low} and {high}")
    return value


def _workspace(app: App, data: dict[str, Any], req: Request) -> str:
    workspace_id = data.get("workspace_id") or req.arg("workspace_id") or app.settings.workspace_id
    if not isinstance(workspace_id, str):
        raise _bad(f"unknown workspace {workspace_id!r}")
    if app.is_demo_account(workspace_id):
        return app.workspaces_of(workspace_id)[0]  # a demo account's workspace has its id
    if workspace_id not in app.settings.workspace_ids:
        raise _bad(f"unknown workspace {workspace_id!r}")
    return workspace_id


def health(app: App, req: Request) -> Response:
    return json_response({"ok": True, "url": app.public_url})


def reset(app: App, req: Request) -> Response:
    data = _body(req, optional=True)
    _reject_unknown(data, {"revoke_tokens"})
    app.reset(revoke_tokens=bool(data.get("revoke_tokens", False)))
    return json_response({"ok": True})


def get_faults(app: App, req: Request) -> Response:
    return json_response({"faults": app.faults.describe()})


def add_faults(app: App, req: Request) -> Response:
    """Body: one fault object, or a list of them; rules are checked in the order added."""
    try:
        payload = json.loads(req.body or b"null")
        return json_response({"faults": app.faults.add(payload)})
    except ValueError as exc:  # JSONDecodeError is a ValueError too
        raise _bad(str(exc)) from None


def clear_faults(app: App, req: Request) -> Response:
    app.faults.clear()
    return json_response({"faults": []})


def counters(app: App, req: Request) -> Response:
    return json_response(app.counters.snapshot())


def clear_counters(app: App, req: Request) -> Response:
    app.counters.clear()
    return json_response(app.counters.snapshot())


def seed_history(app: App, req: Request) -> Response:
    """Insert `count` past generations without rendering: images render on first view."""
    data = _body(req)
    _reject_unknown(data, {"count", "model", "workspace_id", "prompt"})
    if "count" not in data:
        raise _bad("count is required")
    count = _int(data, "count", 1, MAX_SEED)
    workspace_id = _workspace(app, data, req)
    model_id = str(data.get("model") or DEFAULT_NEUROFLASH_MODEL)
    model = neuroflash_model(model_id)
    ratios = model.aspect_ratios if model else ALL_RATIOS
    formats = model.output_formats if model else ("png",)
    prefix = str(data.get("prompt") or "Seeded")
    now = utc_now()
    rows, batch_id = [], ""
    for i in range(count):
        if i % 4 == 0:
            batch_id = str(uuid.uuid4())
        ratio, fmt = ratios[i % len(ratios)], formats[i % len(formats)]
        width, height = size_for_aspect_ratio(ratio)
        subject, style = _SUBJECTS[i % len(_SUBJECTS)], _STYLES[(i // 6) % len(_STYLES)]
        parameters = {"aspect_ratio": ratio, "output_format": fmt, "num_images": 1, "seed": i}
        rows.append(
            ImageRow(
                str(uuid.uuid4()), batch_id, workspace_id, SEED_USER_ID,
                f"{prefix} #{i + 1}: {subject} {style}", model_id, parameters, [], width, height,
                fmt, i, iso(now - timedelta(minutes=count - i)),
            )
        )  # fmt: skip
    app.store.insert_images(rows)
    return json_response(
        {
            "inserted": count,
            "workspace_id": workspace_id,
            "model": model_id,
            "total": app.store.count_images(workspace_id),
        }
    )


QUOTA_KEYS = {"limit_monthly", "limit_daily", "used_monthly", "used_daily", "bonus", "spillover"}


def _quota_view(app: App, workspace_id: str) -> dict[str, Any]:
    quota = app.store.quota(workspace_id)
    assert quota is not None
    return {"quota": quota_entry(quota), "balance": f"{app.store.balance():.8f}"}


def get_quota(app: App, req: Request) -> Response:
    return json_response(_quota_view(app, _workspace(app, {}, req)))


def set_quota(app: App, req: Request) -> Response:
    data = _body(req)
    extra = {"fair_use_limit_reached", "daily_refreshed", "balance", "workspace_id"}
    _reject_unknown(data, QUOTA_KEYS | extra)
    workspace_id = _workspace(app, data, req)
    changes: dict[str, Any] = {key: _int(data, key) for key in QUOTA_KEYS & set(data)}
    if "fair_use_limit_reached" in data:
        if not isinstance(data["fair_use_limit_reached"], bool):
            raise _bad("fair_use_limit_reached must be true or false")
        changes["fair_use"] = data["fair_use_limit_reached"]
    if "daily_refreshed" in data:
        # Setting an earlier date makes the next read roll the daily use over, as at midnight.
        try:
            changes["daily_refreshed"] = date.fromisoformat(
                str(data["daily_refreshed"])
            ).isoformat()
        except ValueError:
            raise _bad("daily_refreshed must be a YYYY-MM-DD date") from None
    if "balance" in data:
        try:
            balance = Decimal(str(data["balance"]))
        except InvalidOperation:
            raise _bad("balance must be a decimal number") from None
        app.store.set_balance(balance)
    if changes:
        app.store.update_quota(workspace_id, **changes)
    return json_response(_quota_view(app, workspace_id))


def _config_view(app: App) -> dict[str, Any]:
    c = app.config
    return {
        "history_shape": c.history_shape,
        "token_ttl": c.token_ttl,
        "url_ttl": c.url_ttl,
        "quota_status": c.quota_status,
        "force_b64": c.force_b64,
        "storage_url": c.storage_url,
        "ds_layout": c.ds_layout,
    }


def get_config(app: App, req: Request) -> Response:
    return json_response(_config_view(app))


def set_config(app: App, req: Request) -> Response:
    data = _body(req)
    _reject_unknown(data, set(_config_view(app)))
    changes: dict[str, Any] = {}
    if "history_shape" in data:
        if data["history_shape"] not in ("list", "items"):
            raise _bad("history_shape must be 'list' or 'items'")
        changes["history_shape"] = data["history_shape"]
    for key in ("token_ttl", "url_ttl"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise _bad(f"{key} must be a positive number of seconds")
            changes[key] = float(value)
    if "quota_status" in data:
        if data["quota_status"] not in (403, 429):
            raise _bad("quota_status must be 403 or 429")
        changes["quota_status"] = data["quota_status"]
    if "force_b64" in data:
        if not isinstance(data["force_b64"], bool):
            raise _bad("force_b64 must be true or false")
        changes["force_b64"] = data["force_b64"]
    if "storage_url" in data:
        url = data["storage_url"]
        if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
            raise _bad("storage_url must be an http(s) URL, or empty for this server")
        changes["storage_url"] = url.rstrip("/")
    if "ds_layout" in data:
        if data["ds_layout"] not in ds_prototypes.LAYOUTS:
            raise _bad(f"ds_layout must be one of {', '.join(ds_prototypes.LAYOUTS)}")
        changes["ds_layout"] = data["ds_layout"]
    app.configure(**changes)
    return json_response(_config_view(app))


def register(router: Router) -> None:
    routes = [
        ("GET", "health", health),
        ("POST", "reset", reset),
        ("GET", "faults", get_faults),
        ("POST", "faults", add_faults),
        ("DELETE", "faults", clear_faults),
        ("GET", "counters", counters),
        ("DELETE", "counters", clear_counters),
        ("POST", "seed-history", seed_history),
        ("GET", "quota", get_quota),
        ("POST", "quota", set_quota),
        ("GET", "config", get_config),
        ("POST", "config", set_config),
    ]
    for method, name, handler in routes:
        router.add(method, f"/_control/{name}", f"control.{name}", handler, control=True)
