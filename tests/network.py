"""Cutting a test off the network: every way a library opens a connection or resolves a name
calls the test's ``refuse`` instead."""

import socket
from collections.abc import Callable

import pytest


def cut_network(monkeypatch: pytest.MonkeyPatch, refuse: Callable[..., object]) -> None:
    """``socket.connect``, ``socket.create_connection`` and ``socket.getaddrinfo`` call
    ``refuse`` (which raises) for the rest of the test."""
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
