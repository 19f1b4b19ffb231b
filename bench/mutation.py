"""Mutation score of the code whose mistakes would publish wrong findings (mutmut).

A mutant is the product with one small change (``<`` for ``<=``, ``None`` for a value, a
dropped ``not``); the unit tests of its module must fail on it. Per module this prints
how many mutants there were, how many the tests killed, which survived (with the
changed line) and the score: killed (timeouts included) over the mutants that are not
equivalent. Equivalent mutants (the change cannot alter behaviour) are listed, with the
reason, in ``bench/mutation_equivalent.toml`` and subtracted.

    python3 bench/mutation.py                    # every module in TARGETS (tens of minutes)
    python3 bench/mutation.py --only guard,score # some of them

It runs ONE mutmut worker (the machine is shared) and each mutant runs only the tests of
the module's selection that reach the mutated function. Not run in CI. Exits 1 when a
module's score is below TARGET_SCORE or a run fails.

mutmut (not cosmic-ray): it writes every mutant of a file into one trampolined copy,
records once which tests reach which function, and forks a worker per mutant that runs
only those tests, so a mutant costs milliseconds instead of a fresh pytest process; and a
mutant is named by its function, so a module can be narrowed to a few functions.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = ROOT / "bench" / "mutation_equivalent.toml"
TARGET_SCORE = 90.0


@dataclass(frozen=True)
class Source:
    """One file of a module and the functions of it that are mutated ("*" = all)."""

    path: str
    functions: tuple[str, ...]  # fnmatch over "function" or "Class.method"


@dataclass(frozen=True)
class Target:
    """One module (a key the equivalent file names): its source files and the tests that judge them."""

    key: str
    sources: tuple[Source, ...]
    tests: tuple[str, ...]  # globs relative to the repository root; "-..." passed to pytest as is


def src(path: str, *functions: str) -> Source:
    return Source(path, functions or ("*",))


# Copied into mutants/ besides pyproject's also_copy: tests that load a bench script
# (tests/unit/test_chat_coverage.py runs bench/chat_coverage.py).
ALSO_COPY = ("bench",)

# THE table: paths move when modules become packages; keys (used by the equivalent file) stay.
TARGETS: tuple[Target, ...] = (
    Target("guard", (src("auditor/net/guard.py"),),
           ("tests/unit/test_guard*.py",)),
    Target("smtp-reply", (src("auditor/validate/smtp_reply.py"),),
           ("tests/unit/test_smtp_reply*.py", "tests/unit/test_email_validate.py")),
    Target("dns-routing",
           (src("auditor/validate/email/routing.py",
                "mail_hosts", "parse_mx", "temporary_reason", "host_status", "implicit_verdict",
                "mx_verdict", "_Lookup.*", "MailRoute.targets"),),
           ("tests/unit/test_mx_routing*.py", "tests/unit/test_email_validate.py")),
    Target("phone-guards",
           (src("auditor/extract/phones/guards.py"),
            src("auditor/extract/phones/text.py",
                "_masked", "is_international", "_plausible", "_written_trunk", "_national_shape",
                "_fits_region", "_acceptable"),
            src("auditor/extract/phones/candidates.py", "run_start"),
            src("auditor/extract/phones/matching.py", "_number_type")),
           ("tests/unit/test_phone_guard*.py", "tests/unit/test_phones.py")),
    Target("phone-typing", (src("auditor/validate/phone.py"),),
           ("tests/unit/test_phone_typ*.py", "tests/unit/test_phone_validate.py")),
    Target("score", (src("auditor/score.py"),),
           ("tests/unit/test_score*.py",)),
    Target("chat", (src("auditor/extract/chat.py"),),
           ("tests/unit/test_chat*.py",)),
    Target("messaging", (src("auditor/extract/messaging.py"),),
           ("tests/unit/test_messaging*.py",)),
    Target("report-order", (src("reports/render.py", "write_exports", "_csv_num"),),
           ("tests/unit/test_report*.py",)),
    Target("report-escape",
           (src("reports/views.py", "safe_href", "Redactor.*", "link", "scrub_settings"),),
           ("tests/unit/test_report*.py",)),
    Target("masking", (src("auditor/masking.py"),),
           ("tests/unit/test_masking*.py", "tests/unit/test_report*.py")),
)


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def function_of(key: str) -> str:
    """``auditor.x.xǁClassǁmeth__mutmut_3`` -> ``Class.meth``; ``auditor.x.x_f__mutmut_3`` -> ``f``."""
    mangled = key.partition("__mutmut_")[0].rpartition(".")[2]
    if "ǁ" in mangled:
        _, cls, meth = mangled.split("ǁ")
        return f"{cls}.{meth}"
    return mangled.removeprefix("x_")


def name_globs(target: Target) -> list[str]:
    """mutmut's mutant-name globs for the target's functions, over all its files."""
    out = []
    for source in target.sources:
        mod = module_name(source.path)
        if "*" in source.functions:
            out.append(f"{mod}.*")
            continue
        for fn in source.functions:
            if "." in fn:
                cls, meth = fn.split(".", 1)
                out.append(f"{mod}.xǁ{cls}ǁ{meth}__mutmut_*")
            else:
                out.append(f"{mod}.x_{fn}__mutmut_*")
    return out


def selected(source: Source, key: str) -> bool:
    fn = function_of(key)
    return any(fnmatch.fnmatchcase(fn, pattern) for pattern in source.functions)


def test_files(target: Target) -> list[str]:
    globs = [g for g in target.tests if not g.startswith("-")]
    found = sorted({str(p.relative_to(ROOT)) for g in globs for p in ROOT.glob(g)})
    if not found:
        raise SystemExit(f"{target.key}: no test file matches {globs}")
    return found + [g for g in target.tests if g.startswith("-")]


# --------------------------------------------------------------------------- worker


def work(target: Target) -> None:
    """In a fresh process (mutmut keeps global state and calls exit()): run one module."""
    import mutmut.__main__ as mm
    from mutmut.configuration import config

    cfg = config()
    cfg.only_mutate = [source.path for source in target.sources]
    cfg.also_copy.extend(Path(p) for p in ALSO_COPY)
    cfg.pytest_add_cli_args_test_selection = test_files(target)
    mm._run(name_globs(target), max_children=1)


# --------------------------------------------------------------------------- report


@dataclass
class Survivor:
    path: str
    key: str
    function: str
    line: int | None
    original: str
    mutant: str
    status: str


@dataclass
class Result:
    target: Target
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[Survivor] = field(default_factory=list)
    equivalent: list[Survivor] = field(default_factory=list)
    failed: str = ""

    @property
    def score(self) -> float:
        judged = self.counts.get("mutants", 0) - len(self.equivalent)
        caught = self.counts.get("killed", 0) + self.counts.get("timeout", 0)
        return 100.0 * caught / judged if judged else 100.0


def load_equivalent() -> list[dict[str, str]]:
    if not EQUIVALENT_FILE.exists():
        return []
    return tomllib.loads(EQUIVALENT_FILE.read_text("utf-8")).get("equivalent", [])


def function_lines(path: Path) -> dict[str, tuple[int, int]]:
    """"f" / "Class.meth" -> (first, last) line of its definition in the original file."""
    tree = ast.parse(path.read_text("utf-8"))
    spans: dict[str, tuple[int, int]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            spans[node.name] = (node.lineno, node.end_lineno or node.lineno)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                    spans[f"{node.name}.{sub.name}"] = (sub.lineno, sub.end_lineno or sub.lineno)
    return spans


def describe(source: Source, key: str, status: str, spans: dict[str, tuple[int, int]],
             lines: list[str]) -> Survivor:
    """The changed line of a mutant, before and after, and where it is in the source."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(key, path=source.path).splitlines()
    minus = [d[1:].strip() for d in diff if d.startswith("-") and not d.startswith("---")]
    plus = [d[1:].strip() for d in diff if d.startswith("+") and not d.startswith("+++")]
    function = function_of(key)
    original, mutant = " / ".join(minus), " / ".join(plus)
    line = None
    first, last = spans.get(function, (1, len(lines)))
    if minus:
        for n in range(first, last + 1):
            if lines[n - 1].strip() == minus[0]:
                line = n
                break
    return Survivor(source.path, key, function, line, original, mutant, status)


def collect(target: Target, equivalent: list[dict[str, str]]) -> Result:
    from mutmut.stats import status_by_exit_code

    result = Result(target)
    counts = dict.fromkeys(("mutants", "killed", "survived", "timeout", "other"), 0)
    known = [e for e in equivalent if e.get("module") == target.key]
    for source in target.sources:
        meta = ROOT / "mutants" / (source.path + ".meta")
        codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        path = ROOT / source.path
        spans, lines = function_lines(path), path.read_text("utf-8").splitlines()
        for key in sorted(codes, key=lambda k: (function_of(k), int(k.rpartition("_")[2]))):
            if not selected(source, key):
                continue
            status = status_by_exit_code[codes[key]]
            counts["mutants"] += 1
            if status in ("killed", "caught by type check"):
                counts["killed"] += 1
                continue
            if status == "timeout":
                counts["timeout"] += 1
                continue
            counts["survived" if status in ("survived", "no tests") else "other"] += 1
            s = describe(source, key, status, spans, lines)
            match = next((e for e in known if e.get("function") == s.function
                          and e.get("original", "").strip() == s.original
                          and e.get("mutant", "").strip() == s.mutant), None)
            if match is not None:
                known.remove(match)
                result.equivalent.append(s)
            else:
                result.survivors.append(s)
    for stale in known:
        print(f"  note: {target.key}: equivalent entry matches no surviving mutant: "
              f"{stale.get('function')}: {stale.get('original')!r} -> {stale.get('mutant')!r}")
    result.counts = counts
    return result


def copied_paths() -> list[str]:
    """What mutmut copies into mutants/: its source paths, also_copy and the tests."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["mutmut"]
    return [*cfg.get("source_paths", []), *cfg.get("also_copy", []), *ALSO_COPY, "tests"]


def run_target(target: Target, log_dir: Path) -> Result:
    log = log_dir / f"mutation-{target.key}.log"
    # mutmut keeps whatever copy it finds in mutants/: a .py file newer than its source
    # counts as already mutated (a file copied plainly while another module was under test
    # would never be mutated), data files and deleted modules stay as they were (a merge
    # that changed reasons.toml broke every import), and the map of tests to functions is
    # kept while the test selection is unchanged (a module sharing the previous one's tests
    # would find none): start every module from a fresh copy.
    for name in (*copied_paths(), "mutmut-stats.json"):
        stale = log_dir / name
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        proc = subprocess.run([sys.executable, __file__, "--worker", target.key], cwd=ROOT,
                              env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text("utf-8", errors="replace").splitlines()[-15:]
        return Result(target, failed=f"mutmut exited {proc.returncode} (log {log}):\n" +
                      "\n".join("    " + t for t in tail))
    return collect(target, load_equivalent())


def print_result(r: Result) -> None:
    t = r.target
    if r.failed:
        print(f"{t.key:14} FAILED {r.failed}")
        return
    c = r.counts
    print(f"{t.key:14} mutants {c['mutants']:4}  killed {c['killed']:4}  survived {c['survived']:3}"
          f"  timeout {c['timeout']:2}  other {c['other']:2}  equivalent {len(r.equivalent):3}"
          f"  score {r.score:5.1f}%{'' if r.score >= TARGET_SCORE else '  BELOW TARGET'}")
    for s in r.survivors:
        where = f"{s.path}:{s.line}" if s.line else s.path
        print(f"    {s.status:9} {where} {s.function}  {s.key.rpartition('__mutmut_')[2]}")
        print(f"        - {s.original}")
        print(f"        + {s.mutant}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated target keys")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    by_key = {t.key: t for t in TARGETS}
    if args.worker:
        work(by_key[args.worker])
        return 0
    keys = args.only.split(",") if args.only else list(by_key)
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; known: {', '.join(by_key)}")
    log_dir = ROOT / "mutants"
    log_dir.mkdir(exist_ok=True)
    results = []
    for key in keys:
        print(f"{key}: running mutmut ...", flush=True)
        results.append(run_target(by_key[key], log_dir))
        print_result(results[-1])
    print("\nmodule          mutants  killed  survived  timeout  equivalent  score")
    for r in results:
        if r.failed:
            print(f"{r.target.key:15} failed")
            continue
        c = r.counts
        print(f"{r.target.key:15} {c['mutants']:7} {c['killed']:7} {c['survived'] + c['other']:9}"
              f" {c['timeout']:8} {len(r.equivalent):11}  {r.score:5.1f}%")
    if args.json:
        args.json.write_text(json.dumps({r.target.key: {**r.counts, "equivalent": len(r.equivalent),
                                         "score": round(r.score, 1), "failed": r.failed}
                                         for r in results}, indent=1))
    bad = [r.target.key for r in results if r.failed or r.score < TARGET_SCORE]
    if bad:
        print(f"\nbelow {TARGET_SCORE:.0f}% or failed: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
