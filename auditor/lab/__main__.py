"""``python -m auditor.lab``: run the lab in the foreground until Ctrl-C.

Handy for poking at the world by hand (curl, dig, swaks) or for running the auditor
against it from another terminal: it prints every port, the CA file and the
environment variables that point the auditor's validators at the lab.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from auditor.lab import GREYLIST_DELAY, TARPIT_DELAY, Lab, WorldError, load_world


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m auditor.lab", description="Serve the offline lab world on loopback."
    )
    parser.add_argument(
        "--world", type=Path, help="world file (default: the shipped default world)"
    )
    parser.add_argument("--http-port", type=int, default=0, help="HTTP port (0 = any free port)")
    parser.add_argument(
        "--dns-port", type=int, default=0, help="DNS port, UDP and TCP (0 = any free port)"
    )
    parser.add_argument("--https-port", type=int, default=0, help="HTTPS port (0 = any free port)")
    parser.add_argument(
        "--smtp-port", type=int, default=0, help="SMTP port of every mail host (0 = any free port)"
    )
    parser.add_argument(
        "--greylist-delay", type=float, default=GREYLIST_DELAY,
        help=f"seconds a greylisting host defers a new recipient (default {GREYLIST_DELAY:g})",
    )
    parser.add_argument(
        "--tarpit-delay", type=float, default=TARPIT_DELAY,
        help=f"seconds a tarpit withholds its banner (default {TARPIT_DELAY:g})",
    )
    parser.add_argument("--companies-csv", type=Path, help="write the companies input file here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        world = load_world(args.world)
    except WorldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    # Ctrl-C and SIGTERM both just end the wait, so the servers always stop cleanly.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    lab = Lab(
        world,
        http_port=args.http_port,
        dns_port=args.dns_port,
        https_port=args.https_port,
        smtp_port=args.smtp_port,
        greylist_delay=args.greylist_delay,
        tarpit_delay=args.tarpit_delay,
    )
    with lab:
        print(
            f"world       {world.name}: {len(world.companies)} companies, "
            f"{len(world.platforms)} platforms, {len(world.mail_hosts)} mail hosts ({world.source})"
        )
        print(f"http        127.0.0.1:{lab.http_port} (the Host header picks the site)")
        print(f"https       127.0.0.1:{lab.https_port} (same sites; certificates from the lab CA)")
        print(f"ca          {lab.ca_file}")
        print(f"dns         127.0.0.1:{lab.dns_port} (UDP and TCP)")
        if lab.smtp_port is not None:
            ips = sorted({m.ip for m in world.mail_hosts}, key=lambda ip: tuple(map(int, ip.split("."))))
            print(
                f"smtp        port {lab.smtp_port} on {len(ips)} loopback addresses "
                f"({ips[0]} .. {ips[-1]}); greylist {args.greylist_delay:g} s, "
                f"tarpit {args.tarpit_delay:g} s"
            )
        print(f"nameserver  {lab.nameserver}")
        if args.companies_csv:
            lab.write_companies_csv(args.companies_csv)
            print(f"companies   {args.companies_csv}")
        first = world.companies[0]
        print(f"try         curl -H 'Host: {first.domain}' http://127.0.0.1:{lab.http_port}/")
        print(f"            dig @127.0.0.1 -p {lab.dns_port} MX {first.domain}")
        if world.platforms:
            host = world.platforms[0].domain
            print(
                f"            curl --cacert {lab.ca_file} --resolve {host}:{lab.https_port}:127.0.0.1 "
                f"https://{host}:{lab.https_port}/"
            )
        print("export      (for auditor audit run in another terminal)")
        for name, value in lab.env().items():
            print(f"  export {name}='{value}'")
        if lab.smtp_port is not None:
            print(
                f"  auditor audit FILE --nameserver {lab.nameserver} --allow-private-targets "
                f"--smtp-port {lab.smtp_port} --greylist-delay {max(2.0, args.greylist_delay * 2):g} "
                "--smtp-timeout 3 --helo lab-auditor.test --mail-from probe@lab-auditor.test"
            )
        for company in world.companies:
            print(f"  {lab.website(company):<48} {company.name}")
        print("Ctrl-C to stop.", flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
