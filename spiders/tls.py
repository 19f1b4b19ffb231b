"""What is wrong with a site's TLS certificate, read from the response Scrapy got.

Scrapy, like most crawlers, does not verify certificates: a site with an expired or
self-signed one is still read, because the contact points on it are real. But a
visitor's browser stops at a warning page, so the audit records it (tag
``tls-error``) -- from the leaf certificate Scrapy hands over with every https
response (``response.certificate``), with public APIs only: validity dates, the
host name (RFC 6125 via service_identity) and a self-signed leaf. An incomplete or
untrusted chain is not judged here: only the leaf is available, and browsers fetch
missing intermediates themselves.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from service_identity import CertificateError, VerificationError
from service_identity.cryptography import (
    verify_certificate_hostname,
    verify_certificate_ip_address,
)


def certificate_problem(certificate: Any, host: str, now: datetime.datetime | None = None) -> str | None:
    """Why ``certificate`` would not verify for ``host`` in a browser; None when it would.

    ``certificate`` is what Scrapy puts on ``response.certificate`` (a Twisted
    Certificate), an OpenSSL X509 or a cryptography Certificate.
    """
    cert = _as_cryptography(certificate)
    if cert is None:
        return None
    now = now or datetime.datetime.now(datetime.UTC)
    if cert.not_valid_after_utc < now:
        return f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    if cert.not_valid_before_utc > now:
        return f"the certificate is not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
    if cert.issuer == cert.subject:
        try:
            cert.verify_directly_issued_by(cert)
        except (ValueError, TypeError, InvalidSignature):
            pass
        else:
            return "the certificate is self-signed"
    try:
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            verify_certificate_hostname(cert, host)
        else:
            verify_certificate_ip_address(cert, str(ip))
    except (VerificationError, CertificateError):
        return f"the certificate is for {', '.join(_names(cert)) or 'no host name'}, not {host}"
    return None


def _as_cryptography(certificate: Any) -> x509.Certificate | None:
    if isinstance(certificate, x509.Certificate):
        return certificate
    original = getattr(certificate, "original", certificate)  # Twisted wraps OpenSSL's X509
    to_crypto = getattr(original, "to_cryptography", None)
    if to_crypto is None:
        return None
    try:
        return to_crypto()
    except Exception:  # noqa: BLE001 - an unreadable certificate is not judged
        return None


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)][:3]  # type: ignore[misc]
    return [str(n) for n in san.get_values_for_type(x509.DNSName)][:3]
