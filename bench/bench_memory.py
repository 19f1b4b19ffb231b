"""Peak memory of the embedded harvest for short and long company lists (issue 14).

Target: a worker's memory does not grow with the length of the list or with the
companies it has finished, so peak(10,000) / peak(1,000) <= 1.2. Each size is
harvested in a fresh process (the pipeline's companies and harvest stages, SQLite
store, validation off: exports and validation are not part of the crawl) against
one lab world of generated companies, 5 pages each, served on loopback without
delay. The peak is the child's own high-water resident set size (VmHWM in
/proc/self/status at its end). Not ``getrusage``: Linux carries ru_maxrss over
fork and exec, so every child would report at least this process's size.

Reading a 1,000,000-row companies CSV as the pipeline streams it is timed and its
peak measured too (the file is generated in a temporary directory).

    python bench/bench_memory.py [--sizes 250,1000,4000,10000] [--rows 1000000] [--root TREE]

The 250, 1,000 and 4,000 points are those of the issue's first measurement (113,
149 and 267 MB before the harvest kept nothing per company), so the curve can be
read against it.

``--root`` runs the harvest from another source tree (a BEFORE copy of the code).
Exits 1 when the ratio misses the target.
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

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.2
PAGES_PER_COMPANY = 5


def world_toml(companies: int) -> str:
    """``companies`` small shops: a home page linking four pages, one with contacts."""
    parts = ['[world]\nname = "memory"\ndescription = "memory benchmark"\n']
    for i in range(companies):
        parts.append(f'''
[[company]]
name = "Memory Shop {i}"
domain = "memory-shop-{i}.de"
country = "DE"

[[company.pages]]
path = "/"
main = \'\'\'<h1>Memory Shop {i}</h1><p>{"Sortiment und Neuheiten. " * 20}</p>
<ul><li><a href="/produkt/1">Produkt 1</a></li><li><a href="/produkt/2">Produkt 2</a></li></ul>
<footer><a href="/kontakt">Kontakt</a> · <a href="/impressum">Impressum</a></footer>\'\'\'

[[company.pages]]
path = "/produkt/{{{{ n }}}}"
repeat = 2
main = \'\'\'<h1>Produkt {{{{ n }}}}</h1><p>{"Beschreibung " * 60}</p><p><a href="/kontakt">Kontakt</a></p>\'\'\'

[[company.pages]]
path = "/kontakt"
main = \'\'\'<h1>Kontakt</h1><p>Kundenservice: <a href="tel:+49301234{i:05d}">030 1234{i:05d}</a></p>
<p>E-Mail: <a href="mailto:service@memory-shop-{i}.de">service@memory-shop-{i}.de</a></p>
<p>Mo–Fr 8:00–18:00</p>\'\'\'

[[company.pages]]
path = "/impressum"
main = "<h1>Impressum</h1><p>Memory Shop {i} GmbH, Musterstraße 1, 10115 Berlin</p>"
''')
    return "".join(parts)


# The child: the pipeline's own stages, harvest only. It prints how much was harvested.
HARVEST = r'''
import json, sys
from pathlib import Path
from auditor import pipeline
from auditor.config import Settings
from auditor.store import open_store

source, out, nameserver, concurrency = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
settings = Settings(nameserver=nameserver, allow_private_targets=True, delay=0.0, autothrottle=False,
                    concurrency=concurrency, validate=False, progress=False, log_level="WARNING",
                    contact_url="https://lab.test/crawler")
store = open_store(out)
try:
    companies = pipeline._companies(store, source, out, settings, False, lambda text: None)
    stats = pipeline.harvest(companies, out, settings)
finally:
    store.close()
print(json.dumps({"responses": stats.get("response_received_count", 0)}))
'''

# The child for the 1,000,000-row list: read it the way the pipeline does.
READ = r'''
import json, sys
from auditor.harvest import inputs
source = sys.argv[1]
if hasattr(inputs, "stream_companies"):
    listing = inputs.stream_companies(source)
    count = sum(1 for _ in listing)
    errors = len(listing.errors)
else:  # the code before issue 14 reads the whole file into a list
    listing = inputs.read_companies(source)
    count, errors = len(listing.companies), len(listing.errors)
print(json.dumps({"companies": count, "errors": errors}))
'''


def run_child(code: str, args: list[str], root: Path) -> tuple[dict[str, object], float, float]:
    """Run ``code`` in a fresh interpreter: its JSON output, its peak RSS in MB, seconds."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-4000:])
        raise SystemExit(f"child failed with exit code {proc.returncode}")
    lines = out.decode().strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    peak = float(str(result.pop("_peak_kb", 0))) / 1024
    return result, peak, seconds


def measured(code: str) -> str:
    """``code`` that reports its own peak RSS (VmHWM) last, beside its result."""
    return code.replace(
        "print(json.dumps({",
        "_peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
        "print(json.dumps({\"_peak_kb\": _peak, ",
    )


def write_big_csv(path: Path, rows: int) -> None:
    """``rows`` companies (every 1,000th a duplicate, every 997th without a website)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("name,website,country,industry,language\n")
        for i in range(rows):
            if i % 997 == 996:
                fh.write(f"Firma {i} GmbH,,DE,retail,de\n")
            elif i % 1000 == 999:
                fh.write(f"Firma {i} GmbH,https://firma-{i - 1}.de/,DE,retail,de\n")
            else:
                fh.write(f"Firma {i} GmbH,https://firma-{i}.de/,DE,retail,de\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,1000,4000,10000", help="company counts, comma-separated")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the streamed list (0: skip)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree the children import")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    from auditor.lab import Lab
    from auditor.lab.world import parse_world

    figures: dict[str, object] = {"root": str(args.root)}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp_name:
        tmp = Path(tmp_name)
        if args.rows:
            big = tmp / "million.csv"
            write_big_csv(big, args.rows)
            result, peak, seconds = run_child(measured(READ), [str(big)], args.root)
            figures["read"] = {"rows": args.rows, **result, "peak_mb": round(peak, 1), "seconds": round(seconds, 1)}
            print(f"read {args.rows:,} rows: {result.get('companies'):,} companies,"
                  f" {result.get('errors'):,} input errors, {seconds:.1f} s, peak {peak:.0f} MB", flush=True)
            big.unlink()
        t0 = time.perf_counter()
        world = parse_world(world_toml(max(sizes)), "memory-world")
        print(f"world of {max(sizes):,} companies built in {time.perf_counter() - t0:.0f} s", flush=True)
        peaks: dict[int, float] = {}
        with Lab(world) as lab:
            for n in sizes:
                csv_path = lab.write_companies_csv(tmp / f"companies-{n}.csv", list(world.companies[:n]))
                result, peak, seconds = run_child(
                    measured(HARVEST),
                    [str(csv_path), str(tmp / f"audit-{n}"), lab.nameserver, str(args.concurrency)], args.root,
                )
                peaks[n] = peak
                print(f"{n:>7,} companies: peak {peak:6.1f} MB, {result.get('responses'):,} responses,"
                      f" {seconds:.0f} s ({n / seconds:.1f} companies/s)", flush=True)
        figures["harvest_peak_mb"] = {str(n): round(p, 1) for n, p in peaks.items()}
    print("\ncompanies  " + "  ".join(f"{n:>8,}" for n in peaks))
    print("peak MB    " + "  ".join(f"{p:>8.1f}" for p in peaks.values()))
    ok = True
    if 1000 in peaks and 10000 in peaks:
        ratio = peaks[10000] / peaks[1000]
        ok = ratio <= TARGET_RATIO
        figures["ratio_10000_1000"] = round(ratio, 3)
        print(f"ratio peak(10,000)/peak(1,000): {ratio:.2f} (target <= {TARGET_RATIO}) {'ok' if ok else 'MISSED'}")
    if len(peaks) >= 2:
        (n0, p0), (n1, p1) = list(peaks.items())[0], list(peaks.items())[-1]
        print(f"growth: {(p1 - p0) * 1024 / (n1 - n0):.1f} KB per company ({n0:,} -> {n1:,})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
