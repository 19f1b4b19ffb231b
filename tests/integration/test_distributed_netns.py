"""A worker on a host of its own, cut off from Redis and PostgreSQL for longer than its lease (issue 14).

The test makes the host: a network namespace joined to this machine by a veth
pair whose two ends hold a private /30 picked here (a free one: no route or
address of the machine overlaps it). Nothing beyond this machine is routed to or
from it. The test's own Redis and PostgreSQL listen on the machine's end as well
as on 127.0.0.1, and the worker inside reaches them there, as another machine
would. The lab (its DNS answers loopback addresses for every site) is reached
through the same link: the namespace routes 127.0.0.0/8 to the machine's end
(``route_localnet`` on both ends) and keeps its own loopback down, so every
packet of the worker, to the queue, the store or a site, crosses the veth.

Setting the machine's end down cuts all of it at once and silently, as a pulled
cable: packets are dropped, no connection is reset. The link stays down for
longer than the lease, while the worker is in mid-company: another worker, on
the machine, reclaims the company and stores it; then the link comes back, and
the cut-off worker's late write must be refused or harmless (the stored company
unchanged since before the link came back), every company stored exactly once,
none missing.

Creating a namespace needs root and ``ip`` (iproute2): elsewhere the test skips
and says why; under CI (which runs as root) it fails.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from auditor.dist.queue import WorkQueue, connect
from auditor.lab import Lab
from auditor.store import SqlStore, open_store
from auditor.store.schema import companies, contact_points, pages
from tests.integration.test_distributed import ROOT, auditor, crawl_args, lab_env, stored_once
from tests.integration.test_distributed_faults import SITES, no_store_errors, stop_all, wait_for
from tests.support.postgres import _bindir, restartable_postgres
from tests.support.redis import _binary, running_redis
from tests.support.requirements import missing, need_binary

POOL = ipaddress.ip_network("10.213.0.0/16")  # where the test picks its /30 (private, checked free first)
LEASE = 3.0  # seconds: short, so the cut outlasts it many times over
FIX = "run the tests as root on Linux with iproute2 (`ip netns add` must work)"


@dataclass(frozen=True)
class WorkerHost:
    """A network namespace and its veth pair: a host of its own, one link away from this machine."""

    ip: str  # the `ip` binary
    name: str  # the namespace
    outer: str  # the veth end on this machine
    inner: str  # the veth end in the namespace
    network: ipaddress.IPv4Network
    outer_address: str
    inner_address: str

    def run(self, *args: str, inside: bool = False) -> None:
        command = [self.ip, "netns", "exec", self.name, self.ip, *args] if inside else [self.ip, *args]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)

    def command(self, *args: str) -> list[str]:
        """``args`` run inside the namespace."""
        return [self.ip, "netns", "exec", self.name, *args]

    def pids(self) -> set[int]:
        out = subprocess.run([self.ip, "netns", "pids", self.name], capture_output=True, text=True, timeout=30)
        return {int(p) for p in out.stdout.split()}

    def cut(self) -> None:
        """The machine's end down: whatever the worker sends is dropped, and nothing reaches it."""
        self.run("link", "set", "dev", self.outer, "down")

    def restore(self) -> None:
        self.run("link", "set", "dev", self.outer, "up")


def _in_use(ip: str) -> list[ipaddress.IPv4Network]:
    """Every IPv4 network this machine routes or holds an address in."""
    used = []
    for args in (["-j", "-4", "route", "show", "table", "all"], ["-j", "-4", "addr", "show"]):
        out = subprocess.run([ip, *args], capture_output=True, text=True, check=True, timeout=30).stdout
        for entry in json.loads(out or "[]"):
            for dst in [entry.get("dst")] + [a.get("local") for a in entry.get("addr_info", [])]:
                if dst and dst != "default":
                    used.append(ipaddress.ip_network(dst, strict=False))
    return used


def _free_network(ip: str) -> ipaddress.IPv4Network:
    """A /30 of POOL that no route or address of this machine overlaps (another test may hold one)."""
    used = _in_use(ip)
    rng = random.Random()
    for _ in range(100):
        first = POOL.network_address + 4 * rng.randrange(POOL.num_addresses // 4)
        candidate = ipaddress.ip_network(f"{first}/30")
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise RuntimeError(f"no free /30 in {POOL}")


def _remove(host: WorkerHost) -> None:
    """Kill what still runs inside (this test's worker), delete the namespace and the veth pair."""
    for pid in host.pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run([host.ip, "netns", "delete", host.name], capture_output=True, timeout=30)
    subprocess.run([host.ip, "link", "delete", host.outer], capture_output=True, timeout=30)  # gone with the pair


@pytest.fixture
def worker_host() -> Iterator[WorkerHost]:
    """A namespace joined by a veth pair (a private /30); removed afterwards, whatever the test did."""
    if sys.platform != "linux":
        missing("network namespaces are Linux only", FIX)
    if os.geteuid() != 0:
        missing("creating a network namespace needs root", FIX)
    ip = need_binary("ip", "iproute2")
    tag = f"{os.getpid() % 65536:04x}{random.randrange(256):02x}"
    try:
        network = _free_network(ip)
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired, RuntimeError) as exc:
        missing(f"cannot pick a free private network for a worker host ({exc})", FIX)
    outer_address, inner_address = (str(a) for a in network.hosts())
    host = WorkerHost(ip, f"auditor-test-{tag}", f"aud{tag}o", f"aud{tag}i", network, outer_address, inner_address)
    prefix = f"/{network.prefixlen}"
    try:
        host.run("netns", "add", host.name)
        host.run("link", "add", host.outer, "type", "veth", "peer", "name", host.inner)
        host.run("link", "set", "dev", host.inner, "netns", host.name)
        host.run("addr", "add", outer_address + prefix, "dev", host.outer)
        # loopback destinations in from the namespace, and loopback sources back out to it, on this link only
        subprocess.run(["sysctl", "-qw", f"net.ipv4.conf.{host.outer}.route_localnet=1"], check=True,
                       capture_output=True, text=True, timeout=30)
        host.run("link", "set", "dev", host.outer, "up")
        host.run("addr", "add", inner_address + prefix, "dev", host.inner, inside=True)
        subprocess.run(host.command("sysctl", "-qw", f"net.ipv4.conf.{host.inner}.route_localnet=1"), check=True,
                       capture_output=True, text=True, timeout=30)
        host.run("link", "set", "dev", host.inner, "up", inside=True)
        # the namespace's loopback stays down: 127.0.0.0/8 (the lab's sites and DNS) is over the link
        host.run("route", "add", "127.0.0.0/8", "via", outer_address, "dev", host.inner, inside=True)
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as exc:
        _remove(host)
        detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else exc
        missing(f"cannot make a network namespace for a worker host ({detail})", FIX)
    try:
        yield host
    finally:
        _remove(host)


@dataclass(frozen=True)
class Servers:
    """The test's PostgreSQL database and Redis, each reachable on 127.0.0.1 and on the machine's veth end."""

    store: str
    queue: str
    store_from_host: str  # the same, as the worker in the namespace reaches them
    queue_from_host: str


@pytest.fixture
def servers(worker_host: WorkerHost) -> Iterator[Servers]:
    address, network = worker_host.outer_address, str(worker_host.network)
    with restartable_postgres(_bindir(), also_listen=(address,), trust=(network,)) as pg, \
            running_redis(_binary(), also_bind=(address,)) as redis:
        store = pg.server.create_database("audit")
        yield Servers(store, redis.url, store.replace("@127.0.0.1:", f"@{address}:"),
                      redis.url.replace("//127.0.0.1:", f"//{address}:"))


def worker_args(lab: Lab, store: str, queue_url: str) -> list[str]:
    # the crawl only: a polite delay, so a company lasts long enough to be cut off in its middle
    return ["-m", "auditor.cli", "worker", "--store", store, "--queue", queue_url, "--lease", str(LEASE),
            *crawl_args(lab), "--no-validate", "--delay", "0.5", "--no-autothrottle", "--concurrency", "2"]


def start(command: list[str], lab: Lab, log: Path) -> subprocess.Popen[str]:
    with open(log, "w", encoding="utf-8") as err:  # a file, not a pipe: a worker cut off logs a lot
        return subprocess.Popen(command, cwd=ROOT, env=lab_env(lab), stdout=subprocess.DEVNULL, stderr=err,
                                text=True, start_new_session=True)


def finish(worker: subprocess.Popen[str], log: Path, timeout: float) -> str:
    worker.wait(timeout=timeout)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert worker.returncode == 0, text[-3000:]
    return text


def snapshot(store_url: str, keys: set[str]) -> dict[str, tuple[Any, ...]]:
    """Per company: when it was written, its status, its pages and its contact points."""
    store = open_store(store_url)
    assert isinstance(store, SqlStore)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(companies.c.key, companies.c.harvested_at, companies.c.status)
                                .where(companies.c.key.in_(keys))).all()
            page_rows = conn.execute(select(pages.c.company_key, func.count()).where(pages.c.company_key.in_(keys))
                                     .group_by(pages.c.company_key)).all()
            points = conn.execute(select(contact_points.c.company_key, contact_points.c.kind, contact_points.c.value)
                                  .where(contact_points.c.company_key.in_(keys))).all()
    finally:
        store.close()
    counts = dict(page_rows)
    return {key: (at, status, counts.get(key, 0), sorted((k, v) for c, k, v in points if c == key))
            for key, at, status in rows}


def test_a_worker_host_cut_off_past_its_lease_loses_its_company_and_its_late_write_is_refused(
        lab: Lab, tmp_path: Path, worker_host: WorkerHost, servers: Servers) -> None:
    csv_path = lab.write_companies_csv(tmp_path / "companies.csv", list(SITES))
    auditor(lab, "audit", str(csv_path), "--out", str(tmp_path / "out"), "--store", servers.store,
            "--queue", servers.queue, "--detach", "--no-validate", *crawl_args(lab))
    run = json.loads(auditor(lab, "status", "--store", servers.store, "--json").stdout)["run"]
    queue = WorkQueue(connect(servers.queue), run)
    expected = queue.status().enqueued
    victim_log, other_log = tmp_path / "victim.log", tmp_path / "other.log"
    started = time.time()
    victim = start(worker_host.command(sys.executable, *worker_args(lab, servers.store_from_host,
                                                                   servers.queue_from_host)), lab, victim_log)
    workers = [victim]
    try:
        assert victim.pid in worker_host.pids(), "the worker does not run in the namespace"

        def mid_company() -> bool:
            held = {urlsplit(json.loads(i)["website"]).hostname
                    for i in queue.client.lrange(queue.key("processing"), 0, -1)}
            return any(r.time >= started and r.host in held for r in lab.requests.snapshot())

        # it reached the queue, the store and the sites through the link: a claimed company's pages are asked for
        wait_for(mid_company, 180, "the worker in the namespace to crawl a claimed company")
        worker_host.cut()
        cut_at, cut_wall = time.monotonic(), time.time()
        taken = {json.loads(i)["key"] for i in queue.client.lrange(queue.key("processing"), 0, -1)}
        assert taken, "the worker held no company when its link was cut"
        other = start([sys.executable, *worker_args(lab, servers.store, servers.queue)], lab, other_log)
        workers.append(other)
        # the other worker reclaims the cut-off worker's companies once their leases end, and stores them
        wait_for(lambda: len(snapshot(servers.store, taken)) == len(taken)
                 and all(s[1] != "pending" for s in snapshot(servers.store, taken).values()),
                 240, "the cut-off worker's companies to be stored by the other worker")
        assert victim.poll() is None, "the cut-off worker exited while cut off"
        assert time.monotonic() - cut_at > LEASE
        assert queue.client.hlen(queue.key("attempts")) >= 1, "the cut-off worker's company was never reclaimed"
        before = snapshot(servers.store, taken)
        restored = time.time()
        worker_host.restore()
        finish(other, other_log, 300)
        logs = finish(victim, victim_log, 300)
    finally:
        stop_all(workers)
    # stored while the cut-off worker could write nothing: by the other one
    assert all(cut_wall < at < restored for at, *_ in before.values()), (before, cut_wall, restored)
    after = snapshot(servers.store, taken)
    changed = {k: (before[k], after.get(k)) for k in taken if after.get(k) != before[k]}
    # refused: the stored company is the other worker's, written before the link came back; harmless at
    # most: written again, but the same company (status, pages, contact points)
    assert all(new is not None and new[1:] == old[1:] for old, new in changed.values()), \
        f"the cut-off worker's late write replaced a stored company with another result: {changed}"
    status = queue.status()
    assert status.refused_late_writes >= 1 or changed, logs[-3000:]
    assert queue.drained() and status.done + status.failed == expected, status
    no_store_errors(queue)
    stored_once(servers.store, expected)


def test_the_worker_host_reaches_the_servers_and_the_lab_over_the_link_only(
        lab: Lab, worker_host: WorkerHost, servers: Servers) -> None:
    """The test's premise: from the namespace, Redis, PostgreSQL and the lab answer, and not while cut."""
    probe = ("import socket, sys\n"
             "for target in sys.argv[1:]:\n"
             "    host, port = target.rsplit(':', 1)\n"
             "    try:\n"
             "        socket.create_connection((host, int(port)), timeout=2).close(); print('ok')\n"
             "    except OSError:\n"
             "        print('cut')\n")
    targets = [f"{urlsplit(u).hostname}:{urlsplit(u).port}" for u in (servers.store_from_host, servers.queue_from_host)]
    targets.append(f"127.0.0.1:{lab.http_port}")  # the sites: the namespace's 127.0.0.0/8 is over the link

    def reach() -> list[str]:
        out = subprocess.run(worker_host.command(sys.executable, "-c", probe, *targets), capture_output=True,
                             text=True, timeout=60, check=True)
        return out.stdout.split()

    assert reach() == ["ok"] * 3
    worker_host.cut()
    try:
        assert reach() == ["cut"] * 3
    finally:
        worker_host.restore()
    wait_for(lambda: reach() == ["ok"] * 3, 30, "the link to come back")
