"""Comparing models: one prompt sent to several models at once, all queued or none.

Each model's request is an ordinary job submitted through `job_submit`, so quota, rate limits,
idempotency and budgets apply to each exactly as on the generate form. They are submitted in one
transaction: the first reservation takes the workspace's budget lock (`services/budgets.py`) and
holds it until the commit, so the models after it are checked against what the ones before it
reserved, and a refusal of any model rolls back the comparison and every job before it.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User, Workspace
from gallery.models import CatalogModel, Comparison
from gallery.models.budgets import amount_text
from gallery.services.budgets import budget_left, reservation_for
from gallery.services.jobs import (
    JobRequest,
    Refusal,
    SubmitRefused,
    job_submit,
    request_estimate,
)

MIN_MODELS = 2
MAX_MODELS = 4


def job_key(comparison_key: str, model_id: str) -> str:
    """Each job's idempotency key, from the comparison's and the model's: the same comparison
    sent twice finds the same jobs, and stays under the column's 64 characters whatever the
    length of the model id."""
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:16]
    return f"cmp-{comparison_key[:40]}-{digest}"


def comparison_submit(
    *,
    workspace: Workspace,
    author: User,
    prompt: str,
    requests: list[JobRequest],
    idempotency_key: str,
) -> Comparison:
    """Queue one job per model of the comparison, or none. Returns the comparison this author's
    key already made when it is sent again (a double click). Raises SubmitRefused, naming the
    model that did not fit."""
    if not MIN_MODELS <= len(requests) <= MAX_MODELS:
        raise ValueError(f"a comparison has {MIN_MODELS} to {MAX_MODELS} models")
    mine = Comparison.objects.filter(
        workspace=workspace, author=author, idempotency_key=idempotency_key
    )
    existing = mine.first()
    if existing is not None:
        return existing
    _check_total_budget(workspace=workspace, author=author, requests=requests)
    try:
        with transaction.atomic():
            comparison = Comparison.objects.create(
                workspace=workspace, author=author, prompt=prompt, idempotency_key=idempotency_key
            )
            for position, request in enumerate(requests):
                try:
                    job_submit(
                        workspace=workspace,
                        author=author,
                        request=request,
                        idempotency_key=job_key(idempotency_key, request.model_id),
                        comparison=comparison,
                    )
                except SubmitRefused as exc:
                    message = _refusal(workspace, request, position, exc)
                    raise SubmitRefused(
                        message,
                        reason=exc.reason,
                        lacking=exc.lacking,
                        retry_after=exc.retry_after,
                    ) from exc
    except IntegrityError:  # the same key sent twice at the same moment: the other one won
        return mine.get()
    return comparison


def _check_total_budget(*, workspace: Workspace, author: User, requests: list[JobRequest]) -> None:
    """Refuse up front, with the comparison's total, when it cannot fit the budget; each job's
    own reservation below still checks again under the lock (this check takes none)."""
    budget = budget_left(workspace=workspace, user=author)
    if budget is None:
        return
    reserved = [reservation_for(request_estimate(workspace, request)) for request in requests]
    if any(r is None or r.unit != budget.unit for r in reserved):
        return  # an unknown price: the first job's reservation says so
    total = sum((r.amount for r in reserved if r is not None), Decimal(0))
    if total <= budget.left:
        return
    costs = _("Nothing was queued: the %(count)s models cost %(amount)s") % {
        "count": len(requests),
        "amount": amount_text(total, budget.unit),
    }
    left, limit = (amount_text(n, budget.unit, noun=False) for n in (budget.left, budget.limit))
    if budget.mine:
        raise SubmitRefused(
            _("%(costs)s; you have %(left)s of your %(limit)s left this month.")
            % {"costs": costs, "left": left, "limit": limit},
            reason=Refusal.BUDGET,
            lacking=total - budget.left,
        )
    raise SubmitRefused(
        _("%(costs)s; the workspace has %(left)s of its %(limit)s cap left this month.")
        % {"costs": costs, "left": left, "limit": limit},
        reason=Refusal.BUDGET,
    )


def _refusal(workspace: Workspace, request: JobRequest, position: int, exc: SubmitRefused) -> str:
    name = (
        CatalogModel.objects.filter(workspace=workspace, provider_model_id=request.model_id)
        .values_list("name", flat=True)
        .first()
    ) or request.model_id
    if position:
        text = _(
            "Nothing was queued: %(name)s does not fit once the models before it were counted."
        )
    else:
        text = _("Nothing was queued: %(name)s does not fit.")
    return f"{text % {'name': name}} {exc}"
