"""Structured logs: JSON lines on request, a request id on every web line, the job id on every
line a job writes, and never a secret."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def test_a_json_line_has_time_level_logger_message_and_extra_fields(logs):
    try:
        raise KeyError("gone")
    except KeyError:
        logging.getLogger("darkroom.test").error(
            "Job %s: it broke", 7, exc_info=True, extra={"workspace": "studio"}
        )
    [line] = logs.text.splitlines()  # the traceback stays inside the one line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "darkroom.test"
    assert entry["message"] == "Job 7: it broke"
    assert entry["workspace"] == "studio"
    assert entry["error_class"] == "KeyError"
    assert "Traceback (most recent call last)" in entry["traceback"]
    assert entry["time"].endswith("+00:00")


def test_every_line_of_a_request_carries_its_id_and_the_response_returns_it(
    viewer_client, workspace, logs
):
    denied = reverse("accounts:settings_members", args=[workspace.slug])
    response = viewer_client.get(denied, HTTP_X_REQUEST_ID="lb-4f2a.9")
    assert response.status_code == 403
    assert response["X-Request-ID"] == "lb-4f2a.9"
    # A 404 is logged after the middleware returned: the id must still be there.
    missing = viewer_client.get("/no-such-page/", HTTP_X_REQUEST_ID="lb-404")
    assert missing.status_code == 404
    logging.getLogger("darkroom.test").info("between requests")

    entries = logs.entries()
    refused = [e for e in entries if e["logger"] == "django.request"]
    assert [e["request_id"] for e in refused] == ["lb-4f2a.9", "lb-404"]
    assert "request_id" not in entries[-1]  # outside a request: no id


def test_an_unsafe_incoming_request_id_is_replaced_by_one_of_ours(client, db):
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID='x"\n{"admin": true}')
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert int(request_id, 16) >= 0
    assert client.get(reverse("login"))["X-Request-ID"] != request_id


def _run_with(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import logging; "
        "logging.getLogger('darkroom.test').warning('hello %s', 'there', extra={'n': 3})"
    )
    environment = {**os.environ, "ENV_FILE": "", "DEBUG": "true", **env}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "--no-imports", "-c", code],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_log_format_json_writes_one_json_object_per_line():
    result = _run_with(LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "darkroom.test" in line]
    entry = json.loads(line)
    assert (entry["level"], entry["message"], entry["n"]) == ("WARNING", "hello there", 3)


def test_log_format_plain_is_the_default():
    result = _run_with()
    assert result.returncode == 0, result.stderr
    assert " WARNING darkroom.test: hello there" in result.stderr


def test_an_unknown_log_format_is_refused_in_plain_words():
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        cwd=ROOT, env={**os.environ, "ENV_FILE": "", "DEBUG": "true", "LOG_FORMAT": "xml"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'" in result.stderr
