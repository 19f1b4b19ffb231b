"""Politeness across workers, read from the lab servers' own logs (real Redis, real processes).

Each test runs two or three worker processes at once against one lab host and
reads what that host saw: the HTTP request log's times (no two requests closer
than the configured delay), the mail server's count of simultaneous connections
(never two to one mail host), the moment a greylisting mail host was asked
again. Each limit test also runs the same processes without the shared limiter
and requires the lab to see the violation, so the assertion can fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import Lab
from auditor.models import ContactPoint
from auditor.net.ratelimit import PREFIX
from tests.support.redis import RedisServer

ROOT = Path(__file__).resolve().parents[2]
SMTP_LATENCY = 0.2  # seconds per reply: a session (about 2 s) outlasts the shared 1 s between session starts
TOLERANCE = 0.05  # seconds a request may be logged early (the send follows the reserved turn by this much)


@pytest.fixture(scope="module")
def slow_lab() -> Iterator[Lab]:
    with Lab(smtp_latency=SMTP_LATENCY) as running:
        yield running


def settings_for(lab: Lab, **overrides: Any) -> dict[str, Any]:
    return {"nameserver": lab.nameserver, "allow_private_targets": True, "smtp_port": lab.smtp_port,
            "helo": "limits.auditor.test", "mail_from": "probe@limits.auditor.test", "smtp_timeout": 5.0,
            "timeout": 5.0, "progress": False, **overrides}


def run_workers(lab: Lab, jobs: list[dict[str, Any]], redis_url: str | None) -> list[list[dict[str, Any]]]:
    """Start one process per job, all beginning at the same moment; their verdicts."""
    start_at = time.time() + 4.0  # after every process has imported what it needs
    procs = []
    for job in jobs:
        payload = json.dumps({**job, "redis": redis_url, "start_at": start_at,
                              "network": {"http_port_overrides": lab.network_options().http_port_overrides,
                                          "ca_file": lab.network_options().ca_file}})
        procs.append(probe(payload, stdout=subprocess.PIPE))
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append([json.loads(line) for line in out.splitlines() if line.strip()])
    return outputs


def probe(job: str, stdout: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """One stand-in worker process (tests/support/limit_probe.py) running ``job``."""
    return subprocess.Popen([sys.executable, "-m", "tests.support.limit_probe", job], cwd=ROOT, text=True,
                            stdout=stdout, stderr=subprocess.PIPE, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def email(address: str) -> list[Any]:
    return [ContactPoint("email", address, address, None, "mailto", "").to_dict(), None]


def form(url: str) -> list[Any]:
    return [ContactPoint("form", url, url, None, "form", url).to_dict(), None]


def gaps(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [b - a for a, b in zip(ordered, ordered[1:], strict=False)]


# -- one SMTP connection per mail host ------------------------------------------------------------
def smtp_jobs(lab: Lab) -> list[dict[str, Any]]:
    domain = "kovacs-szerviz.hu"
    addresses = ["ugyfelszolgalat", "info", "szerviz", "nobody", "nemletezik", "senki"]
    return [{"settings": settings_for(lab), "points": [email(f"{addresses[i * 2 + k]}@{domain}") for k in range(2)]}
            for i in range(3)]


def test_one_smtp_connection_per_mail_host_across_workers(slow_lab: Lab, redis_url: str) -> None:
    servers = slow_lab.mail_servers
    assert servers is not None
    ip = slow_lab.mail_host("mx1.kovacs-szerviz.hu").ip
    servers.reset_counters()
    run_workers(slow_lab, smtp_jobs(slow_lab), None)
    alone = servers.snapshot()
    assert alone["max_concurrent"][ip] >= 2, f"the control run never overlapped: {alone}"

    servers.reset_counters()
    outputs = run_workers(slow_lab, smtp_jobs(slow_lab), redis_url)
    shared = servers.snapshot()
    assert shared["sessions"][ip] >= 3, shared
    assert shared["max_concurrent"][ip] == 1, f"two workers held SMTP connections to {ip} at once: {shared}"
    verdicts = {tuple(v["key"]): v["verdict"]["verdict"] for out in outputs for v in out}
    assert verdicts[("email", "info@kovacs-szerviz.hu")] == "active"
    assert verdicts[("email", "nobody@kovacs-szerviz.hu")] == "inactive"


# -- the per-host HTTP delay of the link checks ----------------------------------------------------
def test_link_checks_keep_the_per_host_delay_across_workers(slow_lab: Lab, redis_url: str) -> None:
    site = slow_lab.website("robotfirma.de")
    host = "robotfirma.de"
    delay = 0.3

    def jobs() -> list[dict[str, Any]]:
        return [{"settings": settings_for(slow_lab, delay=delay),
                 "points": [form(f"{site}kontakt-{w}-{i}") for i in range(3)]} for w in range(3)]

    def seen(run: Any) -> list[float]:
        since = time.time()
        run()
        return [r.time for r in slow_lab.requests.for_host(host) if r.time >= since]

    alone = seen(lambda: run_workers(slow_lab, jobs(), None))
    assert len(alone) >= 9 and min(gaps(alone)) < delay / 3, "the control run never came close to the delay"
    shared = seen(lambda: run_workers(slow_lab, jobs(), redis_url))
    print(f"{len(shared)} requests to {host}, closest {min(gaps(shared)):.3f} s apart "
          f"(without the shared limiter {min(gaps(alone)):.3f} s)")
    assert len(shared) >= 9
    assert min(gaps(shared)) >= delay - TOLERANCE, f"requests closer than {delay} s: {sorted(gaps(shared))[:5]}"


# -- the greylisting delay ------------------------------------------------------------------------
def test_a_greylisted_mail_host_is_not_asked_again_early_by_another_worker(
        slow_lab: Lab, redis_url: str, redis_server: RedisServer) -> None:
    """Worker A is greylisted and dies; worker B, taking over, waits for A's clock before asking that host."""
    servers = slow_lab.mail_servers
    assert servers is not None
    ip = slow_lab.mail_host("mx1.sitemapco.pl").ip
    delay = 12.0
    clock_key = f"{PREFIX}greylist:{ip}"

    def first_contact(redis: str | None) -> tuple[float, float, float]:
        """Greylist A, kill it; B (started meanwhile) takes over: (B's start, A's clock end, B's first contact)."""
        servers.reset_counters()
        job = {"settings": settings_for(slow_lab, greylist_delay=delay),
               "points": [email(f"nowy-{time.time_ns()}@sitemapco.pl")], "network": {}}
        a = probe(json.dumps({**job, "redis": redis_url}))
        # B imports while A has its first try, and takes over the moment A is greylisted
        b = probe(json.dumps({**job, "settings": settings_for(slow_lab, greylist_delay=0.5), "redis": redis,
                              "start_on": [redis_url, clock_key, 0.5]}), stdout=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while redis_server.command("GET", clock_key).startswith(b"$-1") and time.monotonic() < deadline:
            time.sleep(0.02)
        a.kill()  # a worker that dies in its greylisting wait: its batch goes to another
        a.wait()
        start_at = time.time() + 0.5
        pttl = int(redis_server.command("PTTL", clock_key)[1:].split(b"\r")[0])
        assert pttl > 0, "worker A never recorded the greylisting"
        clock_end = time.time() + pttl / 1000 - 1.0  # the key outlives the clock by a second
        before = servers.snapshot()["sessions"].get(ip, 0)
        contact = None
        while b.poll() is None and contact is None:
            if servers.snapshot()["sessions"].get(ip, 0) > before:
                contact = time.time()
            time.sleep(0.01)
        out, err = b.communicate(timeout=60)
        assert b.returncode == 0, err
        assert contact is not None, f"worker B never talked to the mail host: {out} {err[-3000:]}"
        redis_server.command("DEL", clock_key)
        return start_at, clock_end, contact

    start_at, clock_end, contact = first_contact(None)
    assert start_at < clock_end - 2 and contact < clock_end - 1, "the control worker (own limits) waited anyway"
    start_at, clock_end, contact = first_contact(redis_url)
    assert start_at < clock_end - 2, "worker B started after A's clock ended: the test cannot tell"
    assert contact >= clock_end - TOLERANCE, f"worker B asked {ip} {clock_end - contact:.2f} s before A's delay ended"


# -- the crawl: three workers on companies that share one host ------------------------------------
def test_distributed_crawl_keeps_the_per_host_delay_across_workers(slow_lab: Lab, tmp_path: Path, postgres_url: str,
                                                                   redis_url: str) -> None:
    from tests.integration.test_distributed import auditor, crawl_args, stored_once

    site, host, delay = slow_lab.website("robotfirma.de"), "robotfirma.de", 0.4
    csv_path = tmp_path / "shared-host.csv"
    # enough companies that the shared 0.4 s turn (60 requests: 24 s at least) outlasts the
    # workers' start-up even on a loaded machine, so that more than one worker crawls
    companies = 20
    rows = [f"Branch {i},{site}?branch={i},DE" for i in range(companies)]
    csv_path.write_text("name,website,country\n" + "\n".join(rows) + "\n", encoding="utf-8")
    since = time.time()
    auditor(slow_lab, "audit", str(csv_path), "--out", str(tmp_path / "out"), "--store", postgres_url,
            "--queue", redis_url, "--workers", "3", *crawl_args(slow_lab), "--delay", str(delay), "--no-autothrottle",
            "--concurrency", "1", "--max-pages", "3", "--no-validate", "--no-report")
    seen = [r.time for r in slow_lab.requests.for_host(host) if r.time >= since]
    status = json.loads(auditor(slow_lab, "status", "--store", postgres_url, "--queue", redis_url, "--json").stdout)
    crawled_by = [w for w, c in status["workers"].items() if c.get("done", 0) + c.get("failed", 0)]
    assert len(crawled_by) >= 2, f"one worker crawled everything: the test cannot tell ({status['workers']})"
    print(f"{len(seen)} requests to {host} by {len(crawled_by)} workers, closest {min(gaps(seen)):.3f} s apart")
    assert len(seen) >= 9
    assert min(gaps(seen)) >= delay - TOLERANCE, f"requests closer than {delay} s: {sorted(gaps(seen))[:5]}"
    stored_once(postgres_url, companies)
