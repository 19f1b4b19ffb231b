"""A private Dovecot on loopback for conformance tests: IMAP, IMAPS and SASL auth.

Everything lives in a temporary directory: the config, a passwd-file with the
test users, their Maildirs, the run and state directories. Dovecot runs in the
foreground (``dovecot -F -c CONF``) and is stopped afterwards. A test Postfix
delivers into the same Maildirs with its virtual(8) agent (Debian's
dovecot-imapd comes without the LMTP server), and the auth listener lets it
check submission logins (``smtpd_sasl_type = dovecot``).

Also here: a throwaway CA and a server certificate for 127.0.0.1/localhost,
made with ``cryptography``, for the TLS both servers speak.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from tests.support.requirements import need_binary
from tests.support.servers import free_port, wait_tcp


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path) -> Tls:
    """A CA and a server certificate for localhost and 127.0.0.1, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auditor test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    tls = Tls(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    tls.key.chmod(0o600)
    return tls


@dataclass(frozen=True)
class Dovecot:
    """A running Dovecot: its ports on 127.0.0.1 and where each user's Maildir is.

    Maildirs are ``mail_root/DOMAIN/LOCAL/``, owned by ``uid``/``gid``: the
    layout and owner a Postfix ``virtual_mailbox_base`` delivery must use.
    """

    directory: Path
    imap_port: int
    imaps_port: int | None
    auth_port: int
    uid: int
    gid: int
    log: Path

    @property
    def mail_root(self) -> Path:
        return self.directory / "mail"

    def maildir(self, user: str) -> Path:
        local, _, domain = user.partition("@")
        return self.mail_root / domain / local

    def count(self, user: str) -> int:
        """Messages delivered to ``user``'s INBOX so far (read from the Maildir, not over IMAP)."""
        root = self.maildir(user)
        return sum(len(list((root / sub).glob("*"))) for sub in ("new", "cur") if (root / sub).is_dir())


CONF = """\
base_dir = {d}/run
state_dir = {d}/state
instance_name = auditor-dovecot-{imap}
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
{ssl_files}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{d}/mail/%d/%n
first_valid_uid = {uid}
default_login_user = {login_user}
default_internal_user = {internal_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
  default_fields = uid={uid} gid={gid} home={d}/mail/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service auth {{
  inet_listener sasl-client {{
    address = 127.0.0.1
    port = {auth}
  }}
}}
"""


@contextmanager
def dovecot(users: dict[str, str], tls: Tls | None = None) -> Iterator[Dovecot]:
    """Dovecot for ``users`` (address -> password) on free loopback ports; stopped on exit.

    As root the mail processes run as ``nobody`` and logins as Dovecot's own
    users; otherwise everything runs as the current user.
    """
    binary = need_binary("dovecot", "dovecot-imapd")
    d = Path(tempfile.mkdtemp(prefix="auditor-dovecot-"))
    d.chmod(0o755)
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("nobody")
        login_user, internal_user = "dovenull", "dovecot"
    else:
        mail_user = pwd.getpwuid(os.getuid())
        login_user = internal_user = mail_user.pw_name
    uid, gid = mail_user.pw_uid, mail_user.pw_gid
    (d / "mail").mkdir()
    for user in users:
        local, _, domain = user.partition("@")
        (d / "mail" / domain / local).mkdir(parents=True, exist_ok=True)
    for path in [d / "mail", *(d / "mail").rglob("*")]:
        os.chown(path, uid, gid)
    (d / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users.items()))
    (d / "passwd").chmod(0o644)
    ports = {"imap": free_port(), "imaps": free_port() if tls else 0, "auth": free_port()}
    ssl_files = f"ssl_cert = <{tls.cert}\nssl_key = <{tls.key}" if tls else ""
    conf = d / "dovecot.conf"
    conf.write_text(CONF.format(
        d=d, ssl="yes" if tls else "no", ssl_files=ssl_files, uid=uid, gid=gid,
        login_user=login_user, internal_user=internal_user, **ports,
    ))
    log = d / "dovecot.log"
    proc = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        try:
            for port in (p for p in ports.values() if p):
                wait_tcp("127.0.0.1", port, timeout=15)
        except TimeoutError as exc:
            out = proc.stdout.read() if proc.poll() is not None and proc.stdout else ""
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"Dovecot did not start: {out}{text[-2000:]}") from exc
        yield Dovecot(d, ports["imap"], ports["imaps"] or None, ports["auth"], uid, gid, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(d, ignore_errors=True)
