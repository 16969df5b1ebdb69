"""Staff · Users: every account, deactivated and reactivated by staff."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors, services
from accounts.access import (
    SignedInRequest,
)
from accounts.forms import (
    StaffUserActiveForm,
)
from accounts.models import User


def _require_staff(request: SignedInRequest) -> None:
    # 404, as for an outsider: the page and the accounts it names are not for them to know.
    if not request.user.is_staff:
        raise Http404(_("No such page"))


@login_required
@require_GET
def staff_users(request: SignedInRequest) -> HttpResponse:
    _require_staff(request)
    search = request.GET.get("q", "")[:254]
    page = selectors.user_page_for_staff(after=request.GET.get("after", "")[:254], search=search)
    context = {
        "page": page,
        "search": search,
        "events": selectors.audit_event_list(workspace=None, limit=20),
    }
    return render(request, "accounts/staff_users.html", context)


@login_required
@require_POST
def staff_user_active(request: SignedInRequest, user_id: int) -> HttpResponse:
    _require_staff(request)
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise Http404(_("No such user"))
    form = StaffUserActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the account is active."))
    else:
        active = form.cleaned_data["active"]
        try:
            changed = services.user_set_active(user=target, actor=request.user, active=active)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            if not changed:
                messages.info(
                    request,
                    _("%(email)s was %(value)s already.")
                    % {"email": target.email, "value": "active" if active else "deactivated"},
                )
            elif active:
                messages.success(
                    request, _("%(email)s can sign in again.") % {"email": target.email}
                )
            else:
                messages.success(
                    request,
                    _("%(email)s is deactivated: signed out everywhere, and cannot sign in.")
                    % {"email": target.email},
                )
    # Back to the same page of the list.
    keep = {name: request.POST[name] for name in ("after", "q") if request.POST.get(name)}
    back = reverse("staff_users")
    return redirect(f"{back}?{urlencode(keep)}" if keep else back)
