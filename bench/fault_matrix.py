"""The fault matrix: every hostile or broken company of the fault world, audited, measured.

Each fault company of ``auditor/lab/worlds/faults.toml`` is audited alone (crawl,
validation, report) as ``auditor audit`` in its own process, so the peak memory printed
beside it (``os.wait4``'s ru_maxrss of that process) is that fault's alone. Prints one
row per fault: the outcome tag the record carries, the crawl time (the store's finish
time minus the run's start: includes Scrapy's start-up, about 0.5 s), the longest
email check, and the peak resident memory; then the budget every row must stay within
(the one tests/integration/test_faults.py holds them to), the figures measured against it,
and every row that broke it. Exits 1 when a row breaks its budget, an audit fails or a
fault gave no row.

    python bench/fault_matrix.py                 # every fault, 2 at a time (~2 minutes)
    python bench/fault_matrix.py --jobs 4 gzip-bomb.de drip-feed.de
    python bench/fault_matrix.py --together      # one audit of all: one peak for the run

The names answering private addresses are audited without --allow-private-targets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.lab.world import FAULTS_WORLD, load_world  # noqa: E402
from tests.integration.test_faults import MEMORY_LIMIT_MB  # noqa: E402
from tests.support.faults import (  # noqa: E402
    PRIVATE_FAULTS,
    Budget,
    Measured,
    fault_lab,
    outcomes,
    run_fault_audit,
    table,
)


def over_budget(rows: list[tuple[str, str, float, float, float]], budget: Budget) -> list[str]:
    """One line per figure that misses its target: crawl and check time, peak memory."""
    missed = []
    for fault, _outcome, crawl, check, peak in rows:
        if crawl > budget.crawl_seconds:
            missed.append(f"{fault}: crawl {crawl:.1f} s > {budget.crawl_seconds:g} s")
        if check > budget.check_seconds:
            missed.append(f"{fault}: check {check:.1f} s > {budget.check_seconds:g} s")
        if peak >= MEMORY_LIMIT_MB:
            missed.append(f"{fault}: peak {peak:.0f} MB >= {MEMORY_LIMIT_MB} MB")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("domains", nargs="*", help="fault companies to run (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="audits at once (default 2)")
    parser.add_argument("--together", action="store_true", help="one audit of every fault at once")
    args = parser.parse_args(argv)
    world = load_world(FAULTS_WORLD)
    domains = args.domains or [c.domain for c in world.companies]
    budget = Budget()
    rows: list[tuple[str, str, float, float, float]] = []
    failed_audits = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fault-matrix-") as tmp, fault_lab(world) as lab:
        base = Path(tmp)

        def audit(name: str, chosen: list[str], allow_private: bool) -> tuple[Measured, Path]:
            out = base / name
            measured = run_fault_audit(lab, out, budget, chosen, allow_private=allow_private)
            if measured.returncode != 0:
                print(f"{name}: exit {measured.returncode}\n{measured.stderr[-2000:]}", file=sys.stderr)
            return measured, out

        if args.together:
            plain = [d for d in domains if d not in PRIVATE_FAULTS]
            private = [d for d in domains if d in PRIVATE_FAULTS]
            runs = [audit("all", plain, True)] if plain else []
            runs += [audit("private", private, False)] if private else []
        else:
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                runs = list(pool.map(lambda d: audit(d, [d], d not in PRIVATE_FAULTS), domains))
        for measured, out in runs:
            if measured.returncode != 0:
                failed_audits += 1
                continue
            for outcome in outcomes(lab, out).values():
                rows.append((outcome.fault, outcome.outcome, outcome.crawl_seconds, outcome.check_seconds,
                             measured.peak_rss_mb))
    order = {d.rsplit(".", 1)[0]: i for i, d in enumerate(domains)}
    rows.sort(key=lambda r: order.get(r[0], 0))
    print(table(rows))
    print(f"\n{len(rows)} faults in {time.monotonic() - started:.0f} s. Budget per row: crawl <= "
          f"{budget.crawl_seconds:g} s (--company-timeout {budget.company_timeout:g}, --timeout "
          f"{budget.timeout:g}, --dns-timeout {budget.dns_timeout:g}, start-up), check <= "
          f"{budget.check_seconds:g} s (--smtp-timeout {budget.smtp_timeout:g}), peak memory of the "
          f"audit process < {MEMORY_LIMIT_MB} MB.")
    if rows:
        crawl, check, peak = ([r[i] for r in rows] for i in (2, 3, 4))
        print(f"Measured: crawl {min(crawl):.1f}-{max(crawl):.1f} s, check {min(check):.1f}-{max(check):.1f} s, "
              f"peak memory {min(peak):.0f}-{max(peak):.0f} MB.")
    missed = over_budget(rows, budget)
    if len(rows) != len(domains):
        missed.append(f"{len(domains) - len(rows)} of {len(domains)} faults gave no row "
                      f"({failed_audits} audit(s) failed)")
    for line in missed:
        print(f"MISSED: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
