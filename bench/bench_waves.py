"""Waves as they accumulate: 100 companies audited again and again (issue 15's benchmark).

What it does, exactly:

1. A lab world of ``--companies`` small shops (a home page and a contact page
   with a phone, an address and service hours) is audited once (``auditor audit``,
   SQLite, harvest and validation with cheap settings: no delay, no SMTP
   conversation, DNS against the lab). Then ``--real-waves`` waves run through the
   real wave runner (``auditor wave DIR``, one fresh process each: Scrapy's reactor
   runs once per process), each against a changed world served on the same ports
   (every wave some companies drop a number, add one, or have their site down).
2. The remaining waves up to ``--waves`` are written by the real writer without
   crawling: the store's own ``begin_wave``, ``save_company``, ``save_verdicts`` and
   ``finish_wave`` (the snapshot a wave ends with), fed the last real wave's
   contact points changed the same way. Their time is printed apart (writer only).
3. After chosen wave counts (``--checkpoints``), a fresh process times the read
   side over every wave so far: the history rows, the transitions between all
   consecutive waves, and writing ``history.csv`` and ``transitions.csv``; its peak
   resident set size (VmHWM) is its own. Another fresh process renders the
   report (``auditor report DIR``: every page, the waves' timeline and
   availability pages and the exports they read included) and prints its wall
   time, CPU time and peak memory; the checkpoints are printed side by side.

Targets (exit 1 when one is missed):

- the read side over 50 waves (both CSVs, then the transitions the report's
  timeline reads) takes under ``READ_SECONDS`` seconds of CPU (CPU, not wall
  time: the machine this was written on was shared; both are printed);
- the read side's peak memory does not grow with the number of waves:
  peak(last checkpoint) / peak(first) <= ``READ_PEAK_RATIO``;
- the report renders in bounded memory: its peak at the last checkpoint /
  its peak at the first <= ``REPORT_PEAK_RATIO`` (five times the waves, at most
  half as much memory again: what grows is one wave's rows at a time, not
  every wave's at once);
- the report renders in bounded time: five times the waves cost at most
  twice the CPU, CPU(last) / CPU(first) <= ``REPORT_TIME_RATIO`` (the pages
  every audit has stay the larger part; the waves' pages add a small, linear
  cost per wave), and at most ``REPORT_SECONDS`` of CPU at the last
  checkpoint. CPU, not wall time, for the reason above; both are printed.

Measured (2 shared cores, ``--real-waves 2``): 100 companies, report CPU
2.0 / 2.7 / 3.3 s (wall 2.9 / 4.8 / 8.2 s) and peak 245 / 247 / 255 MB after
10 / 25 / 50 waves.
- the store grows by about the same each wave: the mean growth of the last
  ten waves / that of waves 2-11 <= ``GROWTH_RATIO``;
- writing a wave does not slow down as waves accumulate: mean writer time of
  the last ten waves / that of the first ten written <= ``WRITE_RATIO``.

    python bench/bench_waves.py [--companies 100] [--waves 50] [--real-waves 5] [--checkpoints 10,25,50]
                                [--read-root TREE]

``--read-root`` times the read side with another source tree (a BEFORE copy).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
READ_SECONDS = 3.0
READ_PEAK_RATIO = 1.2
GROWTH_RATIO = 1.5
WRITE_RATIO = 2.0
REPORT_PEAK_RATIO = 1.5
REPORT_TIME_RATIO = 2.0
REPORT_SECONDS = 10.0


def _contact(i: int, variant: int) -> str:
    """Company ``i``'s contact page in world ``variant``: what changes from wave to wave."""
    phone = f'<p>Kundenservice: <a href="tel:+49301234{i:05d}">030 1234{i:05d}</a></p>'
    extra = f"<p>Hotline: +49 30 9876{i:05d}</p>" if (i + variant) % 5 else ""  # 1 in 5 missing each wave
    email = f'<p>E-Mail: <a href="mailto:service@wave-shop-{i}.de">service@wave-shop-{i}.de</a></p>'
    new = f"<p>Vertrieb: vertrieb{variant}@wave-shop-{i}.de</p>" if (i * 3 + variant) % 7 == 0 else ""
    return f"<h1>Kontakt</h1>{phone}{extra}{email}{new}<p>Mo–Fr 8:00–18:00</p>"


def world_toml(companies: int, variant: int) -> str:
    """``companies`` shops; in world ``variant`` some contact pages differ and 1 in 11 sites are down."""
    parts = [f'[world]\nname = "waves-{variant}"\ndescription = "waves benchmark"\n']
    for i in range(companies):
        down = variant > 0 and (i + variant) % 11 == 0
        parts.append(f'''
[[company]]
name = "Wave Shop {i}"
domain = "wave-shop-{i}.de"
country = "DE"
{'[company.dns]' + chr(10) + 'behaviour = "nxdomain"' + chr(10) if down else ""}
[[company.pages]]
path = "/"
main = \'\'\'<h1>Wave Shop {i}</h1><p>{"Sortiment und Neuheiten. " * 10}</p>
<footer><a href="/kontakt">Kontakt</a></footer>\'\'\'

[[company.pages]]
path = "/kontakt"
main = \'\'\'{_contact(i, variant)}\'\'\'
''')
    return "".join(parts)


# The wave child: `auditor wave DIR` as the CLI runs it, then its own peak RSS.
WAVE = r'''
import contextlib, io, json, sys
from auditor.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    rc = main(["wave", sys.argv[1], "--no-report", "--no-progress"])
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rc": rc, "peak_kb": peak}))
'''

# The read child: history.csv and transitions.csv as every export writes them, then the transitions the
# report's timeline reads; wall and CPU seconds (the machine may be shared), and its own peak RSS.
READ = r'''
import json, sys, time
from pathlib import Path
from auditor.export import atomic_write
from auditor.store import open_store
from auditor.waves.exports import audit_transitions, write_history
out = Path(sys.argv[1])
store = open_store(out)
engine = store.engine
w0, c0 = time.perf_counter(), time.process_time()
write_history(engine, out, atomic_write)
w1, c1 = time.perf_counter(), time.process_time()
changes = len(audit_transitions(engine))
w2, c2 = time.perf_counter(), time.process_time()
store.close()
rows = sum(1 for _ in open(out / "history.csv", encoding="utf-8")) - 1
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rows": rows, "transitions": changes, "csv_s": w1 - w0, "csv_cpu_s": c1 - c0,
                  "transitions_s": w2 - w1, "transitions_cpu_s": c2 - c1, "peak_kb": peak}))
'''

# The report child: `auditor report DIR` as the CLI runs it; wall and CPU seconds and its own peak RSS.
REPORT = r'''
import contextlib, io, json, sys, time
from auditor.cli import main
w0, c0 = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(io.StringIO()):
    rc = main(["report", sys.argv[1]])
w1, c1 = time.perf_counter(), time.process_time()
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rc": rc, "report_s": w1 - w0, "report_cpu_s": c1 - c0, "peak_kb": peak}))
'''


def run_child(code: str, args: list[str], env: dict[str, str] | None = None,
              root: Path = ROOT) -> tuple[dict[str, Any], float]:
    """``code`` in a fresh interpreter importing the tree ``root``: its last JSON line and the seconds it took."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=root, capture_output=True, text=True,
                          env={**(env or os.environ), "PYTHONPATH": str(root)})
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"child failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), seconds


def store_bytes(out: Path) -> int:
    """The audit database on disk, its write-ahead log included."""
    return sum(p.stat().st_size for p in out.glob("audit.sqlite*"))


def write_wave(out: Path, variant: int, template: list[Any], verdicts: dict[str, Any]) -> float:
    """One wave through the store's own writer (no crawl): begin, store every company, validate, finish."""
    from auditor import __version__
    from auditor.models import CompanyResult, ContactPoint, Failure, Verdict
    from auditor.store import open_store
    from auditor.store import waves as store_waves

    store = open_store(out)
    engine = store.engine  # type: ignore[attr-defined]
    try:
        t0 = time.perf_counter()
        number = store_waves.begin_wave(engine, {"bench": variant})
        store.start_run({"bench": variant}, __version__, resume=True)
        for i, r in enumerate(template):
            if (i + variant) % 11 == 0:
                store.save_company(CompanyResult(r.company, failures=(Failure("dns-failure", "no such domain"),),
                                                 status="failed"))
                continue
            contacts = [c for c in r.contacts if not (c.value.startswith("+49309876") and (i + variant) % 5 == 0)]
            if (i * 3 + variant) % 7 == 0:
                contacts.append(ContactPoint("email", f"vertrieb{variant}@wave-shop-{i}.de",
                                             f"vertrieb{variant}@wave-shop-{i}.de", None, "text",
                                             r.company.website + "kontakt", "Vertrieb", 0.9))
            store.save_company(CompanyResult(r.company, r.pages, tuple(contacts), (), (), "done"))
            mine = [verdicts[r.company.key].get((c.kind, c.value)) or Verdict(c.kind, c.value, "unknown", "no-mx")
                    for c in contacts]
            if (i + variant) % 13 == 0 and mine:  # a verdict that changes now and then
                mine[0] = Verdict(mine[0].kind, mine[0].value, "unknown", "dns-timeout")
            store.save_verdicts(r.company.key, mine)
        store_waves.finish_wave(engine, number)
        store.finish_run({"wave": number})
        return time.perf_counter() - t0
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=100)
    parser.add_argument("--waves", type=int, default=50, help="waves in all, the first audit included")
    parser.add_argument("--real-waves", type=int, default=5,
                        help="waves run by the real wave runner against the lab, the first audit included")
    parser.add_argument("--checkpoints", default="10,25,50", help="wave counts after which the read side is timed")
    parser.add_argument("--read-root", type=Path, default=ROOT,
                        help="source tree the read side is timed with (a BEFORE copy of the code)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if int(c) <= args.waves} | {args.waves})

    from auditor.lab import Lab
    from auditor.lab.world import parse_world
    from auditor.store import open_store

    figures: dict[str, Any] = {"companies": args.companies, "waves": args.waves, "real_waves": args.real_waves}
    waves: list[dict[str, Any]] = []
    template: list[Any] = []
    verdicts: dict[str, Any] = {}
    reads: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-waves-") as tmp_name:
        tmp, out = Path(tmp_name), Path(tmp_name) / "audit"

        def checkpoint(count: int) -> None:
            if count not in checkpoints:
                return
            result, _ = run_child(READ, [str(out)], root=args.read_root)
            result.update(waves=count, read_cpu_s=result["csv_cpu_s"] + result["transitions_cpu_s"])
            report, _ = run_child(REPORT, [str(out)], root=args.read_root)
            if report["rc"] != 0:
                raise SystemExit(f"the report over {count} waves ended with exit code {report['rc']}")
            result.update(report_s=report["report_s"], report_cpu_s=report["report_cpu_s"],
                          report_peak_kb=report["peak_kb"])
            reads.append(result)
            print(f"  read side over {count} waves: {result['rows']:,} history rows, {result['transitions']:,} "
                  f"transitions; both CSVs {result['csv_s']:.2f} s (CPU {result['csv_cpu_s']:.2f} s), the "
                  f"timeline's transitions {result['transitions_s']:.2f} s (CPU {result['transitions_cpu_s']:.2f} s); "
                  f"peak {result['peak_kb'] / 1024:.0f} MB; the report {result['report_s']:.2f} s "
                  f"(CPU {result['report_cpu_s']:.2f} s), peak {result['report_peak_kb'] / 1024:.0f} MB", flush=True)

        http_port = https_port = dns_port = 0  # the first lab's ports, kept by the next worlds
        for variant in range(min(args.real_waves, args.waves)):
            world = parse_world(world_toml(args.companies, variant), f"waves-{variant}")
            lab = Lab(world, http_port=http_port, https_port=https_port, dns_port=dns_port).start()
            try:
                http_port, https_port, dns_port = lab.http_port, lab.https_port, lab.dns_port
                env = {**os.environ, **lab.env()}
                t0 = time.perf_counter()
                if variant == 0:
                    csv_path = lab.write_companies_csv(tmp / "companies.csv")
                    proc = subprocess.run(
                        [sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(out),
                         "--nameserver", lab.nameserver, "--allow-private-targets", "--delay", "0",
                         "--no-autothrottle", "--concurrency", "16", "--timeout", "5", "--no-smtp", "--no-progress",
                         "--no-report", "--contact-url", "https://lab.test/about-the-crawler"],
                        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
                    if proc.returncode != 0:
                        sys.stderr.write(proc.stderr[-4000:])
                        raise SystemExit("the first audit failed")
                    peak_kb = None
                    store = open_store(out)  # the first world, every site up: what the writer's waves vary
                    try:
                        template = list(store.results())
                        verdicts = {r.company.key: store.verdicts(r.company.key) for r in template}
                    finally:
                        store.close()
                else:
                    result, _ = run_child(WAVE, [str(out)], env)
                    if result["rc"] != 0:
                        raise SystemExit(f"wave {variant + 1} ended with exit code {result['rc']}")
                    peak_kb = result["peak_kb"]
                seconds = time.perf_counter() - t0
            finally:
                lab.stop()
            waves.append({"wave": variant + 1, "kind": "audit" if variant == 0 else "real", "seconds": seconds,
                          "peak_kb": peak_kb, "bytes": store_bytes(out)})
            print(f"wave {variant + 1:>2} ({waves[-1]['kind']}): {seconds:6.1f} s, store {waves[-1]['bytes'] / 1e6:.2f} MB"
                  + (f", peak {peak_kb / 1024:.0f} MB" if peak_kb else ""), flush=True)
            checkpoint(variant + 1)

        for number in range(len(waves) + 1, args.waves + 1):
            seconds = write_wave(out, number - 1, template, verdicts)
            waves.append({"wave": number, "kind": "writer", "seconds": seconds, "peak_kb": None,
                          "bytes": store_bytes(out)})
            print(f"wave {number:>2} (writer): {seconds:6.2f} s, store {waves[-1]['bytes'] / 1e6:.2f} MB", flush=True)
            checkpoint(number)

    figures.update(waves_detail=waves, reads=reads)
    ok = True

    def verdict(name: str, value: float, target: float, unit: str = "") -> None:
        nonlocal ok
        good = value <= target
        ok = ok and good
        print(f"{name}: {value:.2f}{unit} (target <= {target:g}{unit}) {'ok' if good else 'MISSED'}")

    print()
    real = [w for w in waves if w["kind"] == "real"]
    if real:
        print(f"real wave (harvest + validation, {args.companies} companies, fresh process): "
              f"mean {sum(w['seconds'] for w in real) / len(real):.1f} s, "
              f"peak {max(w['peak_kb'] for w in real) / 1024:.0f} MB")
    growth = [b["bytes"] - a["bytes"] for a, b in zip(waves, waves[1:], strict=False)]
    print(f"store: {waves[0]['bytes'] / 1e6:.2f} MB after the audit, {waves[-1]['bytes'] / 1e6:.2f} MB after "
          f"{len(waves)} waves; {sum(growth) / max(1, len(growth)) / 1e3:.0f} KB per wave on average")
    if len(growth) >= 20:
        verdict("growth per wave, last 10 / waves 2-11", (sum(growth[-10:]) / 10) / max(1, sum(growth[:10]) / 10),
                GROWTH_RATIO)
    written = [w["seconds"] for w in waves if w["kind"] == "writer"]
    if written:
        print(f"writer wave: mean {sum(written) / len(written):.2f} s")
    if len(written) >= 20:
        verdict("writer time, last 10 / first 10", (sum(written[-10:]) / 10) / (sum(written[:10]) / 10), WRITE_RATIO)
    if reads:
        print(f"\n{'waves':>5}  {'history rows':>12}  {'read CPU s':>10}  {'read peak MB':>12}  "
              f"{'report s':>8}  {'report CPU s':>12}  {'report peak MB':>14}")
        for r in reads:
            print(f"{r['waves']:>5}  {r['rows']:>12,}  {r['read_cpu_s']:>10.2f}  {r['peak_kb'] / 1024:>12.0f}  "
                  f"{r['report_s']:>8.2f}  {r['report_cpu_s']:>12.2f}  {r['report_peak_kb'] / 1024:>14.0f}")
        print()
        last, first = reads[-1], reads[0]
        verdict(f"report over {last['waves']} waves (CPU)", last["report_cpu_s"], REPORT_SECONDS, " s")
        if len(reads) >= 2:
            verdict(f"report peak, {last['waves']} / {first['waves']} waves",
                    last["report_peak_kb"] / first["report_peak_kb"], REPORT_PEAK_RATIO)
            verdict(f"report CPU, {last['waves']} / {first['waves']} waves", last["report_cpu_s"] / first["report_cpu_s"],
                    REPORT_TIME_RATIO)
        verdict(f"read side over {last['waves']} waves (CPU)", last["read_cpu_s"], READ_SECONDS, " s")
        if len(reads) >= 2:
            verdict(f"read peak, {last['waves']} / {reads[0]['waves']} waves", last["peak_kb"] / reads[0]["peak_kb"],
                    READ_PEAK_RATIO)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
