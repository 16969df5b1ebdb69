"""Asking an admin for more of this month's budget, the admins' decision, and their
adjustments by hand: each one an entry in the ledger (`gallery/services/budgets.py`), audit-logged
and told to whom it concerns."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import AuditVerb, Notification, NotificationKind, User, Workspace
from accounts.notifications import notification_send
from accounts.services import audit_record
from gallery.models import BudgetRequest, LedgerEntry, LedgerKind, RequestState, WorkspaceBudget
from gallery.models.budgets import this_month
from gallery.services.budgets import admins_of, amount_param, amount_text


class RequestRefused(Exception):
    """A request for more that cannot be made or decided (one is pending already; decided)."""


class AdjustRefused(Exception):
    """An adjustment that would give back more than the member used this month."""


def request_url(request: BudgetRequest) -> str:
    """Where the admins' "asks for more" notification leads: the request on the budgets page.
    Its anchor names the request, so deciding it finds the notifications to mark read."""
    page = reverse("gallery:settings_budgets", args=[request.workspace.slug])
    return f"{page}#request-{request.pk}"


def budget_request_create(
    *, workspace: Workspace, user: User, amount: Decimal, unit: str, note: str
) -> BudgetRequest:
    """Ask the admins for `amount` more this month; they are told. Raises RequestRefused when
    the member has a request waiting already (the database allows one pending at a time)."""
    try:
        with transaction.atomic():
            request = BudgetRequest.objects.create(
                workspace=workspace, member=user, amount=amount, unit=unit, note=note
            )
            if note:
                message = gettext_noop("%(email)s asks for %(amount)s more this month: “%(note)s”")
            else:
                message = gettext_noop("%(email)s asks for %(amount)s more this month.")
            params = {"email": user.email, "amount": amount_param(amount, unit), "note": note[:150]}
            url = request_url(request)
            for admin in admins_of(workspace):
                notification_send(
                    recipient=admin,
                    workspace=workspace,
                    kind=NotificationKind.REQUEST_NEW,
                    message=message,
                    params=params,
                    url=url,
                )
    except IntegrityError:
        pending = BudgetRequest.objects.filter(
            workspace=workspace, member=user, state=RequestState.PENDING
        ).first()
        if pending is None:
            text = _(
                "You already have a request waiting for an admin. You can ask again once it is "
                "decided."
            )
        else:
            text = _(
                "You already have a request for %(amount)s waiting for an admin. You can ask "
                "again once it is decided."
            ) % {"amount": amount_text(pending.amount, pending.unit)}
        raise RequestRefused(text) from None
    return request


def budget_request_decide(
    *, request: BudgetRequest, approve: bool, actor: User, note: str = ""
) -> None:
    """Approve (a GRANT of the amount for this month, see `LedgerKind.GRANT`) or decline a
    pending request; audit-logged and told to the member. Raises RequestRefused when it was
    decided already (two admins clicking at once: the conditional UPDATE lets one win)."""
    state = RequestState.APPROVED if approve else RequestState.DECLINED
    verb = AuditVerb.BUDGET_REQUEST_APPROVED if approve else AuditVerb.BUDGET_REQUEST_DECLINED
    kind = NotificationKind.REQUEST_APPROVED if approve else NotificationKind.REQUEST_DECLINED
    with transaction.atomic():
        won = BudgetRequest.objects.filter(pk=request.pk, state=RequestState.PENDING).update(
            state=state, decided_by=actor, decided_at=timezone.now(), decision_note=note
        )
        if not won:
            raise RequestRefused(_("This request was already decided."))
        request.refresh_from_db()
        # Decided: no admin's bell counts it as waiting any more (whoever decided it).
        Notification.objects.filter(
            workspace=request.workspace,
            kind=NotificationKind.REQUEST_NEW,
            url=request_url(request),
            read_at__isnull=True,
        ).update(read_at=timezone.now())
        with translation.override("en-gb"):  # the audit log and the ledger note stay English
            amount = amount_text(request.amount, request.unit)
        if approve:
            LedgerEntry.objects.create(
                workspace=request.workspace,
                member=request.member,
                kind=LedgerKind.GRANT,
                amount=-request.amount,
                unit=request.unit,
                created_by=actor,
                note=f"request {request.pk} approved",
            )
            message = gettext_noop("Your request for %(amount)s more this month was approved.")
        else:
            message = gettext_noop("Your request for %(amount)s more this month was declined.")
        if note:
            message = {
                True: gettext_noop(
                    "Your request for %(amount)s more this month was approved. "
                    "%(email)s: “%(note)s”"
                ),
                False: gettext_noop(
                    "Your request for %(amount)s more this month was declined. "
                    "%(email)s: “%(note)s”"
                ),
            }[approve]
        params = {
            "amount": amount_param(request.amount, request.unit),
            "email": actor.email,
            "note": note[:150],
        }
        audit_record(
            workspace=request.workspace,
            actor=actor,
            verb=verb,
            target=request.member.email,
            detail=f"{amount} more this month" + (f": {note}" if note else ""),
        )
        notification_send(
            recipient=request.member,
            workspace=request.workspace,
            kind=kind,
            message=message,
            params=params,
            url=reverse("gallery:budget_ask", args=[request.workspace.slug]),
        )


def budget_adjust(
    *, workspace: Workspace, user: User, amount: Decimal, unit: str, reason: str, actor: User
) -> None:
    """An admin's correction of what `user` used this month (+ uses more, - gives back); it
    counts against the workspace cap too, as spending does. Raises AdjustRefused when it
    would give back more than `user` used this month (their use would read below 0)."""
    with transaction.atomic():
        if amount < 0:
            # Under the workspace's lock, as a submit reserves (`budget_reserve`).
            WorkspaceBudget.objects.select_for_update().filter(workspace=workspace).first()
            used = LedgerEntry.objects.filter(
                workspace=workspace, member=user, unit=unit, period=this_month()
            ).exclude(kind=LedgerKind.GRANT).aggregate(total=Sum("amount"))["total"] or Decimal(0)
            if -amount > used:
                name = user.get_full_name() or user.email
                most = max(used, Decimal(0))
                raise AdjustRefused(
                    _("%(name)s used %(value)s this month; you can give back at most %(value2)s.")
                    % {
                        "name": name,
                        "value": amount_text(most, unit),
                        "value2": amount_text(most, unit, noun=False),
                    }
                )
        LedgerEntry.objects.create(
            workspace=workspace,
            member=user,
            kind=LedgerKind.ADJUST,
            amount=amount,
            unit=unit,
            created_by=actor,
            note=reason,
        )
        sign = "+" if amount > 0 else "-"
        audit_record(
            workspace=workspace,
            actor=actor,
            verb=AuditVerb.BUDGET_ADJUSTED,
            target=user.email,
            detail=f"{sign}{amount_text(abs(amount), unit)}: {reason}"[:300],
        )
