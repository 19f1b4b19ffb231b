"""Peak memory of one distributed worker's crawl for short and long company lists (issue 14).

Target: a worker's memory does not grow with the length of the list or with the
companies it has finished, so peak(10,000) / peak(1,000) <= 1.2, as for the
embedded run (``bench/bench_memory.py``, whose generated lab world this reuses:
small shops of 5 pages, served on loopback without delay).

For each size the run is registered and enqueued on a fresh PostgreSQL database
and an emptied Redis (the test servers of ``tests/support``, started here), then
one worker's crawl runs in a fresh interpreter: the very function a worker's
crawl child runs (``auditor.dist.run._crawl_child``: claims with leases, the
shared per-host limits, each company stored in PostgreSQL in one transaction),
validation off. The peak is that process's high-water resident set size (VmHWM)
at its end; the worker's supervisor process only waits and reaps (it holds no
company) and is not part of it.

    python bench/bench_worker_memory.py [--sizes 1000,10000] [--root TREE]

Exits 1 when the ratio misses the target.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_memory import world_toml  # noqa: E402 - the same lab world as the embedded benchmark
from tests.support.postgres import binaries, running_postgres  # noqa: E402 - the test servers, reused
from tests.support.redis import running_redis  # noqa: E402

TARGET_RATIO = 1.2

CRAWL = r'''
import json, os, sys
from auditor.config import Settings
from auditor.dist.queue import WorkQueue, connect
from auditor.dist.run import WorkerOptions, _crawl_child
store, queue, run, nameserver, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
settings = Settings(nameserver=nameserver, allow_private_targets=True, delay=0.0, autothrottle=False,
                    concurrency=concurrency, validate=False, progress=False, log_level="WARNING",
                    contact_url="https://lab.test/crawler")
_crawl_child(WorkerOptions(store, queue, 60.0, run=run), run, settings, os.getppid())
status = WorkQueue(connect(queue), run).status()
_peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:'))
print(json.dumps({"done": status.done, "failed": status.failed, "pages": status.pages, "peak_kb": _peak}))
'''


def crawl(store: str, queue: str, run: int, nameserver: str, concurrency: int, root: Path) -> tuple[dict[str, int], float]:
    """One worker's crawl in a fresh interpreter until the queue is drained: its figures and seconds."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CRAWL, store, queue, str(run), nameserver, str(concurrency)],
                          cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"the crawl child failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="company counts, comma-separated")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree the crawl imports")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    bindir = binaries()
    redis_binary = shutil.which("redis-server")
    if bindir is None or redis_binary is None:
        raise SystemExit("needs PostgreSQL and Redis (scripts/setup.sh installs them)")

    from auditor.config import Settings
    from auditor.dist.run import register_and_enqueue
    from auditor.lab import Lab
    from auditor.lab.world import parse_world

    t0 = time.perf_counter()
    world = parse_world(world_toml(max(sizes)), "memory-world")
    print(f"world of {max(sizes):,} companies built in {time.perf_counter() - t0:.0f} s", flush=True)
    peaks: dict[int, float] = {}
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-worker-memory-") as tmp_name, \
            running_postgres(bindir) as pg, running_redis(redis_binary) as redis, Lab(world) as lab:
        for n in sizes:
            csv_path = lab.write_companies_csv(Path(tmp_name) / f"companies-{n}.csv", list(world.companies[:n]))
            redis.command("FLUSHALL")
            database = f"bench_{uuid.uuid4().hex[:12]}"
            store = pg.create_database(database)
            enq = register_and_enqueue(str(csv_path), store, redis.url, Settings(validate=False))
            result, seconds = crawl(store, redis.url, enq.run, lab.nameserver, args.concurrency, args.root)
            peak = result["peak_kb"] / 1024
            peaks[n] = peak
            rows.append({"companies": n, "done": result["done"], "failed": result["failed"],
                         "pages": result["pages"], "seconds": round(seconds, 1), "peak_mb": round(peak, 1)})
            print(f"{n:>7,} companies: worker crawl peak {peak:6.1f} MB, {result['done']:,} done, "
                  f"{result['failed']:,} failed, {result['pages']:,} pages, {seconds:.0f} s "
                  f"({n / seconds:.1f} companies/s)", flush=True)
            pg.drop_database(database)
    print("\ncompanies  " + "  ".join(f"{n:>8,}" for n in peaks))
    print("peak MB    " + "  ".join(f"{p:>8.1f}" for p in peaks.values()))
    ok = True
    figures: dict[str, object] = {"root": str(args.root), "sizes": rows}
    if len(peaks) >= 2:
        (n0, p0), (n1, p1) = list(peaks.items())[0], list(peaks.items())[-1]
        ratio = p1 / p0
        ok = ratio <= TARGET_RATIO
        figures["ratio"] = round(ratio, 3)
        print(f"ratio peak({n1:,})/peak({n0:,}): {ratio:.2f} (target <= {TARGET_RATIO}) {'ok' if ok else 'MISSED'}")
        print(f"growth: {(p1 - p0) * 1024 / (n1 - n0):.1f} KB per company ({n0:,} -> {n1:,})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
