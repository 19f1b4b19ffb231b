"""Shared fixtures for tests that run real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auditor.lab import Lab


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The default world, served once for the whole session (HTTP, HTTPS, DNS and SMTP)."""
    with Lab() as running:
        yield running
