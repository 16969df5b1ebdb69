"""Old workspace addresses redirect to the new ones; the user's language is switched on."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from accounts.access import WorkspaceMoved
from accounts.services import user_remember_workspace


class WorkspaceMovedMiddleware:
    """Turns `WorkspaceMoved` (raised by `get_membership`) into a redirect to the same path and
    query under the workspace's new slug.

    Temporary (302/307), not permanent: an admin may rename it again, or back. A POST is sent
    on with 307, so a form posted from a page opened before the rename is not lost.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, WorkspaceMoved):
            return None
        old, new = f"/w/{exception.old_slug}/", f"/w/{exception.new_slug}/"
        path = request.get_full_path()
        if old not in path:
            return None
        response = HttpResponseRedirect(path.replace(old, new, 1))
        if request.method not in ("GET", "HEAD"):
            response.status_code = 307
        return response


class UserLanguageMiddleware(LocaleMiddleware):
    """The language a signed-in user chose in the account menu (User.language) beats the
    browser's Accept-Language; without a choice, Django's LocaleMiddleware decides (a cookie
    is never set: the choice lives on the user, so it follows them to any browser)."""

    def process_request(self, request: HttpRequest) -> None:
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None else ""
        if chosen and chosen in dict(settings.LANGUAGES):
            translation.activate(chosen)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)


class LastWorkspaceMiddleware:
    """Remembers the workspace of the page a person opened last (`User.last_workspace`): "/"
    reopens it, and the pages of no workspace (Users, Operations…) keep its header.

    Any page of it counts (Generate, Settings…), not only its gallery. Only a whole page that
    loaded (GET, 200, not an htmx partial): a tab left polling one workspace's job cards does
    not take the place of the page opened since in another tab. The write happens only when
    the workspace changes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        membership = getattr(request, "membership", None)  # set by get_membership
        if (
            membership is not None
            and request.method == "GET"
            and response.status_code == 200
            and not getattr(request, "htmx", False)
        ):
            user_remember_workspace(user=request.user, workspace=membership.workspace)  # type: ignore[arg-type]
        return response
