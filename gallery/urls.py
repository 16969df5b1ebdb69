from __future__ import annotations

from django.urls import path

from gallery import views

app_name = "gallery"

# All mounted under /w/<slug>/.
urlpatterns = [
    path("", views.home, name="home"),
    path("generate/", views.generate, name="generate"),
    path("generate/options/", views.model_options, name="model_options"),
    path("generate/refresh-models/", views.catalog_refresh, name="catalog_refresh"),
    path("jobs/<int:job_id>/", views.job_card, name="job_card"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:job_id>/retry/", views.job_retry, name="job_retry"),
    path("images/<int:image_id>/", views.image_detail, name="image_detail"),
    path("images/<int:image_id>/delete/", views.image_delete, name="image_delete"),
    path("images/<int:image_id>/file/", views.image_file, name="image_file"),
    path("images/<int:image_id>/thumbnail/", views.image_thumbnail, name="image_thumbnail"),
    path("usage/", views.usage_page, name="usage"),
    path("usage/refresh-quota/", views.quota_refresh_now, name="quota_refresh"),
    path("usage/meter/", views.quota_meter, name="quota_meter"),
    path("history/sync/", views.sync_now, name="sync_now"),
    path("history/status/", views.sync_panel, name="sync_panel"),
]
