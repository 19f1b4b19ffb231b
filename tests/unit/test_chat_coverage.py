"""bench/chat_coverage.py on the fictional Wappalyzer-format fixture (the real database is not shipped)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "wappalyzer"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_coverage", ROOT / "bench" / "chat_coverage.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("pattern", [
    r"widget\.parrotalk-fictional\.example/loader\.js",
    r"^https?://(?:www\.)?[a-z]+\.example\.com/v[0-9]+/chat\.js",
    r"\.vendor-fictional\.example",
    r"cdn\.x-fictional\.example/(?:a|b)/[^/]+\.js",
])
def test_generated_url_matches_its_pattern(pattern: str) -> None:
    url = _module().script_url(pattern)
    assert url is not None and url.startswith("https://")
    assert re.search(pattern, url, re.I)


def test_counts_and_misses_on_the_fixture() -> None:
    r = _module().measure(FIXTURE)
    assert r["total"] == 5  # the analytics technology is not counted
    assert r["by_name"] == 1  # Tawk.to
    assert r["with_script_src"] == 5
    assert r["detected"] == 0  # fictional hosts: the project knows none of them
    assert "Wombat Chat" in r["name_misses"]
    assert any(m.startswith("Brokenbot (no URL") for m in r["detect_misses"])


def test_detection_counts_a_known_loader(tmp_path: Path) -> None:
    (tmp_path / "categories.json").write_text('{"52": {"name": "Live chat"}}', "utf-8")
    (tmp_path / "t.json").write_text('{"Some Tawk": {"cats": [52], "scriptSrc": ["embed\\\\.tawk\\\\.to"]}}', "utf-8")
    r = _module().measure(tmp_path)
    assert (r["total"], r["by_name"], r["detected"]) == (1, 0, 1)


def test_script_prints_totals_and_misses() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "chat_coverage.py"), str(FIXTURE), "--misses"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "live-chat technologies: 5" in out
    assert "known by name: 1/5" in out
    assert "detected on a page built from scriptSrc: 0/5" in out
    assert "  Wombat Chat" in out
