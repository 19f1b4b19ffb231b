"""Benchmark: the batched, cached, polite email validator versus a naive one, on the lab.

10,000 addresses over 1,000 lab domains sharing 300 MX hosts (127.0.1.x-127.0.2.x),
each mail server adding a fixed latency per reply. Prints DNS queries per domain,
SMTP sessions per MX host (against the minimum the batching allows), the most
concurrent sessions any MX saw, and wall time versus a naive validator (one DNS
lookup chain and one SMTP connection per address, no cache, no batching), all in
this process. The naive validator runs on a sample spread over the list and its
time is extrapolated (it would take many minutes at full size); the sample size is
printed beside the figure.

    python bench/bench_email.py                  # full size, about a minute on 2 cores
    python bench/bench_email.py --addresses 1000 # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import aiosmtplib
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.lab.smtp import LabMailServers  # noqa: E402
from auditor.net.resolver import DnsResolver  # noqa: E402
from auditor.validate.email import EmailCheckConfig, EmailValidator, classify_reply  # noqa: E402

LOCAL_PARTS = ["info", "sales", "kontakt", "office", "jobs", "support", "hello", "team", "presse", "buero"]
MAILBOXES = ["info", "sales", "kontakt"]
HELO = "bench-checker.lab.example"
MAIL_FROM = f"audit@{HELO}"


class TinyDns:
    """UDP DNS on 127.0.0.1 answering from a dict (the lab world has no mail zones yet)."""

    def __init__(self, records: dict[str, dict[str, list[str]]]) -> None:
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            self.queries += 1
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            rdtype = dns.rdatatype.to_text(question.rdtype)
            if name not in self.records:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif self.records[name].get(rdtype):
                response.answer.append(
                    dns.rrset.from_text_list(question.name, 60, "IN", rdtype, self.records[name][rdtype])
                )
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


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
    dns_server = TinyDns(records)
    nameserver = f"127.0.0.1:{dns_server.port}"
    specs = [(mx_ip(i), behaviour(i), MAILBOXES) for i in range(n_mx)]
    lab = LabMailServers(specs, latency=args.latency, greylist_delay=1.0).start()
    print(f"lab: {n} addresses, {n_domains} domains, {n_mx} MX hosts on port {lab.port}, "
          f"{args.latency * 1000:g} ms per reply; MX behaviours {dict(Counter(s[1] for s in specs))}")

    try:
        config = EmailCheckConfig(
            smtp_port=lab.port, helo=HELO, mail_from=MAIL_FROM, timeout=args.timeout,
            greylist_retry_delay=1.0, allow_private=True,
        )
        resolver = DnsResolver(nameserver, timeout=5.0)
        validator = EmailValidator(resolver, config)
        start = time.perf_counter()
        results = asyncio.run(validator.validate_many(addresses))
        fast = time.perf_counter() - start
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

        print("\n== batched validator ==")
        print(f"wall time:                      {fast:.2f} s ({n / fast:.0f} addresses/s)")
        print(f"DNS queries per domain:         {resolver.queries_sent / n_domains:.2f} "
              f"({resolver.queries_sent} queries; MX per domain + A/AAAA per shared MX host)")
        print(f"SMTP sessions per MX host:      mean {statistics.mean(sessions):.2f}, max {max(sessions)}, "
              f"min {min(sessions)}; recipients per MX mean {statistics.mean(real_per_mx.values()):.1f}, "
              f"cap {cap}/session")
        print(f"sessions above the batching minimum (ceil(rcpts/{cap}) + catch-all): {extra} "
              f"of {sum(sessions)}")
        print(f"max concurrent sessions per MX: {max(stats['max_concurrent'].values())}")
        print(f"RCPTs sent:                     {sum(stats['rcpts'].values())} "
              f"({len(addresses)} real + catch-all probes + greylist re-probes)")
        print(f"DATA commands received:         {stats['data_commands']}")
        print(f"verdicts:                       {dict(verdicts.most_common())}")

        sample_size = min(n, max(1, args.naive_sample))
        step = n / sample_size
        sample = [addresses[int(i * step)] for i in range(sample_size)]
        lab.reset_counters()
        start = time.perf_counter()
        naive_reasons = asyncio.run(naive_run(sample, nameserver, lab.port, args.timeout))
        naive_sample_time = time.perf_counter() - start
        naive_total = naive_sample_time / sample_size * n
        naive_stats = lab.snapshot()
        print("\n== naive validator (one connection per address, no cache, sequential) ==")
        print(f"measured on {sample_size} addresses: {naive_sample_time:.2f} s "
              f"({naive_sample_time / sample_size * 1000:.1f} ms/address)")
        print(f"{'extrapolated' if sample_size < n else 'measured'} to {n} addresses: {naive_total:.1f} s")
        print(f"DNS queries per address:        2 (no cache); sessions: {sum(naive_stats['sessions'].values())} "
              f"for {sample_size} addresses")
        print(f"naive verdicts (sample):        {dict(naive_reasons.most_common())}")
        print(f"\nspeed-up: {naive_total / fast:.1f}x (target >= 10x)")
    finally:
        lab.stop()
        dns_server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
