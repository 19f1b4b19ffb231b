"""Companies per minute of a distributed run with 1, 2 and 4 workers, against the lab with latency (issue 14).

Target: N workers crawl at least TARGET_SCALING x N times the companies per
minute of one worker, while the machine's cores are not saturated (a worker is a
process of its own; on a saturated machine more processes cannot go faster, and
the figure is printed but not judged). Every page of the generated world is
answered after 100-300 ms, as real sites answer; every company is a host of its
own, so per-host politeness never makes one company wait for another. Each run
gets a new PostgreSQL database (the shared store) and an emptied Redis (the
queue), both started here on loopback, and PER_WORKER companies per worker,
registered and enqueued first; then N `auditor worker` processes crawl until the
queue is drained.

The judged rate is the steady one: from the moment every worker has claimed its
first company to the drained queue (a worker's start-up, an interpreter and
Scrapy, takes seconds of CPU; on 2 cores four of them starting at once would
otherwise count against the 4-worker figure). The rate from the first claim is
printed too. CPU over the same window, in cores: each worker (its supervisor and
crawl child), the lab (this process: its HTTP and DNS servers are threads here),
Redis and PostgreSQL, and the whole machine from /proc/stat (other processes
included); and how long each worker and the lab were ready to run but found every
core taken (/proc/PID/task/*/schedstat), which says whether the CPU, rather than
the lab or politeness, held them back. Pages per second are set against what the
workers' request slots allow at the lab's mean latency. A point is judged only when the machine stayed below SATURATED of its
cores during both its run and the 1-worker run it is compared with; the load
average is printed beside it.

    python bench/bench_distributed.py [--workers 1,2,4] [--per-worker 60] [--concurrency 4] [--root TREE]

Exits 1 when a judged point misses the target.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import binaries, running_postgres  # noqa: E402 - the test servers, reused
from tests.support.redis import running_redis  # noqa: E402

TARGET_SCALING = 0.8  # companies/min of N workers over N x one worker's
LATENCY = (0.1, 0.3)  # seconds before a page is answered
SATURATED = 0.8  # share of the machine's cores busy (all processes) that counts as saturated
TICKS = os.sysconf("SC_CLK_TCK")


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


def server_pid(port: int) -> int:
    """The pid of the process listening on 127.0.0.1:``port`` (from /proc/net/tcp and the processes' sockets)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # listening
            inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return int(proc.name)
    raise RuntimeError(f"no process listens on port {port}")


def machine_cpu() -> tuple[float, float]:
    """Seconds of CPU time spent busy and in total by all cores since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return (total - idle) / TICKS, total / TICKS


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state on (the name may hold spaces)


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return children


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants so far: the live ones, and those it has waited for."""
    own = _stat(pid)
    if own is None:
        return 0.0
    seconds = sum(int(v) for v in own[11:15]) / TICKS  # utime stime cutime cstime
    return seconds + sum(tree_cpu(c) for c in _children(pid))


def process_waits(pid: int) -> dict[int, float]:
    """Per live thread of a process: seconds it spent runnable but waiting for a CPU."""
    waits: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            waits[int(task.parent.name)] = int(task.read_text().split()[1]) / 1e9  # on-CPU ns, wait ns, slices
        except (OSError, IndexError, ValueError):
            continue
    return waits


def tree_waits(pid: int) -> dict[int, float]:
    """:func:`process_waits` of a process and its live descendants."""
    waits = process_waits(pid)
    for child in _children(pid):
        waits.update(tree_waits(child))
    return waits


def waited(before: dict[int, float], after: dict[int, float]) -> float:
    """Seconds waited between two samples, by the threads alive at both (a thread gone takes its count along)."""
    return sum(after[t] - before[t] for t in before.keys() & after.keys())


def self_cpu() -> float:
    """CPU seconds of this process (every thread: the lab's servers, the polling), not its children."""
    own = _stat(os.getpid())
    return sum(int(v) for v in own[11:13]) / TICKS if own else 0.0


def sample(workers: list[subprocess.Popen[str]], servers: dict[str, int]) -> dict[str, Any]:
    busy, total = machine_cpu()
    return {"time": time.monotonic(), "busy": busy, "total": total, "lab": self_cpu(), "lab_wait": process_waits(os.getpid()),
            "workers": [tree_cpu(p.pid) for p in workers], "waits": [tree_waits(p.pid) for p in workers],
            "servers": {name: tree_cpu(pid) for name, pid in servers.items()}}


def one_run(workers: int, companies: list[Any], lab: Any, pg: Any, redis: Any, root: Path,
            concurrency: int, tmp: Path, servers: dict[str, int]) -> dict[str, Any]:
    """Enqueue the companies, crawl them with ``workers`` worker processes; the figures."""
    from auditor.config import Settings
    from auditor.dist.queue import WorkQueue, connect
    from auditor.dist.run import register_and_enqueue

    csv_path = lab.write_companies_csv(tmp / f"companies-{workers}.csv", companies)
    redis.command("FLUSHALL")
    database = f"bench_{uuid.uuid4().hex[:12]}"
    store = pg.create_database(database)
    enq = register_and_enqueue(str(csv_path), store, redis.url, Settings(validate=False))  # the crawl only
    queue = WorkQueue(connect(redis.url), enq.run)
    args = ["worker", "--store", store, "--queue", redis.url, "--nameserver", lab.nameserver,
            "--allow-private-targets", "--delay", "0", "--no-autothrottle", "--concurrency", str(concurrency),
            "--timeout", "10", "--no-progress", "--contact-url", "https://lab.test/crawler", "--no-validate"]
    env = {**os.environ, **lab.env(), "PYTHONPATH": str(root)}
    load0 = os.getloadavg()[0]
    procs = [subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    first: tuple[float, int] | None = None  # (time, companies finished) at the first claim
    steady: tuple[float, int] | None = None  # ... once every worker has claimed a company
    begin: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    drained_at = None
    pages0 = 0
    while drained_at is None and any(p.poll() is None for p in procs):
        status = queue.status()
        now = time.time()
        finished = status.done + status.failed
        if first is None and status.in_progress + finished:
            first = (now, finished)
        claimed = [w for w in status.workers.values() if w.get("holding") or w.get("done") or w.get("failed")]
        if steady is None and len(claimed) >= workers:
            steady, begin, pages0 = (now, finished), sample(procs, servers), status.pages
        if queue.drained():
            drained_at, end = now, sample(procs, servers)
        time.sleep(0.1)
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a worker failed ({p.returncode}): {err[-3000:]}")
    if drained_at is None or first is None or end is None:
        raise SystemExit("the workers exited before the queue was seen drained")
    if steady is None or begin is None:
        raise SystemExit(f"not every worker got a company ({len(companies)} companies for {workers} workers, "
                         "each opening up to 4 x --concurrency at once): raise --per-worker")
    status = queue.status()
    pg.drop_database(database)
    window = max(float(end["time"] - begin["time"]), 1e-6)

    def cores(a: float, b: float) -> float:
        return round(float(b - a) / window, 2)

    machine = (end["busy"] - begin["busy"]) / max(end["total"] - begin["total"], 1e-6)  # share of all cores
    per_worker = [cores(a, b) for a, b in zip(begin["workers"], end["workers"], strict=True)]
    others = {"lab": cores(begin["lab"], end["lab"]),
              **{name: cores(begin["servers"][name], end["servers"][name]) for name in servers}}
    ours: dict[str, Any] = {"workers": per_worker, **others}
    # how long a worker was ready to run but every core was taken (seconds per second of the window)
    waits = [round(waited(a, b) / window, 2) for a, b in zip(begin["waits"], end["waits"], strict=True)]
    total_ours = sum(per_worker) + sum(others.values())
    ncores = os.cpu_count() or 1
    return {"workers": workers, "companies": len(companies), "done": status.done, "failed": status.failed,
            "seconds": round(drained_at - first[0], 1),
            "per_minute_from_first_claim": round((len(companies) - first[1]) / (drained_at - first[0]) * 60, 1),
            "steady_seconds": round(drained_at - steady[0], 1),
            "steady_companies": len(companies) - steady[1],
            "per_minute": round((len(companies) - steady[1]) / max(drained_at - steady[0], 1e-6) * 60, 1),
            # pages per second against what the workers' request slots allow at the lab's mean latency:
            # a share that stays put as workers are added means neither the lab nor politeness holds them back
            "pages_per_second": round((status.pages - pages0) / max(drained_at - steady[0], 1e-6), 1),
            "slot_bound": round(workers * concurrency / (sum(LATENCY) / 2), 1),
            "cpu": ours, "cpu_ours": round(total_ours, 2), "cpu_wait": waits,
            "lab_wait": round(waited(begin["lab_wait"], end["lab_wait"]) / window, 2),
            "machine_busy_cores": round(machine * ncores, 2),
            "others_cores": round(max(machine * ncores - total_ours, 0.0), 2),
            "load_before": round(load0, 1), "load_after": round(os.getloadavg()[0], 1),
            # companies each crawl process finished: a worker that claimed more than its share shows here
            "per_worker_done": sorted((int(w.get("done", 0)) + int(w.get("failed", 0))
                                       for w in status.workers.values()), reverse=True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--per-worker", type=int, default=60, help="companies per worker in each run")
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
    assert len({c.domain for c in world.companies}) == len(world.companies), "a host per company"
    cores = os.cpu_count() or 1
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp_name, Lab(world) as lab, \
            running_postgres(bindir) as pg, running_redis(redis_binary) as redis:
        servers = {"redis": server_pid(redis.port), "postgresql": server_pid(pg.port)}
        for n in counts:
            companies = list(world.companies[:n * args.per_worker])
            run = one_run(n, companies, lab, pg, redis, args.root, args.concurrency, Path(tmp_name), servers)
            runs.append(run)
            print(f"{n} worker(s): {run['steady_companies']} of {run['companies']} companies in "
                  f"{run['steady_seconds']} s once all had claimed, {run['per_minute']} per minute "
                  f"({run['per_minute_from_first_claim']} from the first claim); CPU in cores: workers "
                  f"{run['cpu']['workers']} (waiting for a CPU {run['cpu_wait']}), lab {run['cpu']['lab']}, redis {run['cpu']['redis']}, postgresql "
                  f"{run['cpu']['postgresql']}; machine busy {run['machine_busy_cores']} of {cores} "
                  f"(others {run['others_cores']}); load average {run['load_before']} -> {run['load_after']}; "
                  f"companies per crawl process {run['per_worker_done']}",
                  flush=True)
    base_run = runs[0]
    base = base_run["per_minute"] / base_run["workers"]
    limit = SATURATED * cores
    ok = True
    print(f"\n{cores} cores; pages answered after {LATENCY[0]}-{LATENCY[1]} s; concurrency {args.concurrency} "
          f"per worker; a host per company, no crawl delay; steady rates (from every worker's first claim)")
    print("workers                " + "  ".join(f"{r['workers']:>8.0f}" for r in runs))
    print("companies/min          " + "  ".join(f"{r['per_minute']:>8.1f}" for r in runs))
    print("  from the first claim " + "  ".join(f"{r['per_minute_from_first_claim']:>8.1f}" for r in runs))
    print("scaling                " + "  ".join(f"{r['per_minute'] / (base * r['workers']):>8.2f}" for r in runs))
    print("pages/s                " + "  ".join(f"{r['pages_per_second']:>8.1f}" for r in runs))
    print("  of the slot bound    " + "  ".join(f"{r['pages_per_second'] / r['slot_bound']:>8.2f}" for r in runs)
          + "  (workers x concurrency / mean page latency; robots.txt answers at once, so it can pass 1)")
    print("CPU per worker (cores) " + "  ".join(f"{max(r['cpu']['workers']):>8.2f}" for r in runs) + "  (the busiest)")
    print("waiting for a CPU      " + "  ".join(f"{max(r['cpu_wait']):>8.2f}" for r in runs)
          + "  (the longest-waiting worker, s per s)")
    print("CPU of the lab         " + "  ".join(f"{r['cpu']['lab']:>8.2f}" for r in runs))
    print("  its waiting for one  " + "  ".join(f"{r['lab_wait']:>8.2f}" for r in runs)
          + "  (all its threads, s per s)")
    print("CPU redis+postgresql   " + "  ".join(
        f"{r['cpu']['redis'] + r['cpu']['postgresql']:>8.2f}" for r in runs))
    print("CPU of this bench      " + "  ".join(f"{r['cpu_ours']:>8.2f}" for r in runs))
    print("machine busy (cores)   " + "  ".join(f"{r['machine_busy_cores']:>8.2f}" for r in runs))
    print("  other processes      " + "  ".join(f"{r['others_cores']:>8.2f}" for r in runs))
    print("load average (after)   " + "  ".join(f"{r['load_after']:>8.1f}" for r in runs))
    base_busy = base_run["machine_busy_cores"] >= limit
    for r in runs[1:]:
        scaling = r["per_minute"] / (base * r["workers"])
        r["scaling"] = round(scaling, 3)
        if r["machine_busy_cores"] >= limit or base_busy:
            which = r if r["machine_busy_cores"] >= limit else base_run
            print(f"{r['workers']} workers: scaling {scaling:.2f}, NOT JUDGED: cores saturated during the "
                  f"{which['workers']}-worker run ({which['machine_busy_cores']} of {cores} cores busy, "
                  f"{which['others_cores']} of them other processes; load average {which['load_after']})")
        else:
            hit = scaling >= TARGET_SCALING
            ok = ok and hit
            print(f"{r['workers']} workers: scaling {scaling:.2f} (target >= {TARGET_SCALING}, cores not saturated: "
                  f"{r['machine_busy_cores']} of {cores} busy) {'ok' if hit else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"root": str(args.root), "cores": cores, "runs": runs}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
