"""The line probe against SIPp as the far end: a real, independent SIP stack on loopback.

Each scenario in ``tests/conformance/sipp/`` is one kind of far end (rings, answers,
refuses with a code, challenges, stays silent). SIPp runs it for exactly one call
(``-m 1``) and must finish it cleanly (exit 0): that proves our ACKs, CANCELs and
BYEs were the messages a UAS expects, not just that we read its answers. Its
message log (``-trace_msg``) shows what reached it. ``-timeout`` makes sure it
always exits. Placeholders ``@NAME@`` are filled in here, because SIPp reads
status codes before its own ``-key`` substitution.

Without SIPp (Debian package sip-tester) the tests skip, and fail under CI=1.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.models import Verdict
from auditor.net.guard import AddressPolicy
from auditor.probes.sip.digest import parse_auth_params
from auditor.probes.sip.message import SipMessage, parse_message
from auditor.probes.sip.probe import SipTrunkConfig, probe_lines
from tests.support.requirements import need_binary
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

SCENARIOS = Path(__file__).parent / "sipp"
NUMBER = "+36 1 234 5678"
USER, PASSWORD = "probe", "c0nformance-Secret"


@dataclass
class Sipp:
    """One SIPp UAS process: its port, logs and, after the call, its exit code."""

    port: int
    proc: subprocess.Popen[str]
    message_log: Path
    error_log: Path
    returncode: int | None = None

    def messages(self) -> list[tuple[str, SipMessage]]:
        """(received|sent, message) for every SIP message in SIPp's message log."""
        text = self.message_log.read_text(errors="replace") if self.message_log.exists() else ""
        out: list[tuple[str, SipMessage]] = []
        for block in re.split(r"^-{20,}.*$", text, flags=re.MULTILINE):
            head, _, body = block.strip("\r\n").partition("\n")
            direction = "received" if "received" in head else "sent" if "sent" in head else ""
            parsed = parse_message(body.strip("\r\n").replace("\r\n", "\n").replace("\n", "\r\n").encode() + b"\r\n")
            if direction and isinstance(parsed, SipMessage):
                out.append((direction, parsed))
        return out

    def received(self, method: str) -> list[SipMessage]:
        return [m for d, m in self.messages() if d == "received" and m.method == method]


def _bound(port: int, kind: int) -> bool:
    """Has someone bound ``port``? (Probing by binding never talks to SIPp.)"""
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@contextmanager
def sipp(tmp_path: Path, scenario: str, transport: str = "udp", **values: str) -> Iterator[Sipp]:
    binary = need_binary("sipp", "sip-tester")
    text = (SCENARIOS / scenario).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", value)
    assert "@" not in re.sub(r"sip:[^>\s]*|<!--.*?-->", "", text, flags=re.DOTALL), "unfilled placeholder"
    name = f"{Path(scenario).stem}-{transport}"
    rendered = tmp_path / f"{name}.xml"
    rendered.write_text(text)
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    port = free_port(kind=kind)
    run = Sipp(port, None, tmp_path / f"{name}.messages.log", tmp_path / f"{name}.errors.log")  # type: ignore[arg-type]
    cmd = [
        binary, "-sf", str(rendered), "-i", "127.0.0.1", "-p", str(port), "-t", "u1" if transport == "udp" else "t1",
        "-m", "1", "-timeout", "15s", "-timeout_error", "-recv_timeout", "10s", "-nostdin",
        "-trace_msg", "-message_file", str(run.message_log), "-trace_err", "-error_file", str(run.error_log),
    ]
    run.proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 5
        while not _bound(port, kind):
            if run.proc.poll() is not None or time.monotonic() > deadline:
                stderr = run.proc.stderr.read() if run.proc.stderr else ""
                raise RuntimeError(f"sipp did not start: {stderr[-800:]}")
            time.sleep(0.02)
        yield run
        run.returncode = run.proc.wait(timeout=15)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(timeout=5)


def probe(port: int, transport: str = "udp", answer_window: float | None = None) -> Verdict:
    config = SipTrunkConfig(
        host="127.0.0.1", port=port, transport=transport, username=USER, display_name="Contact Audit",
        t1=0.1, timer_b=1.5, linger=0.2, calls_per_minute=600,
    )
    found = asyncio.run(probe_lines(
        [(NUMBER, {"country": "HU"})], config, resolver=None, policy=AddressPolicy(allow_private=True),
        answer_window=answer_window,
    ))
    assert len(found.calls) == 1
    return found[NUMBER]


def evidence(verdict: Verdict) -> dict[str, Any]:
    return dict(verdict.checks[0].evidence)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_SIP_PASSWORD", PASSWORD)


def finished_cleanly(run: Sipp) -> None:
    errors = run.error_log.read_text(errors="replace") if run.error_log.exists() else ""
    assert run.returncode == 0, f"sipp exit {run.returncode}: {errors[-1500:]}"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_ringing_is_cancelled(tmp_path: Path, transport: str) -> None:
    with sipp(tmp_path, "ring_cancel.xml", transport, code="180", reason="Ringing") as run:
        verdict = probe(run.port, transport)
    finished_cleanly(run)
    assert (verdict.verdict, verdict.reason) == ("active", "rings")
    ev = evidence(verdict)
    assert [r["code"] for r in ev["responses"]] == [100, 180, 487]
    assert ev["cancelled"] and ev["cancel_status"] == 200 and ev["final_code"] == 487
    invite, = run.received("INVITE")
    cancel, = run.received("CANCEL")
    assert invite.uri == f"sip:+3612345678@127.0.0.1:{run.port};user=phone"
    assert invite.from_addr is not None and invite.from_addr.display == "Contact Audit"
    assert cancel.top_via is not None and invite.top_via is not None
    assert cancel.top_via.branch == invite.top_via.branch and cancel.cseq == (1, "CANCEL")
    assert len(run.received("ACK")) == 1 and run.received("BYE") == []


def test_session_progress_is_cancelled(tmp_path: Path) -> None:
    with sipp(tmp_path, "ring_cancel.xml", code="183", reason="Session Progress") as run:
        verdict = probe(run.port)
    finished_cleanly(run)
    assert (verdict.verdict, verdict.reason) == ("active", "session-progress")
    assert len(run.received("CANCEL")) == 1


def test_answer_window_answer_is_acked_and_hung_up(tmp_path: Path) -> None:
    with sipp(tmp_path, "answer.xml") as run:
        verdict = probe(run.port, answer_window=5.0)
    finished_cleanly(run)
    assert (verdict.verdict, verdict.reason) == ("active", "answered")
    ev = evidence(verdict)
    assert ev["final_code"] == 200 and ev["bye_status"] == 200
    assert 0.25 <= ev["time_to_answer"] < 3.0
    assert run.received("CANCEL") == []
    ack, = run.received("ACK")
    bye, = run.received("BYE")
    assert ack.uri == bye.uri and ack.uri is not None and ack.uri.startswith("sip:far@127.0.0.1")
    assert bye.to_addr is not None and bye.to_addr.tag  # in the dialog the 200 created


@pytest.mark.parametrize(
    "code, reason, transport, expected",
    [
        ("404", "Not Found", "udp", ("inactive", "number-not-in-service")),
        ("404", "Not Found", "tcp", ("inactive", "number-not-in-service")),
        ("486", "Busy Here", "udp", ("active", "busy")),
        ("480", "Temporarily Unavailable", "udp", ("unknown", "no-answer")),
        ("503", "Service Unavailable", "udp", ("unknown", "network")),
    ],
)
def test_final_responses(tmp_path: Path, code: str, reason: str, transport: str, expected: tuple[str, str]) -> None:
    with sipp(tmp_path, "final.xml", transport, code=code, reason=reason) as run:
        verdict = probe(run.port, transport)
    finished_cleanly(run)
    assert (verdict.verdict, verdict.reason) == expected
    ev = evidence(verdict)
    assert ev["final_code"] == int(code) and ev["final_reason"] == reason
    assert not ev["cancelled"] and run.received("CANCEL") == []
    ack, = run.received("ACK")
    assert ack.cseq == (1, "ACK")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_proxy_challenge_is_answered_once(tmp_path: Path, transport: str) -> None:
    with sipp(tmp_path, "proxy_auth.xml", transport) as run:
        verdict = probe(run.port, transport)
    finished_cleanly(run)
    assert (verdict.verdict, verdict.reason) == ("active", "rings")
    first, second = run.received("INVITE")
    assert first.header("Proxy-Authorization") is None
    value = second.header("Proxy-Authorization")
    assert value is not None and second.cseq == (2, "INVITE") and second.call_id == first.call_id
    # Check the digest with the plain RFC 2617 formula, independently of our digest module.
    p = parse_auth_params(value.removeprefix("Digest "))
    assert (p["username"], p["realm"], p["qop"], p["uri"]) == (USER, "trunk.example", "auth", second.uri)

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5(f"{USER}:trunk.example:{PASSWORD}"), md5(f"INVITE:{second.uri}")
    assert p["response"] == md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
    assert len(run.received("CANCEL")) == 1
    ev = evidence(verdict)
    assert ev["auth"]["header"] == "Proxy-Authorization" and ev["invites_sent"] == 2
    assert PASSWORD not in repr(verdict.to_dict()) and p["response"] not in repr(verdict.to_dict())


def test_www_authenticate_digest_verified_by_sipp(tmp_path: Path) -> None:
    """SIPp's verifyauth recomputes our MD5 digest: 486 means it matched, 403 that it did not."""
    with sipp(tmp_path, "www_auth.xml", user=USER, password=PASSWORD) as run:
        verdict = probe(run.port)
    finished_cleanly(run)
    assert (verdict.verdict, verdict.reason) == ("active", "busy"), verdict.message
    assert run.received("INVITE")[1].header("Authorization") is not None


def test_silent_far_end_times_out(tmp_path: Path) -> None:
    with sipp(tmp_path, "silent.xml", silence_ms="2500") as run:
        started = time.monotonic()
        verdict = probe(run.port)
        elapsed = time.monotonic() - started
    finished_cleanly(run)
    assert (verdict.verdict, verdict.reason) == ("unknown", "sip-timeout")
    assert elapsed >= 1.4  # Timer B ran out; the retransmissions below bound it from above
    # T1 = 100 ms: sent at 0, 0.1, 0.3, 0.7; Timer B (1.5 s) before the next at 1.5.
    assert len(run.received("INVITE")) == 4
    assert evidence(verdict)["retransmissions"] == 3
    assert run.received("CANCEL") == []  # nothing to cancel without a provisional response
