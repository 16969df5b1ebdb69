from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from accounts import crypto


@register()
def check_credential_keys(**kwargs: Any) -> list[Error]:
    try:
        crypto._cipher()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="darkroom.E001")]
    return []
