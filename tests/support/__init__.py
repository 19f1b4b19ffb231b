"""Servers and helpers the tests start themselves (PostgreSQL, Redis), on free loopback ports."""

from __future__ import annotations

import os
import socket

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable(what: str, install: str) -> None:
    """A server the test needs is missing: a failure under CI (it must be installed there), else a skip."""
    message = f"{what} is not installed: {install} (or run scripts/setup.sh)"
    if os.environ.get("CI"):
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)
