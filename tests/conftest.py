"""Fixtures every test directory may use: the lab (one per session)."""

from tests.integration.conftest import lab  # noqa: F401 - re-exported as a fixture
