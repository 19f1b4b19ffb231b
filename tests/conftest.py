"""Fixtures every test directory may use: the lab (one per session), the golden-file switch."""

from __future__ import annotations

import os

import pytest

from tests.integration.conftest import lab  # noqa: F401 - re-exported as a fixture
from tests.support.postgres import (  # noqa: F401 - fixtures
    postgres_server,
    postgres_url,
    restartable_postgres_server,
    store_target,
)
from tests.support.redis import persistent_redis, redis_server, redis_url  # noqa: F401 - fixtures
from tests.support.requirements import SETUP, missing_test_extras

UPDATE_GOLDENS_ENV = "AUDITOR_UPDATE_GOLDENS"


def pytest_configure(config: pytest.Config) -> None:
    """Say why the tests cannot run on a plain install instead of an ImportError at collection."""
    if missing := missing_test_extras():
        pytest.exit(f"the tests need {', '.join(missing)}: run `{SETUP}` "
                    "(or `pip install -e '.[test]'`) first", returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help=f"rewrite golden files from this run (or set {UPDATE_GOLDENS_ENV}=1); "
                          "review the diff before committing it")


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """True only when asked for explicitly: a test never writes the file it then compares against."""
    return bool(request.config.getoption("--update-goldens")) or os.environ.get(UPDATE_GOLDENS_ENV) == "1"
