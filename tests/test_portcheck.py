"""`make run` checks its ports before it prints a login for a server that cannot start."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from config import portcheck


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_names_the_port_in_use_and_the_variable_to_set(taken_port):
    found = portcheck.problems({"WEB_PORT": str(taken_port), "SANDBOX_PORT": str(_free_port())})

    assert found == [
        f"port {taken_port} is in use — set WEB_PORT (in .env) to a free one for Darkroom"
    ]


def test_it_checks_the_sandbox_port_too(taken_port):
    found = portcheck.problems({"WEB_PORT": str(_free_port()), "SANDBOX_PORT": str(taken_port)})

    assert found == [
        f"port {taken_port} is in use — set SANDBOX_PORT (in .env) to a free one for the sandbox"
    ]


def test_free_ports_pass():
    assert portcheck.problems({"WEB_PORT": str(_free_port()), "SANDBOX_PORT": "0"}) == []


def test_the_command_fails_when_a_port_is_taken(taken_port, monkeypatch, capsys):
    monkeypatch.setenv("WEB_PORT", str(taken_port))
    monkeypatch.setenv("SANDBOX_PORT", "0")

    assert portcheck.main() == 1
    assert f"port {taken_port} is in use — set WEB_PORT" in capsys.readouterr().err
