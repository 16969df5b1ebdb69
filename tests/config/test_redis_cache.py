"""The Redis cache treats a Redis that cannot be reached as a miss: pages and jobs go on."""

from __future__ import annotations

import socket

import pytest
from django.core.cache import caches
from redis.exceptions import ConnectionError as RedisConnectionError

from config.cache import RedisCache


@pytest.fixture
def unreachable_cache(settings) -> RedisCache:
    with socket.socket() as s:  # a port nothing listens on once it is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    return cache


def test_it_misses_and_drops_writes_while_redis_is_down(unreachable_cache, caplog):
    cache = unreachable_cache
    assert cache.get("k", "default") == "default"
    cache.set("k", 1)
    assert cache.add("k", 1) is False  # a lock built on add is not taken
    assert cache.get_many(["k", "j"]) == {}
    assert cache.set_many({"k": 1, "j": 2}) == ["k", "j"]
    assert cache.has_key("k") is False
    assert cache.touch("k") is False
    assert cache.delete("k") is False
    cache.delete_many(["k"])
    assert "Cache get skipped: Redis cannot be reached" in caplog.text


def test_ping_tells_a_health_check_that_redis_is_down(unreachable_cache):
    with pytest.raises(RedisConnectionError):
        unreachable_cache.ping()


def test_a_page_with_a_session_is_served_while_redis_is_down(unreachable_cache, member_client):
    response = member_client.get("/")
    assert response.status_code in (200, 302)
    assert response.wsgi_request.user.is_authenticated  # the session came from the database
