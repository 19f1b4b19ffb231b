"""Enqueueing a long companies list into a distributed run: time and peak memory (issue 14).

Target: the coordinator enqueues in bounded memory, so its peak for the longest
list is at most TARGET_RATIO times its peak for a list a tenth as long. Each size
is registered and enqueued (``auditor.dist.run.register_and_enqueue``: rows
streamed from the file, registered in PostgreSQL, queued in Redis in batches) in
a fresh process against its own PostgreSQL database and an emptied Redis, both
started here on loopback in temporary folders (Debian's postgresql and
redis-server). The peak is the child's high-water resident set size (VmHWM).

    python bench/bench_enqueue.py [--rows 100000,1000000] [--root TREE]

``--root`` runs the coordinator from another source tree (a BEFORE copy of the code).
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

from bench.bench_memory import write_big_csv  # noqa: E402 - the same generated list as the memory benchmark
from tests.support.postgres import binaries, running_postgres  # noqa: E402 - the test servers, reused
from tests.support.redis import running_redis  # noqa: E402

TARGET_RATIO = 1.2  # peak(longest list) / peak(a tenth of it)

ENQUEUE = r'''
import json, sys
from auditor.config import Settings
from auditor.dist.run import register_and_enqueue
source, store, queue = sys.argv[1:4]
enq = register_and_enqueue(source, store, queue, Settings())
_peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:'))
print(json.dumps({"companies": enq.companies, "errors": len(enq.errors), "peak_kb": _peak}))
'''


def enqueue(csv_path: Path, store: str, queue: str, root: Path) -> tuple[dict[str, int], float]:
    """Run the coordinator's enqueueing in a fresh interpreter: its figures and seconds."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", ENQUEUE, str(csv_path), store, queue], cwd=root, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"the enqueueing child failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), seconds


def redis_memory(server: object) -> float:
    """Redis's own used memory in MB (the queue and its duplicate set live there, not in the coordinator)."""
    reply = server.command("INFO", "memory").decode(errors="replace")  # type: ignore[attr-defined]
    used = next(line.split(":")[1] for line in reply.splitlines() if line.startswith("used_memory:"))
    return int(used) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000", help="list lengths, comma-separated")
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree the coordinator imports")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.rows.split(","))
    bindir = binaries()
    redis_binary = shutil.which("redis-server")
    if bindir is None or redis_binary is None:
        raise SystemExit("needs PostgreSQL and Redis (scripts/setup.sh installs them)")

    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-enqueue-") as tmp_name, \
            running_postgres(bindir) as pg, running_redis(redis_binary) as redis:
        for n in sizes:
            csv_path = Path(tmp_name) / f"companies-{n}.csv"
            write_big_csv(csv_path, n)
            redis.command("FLUSHALL")
            database = f"bench_{uuid.uuid4().hex[:12]}"
            store = pg.create_database(database)
            result, seconds = enqueue(csv_path, store, redis.url, args.root)
            rows.append({"rows": n, "companies": result["companies"], "errors": result["errors"],
                         "seconds": round(seconds, 1), "peak_mb": round(result["peak_kb"] / 1024, 1),
                         "redis_mb": round(redis_memory(redis), 1)})
            print(f"{n:>9,} rows: {result['companies']:,} companies enqueued, {result['errors']:,} input errors, "
                  f"{seconds:.1f} s, coordinator peak {result['peak_kb'] / 1024:.0f} MB", flush=True)
            pg.drop_database(database)
            csv_path.unlink()
    print("\nrows            " + "  ".join(f"{r['rows']:>10,.0f}" for r in rows))
    print("seconds         " + "  ".join(f"{r['seconds']:>10.1f}" for r in rows))
    print("rows per second " + "  ".join(f"{r['rows'] / r['seconds']:>10,.0f}" for r in rows))
    print("peak MB         " + "  ".join(f"{r['peak_mb']:>10.1f}" for r in rows))
    print("Redis MB        " + "  ".join(f"{r['redis_mb']:>10.1f}" for r in rows))
    ok = True
    figures: dict[str, object] = {"root": str(args.root), "sizes": rows}
    if len(rows) >= 2:
        ratio = rows[-1]["peak_mb"] / rows[0]["peak_mb"]
        ok = ratio <= TARGET_RATIO
        figures["ratio"] = round(ratio, 3)
        print(f"ratio peak({rows[-1]['rows']:,.0f})/peak({rows[0]['rows']:,.0f}): {ratio:.2f} "
              f"(target <= {TARGET_RATIO}) {'ok' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
