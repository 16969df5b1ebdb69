from __future__ import annotations

from django.urls import path

from gallery.views import browse, generate, images, review, usage

app_name = "gallery"

# All mounted under /w/<slug>/.
urlpatterns = [
    path("", browse.home, name="home"),
    path("generate/", generate.generate, name="generate"),
    path("generate/options/", generate.model_options, name="model_options"),
    path("generate/refresh-models/", generate.catalog_refresh, name="catalog_refresh"),
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
    path("usage/", usage.usage_page, name="usage"),
    path("usage/refresh-quota/", usage.quota_refresh_now, name="quota_refresh"),
    path("usage/meter/", usage.quota_meter, name="quota_meter"),
    path("history/sync/", browse.sync_now, name="sync_now"),
    path("history/status/", browse.sync_panel, name="sync_panel"),
]
