"""Collections: the list with create, rename and delete; putting one image in and out."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, Role
from gallery import selectors
from gallery.access import get_collection, get_image
from gallery.models import Collection, Image
from gallery.review_forms import CollectionForm, ImageCollectionForm
from gallery.services import collections

PAGE = "gallery/collections.html"


def _page_context(
    membership: Membership,
    *,
    create_form: CollectionForm | None = None,
    renaming: Collection | None = None,
    rename_form: CollectionForm | None = None,
) -> dict[str, object]:
    return {
        "collections": selectors.collection_list(workspace=membership.workspace),
        "create_form": create_form or CollectionForm(),
        "renaming": renaming,
        "rename_form": rename_form,
    }


def _panel_or_page(
    request: WorkspaceRequest,
    membership: Membership,
    *,
    failed: bool = False,
    create_form: CollectionForm | None = None,
    renaming: Collection | None = None,
    rename_form: CollectionForm | None = None,
) -> HttpResponse:
    """The panel for htmx (200 even with errors: htmx 2 does not swap a 4xx), else the page."""
    context = _page_context(
        membership, create_form=create_form, renaming=renaming, rename_form=rename_form
    )
    if request.htmx:
        return render(request, f"{PAGE}#collections-panel", context)
    return render(request, PAGE, context, status=422 if failed else 200)


@login_required
@require_GET
def collection_list(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    return render(request, PAGE, _page_context(membership))


@login_required
@require_POST
def collection_create(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    form = CollectionForm(request.POST)
    if form.is_valid():
        try:
            created = collections.collection_create(
                membership=membership, name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, _("Created “%(name)s”.") % {"name": created.name})
            if request.htmx:
                return _panel_or_page(request, membership)
            return redirect("gallery:collections", slug=slug)
    return _panel_or_page(request, membership, failed=True, create_form=form)


@login_required
@require_POST
def collection_rename(request: WorkspaceRequest, slug: str, collection_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    collection = get_collection(membership, collection_id)
    old_name = collection.name
    form = CollectionForm(request.POST, prefix=f"rename-{collection.pk}")
    if form.is_valid():
        try:
            collections.collection_rename(
                collection=collection, membership=membership, name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(
                request,
                _("Renamed “%(old_name)s” to “%(name)s”.")
                % {"old_name": old_name, "name": collection.name},
            )
            if request.htmx:
                return _panel_or_page(request, membership)
            return redirect("gallery:collections", slug=slug)
    return _panel_or_page(request, membership, failed=True, renaming=collection, rename_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def collection_delete(request: WorkspaceRequest, slug: str, collection_id: int) -> HttpResponse:
    """GET asks for confirmation (the no-JavaScript path; htmx confirms in a dialog)."""
    membership = get_membership(request, slug, role=Role.MEMBER)
    collection = get_collection(membership, collection_id)
    if request.method == "GET":
        count = collection.images.visible().count()  # type: ignore[attr-defined]
        context = {"collection": collection, "count": count}
        return render(request, "gallery/collection_delete.html", context)
    collections.collection_delete(collection=collection, membership=membership)
    messages.success(
        request,
        _("Deleted the collection “%(name)s”. Its images stay.") % {"name": collection.name},
    )
    if request.htmx:
        return _panel_or_page(request, membership)
    return redirect("gallery:collections", slug=slug)


# --- One image's collections ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def image_collections(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    """The collections panel of an image's page; POST adds, removes or adds to a new one."""
    membership = get_membership(request, slug)
    image = get_image(membership, image_id)
    detail_url = reverse("gallery:image_detail", args=[slug, image.pk])
    if request.method == "GET":
        if not request.htmx:
            return redirect(detail_url)
        return render(request, "gallery/image_collections.html", {"image": image})
    form = ImageCollectionForm(request.POST)
    error = ""
    if not form.is_valid():
        error = _("Pick a collection.")
    else:
        try:
            error = _image_collection_change(request, membership, image, form.cleaned_data)
        except ValidationError as exc:
            error = exc.messages[0]
    if request.htmx:
        context = {"image": image, "collection_error": error}
        return render(request, "gallery/image_collections.html", context)
    if error:
        messages.error(request, error)
    return redirect(f"{detail_url}#collections")


def _image_collection_change(
    request: WorkspaceRequest, membership: Membership, image: Image, data: dict[str, Any]
) -> str:
    """Do what the panel asked; returns an error to show next to its field, or ""."""
    if data["action"] == "new":
        collection = collections.collection_create(membership=membership, name=data["name"])
    elif not data["collection"]:
        return _("Pick a collection.")
    else:
        collection = get_collection(membership, data["collection"])
    if data["action"] == "remove":
        collections.collection_remove(collection=collection, membership=membership, images=[image])
        messages.success(request, _("Taken out of “%(name)s”.") % {"name": collection.name})
    else:
        collections.collection_add(collection=collection, membership=membership, images=[image])
        messages.success(request, _("Added to “%(name)s”.") % {"name": collection.name})
    return ""
