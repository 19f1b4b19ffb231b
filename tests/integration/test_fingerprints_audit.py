"""`--fingerprints` reaches the crawl: the real spider, through `auditor audit`, finds a chat
widget only the user's Wappalyzer-format files know, and an audit without the option does not.

The site is a one-page HTTP server on loopback; the fingerprint files are the fictional
database written for the tests (tests/fixtures/wappalyzer).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "wappalyzer"
PAGE = b"""<!doctype html><html><head><title>Kapcsolat</title>
<script async src="https://widget.parrotalk-fictional.example/loader.js?v=3"></script></head>
<body><h1>Kapcsolat</h1><p>Irjon nekunk a chaten!</p></body></html>"""


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body, status = (PAGE, 200) if self.path in ("/", "/index.html") else (b"not found", 404)
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture()
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _audit(url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor.cli", "audit", url, "--out", str(out), "--no-validate", "--no-report",
         "--allow-private-targets", "--no-progress", "--delay", "0", "--no-autothrottle", *extra],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )


def _chats(out: Path) -> list[str]:
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return [c["value"] for company in doc["companies"] for c in company["contacts"] if c["kind"] == "chat"]


def test_user_fingerprints_reach_the_spider(site: str, tmp_path: Path) -> None:
    with_them = _audit(site, tmp_path / "with", "--fingerprints", str(FIXTURE))
    assert with_them.returncode == 0, with_them.stderr[-2000:]
    without = _audit(site, tmp_path / "without")
    assert without.returncode == 0, without.stderr[-2000:]
    assert _chats(tmp_path / "with") == ["wappalyzer:parrotalk"]
    assert _chats(tmp_path / "without") == []


def test_a_bad_fingerprints_path_is_a_usage_error_before_crawling(site: str, tmp_path: Path) -> None:
    proc = _audit(site, tmp_path / "bad", "--fingerprints", str(tmp_path / "no-such-folder"))
    assert proc.returncode == 2
    assert "--fingerprints" in proc.stderr and "no such file or folder" in proc.stderr
    assert not (tmp_path / "bad" / "audit.sqlite").exists()
