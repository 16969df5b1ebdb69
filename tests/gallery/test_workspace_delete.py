"""Deleting a workspace: typed confirmation, jobs cancelled first, nothing left behind in the
database or in storage, and a record of it that outlives the workspace."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    AuditEvent,
    AuditVerb,
    ConnectionCheck,
    Membership,
    Notification,
    User,
    Workspace,
    WorkspaceSlug,
)
from gallery.models import (
    BudgetRequest,
    CatalogModel,
    Collection,
    CollectionItem,
    Comment,
    Comparison,
    Favourite,
    HistorySync,
    Image,
    Job,
    JobStage,
    JobState,
    LedgerEntry,
    MemberBudget,
    QuotaSnapshot,
    ReviewEvent,
    WorkspaceBudget,
)
from gallery.services import jobs as job_services
from gallery.services import lifecycle
from tests.gallery.pictures import picture


def delete_url(workspace: Workspace) -> str:
    return reverse("gallery:workspace_delete", args=[workspace.slug])


def owned_rows(workspace: Workspace) -> dict[type[models.Model], set[object]]:
    """Every row that belongs to the workspace: reached from it through CASCADE foreign keys
    (its images, their comments, …), by walking every model of the project."""
    found: dict[type[models.Model], set[object]] = {Workspace: {workspace.pk}}
    grew = True
    while grew:
        grew = False
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not field.is_relation or field.related_model not in found:
                    continue
                if field.remote_field.on_delete is not models.CASCADE:
                    continue
                pks = set(
                    model._default_manager.filter(
                        **{f"{field.name}__in": found[field.related_model]}
                    ).values_list("pk", flat=True)
                )
                if pks - found.get(model, set()):
                    found.setdefault(model, set()).update(pks)
                    grew = True
    return found


def rows_still_pointing_at(rows: dict[type[models.Model], set[object]]) -> list[str]:
    """Any row of any table that is one of `rows`, or refers to one of them by any foreign key."""
    left = []
    for model, pks in rows.items():
        if model._default_manager.filter(pk__in=pks).exists():
            left.append(f"{model.__name__} rows")
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in rows:
                lookup = {f"{field.name}__in": rows[field.related_model]}
                if model._default_manager.filter(**lookup).exists():
                    left.append(f"{model.__name__}.{field.name}")
    return left


@pytest.fixture
def full(workspace, owner, member, viewer, outsider):
    """Studio with something in every table a workspace can fill."""
    parent = picture(workspace, author=member, prompt="a lighthouse")
    job = Job.objects.create(
        workspace=workspace,
        author=member,
        prompt="the lighthouse, at night",
        model_id="nano-banana-2",
        idempotency_key="done",
        kind="edit",
        parent_image=parent,
        state=JobState.SUCCEEDED,
        stage=JobStage.PAID,
    )
    child = picture(workspace, author=member, prompt="the lighthouse, at night", job=job)
    Image.objects.filter(pk=child.pk).update(parent=parent)
    picture(workspace, prompt="from the provider's history", source="history")
    ReviewEvent.objects.create(
        image=child, actor=owner, from_state="unreviewed", to_state="approved"
    )
    Comment.objects.create(image=child, author=viewer, body="Lovely")
    Favourite.objects.create(image=child, user=viewer)
    board = Collection.objects.create(workspace=workspace, name="Spring")
    CollectionItem.objects.create(collection=board, image=child, added_by=member)
    comparison = Comparison.objects.create(workspace=workspace, prompt="p", idempotency_key="c")
    Job.objects.filter(pk=job.pk).update(comparison=comparison)
    CatalogModel.objects.create(
        workspace=workspace,
        provider_model_id="nano-banana-2",
        name="Nano",
        refreshed_at=timezone.now(),
    )
    QuotaSnapshot.objects.create(workspace=workspace, kind="credits", monthly_used=3)
    HistorySync.objects.create(workspace=workspace, mode="incremental")
    ConnectionCheck.objects.create(credential=workspace.credential)
    WorkspaceBudget.objects.create(workspace=workspace, cap=Decimal(10), cap_unlimited=False)
    MemberBudget.objects.create(workspace=workspace, user=member, limit=Decimal(5), unlimited=False)
    LedgerEntry.objects.create(
        workspace=workspace, member=member, job=job, kind="settle", amount=1, unit="images"
    )
    BudgetRequest.objects.create(workspace=workspace, member=member, amount=5, unit="images")
    Notification.objects.create(workspace=workspace, recipient=owner, kind="request_new", text="n")
    WorkspaceSlug.objects.create(workspace=workspace, slug="old-studio")
    AuditEvent.objects.create(workspace=workspace, actor=owner, verb=AuditVerb.MEMBER_ADDED)
    User.objects.filter(pk__in=[owner.pk, member.pk]).update(last_workspace=workspace)
    return workspace


def test_it_deletes_every_row_and_every_file_of_the_workspace(full, owner_client, outsider):
    rows = owned_rows(full)
    assert {Image, Job, Comment, Membership, CollectionItem, LedgerEntry} <= set(rows)
    folder = f"images/{full.pk}"
    assert len(default_storage.listdir(folder)[1]) == 6  # three originals, three thumbnails
    elsewhere = picture(outsider.memberships.get().workspace, prompt="not Studio's")

    response = owner_client.post(delete_url(full), {"name": "Studio"})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert rows_still_pointing_at(rows) == []
    assert not default_storage.exists(folder) or default_storage.listdir(folder) == ([], [])
    if hasattr(default_storage, "location"):  # on the local disk the folder itself goes too
        assert not default_storage.exists(folder)
    # Nobody else's workspace, account or file is touched.
    assert default_storage.exists(elsewhere.file.name)
    assert Workspace.objects.filter(slug="elsewhere").exists()
    assert User.objects.filter(email="alice@example.com", is_active=True).exists()


def test_a_record_of_the_deletion_outlives_the_workspace(full, owner, owner_client):
    owner_client.post(delete_url(full), {"name": "Studio"})
    event = AuditEvent.objects.get()
    assert event.workspace is None
    assert (event.actor, event.verb, event.target) == (owner, AuditVerb.WORKSPACE_DELETED, "Studio")
    assert event.detail == "/w/studio/ with 3 images"
    assert timezone.now() - event.created_at < dt.timedelta(minutes=1)


def test_the_confirmation_page_says_what_goes(full, owner_client):
    page = owner_client.get(delete_url(full)).content.decode()
    assert "Delete Studio?" in page
    assert "<strong>3</strong> images" in page
    assert "<strong>3</strong> members" in page  # owner, member, viewer


@pytest.mark.parametrize("typed", ["", "studio", "Studio!", "Elsewhere"])
def test_a_wrong_name_deletes_nothing_and_says_why_next_to_the_field(typed, full, owner_client):
    before = (Image.objects.count(), Job.objects.count(), Membership.objects.count())
    response = owner_client.post(delete_url(full), {"name": typed})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_name_error"' in page
    assert Workspace.objects.filter(pk=full.pk).exists()
    assert (Image.objects.count(), Job.objects.count(), Membership.objects.count()) == before
    assert not AuditEvent.objects.filter(verb=AuditVerb.WORKSPACE_DELETED).exists()


def test_queued_jobs_are_cancelled_through_the_cancel_service_first(
    full, owner, owner_client, monkeypatch
):
    waiting = Job.objects.create(
        workspace=full, author=owner, prompt="p", model_id="m", idempotency_key="waiting"
    )
    cancelled = []

    def spy(*, job, membership):
        result = job_services.job_cancel(job=job, membership=membership)
        cancelled.append((job.pk, Job.objects.get(pk=job.pk).state, result))
        return result

    monkeypatch.setattr(lifecycle, "job_cancel", spy)
    owner_client.post(delete_url(full), {"name": "Studio"})
    assert cancelled == [(waiting.pk, JobState.CANCELLED, True)]
    assert not Job.objects.exists()


def test_a_job_already_paid_is_never_sent_again(full, owner, owner_client, monkeypatch):
    """Queued after the provider was paid (storing its images is to be retried): it cannot be
    cancelled, and once the workspace is gone nothing sends it to a worker again."""
    paid = Job.objects.create(
        workspace=full,
        author=owner,
        prompt="p",
        model_id="m",
        idempotency_key="paid",
        stage=JobStage.PAID,
        result_refs=[{"id": "x"}],
    )
    assert not paid.can_cancel
    sent = []
    monkeypatch.setattr(job_services, "send_task", lambda name, *args, **kw: sent.append(args))
    owner_client.post(delete_url(full), {"name": "Studio"})
    assert not Job.objects.filter(pk=paid.pk).exists()
    assert job_services.jobs_recover().sent == 0
    assert sent == []


def test_a_running_job_holds_the_deletion_back_with_a_clear_message(full, owner, owner_client):
    Job.objects.create(
        workspace=full,
        author=owner,
        prompt="p",
        model_id="m",
        idempotency_key="running",
        state=JobState.RUNNING,
        lease="w1",
        heartbeat_at=timezone.now(),
    )
    queued = Job.objects.create(
        workspace=full, author=owner, prompt="q", model_id="m", idempotency_key="queued"
    )
    response = owner_client.post(delete_url(full), {"name": "Studio"})
    assert response.status_code == 422
    assert "1 job is running right now" in response.content.decode()
    assert Workspace.objects.filter(pk=full.pk).exists()
    assert Image.objects.filter(workspace=full).count() == 3
    queued.refresh_from_db()
    assert queued.state == JobState.QUEUED  # rolled back with the rest: nothing changed
    assert default_storage.listdir(f"images/{full.pk}")[1]


def test_a_member_cannot_delete(full, member_client):
    assert member_client.post(delete_url(full), {"name": "Studio"}).status_code == 403
    assert Workspace.objects.filter(pk=full.pk).exists()


def test_it_leaves_nothing_in_a_bucket_either(s3, workspace, owner, owner_client):
    made = [picture(workspace, author=owner, prompt=f"p{n}") for n in range(3)]
    prefix = f"images/{workspace.pk}/"
    assert {i.file.name for i in made} | {i.thumbnail.name for i in made} <= s3.keys(prefix)
    # A file no row names any more (a thumbnail left by an earlier failure): swept up too.
    default_storage.save(f"{prefix}stray.webp", ContentFile(b"x"))

    response = owner_client.post(delete_url(workspace), {"name": "Studio"})

    assert response.status_code == 302
    assert s3.keys(prefix) == set()
    assert not Image.objects.exists()


def test_a_file_stored_outside_the_workspace_folder_goes_too(workspace, owner, owner_client):
    name = default_storage.save("legacy/lighthouse.png", ContentFile(b"png"))
    Image.objects.create(workspace=workspace, prompt="from an older layout", file=name)
    owner_client.post(delete_url(workspace), {"name": "Studio"})
    assert not default_storage.exists(name)


def test_a_job_whose_worker_stopped_does_not_hold_the_deletion_back(
    full, owner, owner_client, settings
):
    stale = timezone.now() - dt.timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    Job.objects.create(
        workspace=full,
        author=owner,
        prompt="p",
        model_id="m",
        idempotency_key="orphaned",
        state=JobState.RUNNING,
        lease="dead",
        heartbeat_at=stale,
    )
    assert owner_client.post(delete_url(full), {"name": "Studio"}).status_code == 302
    assert not Workspace.objects.filter(pk=full.pk).exists()


def test_a_history_sync_in_progress_holds_the_deletion_back(full, owner_client):
    HistorySync.objects.create(
        workspace=full, mode="incremental", state="running", heartbeat_at=timezone.now()
    )
    response = owner_client.post(delete_url(full), {"name": "Studio"})
    assert response.status_code == 422
    assert "history is being copied in right now" in response.content.decode()
    assert Workspace.objects.filter(pk=full.pk).exists()
