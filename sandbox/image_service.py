"""neuroflash image-service v1: generation tasks and the workspace's images (NF-IMG, NF-IMG-TASKS).

The docs leave much open here (sync vs async, list envelope, delete answer, what `_links.content`
returns); the sandbox's choices are listed in `sandbox/README.md`. Images share one store with
ds-prototypes, so a picture made on either route shows up on both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox import generation, imaging
from sandbox.ds_prototypes import VIEW_PATTERN
from sandbox.neuroflash import (
    NF,
    WORKSPACE,
    json_body,
    known_workspace,
    nf_error,
    nf_validation,
    page_meta,
    query_int,
    require_token,
)
from sandbox.store import ImageRow
from sandbox.web import Request, Response, Router, json_response

if TYPE_CHECKING:
    from sandbox.app import App

BASE = f"{NF}/image-service/v1/workspaces"


def content_path(row: ImageRow) -> str:
    return f"{BASE}/{row.workspace_id}/images/{row.image_id}/content"


def image_object(row: ImageRow) -> dict[str, Any]:
    input_ids = [m["image_id"] for url in row.input_images if (m := VIEW_PATTERN.match(url))]
    return {
        "id": row.image_id,
        "generationId": row.batch_id,
        "workspaceId": row.workspace_id,
        "createdByUserId": str(row.user_id),
        "prompt": row.prompt,
        "model": row.model,
        "parameters": row.parameters,
        "inputImageIds": input_ids,
        "imageWidth": row.width,
        "imageHeight": row.height,
        "imageSize": row.size,
        "createdAt": row.created_at,
        "updatedAt": row.created_at,
        # Relative and workspace-scoped, like the docs suggest: resolve against the API host.
        "_links": {"content": content_path(row)},
    }


def _workspace(app: App, req: Request) -> str:
    return known_workspace(app, require_token(app, req), req.params["workspace_id"])


def generation_task(app: App, req: Request) -> Response:
    """Synchronous: the created images come back inline (the task reference's reading)."""
    workspace_id = _workspace(app, req)
    job = generation.parse(json_body(req), edit=False, names=generation.CAMEL)
    rows, detail = generation.produce(app, req, workspace_id, job)
    body = {
        "images": [image_object(row) for row in rows],
        "generationId": rows[0].batch_id,
        "description": f"{len(rows)} sandbox render(s) by {job.model.id}",
        "detail": {"message": detail} if detail else None,
    }
    return json_response(body, 201)


def list_images(app: App, req: Request) -> Response:
    workspace_id = _workspace(app, req)
    errors: list[tuple[str, str]] = []
    page = query_int(req, "page", 1, 1, 1_000_000, errors)
    size = query_int(req, "size", 20, 1, 200, errors)
    if errors:
        raise nf_validation(errors)
    rows = app.store.list_images(workspace_id, model=None, limit=size, offset=(page - 1) * size)
    total = app.store.count_images(workspace_id)
    return json_response(
        {"data": [image_object(row) for row in rows], "page": page_meta(size, total, page)}
    )


def _image_or_404(app: App, req: Request, *, with_data: bool = False) -> ImageRow:
    workspace_id = _workspace(app, req)
    row = app.store.get_image(
        req.params["image_id"], workspace_id=workspace_id, with_data=with_data
    )
    if row is None:
        raise nf_error(404, f"Image {req.params['image_id']} not found", "IMAGE_NOT_FOUND")
    return row


def get_image(app: App, req: Request) -> Response:
    return json_response(image_object(_image_or_404(app, req)))


def delete_image(app: App, req: Request) -> Response:
    row = _image_or_404(app, req)
    app.store.delete_image(row.workspace_id, row.image_id)
    return Response(204)


def image_content(app: App, req: Request) -> Response:
    row = _image_or_404(app, req, with_data=True)
    data = generation.image_bytes(app, row)
    return Response(200, data, imaging.content_type(row.format), {"Cache-Control": "private"})


def register(router: Router) -> None:
    images = f"{BASE}/{WORKSPACE}/images"
    one = f"{images}/(?P<image_id>[^/]+)"
    router.add(
        "POST", f"{BASE}/{WORKSPACE}/image-generation-tasks", "nf.generation_tasks", generation_task
    )
    router.add("GET", images, "nf.images", list_images)
    router.add("GET", one, "nf.image", get_image)
    router.add("DELETE", one, "nf.image", delete_image)
    router.add("GET", f"{one}/content", "nf.image_content", image_content)
