from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import ConnectionCheck
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def test_a_real_worker_runs_the_connection_check(celery_worker, sandbox, owner_client, workspace):
    workspace.credential.base_url = sandbox.url
    workspace.credential.save()

    owner_client.post(
        reverse("accounts:connection_test", args=[workspace.slug]), HTTP_HX_REQUEST="true"
    )
    check = ConnectionCheck.objects.get(credential__workspace=workspace)

    def finished():
        check.refresh_from_db()
        return not check.is_pending

    wait_for(finished, what="the connection check", worker=celery_worker)
    assert check.state == "ok", check.error
    assert sandbox.calls("POST nf.token") == 1
