from __future__ import annotations

from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"

    def ready(self) -> None:
        # The messages these modules store in English register themselves for translation at
        # display (accounts.text.stored_message_id): a web process that never runs a job or
        # sends a webhook must know them too.
        from gallery import ingest  # noqa: F401
        from gallery.models import jobs  # noqa: F401
        from gallery.services import job_errors, lifecycle, webhook_delivery  # noqa: F401
