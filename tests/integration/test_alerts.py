"""Alert deliveries against real servers on loopback: a webhook receiver and an SMTP submission server.

Each delivery is recorded in the store: a second run sends nothing twice, a
failure is retried with back-off and recorded, a run that died mid-attempt
does not resend, and no secret reaches a message, the store or a log.
"""

from __future__ import annotations

import email
import json
import logging
import socket
import threading
from collections.abc import Iterator
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from auditor import reasons
from auditor.alerts import changes, deliver, notify_config
from auditor.alerts.config import NotifyConfig
from auditor.store import open_store
from auditor.store.alerts import AlertDeliveries
from auditor.waves.transitions import Transition

pytestmark = pytest.mark.integration

TOKEN = "tok-7f3a9c1e5b2d4f60"
PASSWORD = "pw-Q8z!r2Lx9vNc"
HOOK_SECRET = "hooksecret-5d1e8b"


class Hook:
    """A webhook receiver: records each POST, answers the queued statuses (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """An SMTP submission server on loopback that wants a login (aiosmtpd, as the lab's mail agents)."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, bytes]] = []
        self.failed_logins = 0
        box = self

        class Handler:
            async def handle_DATA(self, server: AioSMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
                box.messages.append((envelope, bytes(envelope.original_content or b"")))
                return "250 2.0.0 Ok: queued"

        def auth(server: AioSMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.login == b"alerts" and data.password == PASSWORD.encode()
            box.failed_logins += not ok
            return AuthResult(success=ok, handled=False)

        with socket.socket() as probe:  # aiosmtpd's controller connects to its port once started: not 0
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=auth,
                                     auth_require_tls=False)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    m = Mailbox()
    yield m
    m.close()


@pytest.fixture
def tables(tmp_path: Path) -> Iterator[AlertDeliveries]:
    store = open_store(tmp_path / "audit")
    yield AlertDeliveries(store.engine)  # type: ignore[attr-defined]
    store.close()


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUDITOR_TEST_HOOK_TOKEN", TOKEN)
    (tmp_path / "smtp-password").write_text(PASSWORD + "\n", encoding="utf-8")


DIED = Transition(1, 2, "1:https://alfa.example/", "Alfa GmbH", "verdict-changed", "phone", "+493023125100",
                  "active", "inactive", "rings", "number-not-in-service", "https://alfa.example/kontakt",
                  "https://alfa.example/kontakt")
DOWN = Transition(1, 2, "2:https://beta.example/", "Beta AG", "site-down")
NEW = Transition(1, 2, "1:https://alfa.example/", "Alfa GmbH", "appeared", "email", "info@alfa.example", None,
                 "active", None, "mailbox-exists", None, "https://alfa.example/kontakt")


def body(kinds: frozenset[str] | None = None) -> dict[str, Any]:
    alerts = changes.select([DIED, DOWN, NEW], kinds or frozenset({"contact-died", "site-down", "contact-back"}))
    return changes.payload("wave-2", "audit", alerts, "file:///tmp/audit/report/timeline.html", wave=2)


def config(tmp_path: Path, *dests: str, **table: Any) -> NotifyConfig:
    raw = {"webhook": {"token_env": "AUDITOR_TEST_HOOK_TOKEN"}, "backoff": 0.01, **table}
    cfg = notify_config(raw, dests, allow_private=True)
    assert cfg is not None
    return cfg


def email_config(tmp_path: Path, port: int, *dests: str) -> NotifyConfig:
    return config(tmp_path, *dests, email={
        "from": "auditor@lab.example", "host": "127.0.0.1", "port": port, "security": "none", "user": "alerts",
        "password_file": str(tmp_path / "smtp-password")})


def test_transitions_become_alerts_of_their_kind() -> None:
    assert [k for k, _t in changes.select([DIED, DOWN, NEW], frozenset(changes_kinds()))] == [
        "contact-died", "site-down", "contact-new"]
    b = body()
    assert b["counts"] == {"contact-died": 1, "site-down": 1}
    died = b["alerts"][0]
    assert (died["verdict_from"], died["verdict_to"], died["reason_to"]) == ("active", "inactive",
                                                                             "number-not-in-service")
    assert died["reason_message"] == reasons.message("number-not-in-service")
    assert died["evidence"]["page_to"] == "https://alfa.example/kontakt"
    assert "Alfa GmbH" in changes.text(b) and "site-down" in changes.subject(b)


def changes_kinds() -> set[str]:
    from auditor.alerts.config import ALERT_KINDS

    return set(ALERT_KINDS)


def test_webhook_gets_the_json_once_per_event(hook: Hook, tables: AlertDeliveries, secrets: None,
                                              tmp_path: Path) -> None:
    cfg = config(tmp_path, f"webhook:{hook.url}/hook")
    first = deliver(tables, "wave-2", body(), cfg, sleep=lambda _s: None)
    assert [(d.status, d.attempts) for d in first] == [("delivered", 1)]
    (req,) = hook.requests
    assert req["path"] == "/hook" and req["body"]["event"] == "wave-2" and len(req["body"]["alerts"]) == 2
    assert req["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert req["headers"]["Idempotency-Key"] == f"wave-2:webhook:{hook.url}/hook"
    again = deliver(tables, "wave-2", body(), cfg, sleep=lambda _s: None)
    assert [d.status for d in again] == ["already-delivered"] and len(hook.requests) == 1
    (row,) = tables.rows()
    assert (row["status"], row["attempts"], row["alerts"]) == ("delivered", 1, 2)


def test_failures_are_retried_with_backoff_and_recorded(hook: Hook, tables: AlertDeliveries, secrets: None,
                                                        tmp_path: Path) -> None:
    cfg = config(tmp_path, f"webhook:{hook.url}/hook", attempts=2, backoff=0.5)
    hook.statuses = [500, 503]
    naps: list[float] = []
    (d,) = deliver(tables, "wave-2", body(), cfg, sleep=naps.append)
    assert (d.status, d.attempts, d.tag) == ("failed", 2, reasons.WEBHOOK_HTTP_ERROR) and naps == [0.5]
    (row,) = tables.rows()
    assert (row["status"], row["attempts"], row["error_tag"]) == ("failed", 2, "webhook-http-error")
    assert "503" in row["error"]
    # the next run retries what failed, and only that
    (d,) = deliver(tables, "wave-2", body(), cfg, sleep=naps.append)
    assert (d.status, d.attempts) == ("delivered", 1) and len(hook.requests) == 3
    assert tables.rows()[0]["attempts"] == 3 and tables.rows()[0]["error_tag"] is None


def test_a_redirect_or_a_private_address_is_a_failure_not_a_detour(hook: Hook, tables: AlertDeliveries,
                                                                   secrets: None, tmp_path: Path) -> None:
    hook.statuses = [302]
    (d,) = deliver(tables, "wave-2", body(), config(tmp_path, f"webhook:{hook.url}/r", attempts=1))
    assert d.tag == reasons.WEBHOOK_REDIRECT and len(hook.requests) == 1
    guarded = notify_config({"webhook": {"token_env": "AUDITOR_TEST_HOOK_TOKEN"}}, [f"webhook:{hook.url}/p"])
    assert guarded is not None and not guarded.allow_private
    (d,) = deliver(tables, "wave-3", body(), guarded, sleep=lambda _s: None)
    assert d.tag == reasons.PRIVATE_ADDRESS_REFUSED and len(hook.requests) == 1  # nothing reached it


def test_an_attempt_cut_by_a_crash_is_not_sent_again(hook: Hook, tables: AlertDeliveries, secrets: None,
                                                      tmp_path: Path) -> None:
    cfg = config(tmp_path, f"webhook:{hook.url}/hook")
    tables.begin("wave-2", cfg.destinations[0].name, 2)  # the notifier died here, mid-attempt
    (d,) = deliver(tables, "wave-2", body(), cfg, sleep=lambda _s: None)
    assert (d.status, d.tag) == ("unknown", reasons.DELIVERY_INTERRUPTED) and hook.requests == []
    (d,) = deliver(tables, "wave-2", body(), cfg, sleep=lambda _s: None)
    assert d.status == "unknown" and hook.requests == []


def test_email_alert_through_an_authenticated_submission_server(mailbox: Mailbox, tables: AlertDeliveries,
                                                                secrets: None, tmp_path: Path) -> None:
    cfg = email_config(tmp_path, mailbox.port, "mailto:ops@lab.example")
    (d,) = deliver(tables, "wave-2", body(), cfg, sleep=lambda _s: None)
    assert d.status == "delivered", d.message
    (envelope, raw), = mailbox.messages
    assert envelope.mail_from == "auditor@lab.example" and envelope.rcpt_tos == ["ops@lab.example"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert "site-down" in str(msg["Subject"]) and msg["Auto-Submitted"] == "auto-generated"
    parts = {p.get_content_type(): p.get_content() for p in msg.walk() if not p.is_multipart()}
    assert "Alfa GmbH" in parts["text/plain"]
    attached = parts["application/json"]
    assert json.loads(attached if isinstance(attached, str) else attached.decode())["event"] == "wave-2"
    assert PASSWORD.encode() not in raw
    assert deliver(tables, "wave-2", body(), cfg)[0].status == "already-delivered" and len(mailbox.messages) == 1


def test_a_refused_login_is_recorded_without_the_password(mailbox: Mailbox, tables: AlertDeliveries,
                                                          secrets: None, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    (tmp_path / "smtp-password").write_text(PASSWORD + "-wrong", encoding="utf-8")
    cfg = email_config(tmp_path, mailbox.port, "mailto:ops@lab.example")
    (d,) = deliver(tables, "wave-2", body(), cfg, sleep=lambda _s: None)
    assert (d.status, d.tag) == ("failed", reasons.ALERT_SMTP_REFUSED) and mailbox.messages == []
    assert mailbox.failed_logins >= 1
    row = tables.rows()[0]
    for text in (d.message, str(row), caplog.text):
        assert PASSWORD not in text and TOKEN not in text


def test_a_missing_secret_is_named_not_shown(hook: Hook, tables: AlertDeliveries, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_TEST_HOOK_TOKEN", raising=False)
    (d,) = deliver(tables, "wave-2", body(), config(tmp_path, f"webhook:{hook.url}/h", attempts=1))
    assert d.tag == reasons.SECRET_UNAVAILABLE and "AUDITOR_TEST_HOOK_TOKEN" in d.message
    assert hook.requests == []


def test_a_webhook_url_from_the_environment_stays_out_of_the_store(hook: Hook, tables: AlertDeliveries,
                                                                   secrets: None, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_TEST_HOOK_URL", f"{hook.url}/{HOOK_SECRET}")
    cfg = config(tmp_path, "webhook:env:AUDITOR_TEST_HOOK_URL")
    (d,) = deliver(tables, "wave-2", body(), cfg, sleep=lambda _s: None)
    assert d.status == "delivered" and hook.requests[0]["path"] == f"/{HOOK_SECRET}"
    assert HOOK_SECRET not in str(tables.rows())


@pytest.mark.parametrize(("table", "message"), [
    ({"webhook": {"token": "x"}}, "never written in the config"),
    ({"email": {"password": "x", "host": "h", "from": "a@b"}}, "never written in the config"),
    ({"changes": ["nonsense"]}, "unknown"),
    ({"colour": "red"}, "unknown key"),
])
def test_bad_notify_tables_are_refused(table: dict[str, Any], message: str) -> None:
    from auditor.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        notify_config(table, ["webhook:https://hooks.example/x"])


def test_destinations_are_checked() -> None:
    from auditor.config import ConfigError

    with pytest.raises(ConfigError, match="credentials"):
        notify_config({}, ["webhook:https://user:pw@hooks.example/x"])
    with pytest.raises(ConfigError, match="expected webhook"):
        notify_config({}, ["slack:#ops"])
    with pytest.raises(ConfigError, match="notify.email"):
        notify_config({}, ["mailto:ops@example.com"])
    assert notify_config({}, []) is None


def _waves(out: Path, phones_per_wave: list[list[str]], first: bool = True) -> None:
    """An audit whose one company publishes these numbers in successive finished waves."""
    from auditor.models import Company, CompanyResult, ContactPoint
    from auditor.store import waves as store_waves

    store = open_store(out)
    engine = store.engine  # type: ignore[attr-defined]
    company = Company(1, "Alfa GmbH", "https://alfa.example", "DE")
    if first:
        store.start_run({}, "test")
        store.register_companies([company])
    for phones in phones_per_wave:
        number = store_waves.begin_wave(engine, {})
        store.save_company(CompanyResult(company, contacts=tuple(
            ContactPoint("phone", p, p, None, "tel-link", "https://alfa.example/kontakt") for p in phones)))
        store_waves.finish_wave(engine, number)
    store.close()


def test_notify_waves_sends_the_latest_wave_retries_failed_ones_and_backfills_nothing(
        hook: Hook, secrets: None, tmp_path: Path) -> None:
    from auditor.alerts import notify_waves

    out = tmp_path / "audit"
    # wave 1 is the audit's unfinished first run; waves 2 and 3 publish these, then wave 4
    _waves(out, [["+4930100", "+4930101"], ["+4930100"]])  # wave 3: a number went
    cfg = config(tmp_path, f"webhook:{hook.url}/w", attempts=1)
    hook.statuses = [500]
    assert [(d.event, d.status) for d in notify_waves(out, cfg, sleep=lambda _s: None)] == [("wave-3", "failed")]
    _waves(out, [["+4930102"]], first=False)  # wave 4: one went, one appeared
    got = notify_waves(out, cfg, sleep=lambda _s: None)
    assert [(d.event, d.status) for d in got] == [("wave-3", "delivered"), ("wave-4", "delivered")]
    assert [r["body"]["event"] for r in hook.requests] == ["wave-3", "wave-3", "wave-4"]
    assert [a["value"] for a in hook.requests[-1]["body"]["alerts"]] == ["+4930100"]  # appeared: not an alert
    assert [d.status for d in notify_waves(out, cfg)] == ["already-delivered"]
    # a destination added later starts with the latest wave: the audit's history is not back-filled
    late = config(tmp_path, f"webhook:{hook.url}/late")
    assert [(d.event, d.status) for d in notify_waves(out, late)] == [("wave-4", "delivered")]


def test_an_attempt_is_recorded_as_under_way_before_it_is_made(tables: AlertDeliveries, secrets: None,
                                                                tmp_path: Path) -> None:
    cfg = config(tmp_path, "webhook:https://hooks.example/x")
    seen: list[str | None] = []

    def send(dest: Any, _body: Any, _cfg: Any, key: str, _ns: Any) -> None:
        row = tables.get("wave-2", dest.name)
        seen.append(row["status"] if row else None)
        assert key == "wave-2:webhook:https://hooks.example/x"

    assert [d.status for d in deliver(tables, "wave-2", body(), cfg, send=send)] == ["delivered"]
    assert seen == ["sending"]  # a crash inside send leaves "sending": never sent again
