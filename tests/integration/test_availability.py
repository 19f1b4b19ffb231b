"""Availability across waves, end to end on the lab (issue 15): the real crawler, validators, line probe and chat check.

Wave 1: Alfa's hotline rings and its Chatwoot inbox has an agent online; its page
says the hotline answers 24/7. Between the waves the lab's SIP line starts
answering "not in service" and the inbox's agents go offline (a second world is
served on the same ports). `auditor audit --probe-lines` and `auditor wave`
run as a user runs them; the grid, the panel figures, the 24/7 claim and the
report pages are read back, and wave 2's alerts (the hotline died, Alfa's score
dropped, its 24/7 claim failed) reach a webhook on loopback.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from auditor.lab import Lab
from auditor.lab.sip import LabSipServer, LineBehaviour
from auditor.lab.world import World, parse_world
from tests.integration.test_alerts import Hook
from tests.integration.test_cli import auditor

pytestmark = pytest.mark.integration

NUMBER = "+493023125100"
TOKEN = "Hs3pL8dF2zN5cQ1v"
NAME = "Alfa <GmbH> & Söhne"
CONTACT = ('<h1>Kontakt</h1><p>Hotline: +49 30 23125 100</p><p>Erreichbar 24 Stunden am Tag, 7 Tage die Woche.</p>'
           '<script src="https://app.chatwoot.com/packs/js/sdk.js" defer async></script>'
           f'<script>window.chatwootSDK.run({{ websiteToken: "{TOKEN}", baseUrl: "https://app.chatwoot.com" }});'
           '</script>')


def _world(agent: str) -> World:
    members = json.dumps({"payload": [{"name": "Tom", "avatar_url": "", "availability_status": agent}]})
    return parse_world(f'''[world]
name = "availability"

[[company]]
name = "{NAME}"
domain = "alfa-gmbh.de"
country = "DE"
industry = "retail"

[[company.pages]]
path = "/"
main = '<h1>Alfa</h1><p><a href="/kontakt">Kontakt</a></p>'

[[company.pages]]
path = "/kontakt"
main = '{CONTACT}'

[[platform]]
name = "Chatwoot (lab copy)"
domain = "chatwoot.com"
page_defaults = {{ host = "app", raw = true }}

[[platform.pages]]
path = "/packs/js/sdk.js"
content_type = "application/javascript"
body = "window.chatwootSDK={{run:function(){{}}}};"

[[platform.pages]]
path = "/api/v1/widget/inbox_members?website_token={TOKEN}"
content_type = "application/json; charset=utf-8"
body = '{members}'
''', source="<availability world>")


@pytest.fixture()
def sip() -> Iterator[LabSipServer]:
    with LabSipServer({NUMBER: "ring"}, t1=0.05) as server:
        yield server


def _probes(path: Path, port: int) -> Path:
    path.write_text(f'''[sip]
host = "127.0.0.1"
port = {port}
transport = "udp"
username = "auditor"
t1 = 0.05
ring_timeout = 10
calls_per_minute = 600

[sip.windows.all-day]
days = "Mo-Su"
start = "00:00"
end = "23:59"
''', encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_two_waves_give_each_channel_its_hours_of_week_and_the_panel_its_figures(tmp_path: Path,
                                                                                 sip: LabSipServer) -> None:
    out, probes = tmp_path / "audit", _probes(tmp_path / "probes.toml", sip.port)
    first = Lab(_world("online")).start()
    try:
        ports = {"http_port": first.http_port, "https_port": first.https_port, "dns_port": first.dns_port}
        companies = first.write_companies_csv(tmp_path / "c.csv")
        run = auditor("audit", str(companies), "--out", str(out), "--nameserver", first.nameserver,
                      "--allow-private-targets", "--no-progress", "--delay", "0", "--timeout", "5", "--no-smtp",
                      "--probe-lines", "--config", str(probes), env={**os.environ, **first.env()})
        assert run.returncode == 0, run.stderr
    finally:
        first.stop()
    sip.endpoints[NUMBER] = LineBehaviour.parse("not-in-service")
    hook = Hook()
    try:
        with Lab(_world("offline"), **ports) as second:
            run = auditor("wave", str(out), "--config", str(probes), "--line-window", "all-day",
                          "--notify", f"webhook:{hook.url}/alerts", env={**os.environ, **second.env()})
            assert run.returncode == 0, run.stderr
            assert f"-> webhook:{hook.url}/alerts: delivered" in run.stdout
    finally:
        hook.close()
    (request,) = hook.requests
    alerts = {a["alert"]: a for a in request["body"]["alerts"]}
    assert alerts["contact-died"]["value"] == NUMBER
    drop = alerts["score-drop"]["evidence"]
    assert drop["score_from"] - drop["score_to"] >= 10 and alerts["score-drop"]["company"] == NAME
    claim = alerts["claim-24-7-failed"]
    assert (claim["kind"], claim["value"], claim["wave_to"]) == ("phone", NUMBER, 2)
    assert claim["evidence"]["answered"] == 0 and claim["evidence"]["conclusive"] == 1  # wave 2's call alone

    calls = json.loads((out / "line-probe-ledger.json").read_text(encoding="utf-8"))["calls"][NUMBER]
    assert [c["reason"] for c in calls.values()] == ["rings", "number-not-in-service"]
    local = [datetime.fromisoformat(c["local"]) for c in calls.values()]
    grid = _rows(out / "availability.csv")
    phone = [r for r in grid if r["kind"] == "phone"]
    # each call in the hour of the week it was placed, in the number's own time (Berlin)
    expected: dict[tuple[str, str], list[int]] = {}
    for when, outcome in zip(local, ("up", "down"), strict=True):
        cell = expected.setdefault((("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")[when.weekday()], str(when.hour)),
                                   [0, 0])
        cell[0 if outcome == "up" else 1] += 1
    assert {(r["day"], r["hour"]): [int(r["up"]), int(r["down"])] for r in phone} == expected
    assert {r["zone"] for r in phone} == {"Europe/Berlin"}
    assert {(r["company"], r["claims_24_7"], r["claim"], r["published_hours"]) for r in phone} == {
        (NAME, "yes", "failed", "24/7")}
    chat = [r for r in grid if r["kind"] == "chat"]
    assert sum(int(r["up"]) for r in chat) == 1 and sum(int(r["no_answer"]) for r in chat) == 1

    panel = {(r["wave"], r["scope"], r["group"], r["metric"]): (r["numerator"], r["denominator"])
             for r in _rows(out / "panel.csv")}
    assert panel[("1", "panel", "", "numbers-inactive")] == ("0", "1")
    assert panel[("2", "panel", "", "numbers-inactive")] == ("1", "1")
    assert panel[("2", "country", "DE", "numbers-inactive")] == ("1", "1")
    assert panel[("1", "panel", "", "claims-24-7-held")] == ("1", "1")
    assert panel[("2", "industry", "retail", "claims-24-7-held")] == ("0", "1")
    assert panel[("1", "panel", "", "chat-checks-no-operator")] == ("0", "1")
    assert panel[("2", "panel", "", "chat-checks-no-operator")] == ("1", "1")
    assert panel[("", "company", NAME, "chat-checks-no-operator")] == ("1", "2")

    report = out / "report"
    page = (report / "availability.html").read_text(encoding="utf-8")
    assert "Alfa &lt;GmbH&gt; &amp; Söhne" in page and "<GmbH>" not in page
    assert "24/7 claim failed" in page and "rang in 1 of 2 conclusive calls" in page
    assert "no operator online in 50 %" in page
    timeline = (report / "timeline.html").read_text(encoding="utf-8")
    assert "Panel figures per wave" in timeline and "100 % (1 of 1)" in timeline
    assert 'href="availability.html"' in (report / "index.html").read_text(encoding="utf-8")
