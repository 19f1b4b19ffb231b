"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder.

``initdb`` and ``postgres`` come from Debian's packages (/usr/lib/postgresql/N/bin).
PostgreSQL refuses to run as root, so under root the cluster belongs to the
``postgres`` user (or ``nobody``), and the server runs as that user. Its default
collation is ICU English, as on a typical production server (not bytewise), so
tests see the store's own ordering rules at work. Ready means
a connection succeeded; the server is stopped (fast shutdown) and its folder
removed afterwards. Under CI a missing PostgreSQL fails the test.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.requirements import missing
from tests.support.servers import free_port

INSTALL = "apt-get install postgresql"
USER = "auditor"


@dataclass(frozen=True)
class PostgresServer:
    """A running test server: trust authentication for ``USER`` on 127.0.0.1."""

    port: int
    folder: Path
    log: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (None: not installed)."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")]
    on_path = shutil.which("postgres") or shutil.which("pg_ctl")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    found = [p for p in found if (p / "initdb").exists() and (p / "postgres").exists()]
    if not found:
        return None

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", str(p))) or (0,)

    return max(found, key=version)


def _runner() -> dict[str, Any]:
    """Popen arguments that drop root for the server (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


def _ready(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited ({server.returncode}): {log.read_text(errors='replace')[-2000:]}")
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)  # poll again: the server is still starting


class PostgresProcess:
    """A cluster in ``folder`` and its server, which can be stopped and started again on the same port."""

    def __init__(self, bindir: Path, folder: Path, durable: bool = False,
                 also_listen: tuple[str, ...] = (), trust: tuple[str, ...] = ()) -> None:
        self.bindir = bindir
        # also_listen: addresses besides 127.0.0.1 (a test's private veth); trust: client networks
        # (CIDR) admitted there without a password, as 127.0.0.1 is
        self.also_listen, self.trust = also_listen, trust
        # durable: a commit is in the WAL on disk before it returns, so an immediate shutdown (a crash)
        # keeps every committed transaction, as on a production server; otherwise commits are asynchronous
        self.durable = durable
        self.folder = folder
        self.data, self.log = folder / "data", folder / "server.log"
        self.runner = _runner()
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> PostgresServer:
        return PostgresServer(self.port, self.folder, self.log)

    def init(self) -> None:
        if self.runner:
            os.chown(self.folder, self.runner["user"], self.runner["group"])
        subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust", "--encoding=UTF8",
             "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en", "--no-sync"],
            check=True, capture_output=True, cwd=self.folder, **self.runner,
        )
        if self.trust:
            with open(self.data / "pg_hba.conf", "a", encoding="utf-8") as hba:
                hba.writelines(f"host all {USER} {network} trust\n" for network in self.trust)

    def start(self) -> None:
        """Start the server (on a free port the first time, on the same port after a stop)."""
        for attempt in range(3):  # another process may take the free port first
            port = self.port or free_port()
            with open(self.log, "ab") as out:
                self.process = subprocess.Popen(
                    [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(port), "-k", str(self.folder),
                     "-c", f"listen_addresses={','.join(('127.0.0.1', *self.also_listen))}",
                     "-c", "fsync=off", "-c", f"synchronous_commit={'on' if self.durable else 'off'}",
                     "-c", "full_page_writes=off", "-c", "max_connections=200"],
                    stdout=out, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True, **self.runner,
                )
            try:
                _ready(PostgresServer(port, self.folder, self.log).url(), self.process, self.log)
            except RuntimeError:
                if "could not bind" in self.log.read_text(errors="replace") and attempt < 2 and not self.port:
                    continue
                raise
            self.port = port
            return

    def stop(self, sig: int = signal.SIGINT) -> None:
        """Stop the server: SIGINT is a fast shutdown, SIGQUIT an immediate one (a crash, recovered at start)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running_postgres(bindir: Path) -> Iterator[PostgresServer]:
    """Start a server on a free port; stop it and remove its folder afterwards."""
    with restartable_postgres(bindir) as pg:
        yield pg.server


@contextmanager
def restartable_postgres(bindir: Path, durable: bool = False, also_listen: tuple[str, ...] = (),
                         trust: tuple[str, ...] = ()) -> Iterator[PostgresProcess]:
    """A new cluster, started; stopped and removed afterwards (see :class:`PostgresProcess` for the options)."""
    pg = PostgresProcess(bindir, Path(tempfile.mkdtemp(prefix="auditor-pg-")), durable, also_listen, trust)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(pg.folder, ignore_errors=True)


def _bindir() -> Path:
    bindir = binaries()
    if bindir is None:
        missing("PostgreSQL is not installed", INSTALL)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg is not installed", "pip install 'psycopg[binary]'")
    assert bindir is not None
    return bindir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session."""
    with running_postgres(_bindir()) as server:
        yield server


@pytest.fixture
def restartable_postgres_server() -> Iterator[PostgresProcess]:
    """A server of this test's own, which the test may stop and start again (faults)."""
    with restartable_postgres(_bindir(), durable=True) as pg:
        yield pg


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the session's server (dropped afterwards)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a store lives, once per backend: an audit folder (SQLite), then a PostgreSQL URL.

    Pass it to ``auditor.store.open_store``; opening it again reopens the same store.
    """
    if request.param == "sqlite":
        return tmp_path / "audit"
    url: str = request.getfixturevalue("postgres_url")
    return url

