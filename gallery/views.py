from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import get_membership
from accounts.services import user_remember_workspace


@login_required
@require_GET
def home(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    user_remember_workspace(user=request.user, workspace=membership.workspace)
    return render(
        request, "gallery/home.html", {"membership": membership, "workspace": membership.workspace}
    )
