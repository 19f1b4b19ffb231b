"""``python -m auditor.lab``: run the lab in the foreground until Ctrl-C.

Handy for poking at the world by hand (curl, dig) or for running the auditor
against it from another terminal.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from auditor.lab import Lab, WorldError, load_world


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
    with Lab(world, http_port=args.http_port, dns_port=args.dns_port) as lab:
        print(f"world       {world.name}: {len(world.companies)} companies ({world.source})")
        print(f"http        127.0.0.1:{lab.http_port} (the Host header picks the site)")
        print(f"dns         127.0.0.1:{lab.dns_port} (UDP and TCP)")
        print(f"nameserver  {lab.nameserver}")
        if args.companies_csv:
            lab.write_companies_csv(args.companies_csv)
            print(f"companies   {args.companies_csv}")
        first = world.companies[0]
        print(f"try         curl -H 'Host: {first.domain}' http://127.0.0.1:{lab.http_port}/")
        print(f"            dig @127.0.0.1 -p {lab.dns_port} MX {first.domain}")
        for company in world.companies:
            print(f"  {lab.website(company):<48} {company.name}")
        print("Ctrl-C to stop.", flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
