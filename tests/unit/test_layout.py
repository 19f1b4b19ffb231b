"""The layout keeps the pipeline visible: dependencies run one way.

The core (``auditor/`` but the pipeline and the CLI) never imports ``spiders/``
or ``reports/``; only :mod:`auditor.pipeline` and :mod:`auditor.cli` stand above
them. Importing the spider patches nothing (the header limit is an extension).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABOVE_THE_CORE = ("spiders", "reports")


def _imported(path: Path) -> set[str]:
    """Top-level package of every module ``path`` imports (absolute imports; the tree uses no relative ones)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _core_files() -> list[Path]:
    files = []
    for path in sorted((ROOT / "auditor").rglob("*.py")):
        rel = path.relative_to(ROOT / "auditor")
        if rel.parts[0] == "cli" or rel == Path("pipeline.py"):
            continue
        files.append(path)
    return files


def test_the_core_never_imports_spiders_or_reports() -> None:
    files = _core_files()
    assert len(files) > 30  # the walk found the package
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported(path) & set(ABOVE_THE_CORE)) for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_scan_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom reports.render import render_report\n\ndef f():\n    import spiders.contact\n")
    assert _imported(bad) & set(ABOVE_THE_CORE) == {"reports", "spiders"}


def test_the_pipeline_is_the_core_module_that_knows_every_stage() -> None:
    assert set(ABOVE_THE_CORE) <= _imported(ROOT / "auditor" / "pipeline.py")


def test_importing_the_spider_patches_nothing() -> None:
    code = (
        "from twisted.web import _newclient\n"
        "before = _newclient.HTTPClientParser.dataReceived\n"
        "import spiders.contact, spiders.pipelines, spiders.middlewares\n"
        "assert _newclient.HTTPClientParser.dataReceived is before, 'patched on import'\n"
        "from scrapy.utils.test import get_crawler\n"
        "from spiders.limits import HeaderLimit, _data_received\n"
        "HeaderLimit.from_crawler(get_crawler()); HeaderLimit.from_crawler(get_crawler())\n"
        "assert _newclient.HTTPClientParser.dataReceived is _data_received\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
