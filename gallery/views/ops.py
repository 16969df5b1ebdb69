"""The operations page: are the workers and beat alive, and is work piling up? Staff only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gallery.ops import ops_overview


@login_required
@require_GET
def ops_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("The operations page is for staff users.")
    return render(request, "gallery/ops.html", {"ops": ops_overview()})
