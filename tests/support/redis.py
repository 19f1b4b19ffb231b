"""Throwaway Redis servers for the tests, each in its own temporary folder.

``redis-server`` from Debian's package, on a free loopback port; ready means it
answered PING; it is shut down and its folder removed afterwards. The session's
server keeps nothing on disk (``--save '' --appendonly no``); a fault test's
:class:`PersistentRedis` writes every change to its append-only file before
answering, so it can be killed and started again with its queue intact, as a
production Redis configured for durability. Under CI a missing Redis fails the test.
"""

from __future__ import annotations

import shutil
import signal
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
def running_redis(binary: str, also_bind: tuple[str, ...] = ()) -> Iterator[RedisServer]:
    """Start redis-server on a free port; stop it and remove its folder afterwards.

    ``also_bind``: addresses it listens on besides 127.0.0.1 (a test's private
    veth, for a worker in a network namespace); clients from there have no
    password, so protected mode, which refuses non-loopback clients, is off.
    """
    extra = ["--protected-mode", "no"] if also_bind else []
    folder = Path(tempfile.mkdtemp(prefix="auditor-redis-"))
    log = folder / "server.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        for attempt in range(3):  # another process may take the free port first
            server = RedisServer(free_port(), folder)
            with open(log, "ab") as out:
                process = subprocess.Popen(
                    [binary, "--port", str(server.port), "--bind", "127.0.0.1", *also_bind, *extra, "--save", "",
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


class PersistentRedis:
    """A server that logs every write to its append-only file (fsync always): kill it, start it, nothing is lost."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.log = folder / "server.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> RedisServer:
        return RedisServer(self.port, self.folder)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        """Start (on a free port the first time, on the same port again), loading the append-only file."""
        for attempt in range(3):
            port = self.port or free_port()
            with open(self.log, "ab") as out:
                self.process = subprocess.Popen(
                    [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder),
                     "--daemonize", "no"],
                    stdout=out, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True,
                )
            try:
                _ready(RedisServer(port, self.folder), self.process, self.log)
            except RuntimeError:
                if "Address already in use" in self.log.read_text(errors="replace") and attempt < 2 and not self.port:
                    continue
                raise
            self.port = port
            return

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown save; what was answered is in the append-only file."""
        self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _binary() -> str:
    binary = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None)
    if binary is None:
        missing("Redis is not installed", INSTALL)
    assert binary is not None
    return binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis server for the test session."""
    with running_redis(_binary()) as server:
        yield server


@pytest.fixture
def persistent_redis() -> Iterator[PersistentRedis]:
    """A durable server of this test's own, which the test may kill and start again (faults)."""
    redis = PersistentRedis(_binary(), Path(tempfile.mkdtemp(prefix="auditor-redis-aof-")))
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()
        shutil.rmtree(redis.folder, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's server, emptied for this test."""
    redis_server.command("FLUSHALL")
    return redis_server.url
