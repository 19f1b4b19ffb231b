"""A throwaway Redis server for the tests: no persistence, its own temporary folder.

``redis-server`` from Debian's package, on a free loopback port with
``--save '' --appendonly no``; ready means it answered PING; it is shut down
and its folder removed afterwards. Under CI a missing Redis fails the test.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.requirements import missing
from tests.support.servers import free_port

INSTALL = "apt-get install redis-server"


@dataclass(frozen=True)
class RedisServer:
    """A running test server."""

    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, *args: str) -> bytes:
        """One command over RESP; the raw reply (enough for checks without a client library)."""
        payload = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(payload)
            return s.recv(65536)


def _ready(server: RedisServer, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited ({process.returncode}): {log.read_text(errors='replace')[-2000:]}")
        try:
            if server.command("PING").startswith(b"+PONG"):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)  # poll again: the server is still starting


@contextmanager
def running_redis(binary: str) -> Iterator[RedisServer]:
    """Start redis-server on a free port; stop it and remove its folder afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="auditor-redis-"))
    log = folder / "server.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        for attempt in range(3):  # another process may take the free port first
            server = RedisServer(free_port(), folder)
            with open(log, "ab") as out:
                process = subprocess.Popen(
                    [binary, "--port", str(server.port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(folder), "--daemonize", "no"],
                    stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
                )
            try:
                _ready(server, process, log)
            except RuntimeError:
                if "Address already in use" in log.read_text(errors="replace") and attempt < 2:
                    continue
                raise
            yield server
            return
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis server for the test session."""
    binary = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None)
    if binary is None:
        missing("Redis is not installed", INSTALL)
    assert binary is not None
    with running_redis(binary) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's server, emptied for this test."""
    redis_server.command("FLUSHALL")
    return redis_server.url
