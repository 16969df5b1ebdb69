"""The JSON API under /api/: its OpenAPI description at /api/openapi.json, read at /api/docs.

Requests act as a personal token's owner in the token's workspace (api.auth). Nothing here
decides what a job may be: a submit binds the generate page's own form (gallery.forms) and
calls the same `job_submit`, so the validation, idempotency, rate limits, quota and budgets are
the form's, and the job is an ordinary one (gallery, review, audit, the author's budget).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from ninja import Header, NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from pydantic import Field

from accounts.models import Membership, Role, User
from accounts.selectors import credential_for_workspace
from api.auth import BearerToken, access_of, membership_with
from api.schemas import (
    ErrorOut,
    ImageListOut,
    ImageOut,
    JobIn,
    JobOut,
    ModelOut,
    PersonOut,
    TokenOut,
)
from gallery import selectors
from gallery.access import get_image, get_job
from gallery.filters import GalleryFilter
from gallery.forms import OPTION_FIELDS, EditForm, JobForm
from gallery.models import CatalogModel, Image, Job, JobKind
from gallery.services import jobs
from gallery.views.images import serve_file

DESCRIPTION = """\
Darkroom's JSON API. Every request carries a personal API token, made on the API tokens page
(your name → API tokens): `Authorization: Bearer drk_…`. A token acts as you in one workspace,
with its role or yours, whichever is lower.

Submitting a job checks exactly what the Generate page checks, and the job is an ordinary one:
it appears in the gallery under your name and counts against your budget. Send an
`Idempotency-Key` header to make a retried submit return the same job instead of a second one.

Errors are JSON: `{"message": …}`, with `errors` (field → messages) for a request that is not
valid (400), and `reason` (busy, rate, quota, budget) when a submit is refused (409, 429 with
`Retry-After` when the wait is known).
"""

api = NinjaAPI(
    title="Darkroom API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=BearerToken(),
    # Without deep links Swagger UI nests no link inside its operation buttons and draws no
    # 19 px links in the headings (axe: nested-interactive, target-size).
    docs=Swagger(settings={"deepLinking": False}),
)

ERRORS: dict[int | str, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
REFUSAL_STATUS = {
    jobs.Refusal.BUSY: 429,
    jobs.Refusal.RATE: 429,
    jobs.Refusal.QUOTA: 409,
    jobs.Refusal.BUDGET: 409,
}


# --- Errors: always {"message": …} ------------------------------------------------------------


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("The request is not valid.")
        self.errors = errors


def _messages(form: forms.Form) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}


def _error(request: HttpRequest, status: int, message: str, **extra: object) -> HttpResponse:
    body = {"message": message, **{k: v for k, v in extra.items() if v is not None}}
    return api.create_response(request, body, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, exc.message)
    response["WWW-Authenticate"] = 'Bearer realm="darkroom"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, exc.message)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, str(exc) or "This token may not do that.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, str(exc) or "Not found.")


@api.exception_handler(ValidationError)
def _invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Ninja's own checks (JSON shape, types, unknown fields) answered like the form's."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        names = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
        name = names[-1] if names and names[-1] != "payload" else "__all__"
        errors.setdefault(name, []).append(str(error.get("msg", "Not valid.")))
    return _error(request, 400, "The request is not valid.", errors=errors)


@api.exception_handler(FormInvalid)
def _form_invalid(request: HttpRequest, exc: FormInvalid) -> HttpResponse:
    return _error(request, 400, str(exc), errors=exc.errors)


@api.exception_handler(jobs.SubmitRefused)
def _refused(request: HttpRequest, exc: jobs.SubmitRefused) -> HttpResponse:
    lacking = None if exc.lacking is None else f"{exc.lacking.normalize():f}"
    status = REFUSAL_STATUS.get(exc.reason, 409)
    response = _error(request, status, str(exc), reason=exc.reason, lacking=lacking)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


# --- Output -----------------------------------------------------------------------------------


def _person(user: User | None) -> PersonOut | None:
    return None if user is None else PersonOut(id=user.pk, name=user.display_name)


def _image_out(request: HttpRequest, image: Image, author: PersonOut | None, slug: str) -> ImageOut:
    return ImageOut(
        id=image.pk,
        job_id=image.job_id,
        parent_id=image.parent_id,
        prompt=image.prompt,
        model=image.model_id,
        author=author,
        source=image.source,
        review_state=image.review_state,
        width=image.width,
        height=image.height,
        format=image.format,
        bytes=image.bytes,
        checksum=image.checksum,
        created_at=image.created_at,
        original_url=request.build_absolute_uri(reverse("api:image_original", args=[image.pk])),
        page_url=request.build_absolute_uri(reverse("gallery:image_detail", args=[slug, image.pk])),
    )


def _job_out(request: HttpRequest, job: Job, slug: str) -> JobOut:
    author = _person(job.author)
    return JobOut(
        id=job.pk,
        kind=job.kind,
        state=job.state,
        finished=not job.is_active,
        prompt=job.prompt,
        model=job.model_id,
        params=job.params,
        source_image_id=job.parent_image_id,
        author=author,
        queue_position=getattr(job, "queue_position", None),
        note=job.status_note,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        images=[
            _image_out(request, image, author, slug) for image in getattr(job, "visible_images", [])
        ],
    )


def _model_out(model: CatalogModel) -> ModelOut:
    return ModelOut(
        id=model.provider_model_id,
        name=model.name,
        group=model.group,
        allowed=model.allowed,
        can_generate=model.can_generate,
        can_edit=model.can_edit,
        max_images=model.max_images,
        fixed_image_count=model.fixed_image_count,
        aspect_ratios=list(model.aspect_ratios),
        sizes=list(model.sizes),
        default_size=model.default_size,
        output_formats=list(model.output_formats),
    )


# --- Endpoints --------------------------------------------------------------------------------


@api.get(
    "/token",
    response={200: TokenOut, 401: ErrorOut},
    tags=["token"],
    summary="Who the token acts as",
)
def token_info(request: HttpRequest) -> TokenOut:
    """Which workspace the token is for, and what it may do now."""
    membership = access_of(request).membership
    return TokenOut(
        workspace=membership.workspace.slug,
        workspace_name=membership.workspace.name,
        user=membership.user.email,
        role=membership.role,
    )


@api.get(
    "/models", response={200: list[ModelOut], **ERRORS}, tags=["models"], summary="List models"
)
def model_list(request: HttpRequest, kind: JobKind = JobKind.TEXT2IMAGE) -> list[ModelOut]:
    """The workspace's models for generating (or, with `kind=edit`, for editing), as the
    Generate page offers them; `allowed: false` ones are listed but refused."""
    membership = membership_with(request)
    return [_model_out(m) for m in selectors.catalog_for(workspace=membership.workspace, kind=kind)]


def _bound_form(membership: Membership, payload: JobIn, key: str, parent: Image | None) -> JobForm:
    """The generate (or edit) form, bound as the page would send it. Options left out take the
    form's defaults for the model, as the page shows them."""
    kind = JobKind.EDIT if parent else JobKind.TEXT2IMAGE
    form_class = EditForm if parent else JobForm
    data: dict[str, Any] = {
        "prompt": payload.prompt,
        "model": payload.model,
        "idempotency_key": key,
    }
    workspace = membership.workspace
    form = form_class(
        data,
        models=selectors.catalog_for(workspace=workspace, kind=kind),
        credential=credential_for_workspace(workspace=workspace),
    )
    options = {name: getattr(payload, name) for name in OPTION_FIELDS}
    for name in OPTION_FIELDS:
        field = form.fields.get(name)
        if field is not None:
            data[name] = options[name] if options[name] is not None else field.initial
    errors = {
        "Idempotency-Key" if name == "idempotency_key" else name: messages
        for name, messages in _messages(form).items()
    }
    for name, value in options.items():
        if value is not None and name not in form.fields and form.selected is not None:
            errors[name] = [f"{form.selected.name} has no {name} option."]
    if errors:
        raise FormInvalid(errors)
    return form


@api.post(
    "/jobs",
    response={200: JobOut, 201: JobOut, 409: ErrorOut, 429: ErrorOut, **ERRORS},
    tags=["jobs"],
    summary="Submit a generate or edit job",
)
def job_create(
    request: HttpRequest,
    payload: JobIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        description="Up to 64 characters. The same key again returns the job it made (200).",
    ),
) -> Status:
    """Queue a generate job, or an edit of `source_image_id`: the Generate page's checks, then
    the same queue. 201 with the new job; 200 with the job an `Idempotency-Key` already made."""
    membership = membership_with(request, Role.MEMBER)
    parent = get_image(membership, payload.source_image_id) if payload.source_image_id else None
    form = _bound_form(membership, payload, idempotency_key or uuid.uuid4().hex, parent)
    started = timezone.now()
    job = jobs.job_submit(
        workspace=membership.workspace,
        author=membership.user,
        request=form.job_request(parent_image=parent),
        idempotency_key=form.cleaned_data["idempotency_key"],
    )
    shown = selectors.job_for_card(job_id=job.pk)
    out = _job_out(request, shown, membership.workspace.slug)
    return Status(201 if job.created_at >= started else 200, out)


@api.get("/jobs/{job_id}", response={200: JobOut, **ERRORS}, tags=["jobs"], summary="A job's state")
def job_detail(request: HttpRequest, job_id: int) -> JobOut:
    """A job of the workspace: its state, and its images once it has some. Poll this until
    `finished` is true."""
    membership = membership_with(request)
    job = selectors.job_for_card(job_id=get_job(membership, job_id).pk)
    return _job_out(request, job, membership.workspace.slug)


class ImageQuery(Schema):
    """The gallery's filters (the same names as its query string), a cursor and a page size."""

    q: str | None = Field(None, description="Search the prompts")
    model: str | None = None
    author: str | None = Field(None, description='A member\'s user id, or "me"')
    provider: str | None = None
    since: str | None = Field(None, description="YYYY-MM-DD")
    until: str | None = Field(None, description="YYYY-MM-DD")
    review: str | None = Field(None, description="unreviewed, approved, changes or rejected")
    favourites: bool | None = Field(None, description="Only your favourites")
    collection: int | None = None
    source: str | None = Field(None, description="job or history")
    edited: str | None = Field(None, description="edited or original")
    sort: str | None = Field(None, description="newest (the default) or oldest")
    cursor: str | None = Field(None, description="next_cursor of the page before")
    limit: int = Field(50, ge=1, le=100)


@api.get("/images", response={200: ImageListOut, **ERRORS}, tags=["images"], summary="List images")
def image_list(request: HttpRequest, query: Query[ImageQuery]) -> ImageListOut:
    """The gallery's images, newest first, a page at a time (keyset: stable while new images
    arrive). Filters as the gallery's filter bar."""
    membership = membership_with(request)
    image_filter, form = GalleryFilter.from_query(request.GET)
    if form.errors:
        raise FormInvalid(_messages(form))
    page = selectors.image_page(
        workspace=membership.workspace,
        user=membership.user,
        image_filter=image_filter,
        cursor=query.cursor,
        size=query.limit,
    )
    slug = membership.workspace.slug
    items = [
        _image_out(
            request,
            image,
            PersonOut(id=image.author_id, name=image.author_name)  # type: ignore[attr-defined]
            if image.author_id
            else None,
            slug,
        )
        for image in page.images
    ]
    return ImageListOut(items=items, next_cursor=page.next_cursor)


@api.get(
    "/images/{image_id}/original",
    response={**ERRORS},
    tags=["images"],
    url_name="image_original",
    summary="Download an original",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The original file, as an attachment",
                "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            "302": {"description": "With media in object storage: a short-lived signed URL"},
        }
    },
)
def image_original(request: HttpRequest, image_id: int) -> HttpResponseBase:
    """Download an image's original file, as the gallery's Download does."""
    image = get_image(membership_with(request), image_id)
    return serve_file(image.file, download_name=f"darkroom-{image.pk}.{image.format or 'png'}")
