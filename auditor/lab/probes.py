"""The live-probe side of the lab for the demo: SIP lines, reply agents and the mailbox.

What each published number and mailbox does lives in a data file beside the world
(`worlds/default-probes.toml`); this module starts the servers and writes the
`[sip]` and `[inquiries]` config the real probes read, so the demo exercises exactly
the code a researcher runs against their own trunk and mailbox.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

from auditor.lab.agents import LabReplyAgents
from auditor.lab.imap import LabImapServer
from auditor.lab.sip import LabSipServer, LineBehaviour, normalize_number

SHOPPER = "mystery.shopper@demo.auditor.test"
# The demo's later waves call every number once more: on the lab's compressed clock each wave
# is a window of its own (``wave-N``, all day, every day), so the once-per-window rule holds.
WAVE_WINDOW = "wave-{number}"
PASSWORD_ENV = "AUDITOR_LAB_MAIL_PASSWORD"


def load_probe_plan(path: str | Path | None = None) -> dict[str, Any]:
    """Lines and mailboxes of the default world (or of ``path``)."""
    if path is None:
        text = resources.files("auditor.lab").joinpath("worlds/default-probes.toml").read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return tomllib.loads(text)


class LabProbeServers:
    """The SIP trunk's far end, the companies' reply agents and the auditor's mailbox."""

    def __init__(self, plan: dict[str, Any] | None = None) -> None:
        self.plan = plan if plan is not None else load_probe_plan()
        lines = dict(self.plan.get("lines", {}))
        default = lines.pop("default", "ring")
        self.password = secrets.token_urlsafe(16)
        self.sip = LabSipServer(lines, default=default, t1=0.05)
        self.imap = LabImapServer({SHOPPER: self.password})
        boxes = dict(self.plan.get("mailboxes", {}))
        self.agents = LabReplyAgents(boxes, self.imap, {SHOPPER: self.password})

    def start(self) -> LabProbeServers:
        self.sip.start()
        self.imap.start()
        self.agents.start()
        os.environ[PASSWORD_ENV] = self.password  # read by the probes' password_env
        return self

    def stop(self) -> None:
        for server in (self.agents, self.imap, self.sip):
            try:
                server.stop()
            except Exception:  # noqa: BLE001 - stopping must not hide the run's result
                pass

    @staticmethod
    def _wave_windows(waves: int) -> str:
        return "".join(f'\n[sip.windows.{WAVE_WINDOW.format(number=n)}]\ndays = "Mo-Su"\nstart = "00:00"\n'
                       f'end = "23:59"\n' for n in range(2, waves + 1))

    def __enter__(self) -> LabProbeServers:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def next_wave(self, number: int) -> str:
        """Give the lines wave ``number``'s behaviours (the plan's ``[waves.N.lines]``); the window to call in."""
        changes = dict(self.plan.get("waves", {}).get(str(number), {}).get("lines", {}))
        for line, behaviour in changes.items():
            self.sip.endpoints[normalize_number(line)] = LineBehaviour.parse(behaviour)
        return WAVE_WINDOW.format(number=number)

    def config_toml(self, waves: int = 2) -> str:
        """The probes' config, pointing at these servers (passwords only by env name)."""
        return f'''# Written by `auditor demo`: the lab's SIP trunk, submission server and mailbox.
[sip]
host = "127.0.0.1"
port = {self.sip.port}
transport = "udp"
username = "auditor"
t1 = 0.05
ring_timeout = 10
calls_per_minute = 600
max_concurrent_calls = 32
{self._wave_windows(waves)}
[inquiries]
from = "{SHOPPER}"
sender_name = "Anna Weber"
rate_per_minute = 6000
cutoff_days = 7

[inquiries.submission]
host = "127.0.0.1"
port = {self.agents.port}
security = "none"
user = "{SHOPPER}"
password_env = "{PASSWORD_ENV}"

[inquiries.imap]
host = "127.0.0.1"
port = {self.imap.port}
tls = false
user = "{SHOPPER}"
password_env = "{PASSWORD_ENV}"
'''
