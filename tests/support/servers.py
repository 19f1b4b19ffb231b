"""Start the servers users meet (Postfix, dnsmasq) on loopback for conformance tests.

They come from Debian packages installed by scripts/setup.sh. Without them a
test is skipped on a developer's machine, but fails in CI (CI=true), so a
missing install can never pass silently (tests/support/requirements.py).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.requirements import need_binary, need_root


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_tcp(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def wait_dns(proc: subprocess.Popen[str], host: str, port: int, timeout: float = 15.0) -> None:
    """Query the server until it answers at all (any rcode), or fail when it exits or stays mute."""
    import dns.exception
    import dns.message
    import dns.query

    query = dns.message.make_query("readiness.invalid.", "A")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            dns.query.udp(query, host, port=port, timeout=0.2)
            return
        except (dns.exception.Timeout, OSError):  # not bound yet: refused or unanswered
            time.sleep(0.05)
    raise TimeoutError(f"no DNS answer from {host}:{port} after {timeout} s")


@contextmanager
def dnsmasq(zone_args: list[str]) -> Iterator[str]:
    """dnsmasq answering only the given records on 127.0.0.1; yields 'IP:PORT'."""
    binary = need_binary("dnsmasq", "dnsmasq-base")
    port = free_port(kind=socket.SOCK_DGRAM)
    cmd = [
        binary, "--no-daemon", "--conf-file=/dev/null", f"--port={port}", "--listen-address=127.0.0.1",
        "--bind-interfaces", "--no-resolv", "--no-hosts", "--user=root", *zone_args,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_dns(proc, "127.0.0.1", port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydomain = {domain}
myorigin = {domain}
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = texthash:{d}/conf/vmailbox
virtual_transport = discard
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = /dev/stdout
smtpd_banner = $myhostname ESMTP
"""


@contextmanager
def postfix(domain: str, mailboxes: list[str], port: int | None = None) -> Iterator[tuple[int, Path]]:
    """A real Postfix MX for ``domain`` on 127.0.0.1:PORT; unknown users get its own rejection.

    Yields (port, maillog path). Needs root (Postfix drops to its own user).
    """
    need_binary("postfix", "postfix")
    need_root("Postfix conformance")
    import tempfile

    port = port or free_port()
    d = Path(tempfile.mkdtemp(prefix="auditor-postfix-"))
    d.chmod(0o755)  # Postfix's own user must reach its data directory
    (d / "conf").mkdir()
    (d / "queue").mkdir()
    (d / "data").mkdir()
    shutil.chown(d / "data", "postfix")
    (d / "data").chmod(0o700)
    (d / "conf" / "main.cf").write_text(MAIN_CF.format(d=d, hostname=f"mx.{domain}", domain=domain))
    (d / "conf" / "vmailbox").write_text("".join(f"{m}@{domain} ok\n" for m in mailboxes))
    master = Path("/etc/postfix/master.cf").read_text()
    master = master.replace("\nsmtp      inet", f"\n127.0.0.1:{port}      inet", 1)
    master = master.replace("\npostlog   unix-dgram", "\npostlog   unix-dgram", 1)
    (d / "conf" / "master.cf").write_text(master)
    conf = str(d / "conf")
    maillog = d / "maillog"
    # start-fg keeps master in the foreground and logs to stdout: no syslog needed.
    with maillog.open("w") as log:
        proc = subprocess.Popen(["postfix", "-c", conf, "start-fg"], stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_tcp("127.0.0.1", port)
        except TimeoutError as exc:
            raise RuntimeError(f"Postfix did not start: {maillog.read_text(errors='replace')[-2000:]}") from exc
        yield port, maillog
    finally:
        subprocess.run(["postfix", "-c", conf, "stop"], capture_output=True, timeout=60)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(d, ignore_errors=True)
