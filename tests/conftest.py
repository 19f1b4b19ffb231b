"""Fixtures every test directory may use: the lab (one per session)."""

from tests.integration.conftest import lab  # noqa: F401 - re-exported as a fixture
from tests.support.postgres import postgres_server, postgres_url, store_target  # noqa: F401 - fixtures
from tests.support.redis import redis_server, redis_url  # noqa: F401 - fixtures
