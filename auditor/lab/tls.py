"""The lab's certificate authority: made at start, trusted only by whoever is handed its PEM.

HTTPS checks must verify certificates for real (a validator that skips verification
would pass every lab test and fail on the web), so the lab runs its own CA: a fresh
key and self-signed root per Lab, and one server certificate whose SAN list names
every world host. Clients that load ``ca_file`` verify; clients that do not, fail --
both are worth testing. Keys are EC P-256 (fast to make) and live in a temporary
folder that is removed when the lab stops.

For the fault matrix the CA also mints bad certificates -- expired, for the wrong
host, or self-signed by a key of their own -- and :meth:`server_context` presents them,
by SNI, for the hosts of companies whose world entry says ``tls = ...``.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["LabCA"]

VALIDITY = datetime.timedelta(days=7)
CLOCK_SKEW = datetime.timedelta(minutes=5)
WRONG_HOST = "wrong-host.lab.invalid"  # the only name a wrong-host certificate names
BAD_MODES = ("self-signed", "expired", "wrong-host")


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class LabCA:
    """A throw-away CA; :meth:`server_context` issues certificates for lab host names."""

    def __init__(self, name: str = "contact-auditor lab CA") -> None:
        self.name = name
        self._dir = Path(tempfile.mkdtemp(prefix="lab-ca-"))
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "contact-auditor lab (not real)"),
            ]
        )
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = self._dir / "lab-ca.pem"
        self.ca_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(
        self, hosts: Iterable[str], ips: Iterable[str] = ("127.0.0.1",), *, mode: str = "valid"
    ) -> tuple[Path, Path]:
        """(certificate chain PEM, key PEM) for a server answering as every name in ``hosts``.

        ``mode`` mints a bad one on purpose: ``expired`` (ended yesterday), ``wrong-host``
        (names only :data:`WRONG_HOST`, no IP) or ``self-signed`` (its own key as issuer).
        """
        names = list(dict.fromkeys(h.lower().rstrip(".") for h in hosts if h))
        if not names:
            raise ValueError("a server certificate needs at least one host name")
        if mode not in ("valid", *BAD_MODES):
            raise ValueError(f"unknown certificate mode {mode!r}")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        if mode == "wrong-host":
            names, ips = [WRONG_HOST], ()
        san: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        begins, ends = now - CLOCK_SKEW, now + VALIDITY
        if mode == "expired":
            begins, ends = now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        signer = key if mode == "self-signed" else self._key
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if mode == "self-signed" else self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(begins)
            .not_valid_after(ends)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
            .sign(signer, hashes.SHA256())
        )
        serial = format(cert.serial_number, "x")[:16]
        cert_path = self._dir / f"server-{serial}.pem"
        key_path = self._dir / f"server-{serial}.key"
        chain = cert.public_bytes(serialization.Encoding.PEM)
        if mode != "self-signed":
            chain += self.certificate.public_bytes(serialization.Encoding.PEM)
        cert_path.write_bytes(chain)
        key_path.write_bytes(_key_pem(key))
        key_path.chmod(0o600)
        return cert_path, key_path

    def server_context(
        self, hosts: Iterable[str], bad: Mapping[str, str] | None = None
    ) -> ssl.SSLContext:
        """A TLS server context presenting one certificate valid for every name in ``hosts``.

        ``bad`` maps host names to a bad certificate mode; a client naming such a host
        in its SNI gets that certificate instead.
        """
        ctx = self._context(*self.issue(hosts))
        by_mode: dict[str, list[str]] = {}
        for host, mode in (bad or {}).items():
            by_mode.setdefault(mode, []).append(host.lower().rstrip("."))
        special: dict[str, ssl.SSLContext] = {}
        for mode, names in by_mode.items():
            other = self._context(*self.issue(names, mode=mode))
            special.update(dict.fromkeys(names, other))
        if special:

            def pick(sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
                chosen = special.get((name or "").lower().rstrip("."))
                if chosen is not None:
                    sock.context = chosen

            ctx.sni_callback = pick
        return ctx

    @staticmethod
    def _context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert_path, key_path)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def cleanup(self) -> None:
        """Remove the key material; the CA file is gone afterwards."""
        shutil.rmtree(self._dir, ignore_errors=True)
