from __future__ import annotations

from django.urls import path

from gallery.views import (
    browse,
    budgets,
    bulk,
    collections,
    compare,
    generate,
    images,
    notifications,
    queue,
    review,
    usage,
    webhooks,
)

app_name = "gallery"

# All mounted under /w/<slug>/.
urlpatterns = [
    path("", browse.home, name="home"),
    path("generate/", generate.generate, name="generate"),
    path("generate/options/", generate.model_options, name="model_options"),
    path("generate/cost/", generate.cost_preview, name="cost_preview"),
    path("generate/refresh-models/", generate.catalog_refresh, name="catalog_refresh"),
    path("compare/", compare.compare, name="compare"),
    path("compare/preview/", compare.compare_preview, name="compare_preview"),
    path("compare/<int:comparison_id>/", compare.comparison, name="comparison"),
    path("jobs/<int:job_id>/", generate.job_card, name="job_card"),
    path("jobs/<int:job_id>/cancel/", generate.job_cancel, name="job_cancel"),
    path("jobs/<int:job_id>/retry/", generate.job_retry, name="job_retry"),
    path("images/<int:image_id>/", images.image_detail, name="image_detail"),
    path("images/<int:image_id>/delete/", images.image_delete, name="image_delete"),
    path("images/<int:image_id>/file/", images.image_file, name="image_file"),
    path("images/<int:image_id>/thumbnail/", images.image_thumbnail, name="image_thumbnail"),
    path("images/<int:image_id>/review/", review.image_review, name="image_review"),
    path("images/<int:image_id>/favourite/", review.image_favourite, name="image_favourite"),
    path("images/<int:image_id>/comments/", review.comment_add, name="comment_add"),
    path(
        "images/<int:image_id>/comments/<int:comment_id>/delete/",
        review.comment_delete,
        name="comment_delete",
    ),
    path(
        "images/<int:image_id>/collections/",
        collections.image_collections,
        name="image_collections",
    ),
    path("images/bulk/", bulk.images_bulk, name="images_bulk"),
    path("images/bulk/count/", bulk.images_bulk_count, name="images_bulk_count"),
    path("collections/", collections.collection_list, name="collections"),
    path("collections/new/", collections.collection_create, name="collection_create"),
    path(
        "collections/<int:collection_id>/rename/",
        collections.collection_rename,
        name="collection_rename",
    ),
    path(
        "collections/<int:collection_id>/delete/",
        collections.collection_delete,
        name="collection_delete",
    ),
    path("review/", queue.review_queue, name="review_queue"),
    path("review/<int:image_id>/", queue.review_queue_act, name="review_queue_act"),
    path("usage/", usage.usage_page, name="usage"),
    path("usage/ledger.csv", usage.usage_ledger_csv, name="usage_ledger_csv"),
    path("budgets/", budgets.settings_budgets, name="settings_budgets"),
    path("budgets/<int:membership_id>/", budgets.member_budget, name="member_budget"),
    path("budgets/<int:membership_id>/adjust/", budgets.member_adjust, name="member_adjust"),
    path(
        "budgets/requests/<int:request_id>/",
        budgets.budget_request_decide,
        name="budget_request_decide",
    ),
    path("budget/", budgets.budget_ask, name="budget_ask"),
    path("webhooks/", webhooks.settings_webhooks, name="settings_webhooks"),
    path("webhooks/rotate/", webhooks.webhook_rotate, name="webhook_rotate"),
    path("webhooks/test/", webhooks.webhook_test, name="webhook_test"),
    path("notifications/", notifications.notifications, name="notifications"),
    path("notifications/read/", notifications.notifications_read, name="notifications_read"),
    path(
        "notifications/<int:notification_id>/open/",
        notifications.notification_open,
        name="notification_open",
    ),
    path("usage/refresh-quota/", usage.quota_refresh_now, name="quota_refresh"),
    path("usage/meter/", usage.quota_meter, name="quota_meter"),
    path("history/sync/", browse.sync_now, name="sync_now"),
    path("history/status/", browse.sync_panel, name="sync_panel"),
]
