"""Companies per minute of a distributed run with 1, 2 and 4 workers, against the lab with latency (issue 14).

Target: N workers crawl at least TARGET_SCALING x N times the companies per
minute of one worker, while the machine's cores are not saturated (a worker is a
process of its own; on a saturated machine more processes cannot go faster, and
the figure is printed but not judged). Every page of the generated world is
answered after 100-300 ms, as real sites answer. Each run gets a new PostgreSQL
database (the shared store) and an emptied Redis (the queue), both started here
on loopback, and PER_WORKER companies per worker, registered and enqueued first;
then N `auditor worker` processes crawl until the queue is drained. The rate runs
from the first claim to the drained queue (interpreter and Scrapy start-up
excluded); CPU is the workers' user+system time over their wall time, in cores.

    python bench/bench_distributed.py [--workers 1,2,4] [--per-worker 30] [--concurrency 4] [--root TREE]

Exits 1 when a judged point misses the target.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import binaries, running_postgres  # noqa: E402 - the test servers, reused
from tests.support.redis import running_redis  # noqa: E402

TARGET_SCALING = 0.8  # companies/min of N workers over N x one worker's
LATENCY = (0.1, 0.3)  # seconds before a page is answered
SATURATED = 0.8  # share of the cores in use (by the workers, or the load average) that counts as saturated


def world_toml(companies: int, seed: int = 14) -> str:
    """Small shops of five pages (home, two products, contact, imprint), each page answered after a delay."""
    rng = random.Random(seed)

    def delay() -> str:
        return f"{rng.uniform(*LATENCY):.3f}"

    parts = ['[world]\nname = "scaling"\ndescription = "distributed scaling benchmark"\n']
    for i in range(companies):
        parts.append(f'''
[[company]]
name = "Scale Shop {i}"
domain = "scale-shop-{i}.de"
country = "DE"

[[company.pages]]
path = "/"
delay = {delay()}
main = \'\'\'<h1>Scale Shop {i}</h1><p>{"Sortiment und Neuheiten. " * 20}</p>
<ul><li><a href="/produkt/1">Produkt 1</a></li><li><a href="/produkt/2">Produkt 2</a></li></ul>
<footer><a href="/kontakt">Kontakt</a> · <a href="/impressum">Impressum</a></footer>\'\'\'

[[company.pages]]
path = "/produkt/{{{{ n }}}}"
repeat = 2
delay = {delay()}
main = \'\'\'<h1>Produkt {{{{ n }}}}</h1><p>{"Beschreibung " * 60}</p><p><a href="/kontakt">Kontakt</a></p>\'\'\'

[[company.pages]]
path = "/kontakt"
delay = {delay()}
main = \'\'\'<h1>Kontakt</h1><p>Kundenservice: <a href="tel:+49301234{i:05d}">030 1234{i:05d}</a></p>
<p>E-Mail: <a href="mailto:service@scale-shop-{i}.de">service@scale-shop-{i}.de</a></p>\'\'\'

[[company.pages]]
path = "/impressum"
delay = {delay()}
main = "<h1>Impressum</h1><p>Scale Shop {i} GmbH, Musterstraße 1, 10115 Berlin</p>"
''')
    return "".join(parts)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(workers: int, companies: list[object], lab: object, pg: object, redis: object, root: Path,
            concurrency: int, tmp: Path) -> dict[str, float]:
    """Enqueue the companies, crawl them with ``workers`` worker processes; the figures."""
    from auditor.config import Settings
    from auditor.dist.queue import WorkQueue, connect
    from auditor.dist.run import register_and_enqueue

    csv_path = lab.write_companies_csv(tmp / f"companies-{workers}.csv", companies)  # type: ignore[attr-defined]
    redis.command("FLUSHALL")  # type: ignore[attr-defined]
    database = f"bench_{uuid.uuid4().hex[:12]}"
    store = pg.create_database(database)  # type: ignore[attr-defined]
    enq = register_and_enqueue(str(csv_path), store, redis.url, Settings())  # type: ignore[attr-defined]
    queue = WorkQueue(connect(redis.url), enq.run)  # type: ignore[attr-defined]
    args = ["worker", "--store", store, "--queue", redis.url, "--nameserver", lab.nameserver,  # type: ignore[attr-defined]
            "--allow-private-targets", "--delay", "0", "--no-autothrottle", "--concurrency", str(concurrency),
            "--timeout", "10", "--no-progress", "--contact-url", "https://lab.test/crawler"]
    env = {**os.environ, **lab.env(), "PYTHONPATH": str(root)}  # type: ignore[attr-defined]
    cpu0, wall0 = children_cpu(), time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    drained_at = None
    while any(p.poll() is None for p in procs):
        if drained_at is None and queue.drained():
            drained_at = time.time()
        time.sleep(0.2)
    drained_at = drained_at or time.time()
    wall = time.monotonic() - wall0
    for p in procs:
        if p.returncode != 0:
            raise SystemExit(f"a worker failed ({p.returncode}): {(p.stderr.read() if p.stderr else '')[-3000:]}")
    status = queue.status()
    started = float(queue.client.hget(queue.key("stats"), "started") or drained_at)
    seconds = max(drained_at - started, 1e-6)
    pg.drop_database(database)  # type: ignore[attr-defined]
    return {"workers": workers, "companies": len(companies), "done": status.done, "failed": status.failed,
            "seconds": round(seconds, 1), "per_minute": round(len(companies) / seconds * 60, 1),
            "cpu_cores": round((children_cpu() - cpu0) / wall, 2), "load": round(os.getloadavg()[0], 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--per-worker", type=int, default=30, help="companies per worker in each run")
    parser.add_argument("--concurrency", type=int, default=4, help="each worker's --concurrency")
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree the workers import")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    counts = sorted(int(n) for n in args.workers.split(","))
    bindir, redis_binary = binaries(), shutil.which("redis-server")
    if bindir is None or redis_binary is None:
        raise SystemExit("needs PostgreSQL and Redis (scripts/setup.sh installs them)")

    from auditor.lab import Lab
    from auditor.lab.world import parse_world

    world = parse_world(world_toml(max(counts) * args.per_worker), "scaling-world")
    cores = os.cpu_count() or 1
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp_name, Lab(world) as lab, \
            running_postgres(bindir) as pg, running_redis(redis_binary) as redis:
        for n in counts:
            companies = list(world.companies[:n * args.per_worker])
            run = one_run(n, companies, lab, pg, redis, args.root, args.concurrency, Path(tmp_name))
            runs.append(run)
            print(f"{n} worker(s): {run['companies']} companies in {run['seconds']} s, {run['per_minute']} per minute, "
                  f"CPU {run['cpu_cores']} cores, load {run['load']}", flush=True)
    base = runs[0]["per_minute"] / runs[0]["workers"]
    ok = True
    print(f"\n{cores} cores; pages answered after {LATENCY[0]}-{LATENCY[1]} s; concurrency {args.concurrency} per worker")
    print("workers         " + "  ".join(f"{r['workers']:>8.0f}" for r in runs))
    print("companies/min   " + "  ".join(f"{r['per_minute']:>8.1f}" for r in runs))
    print("scaling         " + "  ".join(f"{r['per_minute'] / (base * r['workers']):>8.2f}" for r in runs))
    print("CPU cores       " + "  ".join(f"{r['cpu_cores']:>8.2f}" for r in runs))
    print("load average    " + "  ".join(f"{r['load']:>8.1f}" for r in runs))
    for r in runs[1:]:
        scaling = r["per_minute"] / (base * r["workers"])
        saturated = r["cpu_cores"] >= SATURATED * cores or r["load"] >= cores
        r["scaling"] = round(scaling, 3)
        if saturated:
            print(f"{r['workers']:.0f} workers: scaling {scaling:.2f}, not judged (cores saturated: workers use "
                  f"{r['cpu_cores']} of {cores} cores, load average {r['load']})")
        else:
            hit = scaling >= TARGET_SCALING
            ok = ok and hit
            print(f"{r['workers']:.0f} workers: scaling {scaling:.2f} (target >= {TARGET_SCALING}) "
                  f"{'ok' if hit else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"root": str(args.root), "cores": cores, "runs": runs}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
