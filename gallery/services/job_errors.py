"""What a job's card says while a worker moves it or after it failed.

Stored in English (the API shows them so) and translated when a page shows them
(`accounts.text.stored_text`): marked with gettext_noop for the catalogue.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from accounts.text import stored_message_id

# With the values filled in (stored_message_id lets stored_text translate them all the same).
TRYING_AGAIN = stored_message_id(gettext_noop("%(reason)s. Trying again…"))
HISTORY_CHECK_FAILED = stored_message_id(
    gettext_noop("Checking the provider's history failed (%(reason)s); trying again…")
)
LOOK_AGAIN = stored_message_id(
    gettext_noop(
        "Waiting for the provider to show whether the last request went through; if nothing "
        "shows within %(within)s, it is sent again…"
    )
)
NEVER_RAN = {
    "history": (
        stored_message_id(
            gettext_noop(
                "%(reason)sThe provider's history shows that request never ran. Sending it again…"
            )
        ),
        stored_message_id(
            gettext_noop(
                "%(reason)sThe provider's history shows that request never ran. Gave up after "
                "%(attempts)s attempts; nothing was charged."
            )
        ),
    ),
    "balance": (
        stored_message_id(
            gettext_noop(
                "%(reason)sThe provider's balance shows that request never ran. Sending it again…"
            )
        ),
        stored_message_id(
            gettext_noop(
                "%(reason)sThe provider's balance shows that request never ran. Gave up after "
                "%(attempts)s attempts; nothing was charged."
            )
        ),
    ),
}
BALANCE_READ_FAILED = stored_message_id(
    gettext_noop("Reading the balance failed (%(reason)s); trying again…")
)
CHARGED_NO_IMAGES = stored_message_id(
    gettext_noop(
        "%(provider)s took %(amount)s USD for this request but returned no images, so it was "
        "not sent again. Ask the provider about the charge before retrying."
    )
)
STORE_RETRYING = stored_message_id(
    gettext_noop("Paid; the images are not stored yet: %(error)s. Trying again (no new charge)…")
)
STORE_GAVE_UP = stored_message_id(
    gettext_noop(
        "Paid, but the images are not stored: %(error)s. Once the storage is back, Retry "
        "download stores them without a new charge."
    )
)
DOWNLOAD_RETRYING = stored_message_id(
    gettext_noop("Downloading the images failed (%(error)s); trying again (no new charge)…")
)
DOWNLOAD_GAVE_UP = stored_message_id(
    gettext_noop(
        "The images were paid for but could not be downloaded (%(error)s). Retry downloads "
        "them again without a new charge."
    )
)
STORE_FAILED = stored_message_id(gettext_noop("The images could not be stored: %(error)s"))

MAY_HAVE_BEEN_CHARGED = gettext_noop(
    "The provider did not answer in time and may already have generated (and charged for) "
    "these images. Check the provider's own history before retrying."
)
CANNOT_TELL_WHICH = gettext_noop(
    "The provider did not answer in time. Its history has images that may be this job's, but "
    "other requests asked for the same thing, so Darkroom cannot tell which are this job's. "
    "They will appear in the gallery with the provider's history; check it before retrying."
)
BALANCE_CANNOT_TELL = gettext_noop(
    "The provider did not answer clearly, and its balance cannot show whether this request was "
    "charged (other requests used the same account at the time, or money was added). It was not "
    "sent again; check the provider's account before retrying."
)
SOURCE_FILE_MISSING = gettext_noop("The source image file is missing, so it cannot be edited.")
UNEXPECTED = gettext_noop(
    "Something went wrong on our side (the administrator can see it in the logs)."
)
