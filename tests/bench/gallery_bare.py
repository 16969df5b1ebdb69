"""The bare view the gallery is timed against, and the bench's URLconf (ROOT_URLCONF while the
bench measures; imported only once Django is set up)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models.expressions import RawSQL
from django.db.models.fields import BooleanField
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as darkroom
from gallery.filters import prompt_matches
from gallery.models import Image
from tests.bench.gallery_seed import PAGE

BARE = engines["django"].from_string(
    "<!doctype html><title>bare</title><ul>{% for image in images %}"
    '<li data-image="{{ image.pk }}">'
    '<img src="/media/{{ image.thumbnail.name }}" alt="{{ image.prompt }}" '
    'width="{{ image.width }}" height="{{ image.height }}">{{ image.prompt }} '
    "{{ image.created_at }}</li>{% endfor %}</ul>"
)


def bare_page(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """The same 48 rows as the gallery (same filters, same keyset), plain queryset, no login."""
    # By id, as the gallery's own query (its membership lookup has the workspace already).
    images = Image.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True)
    if request.GET.get("review"):
        images = images.filter(review_state=request.GET["review"])
    if request.GET.get("author"):
        images = images.filter(author_id=int(request.GET["author"]))
    if request.GET.get("q"):
        images = images.filter(prompt_matches(request.GET["q"]))
    if request.GET.get("after"):
        micros, _, pk = request.GET["after"].partition("-")
        created = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))
        images = images.filter(
            RawSQL(
                '("gallery_image"."created_at", "gallery_image"."id") < (%s, %s)',
                (connection.ops.adapt_datetimefield_value(created), int(pk)),
                output_field=BooleanField(),
            )
        )
    rows = list(images.order_by("-created_at", "-id")[:PAGE])
    return HttpResponse(BARE.render({"images": rows}))


urlpatterns = [
    path("bare/<int:workspace_id>/", bare_page),
    # The same, behind the login every gallery page needs: the session and the user.
    path("bare-signed-in/<int:workspace_id>/", login_required(bare_page)),
    *darkroom,
]
