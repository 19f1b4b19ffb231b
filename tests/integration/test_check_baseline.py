"""`auditor check URL --baseline DIR --notify DEST`: a business's CI gate against its own earlier audit.

The site changes between the baseline and the check (a published number goes):
the check fails with exit code 1, says what got worse, and the webhook gets the
new failure once; an unchanged site passes with 0 and sends nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.lab import Lab
from tests.integration.test_alerts import TOKEN, Hook
from tests.integration.test_cli import auditor
from tests.integration.test_waves import _world

pytestmark = pytest.mark.integration

FLAGS = ["--allow-private-targets", "--delay", "0", "--timeout", "5", "--no-smtp", "--no-report"]


def _check(lab: Lab, out: Path, *extra: str) -> tuple[int, str, str]:
    env = {**os.environ, **lab.env(), "AUDITOR_TEST_HOOK_TOKEN": TOKEN}
    run = auditor("check", lab.website("alfa-gmbh.de"), "--out", str(out), "--nameserver", lab.nameserver, *FLAGS,
                  *extra, env=env)
    return run.returncode, run.stdout, run.stderr


def test_check_against_a_baseline_fails_on_new_failures_and_notifies_once(tmp_path: Path) -> None:
    hook = Hook()
    config = tmp_path / "notify.toml"
    config.write_text('[notify]\nallow_private = true\n[notify.webhook]\ntoken_env = "AUDITOR_TEST_HOOK_TOKEN"\n',
                      encoding="utf-8")
    try:
        first = Lab(_world(False)).start()
        try:
            ports = first.http_port, first.https_port, first.dns_port
            rc, out, err = _check(first, tmp_path / "base")
            assert rc == 0, out + err
            # the same site again: nothing got worse, nothing is sent
            rc, out, err = _check(first, tmp_path / "same", "--baseline", str(tmp_path / "base"),
                                  "--config", str(config), "--notify", f"webhook:{hook.url}/ci")
            assert rc == 0, out + err
            assert "nothing got worse" in out and hook.requests == []
        finally:
            first.stop()
        with Lab(_world(True), http_port=ports[0], https_port=ports[1], dns_port=ports[2]) as second:
            rc, out, err = _check(second, tmp_path / "now", "--baseline", str(tmp_path / "base"),
                                  "--config", str(config), "--notify", f"webhook:{hook.url}/ci")
            assert rc == 1, out + err
            assert "1 new failure(s)" in out and "contact-gone: phone +493023125101" in out
            assert "delivered" in err
            (request,) = hook.requests
            assert [(a["alert"], a["value"]) for a in request["body"]["alerts"]] == [
                ("contact-gone", "+493023125101")]
            assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
            rc, out, err = _check(second, tmp_path / "json", "--baseline", str(tmp_path / "base"), "--json")
            assert rc == 1
            doc = json.loads(out)
            assert doc["baseline"]["new_failures"][0]["value"] == "+493023125101"
            assert any("baseline" in r for r in doc["failed_gates"])
            # a baseline that does not exist, or a wave it does not have: usage errors, before any crawl
            rc, _out, err = _check(second, tmp_path / "x", "--baseline", str(tmp_path / "nowhere"))
            assert rc == 2 and "no audit" in err
            rc, _out, err = _check(second, tmp_path / "x", "--baseline", f"{tmp_path / 'base'}@7")
            assert rc == 2 and "wave 7 is not a finished wave" in err
            rc, _out, err = _check(second, tmp_path / "x", "--notify", f"webhook:{hook.url}/ci")
            assert rc == 2 and "--notify needs --baseline" in err
    finally:
        hook.close()
    assert TOKEN not in json.dumps(hook.requests[0]["body"])
