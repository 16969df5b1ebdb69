"""The gallery's data, one module per feature; import from `gallery.models`."""

from gallery.models.budgets import (
    BudgetRequest,
    LedgerEntry,
    LedgerKind,
    MemberBudget,
    RequestState,
    WorkspaceBudget,
)
from gallery.models.catalog import CatalogModel, CatalogStatus
from gallery.models.comparisons import Comparison
from gallery.models.images import Image, ImageQuerySet, ImageSource
from gallery.models.images import _image_path as _image_path  # named by migration 0001
from gallery.models.jobs import (
    ACTIVE_STATES,
    CLAIM_TOLERANCE_SECONDS,
    Job,
    JobKind,
    JobQuerySet,
    JobStage,
    JobState,
)
from gallery.models.ops import ProcessHeartbeat
from gallery.models.quota import NEAR_LIMIT, QuotaSnapshot
from gallery.models.review import (
    NOTE_REQUIRED,
    Collection,
    CollectionItem,
    Comment,
    Favourite,
    ReviewEvent,
    ReviewState,
)
from gallery.models.sync import HistorySync
from gallery.models.webhooks import (
    DeliveryState,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)

__all__ = [
    "ACTIVE_STATES",
    "CLAIM_TOLERANCE_SECONDS",
    "NEAR_LIMIT",
    "NOTE_REQUIRED",
    "BudgetRequest",
    "CatalogModel",
    "CatalogStatus",
    "Collection",
    "CollectionItem",
    "Comment",
    "Comparison",
    "DeliveryState",
    "Favourite",
    "HistorySync",
    "Image",
    "ImageQuerySet",
    "ImageSource",
    "Job",
    "JobKind",
    "JobQuerySet",
    "JobStage",
    "JobState",
    "LedgerEntry",
    "LedgerKind",
    "MemberBudget",
    "ProcessHeartbeat",
    "QuotaSnapshot",
    "RequestState",
    "ReviewEvent",
    "ReviewState",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "WorkspaceBudget",
]
