"""Benchmark: the batched, cached, polite email validator versus a naive one, on the lab.

10,000 addresses over 1,000 lab domains sharing 300 MX hosts (127.0.1.x-127.0.2.x),
each mail server adding a fixed latency per reply. Prints DNS queries per domain,
SMTP sessions per MX host (against the minimum the batching allows), the most
concurrent sessions any MX saw, and wall time versus a naive validator (one DNS
lookup chain and one SMTP connection per address, no cache, no batching), all in
this process. The naive validator runs on a sample spread over the list and its
time is extrapolated (it would take many minutes at full size); the sample size is
printed beside the figure. DNS queries are those the lab's DNS server counted. Each
figure is printed beside its target at the end; the exit status is 1 if one is missed.

    python bench/bench_email.py                  # full size, about a minute on 2 cores
    python bench/bench_email.py --addresses 1000 # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiosmtplib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.lab.smtp import LabMailServers  # noqa: E402
from auditor.net.resolver import DnsResolver  # noqa: E402
from auditor.validate.email import EmailCheckConfig, EmailValidator, classify_reply  # noqa: E402
from tests.support.dns import serve_records  # noqa: E402

LOCAL_PARTS = ["info", "sales", "kontakt", "office", "jobs", "support", "hello", "team", "presse", "buero"]
MAILBOXES = ["info", "sales", "kontakt"]
HELO = "bench-checker.lab.example"
MAIL_FROM = f"audit@{HELO}"


def mx_ip(index: int) -> str:
    """127.0.1.1 ... 127.0.1.250, then 127.0.2.1 ..."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def behaviour(index: int) -> str:
    return {0: "accept-all", 1: "greylist"}.get(index % 20, "mailboxes")


def build_world(n_addresses: int, n_domains: int, n_mx: int) -> tuple[dict[str, dict[str, list[str]]], list[str], dict[str, str]]:
    records: dict[str, dict[str, list[str]]] = {}
    for i in range(n_mx):
        records[f"mx{i:03d}.bench.example"] = {"A": [mx_ip(i)]}
    domain_mx: dict[str, str] = {}
    for j in range(n_domains):
        domain = f"d{j:04d}.bench.example"
        records[domain] = {"MX": [f"10 mx{j % n_mx:03d}.bench.example."]}
        domain_mx[domain] = mx_ip(j % n_mx)
    per_domain = math.ceil(n_addresses / n_domains)
    addresses = [
        f"{LOCAL_PARTS[k % len(LOCAL_PARTS)]}@d{j:04d}.bench.example"
        for k in range(per_domain)
        for j in range(n_domains)
    ][:n_addresses]
    return records, addresses, domain_mx


async def naive_validate(address: str, nameserver: str, port: int, timeout: float) -> str:
    """What a first attempt looks like: resolve everything, connect, ask, hang up. Per address."""
    resolver = DnsResolver(nameserver, timeout=timeout)  # a fresh cache every time
    domain = address.rpartition("@")[2]
    mx = resolver.query(domain, "MX")
    if not mx.ok:
        return mx.status
    host = sorted(mx.records, key=lambda r: int(r.split()[0]))[0].split()[1].rstrip(".")
    a = resolver.query(host, "A")
    if not a.ok:
        return a.status
    smtp = aiosmtplib.SMTP(hostname=a.records[0], port=port, local_hostname=HELO, timeout=timeout, start_tls=False)
    try:
        await smtp.connect()
        await smtp.ehlo()
        await smtp.execute_command(b"MAIL", f"FROM:<{MAIL_FROM}>".encode())
        reply = await smtp.execute_command(b"RCPT", f"TO:<{address}>".encode())
        await smtp.quit()
    except aiosmtplib.SMTPException as exc:
        smtp.close()
        return f"error: {exc}"
    return classify_reply(reply.code, reply.message)[1]


async def naive_run(addresses: list[str], nameserver: str, port: int, timeout: float) -> Counter[str]:
    reasons: Counter[str] = Counter()
    for address in addresses:
        reasons[await naive_validate(address, nameserver, port, timeout)] += 1
    return reasons


@dataclass
class Figure:
    """One printed figure beside its stated target; a miss makes the run exit non-zero."""

    name: str
    value: float
    target: str
    met: bool


def _targets(figures: list[Figure]) -> int:
    print("\n== targets ==")
    for f in figures:
        print(f"{'ok    ' if f.met else 'MISSED'} {f.name:<44} {f.value:>10.2f}   target {f.target}")
    missed = [f.name for f in figures if not f.met]
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=None, help="default: addresses / 10")
    parser.add_argument("--mx-hosts", type=int, default=None, help="default: 300 (at most one per domain)")
    parser.add_argument("--latency", type=float, default=0.005, help="seconds the lab adds to every reply")
    parser.add_argument("--naive-sample", type=int, default=200, help="addresses the naive validator runs on")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)

    n = max(1, args.addresses)
    n_domains = args.domains or max(1, n // 10)
    n_mx = args.mx_hosts or min(300, n_domains)
    records, addresses, domain_mx = build_world(n, n_domains, n_mx)
    specs = [(mx_ip(i), behaviour(i), MAILBOXES) for i in range(n_mx)]
    with serve_records(records) as dns_server, \
            LabMailServers(specs, latency=args.latency, greylist_delay=1.0) as lab:
        nameserver = f"127.0.0.1:{dns_server.port}"
        print(f"lab: {n} addresses, {n_domains} domains, {n_mx} MX hosts on port {lab.port}, "
              f"{args.latency * 1000:g} ms per reply; MX behaviours {dict(Counter(s[1] for s in specs))}")
        config = EmailCheckConfig(
            smtp_port=lab.port, helo=HELO, mail_from=MAIL_FROM, timeout=args.timeout,
            greylist_retry_delay=1.0, allow_private=True,
        )
        resolver = DnsResolver(nameserver, timeout=5.0)
        validator = EmailValidator(resolver, config)
        dns_server.clear_queries()
        start = time.perf_counter()
        results = asyncio.run(validator.validate_many(addresses))
        fast = time.perf_counter() - start
        dns_batched = sum(dns_server.queries.values())  # counted by the DNS server, not the client
        verdicts = Counter(f"{v.verdict}/{v.reason}" for v in results.values())
        stats = lab.snapshot()

        # The fewest sessions batching allows per MX: ceil(recipients / per-session cap), plus
        # ceil(catch-all probes / cap); greylisting hosts need both twice (one re-probe).
        cap = config.max_recipients_per_session
        real_per_mx = Counter(domain_mx[a.rpartition("@")[2]] for a in addresses)
        domains_per_mx = Counter(domain_mx.values())
        minimum = {
            ip: (math.ceil(real_per_mx[ip] / cap) + math.ceil(domains_per_mx[ip] / cap))
            * (2 if behaviour(i) == "greylist" else 1)
            for i, ip in enumerate(mx_ip(k) for k in range(n_mx))
        }
        sessions = [stats["sessions"].get(ip, 0) for ip in minimum]
        extra = sum(max(0, stats["sessions"].get(ip, 0) - m) for ip, m in minimum.items())
        # One MX query per domain, one A and one AAAA per MX host: what a per-run cache allows.
        dns_floor = n_domains + 2 * n_mx
        max_concurrent = max(stats["max_concurrent"].values())

        print("\n== batched validator ==")
        print(f"wall time:                      {fast:.2f} s ({n / fast:.0f} addresses/s)")
        print(f"DNS queries per domain:         {dns_batched / n_domains:.2f} "
              f"({dns_batched} counted by the DNS server; MX per domain + A/AAAA per shared MX host "
              f"= {dns_floor}); per address {dns_batched / n:.3f}")
        print(f"SMTP sessions per MX host:      mean {statistics.mean(sessions):.2f}, max {max(sessions)}, "
              f"min {min(sessions)}; recipients per MX mean {statistics.mean(real_per_mx.values()):.1f}, "
              f"cap {cap}/session")
        print(f"sessions above the batching minimum (ceil(rcpts/{cap}) + catch-all): {extra} "
              f"of {sum(sessions)}")
        print(f"max concurrent sessions per MX: {max_concurrent}")
        print(f"RCPTs sent:                     {sum(stats['rcpts'].values())} "
              f"({len(addresses)} real + catch-all probes + greylist re-probes)")
        print(f"DATA commands received:         {stats['data_commands']}")
        print(f"verdicts:                       {dict(verdicts.most_common())}")

        sample_size = min(n, max(1, args.naive_sample))
        step = n / sample_size
        sample = [addresses[int(i * step)] for i in range(sample_size)]
        lab.reset_counters()
        dns_server.clear_queries()
        start = time.perf_counter()
        naive_reasons = asyncio.run(naive_run(sample, nameserver, lab.port, args.timeout))
        naive_sample_time = time.perf_counter() - start
        dns_naive = sum(dns_server.queries.values())
        naive_total = naive_sample_time / sample_size * n
        naive_stats = lab.snapshot()
        print("\n== naive validator (one connection per address, no cache, sequential) ==")
        print(f"measured on {sample_size} addresses: {naive_sample_time:.2f} s "
              f"({naive_sample_time / sample_size * 1000:.1f} ms/address)")
        print(f"{'extrapolated' if sample_size < n else 'measured'} to {n} addresses: {naive_total:.1f} s")
        print(f"DNS queries per address:        {dns_naive / sample_size:.2f} (counted by the DNS server, "
              f"no cache); sessions: {sum(naive_stats['sessions'].values())} for {sample_size} addresses")
        print(f"naive verdicts (sample):        {dict(naive_reasons.most_common())}")
        speed_up = naive_total / fast
        print(f"\nspeed-up: {speed_up:.1f}x (target >= 10x)")

    return _targets([
        Figure("speed-up over the naive validator (x)", speed_up, ">= 10", speed_up >= 10),
        Figure("DNS queries counted per domain", dns_batched / n_domains,
               f"<= {dns_floor / n_domains:.2f} (MX + A/AAAA per MX host)", dns_batched <= dns_floor),
        Figure("sessions above the batching minimum", extra, "0", extra == 0),
        Figure("max concurrent sessions per MX", max_concurrent,
               f"<= {config.per_mx_concurrency}", max_concurrent <= config.per_mx_concurrency),
        Figure("DATA commands received", stats["data_commands"], "0", stats["data_commands"] == 0),
    ])


if __name__ == "__main__":
    raise SystemExit(main())
