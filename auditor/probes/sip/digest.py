"""Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).

A trunk challenges an INVITE with 401 (WWW-Authenticate) or 407
(Proxy-Authenticate); the UA answers once with Authorization or
Proxy-Authorization. Supported: MD5, SHA-256 and SHA-512-256 (when hashlib has
it), their ``-sess`` variants, qop ``auth`` and ``auth-int``, no qop (RFC 2069
compatibility), ``userhash``. Per RFC 8760 the first challenge with a supported
algorithm is answered.

The password only ever enters :func:`compute_response`; a :class:`Secret` keeps it
out of reprs and logs on the way there.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from auditor.probes.sip.message import split_list, unquote


class Secret:
    """A password that prints as ``***``: repr, str and format never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))


def _sha512_256(data: bytes) -> str:
    return hashlib.new("sha512_256", data).hexdigest()


def _has_sha512_256() -> bool:
    try:
        hashlib.new("sha512_256", b"")
    except ValueError:
        return False
    return True


HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
if _has_sha512_256():
    HASHES["SHA-512-256"] = _sha512_256


@dataclass(frozen=True)
class Challenge:
    """One parsed Digest challenge and the header it came in."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False
    header: str = "WWW-Authenticate"
    params: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def base_algorithm(self) -> str:
        return self.algorithm.upper().removesuffix("-SESS")

    @property
    def session(self) -> bool:
        return self.algorithm.upper().endswith("-SESS")

    @property
    def supported(self) -> bool:
        if self.base_algorithm not in HASHES:
            return False
        # A -sess variant needs a cnonce, which exists only with a qop.
        return not self.session or bool(self.qop)

    @property
    def answer_header(self) -> str:
        """Proxy-Authorization answers a 407, Authorization a 401."""
        return "Proxy-Authorization" if self.header.lower() == "proxy-authenticate" else "Authorization"


def parse_auth_params(text: str) -> dict[str, str]:
    """``a="x, y", b=1`` -> {"a": "x, y", "b": "1"}; names lower-cased."""
    params: dict[str, str] = {}
    for item in split_list(text, ","):
        name, eq, value = item.partition("=")
        if eq and name.strip():
            params[name.strip().lower()] = unquote(value)
    return params


def parse_challenge(value: str, header: str = "WWW-Authenticate") -> Challenge | None:
    """A Digest challenge, or None for another scheme or a challenge without realm/nonce."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params = parse_auth_params(rest)
    if "realm" not in params or "nonce" not in params:
        return None
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=params.get("algorithm", "MD5") or "MD5",
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
        userhash=params.get("userhash", "").lower() == "true",
        header=header,
        params=params,
    )


def challenges_in(header: str, values: Iterable[str]) -> list[Challenge]:
    """Every Digest challenge in the given header lines, in order."""
    return [c for c in (parse_challenge(v, header) for v in values) if c is not None]


def choose(challenges: Iterable[Challenge]) -> Challenge | None:
    """RFC 8760 §2.4: the first challenge whose algorithm we support."""
    return next((c for c in challenges if c.supported), None)


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: Secret | str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The ``response`` value of RFC 2617 §3.2.2.1 / RFC 7616 §3.4.1."""
    name = algorithm.upper()
    session = name.endswith("-SESS")
    digest = HASHES[name.removesuffix("-SESS")]
    secret = password.reveal() if isinstance(password, Secret) else password

    def h(text: str | bytes) -> str:
        return digest(text if isinstance(text, bytes) else text.encode("utf-8"))

    ha1 = h(f"{username}:{realm}:{secret}")
    if session:
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}:{h(body)}") if qop == "auth-int" else h(f"{method}:{uri}")
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return h(f"{ha1}:{nonce}:{ha2}")


def authorization(
    challenge: Challenge,
    *,
    username: str,
    password: Secret | str,
    method: str,
    uri: str,
    body: bytes = b"",
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The Authorization / Proxy-Authorization value answering ``challenge``."""
    if not challenge.supported:
        raise ValueError(f"unsupported digest algorithm {challenge.algorithm}")
    qop = None
    if challenge.qop:
        # auth-int protects the body too, but needs it; prefer auth when both are offered.
        qop = "auth" if "auth" in challenge.qop else ("auth-int" if "auth-int" in challenge.qop else None)
        if qop is None:
            raise ValueError(f"unsupported qop {','.join(challenge.qop)}")
    nc_text = f"{nc:08x}"
    cnonce = cnonce or secrets.token_hex(8)
    response = compute_response(
        algorithm=challenge.algorithm, username=username, realm=challenge.realm, password=password,
        method=method, uri=uri, nonce=challenge.nonce, qop=qop, nc=nc_text if qop else None,
        cnonce=cnonce if (qop or challenge.session) else None, body=body,
    )
    shown_user = username
    if challenge.userhash:
        shown_user = HASHES[challenge.base_algorithm](f"{username}:{challenge.realm}".encode())
    parts = [
        f'username="{_q(shown_user)}"',
        f'realm="{_q(challenge.realm)}"',
        f'nonce="{_q(challenge.nonce)}"',
        f'uri="{_q(uri)}"',
        f'response="{response}"',
        f"algorithm={challenge.algorithm}",
    ]
    if qop:
        parts += [f'cnonce="{cnonce}"', f"qop={qop}", f"nc={nc_text}"]
    if challenge.opaque is not None:
        parts.append(f'opaque="{_q(challenge.opaque)}"')
    if challenge.userhash:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
