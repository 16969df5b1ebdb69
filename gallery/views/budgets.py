"""Settings · Budgets: each member's monthly budget and what they used, the workspace cap and
the default for new members (admins only). In the gallery app, not beside Members in accounts,
because what was used comes from the gallery's ledger and accounts never imports the gallery."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import WorkspaceRequest, get_membership, get_membership_in_workspace
from accounts.models import Membership, Role
from gallery import budget_figures
from gallery.access import get_budget_request
from gallery.budget_forms import (
    BudgetAdjustForm,
    BudgetRequestForm,
    MemberBudgetForm,
    WorkspaceBudgetForm,
)
from gallery.models import BudgetRequest, RequestState, WorkspaceBudget
from gallery.services import budget_requests, budgets


def _shown(amount: Decimal | None) -> str | None:
    """50, not 50.000000 (the column's scale), in the form's box."""
    return None if amount is None else f"{amount.normalize():f}"


def _unit_label(unit: str) -> str:
    """The unit budgets are counted in, as a phrase ("in images": German declines the noun)."""
    if unit == budgets.IMAGES:
        return _("in images")
    return _("in %(unit)s") % {"unit": unit}


def _context(
    membership: Membership,
    *,
    workspace_form: WorkspaceBudgetForm | None = None,
    invalid: tuple[int, MemberBudgetForm] | None = None,
    invalid_adjust: tuple[int, BudgetAdjustForm] | None = None,
) -> dict[str, Any]:
    workspace = membership.workspace
    unit = budgets.budget_unit(workspace)
    rows = budget_figures.budget_rows(workspace=workspace, unit=unit)
    forms = []
    for row in rows:
        if invalid is not None and invalid[0] == row.membership_id:
            form = invalid[1]
        else:
            initial = {"limit": _shown(row.limit), "unlimited": row.limit is None}
            form = MemberBudgetForm(initial=initial, unit=unit, prefix=f"m{row.membership_id}")
        if invalid_adjust is not None and invalid_adjust[0] == row.membership_id:
            adjust = invalid_adjust[1]
        else:
            adjust = BudgetAdjustForm(unit=unit, prefix=f"a{row.membership_id}")
        forms.append((row, form, adjust))
    if workspace_form is None:
        current = WorkspaceBudget.objects.filter(workspace=workspace).first() or WorkspaceBudget()
        workspace_form = WorkspaceBudgetForm(
            unit=unit,
            initial={
                "cap": _shown(current.cap),
                "cap_unlimited": current.cap_unlimited,
                "member_default": _shown(current.member_default),
                "member_default_unlimited": current.member_default_unlimited,
            },
        )
    pending = list(
        BudgetRequest.objects.filter(workspace=workspace, state=RequestState.PENDING)
        .select_related("member")
        .order_by("created_at", "id")
    )
    return {
        "rows": forms,
        "pending": pending,
        "unit": unit,
        "unit_label": _unit_label(unit),
        "workspace_form": workspace_form,
    }


@login_required
@require_http_methods(["GET", "POST"])
def settings_budgets(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The page; a POST sets the workspace cap and the default for members."""
    membership = get_membership(request, slug, role=Role.ADMIN)
    if request.method == "POST":
        unit = budgets.budget_unit(membership.workspace)
        current = WorkspaceBudget.objects.filter(workspace=membership.workspace).first()
        current = current or WorkspaceBudget(workspace=membership.workspace)
        form = WorkspaceBudgetForm(
            request.POST,
            unit=unit,
            current_cap=current.cap_limit,
            current_default=None if current.member_default_unlimited else current.member_default,
        )
        if form.is_valid():
            budgets.budget_set_workspace(
                workspace=membership.workspace,
                cap=form.cleaned_data["cap"],
                member_default=form.cleaned_data["member_default"],
                unit=unit,
                actor=request.user,
            )
            messages.success(request, _("Workspace budget saved."))
            return redirect("gallery:settings_budgets", slug=slug)
        context = _context(membership, workspace_form=form)
        return render(request, "gallery/settings_budgets.html", context, status=422)
    return render(request, "gallery/settings_budgets.html", _context(membership))


@login_required
@require_POST
def member_budget(request: WorkspaceRequest, slug: str, membership_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.ADMIN)
    target = get_membership_in_workspace(membership, membership_id)
    unit = budgets.budget_unit(membership.workspace)
    workspace_budget = WorkspaceBudget.objects.filter(workspace=membership.workspace).first()
    current = budgets.member_limit(
        workspace_budget=workspace_budget or WorkspaceBudget(workspace=membership.workspace),
        user=target.user,
    )
    form = MemberBudgetForm(request.POST, unit=unit, current=current, prefix=f"m{target.pk}")
    if not form.is_valid():
        context = _context(membership, invalid=(target.pk, form))
        return render(request, "gallery/settings_budgets.html", context, status=422)
    budgets.budget_set_member(
        workspace=membership.workspace,
        user=target.user,
        limit=form.cleaned_data["limit"],
        unit=unit,
        actor=request.user,
    )
    messages.success(request, _("Budget of %(email)s saved.") % {"email": target.user.email})
    return redirect("gallery:settings_budgets", slug=slug)


# --- Asking for more (members), deciding and adjusting (admins) ------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def budget_ask(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """A member's budget this month and their requests for more; a POST asks for more."""
    membership = get_membership(request, slug, role=Role.MEMBER)
    workspace = membership.workspace
    unit = budgets.budget_unit(workspace)
    if request.method == "POST":
        form = BudgetRequestForm(request.POST, unit=unit)
        if form.is_valid():
            try:
                budget_requests.budget_request_create(
                    workspace=workspace,
                    user=request.user,
                    amount=form.cleaned_data["amount"],
                    unit=unit,
                    note=form.cleaned_data["note"],
                )
            except budget_requests.RequestRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Request sent. The admins have been told."))
                return redirect("gallery:budget_ask", slug=slug)
    else:
        form = BudgetRequestForm(unit=unit, initial={"amount": request.GET.get("amount")})
    context = {
        "form": form,
        "row": budget_figures.budget_row_for(workspace=workspace, user=request.user, unit=unit),
        "my_requests": BudgetRequest.objects.filter(workspace=workspace, member=request.user)
        .select_related("decided_by")
        .order_by("-created_at", "-id")[:10],
        "unit_label": _unit_label(unit),
    }
    status = 422 if form.errors else 200
    return render(request, "gallery/budget_ask.html", context, status=status)


@login_required
@require_POST
def budget_request_decide(request: WorkspaceRequest, slug: str, request_id: int) -> HttpResponse:
    """Approve or decline a member's request in one click (`decision` = approve | decline)."""
    membership = get_membership(request, slug, role=Role.ADMIN)
    budget_request = get_budget_request(membership, request_id)
    decision = request.POST.get("decision")
    if decision not in ("approve", "decline"):
        return HttpResponseBadRequest("Approve or decline.")
    if budget_request.member_id == request.user.pk:
        raise PermissionDenied(_("Another admin decides your own request."))
    try:
        budget_requests.budget_request_decide(
            request=budget_request,
            approve=decision == "approve",
            actor=request.user,
            note=request.POST.get("note", "").strip()[:500],
        )
    except budget_requests.RequestRefused as exc:
        messages.error(request, str(exc))
    else:
        done = "approved" if decision == "approve" else "declined"
        messages.success(
            request,
            _("Request of %(email)s %(done)s.")
            % {"email": budget_request.member.email, "done": done},
        )
    if request.htmx:
        return render(request, "gallery/settings_budgets.html#budget-page", _context(membership))
    return redirect("gallery:settings_budgets", slug=slug)


@login_required
@require_POST
def member_adjust(request: WorkspaceRequest, slug: str, membership_id: int) -> HttpResponse:
    """Add an adjusting entry (± amount, with a reason) to what a member used this month."""
    membership = get_membership(request, slug, role=Role.ADMIN)
    target = get_membership_in_workspace(membership, membership_id)
    unit = budgets.budget_unit(membership.workspace)
    form = BudgetAdjustForm(request.POST, unit=unit, prefix=f"a{target.pk}")
    if form.is_valid():
        try:
            budget_requests.budget_adjust(
                workspace=membership.workspace,
                user=target.user,
                amount=form.cleaned_data["amount"],
                unit=unit,
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except budget_requests.AdjustRefused as exc:
            form.add_error("amount", str(exc))
    if form.errors:
        context = _context(membership, invalid_adjust=(target.pk, form))
        return render(request, "gallery/settings_budgets.html", context, status=422)
    messages.success(
        request, _("This month's budget of %(email)s adjusted.") % {"email": target.user.email}
    )
    return redirect(f"{reverse('gallery:settings_budgets', args=[slug])}#budget-{target.pk}")
