"""Settings · Budgets: each member's monthly budget and what they used, the workspace cap and
the default for new members (admins only). In the gallery app, not beside Members in accounts,
because what was used comes from the gallery's ledger and accounts never imports the gallery."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import WorkspaceRequest, get_membership, get_membership_in_workspace
from accounts.models import Membership, Role
from gallery.forms import MemberBudgetForm, WorkspaceBudgetForm
from gallery.models import WorkspaceBudget
from gallery.services import budgets


def _shown(amount: Decimal | None) -> str | None:
    """50, not 50.000000 (the column's scale), in the form's box."""
    return None if amount is None else f"{amount.normalize():f}"


def _context(
    membership: Membership,
    *,
    workspace_form: WorkspaceBudgetForm | None = None,
    invalid: tuple[int, MemberBudgetForm] | None = None,
) -> dict[str, Any]:
    workspace = membership.workspace
    unit = budgets.budget_unit(workspace)
    rows = budgets.budget_rows(workspace=workspace, unit=unit)
    forms = []
    for row in rows:
        if invalid is not None and invalid[0] == row.membership_id:
            form = invalid[1]
        else:
            initial = {"limit": _shown(row.limit), "unlimited": row.limit is None}
            form = MemberBudgetForm(initial=initial, unit=unit, prefix=f"m{row.membership_id}")
        forms.append((row, form))
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
    return {
        "rows": forms,
        "unit": unit,
        "unit_label": "images" if unit == budgets.IMAGES else unit,
        "workspace_form": workspace_form,
    }


@login_required
@require_http_methods(["GET", "POST"])
def settings_budgets(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The page; a POST sets the workspace cap and the default for members."""
    membership = get_membership(request, slug, role=Role.ADMIN)
    if request.method == "POST":
        unit = budgets.budget_unit(membership.workspace)
        form = WorkspaceBudgetForm(request.POST, unit=unit)
        if form.is_valid():
            budgets.budget_set_workspace(
                workspace=membership.workspace,
                cap=form.cleaned_data["cap"],
                member_default=form.cleaned_data["member_default"],
                unit=unit,
                actor=request.user,
            )
            messages.success(request, "Workspace budget saved.")
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
    form = MemberBudgetForm(request.POST, unit=unit, prefix=f"m{target.pk}")
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
    messages.success(request, f"Budget of {target.user.email} saved.")
    return redirect("gallery:settings_budgets", slug=slug)
