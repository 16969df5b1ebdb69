"""neuroflash's older "ds-prototypes" image routes (NF-CG-IMG, NF-GUIDE), plus the storage host.

The docs disagree on the base path (the reference puts everything under `/api/ds-prototypes`, the
guide only history, edit and delete, the older overview nothing), so by default every route answers
under both prefixes. The `ds_layout` setting serves exactly one documented layout instead; the view
route exists only in the form history hands out, in every layout.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox import generation, imaging
from sandbox.catalog import NEUROFLASH_MODELS
from sandbox.neuroflash import json_body, nf_error, nf_validation, query_int, require_token
from sandbox.store import ImageRow
from sandbox.web import ApiError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from sandbox.app import App

IMAGE_GENERATION = "/api/ds-prototypes/image_generation"
BARE = "/api/ds-prototypes"
PREFIXES = (IMAGE_GENERATION, BARE)
# Which prefix serves each route family in each documented layout ("both": either prefix).
# generation = generate and models; history = history, history/{id} (GET, DELETE) and edit.
LAYOUTS: dict[str, dict[str, tuple[str, ...]]] = {
    "both": {"generation": PREFIXES, "history": PREFIXES},
    "reference": {"generation": (BARE,), "history": (BARE,)},
    "guide": {"generation": (IMAGE_GENERATION,), "history": (BARE,)},
    "overview": {"generation": (IMAGE_GENERATION,), "history": (IMAGE_GENERATION,)},
}
DEFAULT_LAYOUT = "both"
VIEW_PATH = "/api/ds-prototypes/image_generation/{image_id}/view"
VIEW_ROUTE = r"/api/ds-prototypes/image_generation/(?P<image_id>[^/]+)/view"
VIEW_PATTERN = re.compile(f"^{VIEW_ROUTE}$")


def view_path(image_id: str) -> str:
    return VIEW_PATH.format(image_id=image_id)


def storage_path(row: ImageRow) -> str:
    return f"/storage/generated/{row.image_id}.{row.format}"


def workspace_from_header(app: App, req: Request) -> str:
    client_id = require_token(app, req)
    workspace_id = req.header("x-workspace-id")
    if not workspace_id:
        raise nf_error(400, "Missing required header: x-workspace-id", "MISSING_WORKSPACE_ID")
    if workspace_id not in app.workspaces_of(client_id):
        raise nf_error(403, f"No access to workspace {workspace_id}", "WORKSPACE_ACCESS_DENIED")
    return workspace_id


def history_entry(row: ImageRow) -> dict[str, Any]:
    return {
        "output_image_id": row.image_id,
        "batch_id": row.batch_id,
        "user_id": row.user_id,
        "workspace_id": row.workspace_id,
        "prompt": row.prompt,
        "model": row.model,
        "parameters": row.parameters,
        "input_images": row.input_images,
        "output_image_url": view_path(row.image_id),
        "output_image_width": row.width,
        "output_image_height": row.height,
        "output_image_size": row.size,
        "created_at": row.created_at,
    }


# -- generation -----------------------------------------------------------------------------------


def _sources(app: App, workspace_id: str, image_urls: list[str]) -> list[ImageRow]:
    sources = []
    for url in image_urls:
        if re.match(r"^[a-z][a-z0-9+.-]*:", url, re.IGNORECASE) or url.startswith("//"):
            # Documented quirk: the service resolves paths internally and blows up on URLs.
            raise ApiError(json_response({"detail": "Internal Server Error"}, 500))
        found = VIEW_PATTERN.match(url)
        if not found:
            raise nf_validation(
                [("image_urls", f"{url!r} is not an output_image_url from /history")]
            )
        row = app.store.get_image(found["image_id"], workspace_id=workspace_id, with_data=True)
        if row is None:
            raise nf_error(404, f"Source image {found['image_id']} not found", "IMAGE_NOT_FOUND")
        sources.append(row)
    return sources


def _generate(app: App, req: Request, *, edit: bool) -> Response:
    workspace_id = workspace_from_header(app, req)
    job = generation.parse(json_body(req), edit=edit)
    sources = _sources(app, workspace_id, job.image_urls)
    rows, detail = generation.produce(
        app, req, workspace_id, job, source=sources[0] if sources else None
    )
    images = [
        {
            "url": app.storage_absolute(storage_path(row)),
            "content_type": imaging.content_type(row.format),
            "file_name": None,
            "file_size": row.size,
            "width": row.width,
            "height": row.height,
            "image_id": row.image_id,
        }
        for row in rows
    ]
    return json_response(
        {
            "images": images,
            "description": f"{len(rows)} sandbox render(s) by {job.model.id}",
            "prompt": job.prompt,
            "detail": detail,
            "batch_id": rows[0].batch_id,
        }
    )


def text2image(app: App, req: Request) -> Response:
    return _generate(app, req, edit=False)


def image2image(app: App, req: Request) -> Response:
    return _generate(app, req, edit=True)


# -- catalog and history --------------------------------------------------------------------------


def models(app: App, req: Request) -> Response:
    workspace_from_header(app, req)
    return json_response([model.snake() for model in NEUROFLASH_MODELS])


def history(app: App, req: Request) -> Response:
    workspace_id = workspace_from_header(app, req)
    errors: list[tuple[str, str]] = []
    limit = query_int(req, "limit", 100, 1, 1000, errors)
    offset = query_int(req, "offset", 0, 0, 10**9, errors)
    if errors:
        raise nf_validation(errors)
    rows = app.store.list_images(workspace_id, model=req.arg("model"), limit=limit, offset=offset)
    entries = [history_entry(row) for row in rows]
    # The reference shows a bare list, the guide reads `["items"]`; a switch serves both.
    return json_response(entries if app.config.history_shape == "list" else {"items": entries})


def _entry_or_404(app: App, req: Request) -> tuple[str, ImageRow]:
    workspace_id = workspace_from_header(app, req)
    row = app.store.get_image(req.params["image_id"], workspace_id=workspace_id)
    if row is None:
        raise nf_error(404, f"Generation {req.params['image_id']} not found", "NOT_FOUND")
    return workspace_id, row


def history_item(app: App, req: Request) -> Response:
    _, row = _entry_or_404(app, req)
    return json_response(history_entry(row))


def delete_history_item(app: App, req: Request) -> Response:
    workspace_id, row = _entry_or_404(app, req)
    app.store.delete_image(workspace_id, row.image_id)
    return json_response({})


def view(app: App, req: Request) -> Response:
    workspace_id = workspace_from_header(app, req)
    row = app.store.get_image(req.params["image_id"], workspace_id=workspace_id, with_data=True)
    if row is None:
        raise nf_error(404, f"Image {req.params['image_id']} not found", "NOT_FOUND")
    data = generation.image_bytes(app, row)
    return Response(200, data, imaging.content_type(row.format), {"Cache-Control": "private"})


def storage(app: App, req: Request) -> Response:
    """The absolute `images[].url` host: no auth, like a storage bucket's public object URL."""
    row = app.store.get_image(req.params["image_id"], with_data=True)
    if row is None or row.format != req.params["ext"]:
        return Response(404, b"Not Found", "text/plain")
    return Response(200, generation.image_bytes(app, row), imaging.content_type(row.format))


def served_in_layout(family: str, prefix: str) -> Callable[[App], bool]:
    def enabled(app: App) -> bool:
        return prefix in LAYOUTS[app.config.ds_layout][family]

    return enabled


def register(router: Router) -> None:
    item = "/history/(?P<image_id>[^/]+)"
    for prefix in PREFIXES:
        gen, hist = served_in_layout("generation", prefix), served_in_layout("history", prefix)
        router.add("POST", f"{prefix}/?", "ds.generate", text2image, enabled=gen)
        router.add("GET", f"{prefix}/models", "ds.models", models, enabled=gen)
        router.add("POST", f"{prefix}/edit", "ds.edit", image2image, enabled=hist)
        router.add("GET", f"{prefix}/history", "ds.history", history, enabled=hist)
        router.add("GET", f"{prefix}{item}", "ds.history_item", history_item, enabled=hist)
        router.add(
            "DELETE", f"{prefix}{item}", "ds.history_item", delete_history_item, enabled=hist
        )
    router.add("GET", VIEW_ROUTE, "ds.view", view)
    router.add(
        "GET", r"/storage/generated/(?P<image_id>[^/.]+)\.(?P<ext>[a-z]+)", "storage.file", storage
    )
