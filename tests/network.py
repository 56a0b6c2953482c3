"""Loopback ports for tests, and cutting a test off the network.

- ``free_port()``: a port for a server the test is about to start.
- ``refusing_port()``: a port that refuses connections, the way a server that is down does.
- ``silent_port()``: a port that takes connections and never answers, the way a server that
  hangs does (a client without a timeout waits there for ever).
- ``listening(port)``, ``answering(url)``: whether a server the test started is up yet.
- ``cut_network()``: every way a library opens a connection or resolves a name calls the
  test's ``refuse`` instead."""

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on right now, for a server the test starts on it. Once
    released the kernel may hand it out again: to stand for a server that is down, hold a
    ``refusing_port()`` instead."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections while the block runs: bound, never listening,
    so nothing else can take it meanwhile."""
    with socket.socket() as refusing:
        refusing.bind((LOOPBACK, 0))
        yield refusing.getsockname()[1]


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections and never answers while the block runs:
    listening (the kernel completes the handshake), never accepting, never reading."""
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen(16)
        yield silent.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something takes connections on the loopback ``port`` now."""
    try:
        socket.create_connection((LOOPBACK, port), timeout=0.2).close()
    except OSError:
        return False
    return True


def answering(url: str) -> bool:
    """Whether ``url`` answers 200 now: not while its server is not listening or starting."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def cut_network(monkeypatch: pytest.MonkeyPatch, refuse: Callable[..., object]) -> None:
    """``socket.connect``, ``socket.create_connection`` and ``socket.getaddrinfo`` call
    ``refuse`` (which raises) for the rest of the test."""
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
