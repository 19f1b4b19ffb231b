"""`auditor check URL --baseline DIR --notify DEST` gives a business the waves' score and 24/7 alerts too (issue 15).

The availability lab (a hotline whose page claims 24/7, a Chatwoot inbox) is
audited once with the line probe; then the line answers "not in service" and
the operators go offline, and `auditor check` of the same site against that
audit fails and sends one webhook with the dead number, the score drop and the
failed 24/7 claim, by the same rules a wave's alerts use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.lab import Lab
from auditor.lab.sip import LabSipServer, LineBehaviour
from tests.integration.test_alerts import Hook
from tests.integration.test_availability import NUMBER, _probes, _world, sip  # noqa: F401 - the fixture
from tests.integration.test_cli import auditor

pytestmark = pytest.mark.integration

FLAGS = ["--allow-private-targets", "--delay", "0", "--timeout", "5", "--no-smtp", "--no-report", "--probe-lines"]


def test_a_check_against_its_baseline_alerts_the_score_drop_and_the_failed_24_7_claim(
        tmp_path: Path, sip: LabSipServer) -> None:  # noqa: F811 - the fixture
    base, probes = tmp_path / "base", _probes(tmp_path / "probes.toml", sip.port)
    first = Lab(_world("online")).start()
    try:
        ports = {"http_port": first.http_port, "https_port": first.https_port, "dns_port": first.dns_port}
        url = first.website("alfa-gmbh.de")
        run = auditor("check", url, "--out", str(base), "--nameserver", first.nameserver, "--config", str(probes),
                      *FLAGS, env={**os.environ, **first.env()})
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        first.stop()
    sip.endpoints[NUMBER] = LineBehaviour.parse("not-in-service")
    hook = Hook()
    try:
        with Lab(_world("offline"), **ports) as second:
            run = auditor("check", url, "--out", str(tmp_path / "now"), "--nameserver", second.nameserver,
                          "--config", str(probes), *FLAGS, "--baseline", str(base),
                          "--notify", f"webhook:{hook.url}/ci", env={**os.environ, **second.env()})
    finally:
        hook.close()
    assert run.returncode == 1, run.stdout + run.stderr
    assert "3 new failure(s)" in run.stdout
    assert f"contact-died: phone {NUMBER}" in run.stdout
    assert "score-drop: the site (score" in run.stdout
    assert f"claim-24-7-failed: phone {NUMBER} (claims 24/7; answered 0 of 1" in run.stdout
    (request,) = hook.requests
    alerts = {a["alert"]: a for a in request["body"]["alerts"]}
    assert set(alerts) == {"contact-died", "score-drop", "claim-24-7-failed"}
    drop = alerts["score-drop"]
    assert drop["company"] == "alfa-gmbh.de" and drop["evidence"]["score_from"] - drop["evidence"]["score_to"] >= 10
    claim = alerts["claim-24-7-failed"]
    assert (claim["kind"], claim["value"], claim["company"]) == ("phone", NUMBER, "alfa-gmbh.de")
    assert claim["evidence"]["answered"] == 0 and claim["evidence"]["conclusive"] == 1
    assert request["body"]["counts"] == {"contact-died": 1, "score-drop": 1, "claim-24-7-failed": 1}
    assert "Hs3pL8dF2zN5cQ1v" not in json.dumps(request["body"])  # the widget token is not an alert's business
