"""Crash safety (issue 6): kill -9 at random moments, resume, and lose or duplicate nothing.

A generated world of 200 small companies (most with a contact page, some with a
missing zone or a broken home page) is audited once without interruption, for the
reference. Then the same audit is killed with SIGKILL three times -- once after a
random number of companies, once at a random moment after a resume started (start-up,
crawl or writing), once more after some progress -- resumed each time, and finally
killed three times more while the finished audit re-writes its results and report.
Every kill must land on a running process (it dies of SIGKILL); one that comes after
the process ended by itself is retried at a new random moment. The kills during the
re-write are placed, not guessed: an audit hook in the child counts its writes in the
output directory (temporary files, renames, the report's directories) and stops the
process (SIGSTOP) at a randomly chosen one of them -- just after a file there is
opened, before a rename or directory change there, at any write -- and the test sees
it stopped and kills it. After every kill: the database passes ``PRAGMA
integrity_check`` and every result file that exists parses whole (results.json,
contacts.csv, scores.json, the report with every page its index links to). At the
end the results equal the reference: same companies, none twice, same pages, contact
points and failures.

The seed is printed; AUDITOR_CRASH_SEED=<seed> replays a run's random choices.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import Lab
from auditor.lab.world import World, parse_world

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMPANIES = 200


def crash_world(n: int = COMPANIES) -> World:
    """``n`` companies: home -> /kontakt with a phone and an address; every tenth has no
    zone (dns-failure), every tenth-plus-one answers 500 on its home page, and every
    seventh links a 2,500-character URL (which Scrapy would drop without a callback,
    leaving the company's crawl slot taken)."""
    parts = ['[world]\nname = "crash"\n']
    for i in range(n):
        domain = f"firma-{i:03d}.de"
        parts.append(f'[[company]]\nname = "Firma {i:03d} GmbH"\ndomain = "{domain}"\ncountry = "DE"\n')
        if i % 10 == 1:
            parts.append('[[company.pages]]\npath = "/"\nstatus = 500\nmain = "<p>Fehler</p>"\n')
            continue
        long_link = f'<a href="/kontakt-{"x" * 2500}">Kontakt</a>' if i % 7 == 0 else ""
        parts.append(
            f'[[company.pages]]\npath = "/"\nmain = \'<h1>Firma</h1><p><a href="/kontakt">Kontakt</a>{long_link}</p>\'\n'
            '[[company.pages]]\npath = "/kontakt"\n'
            f"main = '<p>Telefon: +49 30 23125 {100 + i}</p><p>info@{domain}</p>'\n"
        )
        if i % 10 == 0:
            parts.append('[company.dns]\nbehaviour = "nxdomain"\n')
    return parse_world("".join(parts), source="<crash world>")


@pytest.fixture(scope="module")
def crash_lab() -> Iterator[Lab]:
    with Lab(crash_world()) as lab:
        yield lab


def _cmd(lab: Lab, *args: str) -> list[str]:
    return [sys.executable, "-m", "auditor.cli", "audit", *args, "--nameserver", lab.nameserver,
            "--allow-private-targets", "--delay", "0", "--timeout", "5", "--concurrency", "4", "--no-progress",
            "--no-validate",
            "--contact-url", "https://lab.test/crawler"]


def _done(out: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{out / 'audit.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT count(*) FROM companies WHERE status != 'pending'").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the whole process group; True when the process died of it (it was still running).

    The exit status decides, not a poll before the kill: a process that ends between
    the two is a zombie the signal cannot reach, and exits 0 rather than -SIGKILL.
    """
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait() == -signal.SIGKILL


# Run by the child in place of ``python -m auditor.cli``: an audit hook (PEP 578) counts
# the writes in the output directory (audit.sqlite aside) and stops the process at the
# CRASH_STOP_AT-th one: just after the file is opened for an ``open`` (created or truncated,
# nothing written yet: the moment a write that is not atomic would leave half a file), just
# before the operation for the others (a rename, a directory made or removed). CRASH_REPORT
# receives the write it stopped at, or at exit every write, one "EVENT PATH" a line (PATH
# relative to the output directory).
WRITE_HOOK = """
import atexit, os, runpy, signal, sys
OUT = os.path.realpath(os.environ["CRASH_OUT"]) + os.sep
STOP_AT = int(os.environ["CRASH_STOP_AT"])
REPORT = os.environ["CRASH_REPORT"]
EVENTS = {"open", "os.replace", "os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod",
          "shutil.rmtree", "tempfile.mkstemp", "tempfile.mkdtemp"}
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT
seen = []

def hook(event, args):
    global seen
    if event not in EVENTS or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.path.join(os.getcwd(), os.fsdecode(args[0]))
    if not path.startswith(OUT) or os.path.basename(path).startswith("audit.sqlite"):
        return
    if event == "open" and not (any(c in (args[1] or "") for c in "wxa+") or (args[2] or 0) & WRITE):
        return
    seen.append(f"{event} {path[len(OUT):]}")
    if len(seen) == STOP_AT:
        if event == "open":
            sys.setprofile(after_open)
        else:
            stop("at")

def after_open(frame, event, arg):
    # The first profile event outside this hook comes after the open returned: the call in
    # progress when profiling began reports no c_return of its own.
    if frame.f_code is hook.__code__ or arg is sys.setprofile:
        return
    sys.setprofile(None)
    stop("just after")

def stop(when):
    with open(REPORT, "w") as fh:
        fh.write(f"stopped {when} write {STOP_AT}: {seen[-1]}")
    os.kill(os.getpid(), signal.SIGSTOP)

def report():
    with open(REPORT, "w") as fh:
        fh.write("\\n".join(seen))

sys.addaudithook(hook)
atexit.register(report)
sys.argv[0] = "auditor"
runpy.run_module("auditor.cli", run_name="__main__", alter_sys=True)
"""


def _hooked(cmd: list[str]) -> list[str]:
    """``cmd`` (a ``python -m auditor.cli ...`` command) run under WRITE_HOOK."""
    assert cmd[1:3] == ["-m", "auditor.cli"], cmd
    return [cmd[0], "-c", WRITE_HOOK, *cmd[3:]]


def _wait_stopped(proc: subprocess.Popen[bytes], timeout: float = 300) -> bool:
    """True once the child stopped itself (SIGSTOP), False if it exited first.

    ``waitid(..., WNOWAIT)`` looks without reaping, so ``proc`` still owns its exit status.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = os.waitid(os.P_PID, proc.pid, os.WSTOPPED | os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None and info.si_pid == proc.pid:
            return info.si_code == os.CLD_STOPPED
        time.sleep(0.01)
    raise TimeoutError(f"the audit neither stopped nor exited in {timeout} s")


def _check_files_whole(out: Path) -> None:
    """Every result file that exists parses completely: writes are atomic."""
    db = sqlite3.connect(out / "audit.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    if (out / "results.json").exists():
        doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
        assert "companies" in doc and "summary" in doc
    for name in ("contacts.csv", "companies.csv"):
        if (out / name).exists():
            rows = list(csv.reader((out / name).open(encoding="utf-8", newline="")))
            assert rows and all(len(r) == len(rows[0]) for r in rows), name
    if (out / "scores.json").exists():
        json.loads((out / "scores.json").read_text(encoding="utf-8"))
    index = out / "report" / "index.html"
    if index.exists():  # a report that is there is whole: every page it links to, and its styles
        html = index.read_text(encoding="utf-8")
        linked = sorted(set(re.findall(r'href="(companies/[^"]+\.html)"', html)))
        assert len(linked) == COMPANIES, f"the index links {len(linked)} company pages"
        for rel in ["index.html", "methodology.html", *linked]:
            page = out / "report" / rel
            assert page.exists() and page.read_text(encoding="utf-8").rstrip().endswith("</html>"), rel
        assert (out / "report" / "static" / "report.js").stat().st_size > 0
        assert (out / "report" / "static" / "report.css").stat().st_size > 0


def _snapshot(out: Path) -> dict[str, Any]:
    """Per website: status, pages, contact points and failures, order-free."""
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {
        c["website"]: (
            c["status"],
            sorted((p["url"], p["status"], p["error_tag"]) for p in c["pages"]),
            sorted((p["kind"], p["value"], p["label"] or "", p["page_url"]) for p in c["contacts"]),
            sorted(f["tag"] for f in c["failures"]),
        )
        for c in doc["companies"]
    }


def test_kill_minus_nine_and_resume(crash_lab: Lab, tmp_path: Path) -> None:
    seed = int(os.environ.get("AUDITOR_CRASH_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    print(f"\ncrash seed {seed} (AUDITOR_CRASH_SEED={seed} replays it)")
    lab = crash_lab
    env = {**os.environ, **lab.env()}
    csv_path = lab.write_companies_csv(tmp_path / "companies.csv")

    t0 = time.monotonic()
    reference = subprocess.run(_cmd(lab, str(csv_path), "--out", str(tmp_path / "ref")), cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr[-3000:]
    print(f"uninterrupted run: {time.monotonic() - t0:.1f} s")
    expected = _snapshot(tmp_path / "ref")
    assert len(expected) == COMPANIES

    out = tmp_path / "crashed"
    fresh = _cmd(lab, str(csv_path), "--out", str(out))
    resume = _cmd(lab, "--resume", str(out))
    # (command, how to pick the moment given the companies left): after k more companies, or after
    # s seconds. Both stay well below what the companies left take, so that a run cannot finish first.
    plan: list[tuple[list[str], str, Callable[[int], float]]] = [
        (fresh, "companies", lambda left: rng.randint(15, 60)),
        (resume, "seconds", lambda left: rng.uniform(0.3, 3.0)),
        (resume, "companies", lambda left: rng.randint(10, max(10, min(50, left // 2)))),
    ]
    log: list[str] = []
    for cmd, kind, pick in plan:
        for _attempt in range(3):
            before = _done(out)
            amount = pick(COMPANIES - before)
            proc = _start(cmd, env)
            deadline = time.monotonic() + 120
            if kind == "seconds":
                time.sleep(amount)
            else:
                while time.monotonic() < deadline and proc.poll() is None and _done(out) < before + amount:
                    time.sleep(0.05)
            landed = _kill(proc)
            after = _done(out)
            log.append(f"{kind}={amount:.1f}: landed={landed}, companies {before} -> {after}")
            _check_files_whole(out)
            if landed:
                break
            assert after < COMPANIES, f"the audit finished before the kill ({log[-1]}); seed {seed}"
        else:
            pytest.fail(f"no kill after {kind} hit a running audit: {log}; seed {seed}")
    print("kills: " + "; ".join(log))
    assert 0 < _done(out) < COMPANIES, "the kills did not interrupt the harvest"

    final = subprocess.run(resume, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    _check_files_whole(out)
    # Re-write the finished audit once, listing its writes in the output directory: the kills
    # below stop the same re-write at a random one of them.
    counted = tmp_path / "writes"
    hook_env = {**env, "CRASH_OUT": str(out), "CRASH_STOP_AT": "0", "CRASH_REPORT": str(counted)}
    rewrite = subprocess.run(_hooked(resume), cwd=ROOT, env=hook_env, capture_output=True, text=True, timeout=300)
    assert rewrite.returncode == 0, rewrite.stderr[-3000:]
    writes = counted.read_text().splitlines()
    for name in ("results.json", "contacts.csv", "companies.csv", "scores.json", "report"):
        assert any(name in w for w in writes), f"{name} is not re-written: {writes}"
    # Killed while a finished audit re-writes results.json, contacts.csv and the report, three times:
    # just after a file in the output directory itself is opened (where a write that is not atomic
    # would leave half a file), before a rename or directory change there (the report's swap), and
    # at any write (most are the report's pages in its temporary directory).
    kinds: dict[str, Callable[[str], bool]] = {
        "file opened": lambda w: w.startswith("open ") and "/" not in w and w != "open audit.log",
        "rename or directory": lambda w: not w.startswith("open ") and "/" not in w,
        "any write": lambda w: w != "open audit.log",
    }
    moments: list[str] = []
    for wanted in kinds.values():
        for attempt in range(3):
            choices = [i for i, w in enumerate(writes, 1) if wanted(w)]
            stop_at = rng.choice(choices)
            where = tmp_path / f"stop-{len(moments)}-{attempt}"
            proc = _start(_hooked(resume), {**hook_env, "CRASH_STOP_AT": str(stop_at), "CRASH_REPORT": str(where)})
            stopped = _wait_stopped(proc)
            landed = _kill(proc)
            _check_files_whole(out)
            if stopped:
                assert landed, "a stopped process must die of SIGKILL"
                moments.append(f"{where.read_text()} of {len(writes)}")
                break
            # This re-write made fewer writes (say, no old report to move away): draw again.
            writes = where.read_text().splitlines()
        else:
            pytest.fail(f"the re-write never reached its write {stop_at} of {len(writes)}; seed {seed}")
    print("re-write kills: " + "; ".join(moments))
    again = subprocess.run(resume, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    _check_files_whole(out)
    assert (out / "report" / "index.html").exists(), "a resume after the kills writes the report again"

    got = _snapshot(out)
    assert set(got) == set(expected), "companies lost or invented"
    differ = {site: (expected[site], got[site]) for site in expected if got[site] != expected[site]}
    assert not differ, f"results differ from the uninterrupted run: {list(differ.items())[:3]}"
    db = sqlite3.connect(out / "audit.sqlite")
    try:
        assert db.execute("SELECT count(*) FROM companies").fetchone()[0] == COMPANIES
        assert db.execute("SELECT count(*) FROM companies WHERE status = 'pending'").fetchone()[0] == 0
        dupes = db.execute("SELECT count(*) FROM (SELECT company_key, kind, value FROM contact_points"
                           " GROUP BY 1, 2, 3 HAVING count(*) > 1)").fetchone()[0]
        assert dupes == 0
        pages = db.execute("SELECT count(*) FROM pages").fetchone()[0]
        assert pages == sum(len(v[1]) for v in expected.values())
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
