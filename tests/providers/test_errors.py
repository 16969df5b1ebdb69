"""Status codes, transport failures and bad bodies become our own error types (real server)."""

from __future__ import annotations

import datetime as dt
import email.utils
import time

import pytest

from providers.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    QuotaExhaustedError,
    RateLimitedError,
    ServerError,
    TransientError,
)
from providers.http import HttpClient, Timeouts, parse_retry_after
from tests.providers.conftest import DS, FAST, LOCAL, WORKSPACE, load
from tests.providers.scripted_server import Reply

WORKSPACES = "/api/workspace-service/v1/workspaces"


@pytest.fixture
def http():
    client = HttpClient(provider="neuroflash", network=LOCAL, timeouts=FAST)
    yield client
    client.close()


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (400, {"error": "bad prompt"}, InvalidRequestError),
        (401, {"error": "unauthorized"}, AuthenticationError),
        (402, {"error": "Insufficient balance", "status": 402}, QuotaExhaustedError),
        (403, {"error": "insufficient permissions"}, PermissionDeniedError),
        (403, {"error": "Image limit reached", "code": "IMAGE_LIMIT_REACHED"}, QuotaExhaustedError),
        (404, {"error": "not found"}, NotFoundError),
        (405, None, InvalidRequestError),
        (408, None, ProviderTimeout),
        (409, {"error": "conflict"}, InvalidRequestError),
        (410, None, NotFoundError),
        (413, None, InvalidRequestError),
        (422, {"errors": [{"field": "prompt", "message": "required"}]}, InvalidRequestError),
        (429, {"error": "Too many requests"}, RateLimitedError),
        (429, {"error": "Monthly image quota exceeded"}, QuotaExhaustedError),
        (500, {"error": "boom"}, ServerError),
        (502, None, ServerError),
        (503, None, ServerError),
        (504, None, ProviderTimeout),
    ],
)
def test_it_maps_every_status_to_an_error_type(server, http, status, body, error_type):
    server.on("GET", "/thing", Reply(status, json=body) if body else Reply(status))
    with pytest.raises(error_type) as caught:
        http.send("GET", server.url + "/thing", action="reading a thing")
    error = caught.value
    assert error.status == status
    assert error.provider == "neuroflash"
    assert f"({status})" in error.message
    transient = issubclass(error_type, TransientError)
    assert error.transient is transient


def test_it_words_errors_for_people(server, http):
    server.on(
        "POST",
        "/gen",
        Reply(422, json={"detail": [{"loc": ["body", "prompt"], "msg": "field required"}]}),
    )
    with pytest.raises(InvalidRequestError) as caught:
        http.send("POST", server.url + "/gen", action="generating images")
    assert caught.value.message == (
        "neuroflash refused the request while generating images (422): prompt: field required"
    )
    assert caught.value.provider_message == "prompt: field required"


def test_it_reports_what_was_not_found(server, http):
    with pytest.raises(NotFoundError) as caught:
        http.send("GET", server.url + "/nope", action="reading an image", not_found="the image x1")
    assert caught.value.message.startswith("neuroflash could not find the image x1 (404)")


def test_it_keeps_html_error_pages_out_of_messages(server, http):
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.on("GET", "/gw", Reply(502, body=page, headers={"Content-Type": "text/html"}))
    with pytest.raises(ServerError) as caught:
        http.send("GET", server.url + "/gw", action="listing workspaces")
    assert "<html>" not in caught.value.message
    assert caught.value.message == (
        "neuroflash had a server error while listing workspaces (502); try again later"
    )


def test_it_reads_retry_after_in_seconds(server, http):
    server.on("GET", "/limited", Reply(429, json={}, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimitedError) as caught:
        http.send("GET", server.url + "/limited", action="generating images")
    assert caught.value.retry_after == 7.0
    assert "retry in 7 s" in caught.value.message


def test_it_reads_retry_after_as_an_http_date(server, http):
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    date = email.utils.format_datetime(when, usegmt=True)
    server.on("GET", "/busy", Reply(503, headers={"Retry-After": date}))
    with pytest.raises(ServerError) as caught:
        http.send("GET", server.url + "/busy", action="generating images")
    assert 110 <= caught.value.retry_after <= 120


def test_it_reads_retry_after_on_a_nanogpt_daily_limit(server, ng):
    # spec §2.7: 429 with the OpenAI-style body and Retry-After until midnight UTC.
    server.on(
        "POST",
        "/v1/images/generations",
        Reply(429, json=load("ng_error_rate_limit_spec.json"), headers={"Retry-After": "3600"}),
    )
    with pytest.raises(RateLimitedError) as caught:
        ng.generate(prompt="a cat")
    assert caught.value.retry_after == 3600.0
    assert caught.value.code == "daily_rpd_limit_exceeded"
    assert "Daily request limit exceeded" in caught.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("120", 120.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_it_parses_retry_after_values(value, expected):
    now = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC)
    assert parse_retry_after(value, now=now) == expected


def test_it_gives_up_on_a_slow_server_after_the_read_timeout(server):
    server.on("GET", "/slow", Reply(json={}, delay=1.5))
    http = HttpClient(provider="NanoGPT", network=LOCAL, timeouts=Timeouts(connect=1.0, read=0.2))
    started = time.monotonic()
    with pytest.raises(ProviderTimeout) as caught:
        http.send("GET", server.url + "/slow", action="listing image models")
    assert time.monotonic() - started < 1.0
    assert caught.value.transient
    assert caught.value.message == "NanoGPT did not answer within 0.2 s while listing image models"
    http.close()


def test_it_uses_the_longer_timeout_for_generation(server):
    server.on("POST", "/gen", Reply(json={}, delay=0.4))
    http = HttpClient(
        provider="NanoGPT", network=LOCAL, timeouts=Timeouts(connect=1.0, read=0.1, generate=2.0)
    )
    http.send("POST", server.url + "/gen", action="generating images", slow=True)
    http.close()


def test_it_reports_a_refused_connection(closed_port_url, http):
    with pytest.raises(ProviderConnectionError) as caught:
        http.send("GET", closed_port_url + "/x", action="listing workspaces")
    assert caught.value.transient
    assert "could not connect to neuroflash at 127.0.0.1:" in caught.value.message
    assert "(connection refused)" in caught.value.message


def test_it_reports_a_broken_base_url_as_configuration(http):
    with pytest.raises(ConfigurationError) as caught:
        http.send("GET", "app.neuroflash.com/api", action="listing workspaces")
    assert not caught.value.transient


def test_it_reports_a_body_that_is_not_json(server, nf):
    server.on("GET", WORKSPACES, Reply(200, body="<html>maintenance</html>"))
    with pytest.raises(MalformedResponseError) as caught:
        nf.list_workspaces()
    assert not caught.value.transient
    assert caught.value.message == (
        "neuroflash sent a response that is not valid JSON while listing workspaces (200)"
    )


def test_it_reports_json_of_the_wrong_shape(server, nf):
    server.on("GET", WORKSPACES, Reply(json=["not", "an", "object"]))
    with pytest.raises(MalformedResponseError) as caught:
        nf.list_workspaces()
    assert "unexpected response while listing workspaces" in caught.value.message


def test_it_reports_a_generation_without_images_as_malformed(server, nf):
    server.on("POST", "/api/ds-prototypes/image_generation/", Reply(json={"batch_id": "b"}))
    with pytest.raises(MalformedResponseError):
        nf.generate(prompt="a cat")


def test_every_error_is_a_provider_error_with_a_readable_repr(server, http):
    server.on("GET", "/x", Reply(500, json={"error": "boom", "code": "E1"}))
    with pytest.raises(ProviderError) as caught:
        http.send("GET", server.url + "/x", action="reading")
    assert repr(caught.value) == (
        "ServerError(provider='neuroflash', status=500, code='E1', "
        "message='neuroflash had a server error while reading (500); try again later: boom')"
    )
    assert str(caught.value) == caught.value.message


def test_it_captures_nanogpt_request_ids(server, http):
    server.on("GET", "/x", Reply(400, json={"error": "bad"}, headers={"X-Request-ID": "req-42"}))
    with pytest.raises(InvalidRequestError) as caught:
        http.send("GET", server.url + "/x", action="reading")
    assert caught.value.request_id == "req-42"


def test_a_quota_403_on_generate_is_not_retried_as_transient(server, nf):
    server.on(
        "POST",
        "/api/ds-prototypes/image_generation/",
        Reply(403, json={"error": "Daily image limit reached"}),
    )
    with pytest.raises(QuotaExhaustedError) as caught:
        nf.generate(prompt="a cat")
    assert not caught.value.transient
    # exactly one generate call: no silent retries of any kind
    assert server.count("POST", "/api/ds-prototypes/image_generation/") == 1
    assert server.calls("POST", "/api/ds-prototypes/image_generation/")[0].header(
        "x-workspace-id"
    ) == (WORKSPACE)


def test_a_refused_connection_certainly_never_reached_the_provider():
    client = HttpClient(
        provider="sandbox", network=LOCAL, timeouts=Timeouts(connect=1, read=1, generate=1)
    )
    with pytest.raises(ProviderConnectionError) as caught:
        client.send("GET", "http://127.0.0.1:9/nothing", action="checking")
    assert caught.value.outcome_unknown is False


def test_a_read_timeout_leaves_the_outcome_unknown(nf, server):
    server.on("GET", f"{DS}/models", Reply(json=[], delay=FAST.read + 0.5))
    with pytest.raises(ProviderTimeout) as caught:
        nf.list_models()
    assert caught.value.outcome_unknown is True


def test_an_http_refusal_is_a_known_outcome(nf, server):
    server.on("GET", f"{DS}/models", Reply(status=500, json={"error": "boom"}))
    with pytest.raises(ServerError) as caught:
        nf.list_models()
    assert caught.value.outcome_unknown is False
