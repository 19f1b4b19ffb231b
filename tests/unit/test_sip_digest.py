"""Digest authentication against the RFCs' own test vectors, and challenge handling."""

from __future__ import annotations

import hashlib

import pytest

from auditor.probes.sip.digest import (
    HASHES,
    Challenge,
    Secret,
    authorization,
    challenges_in,
    choose,
    compute_response,
    parse_auth_params,
    parse_challenge,
)
from tests.support.requirements import missing

RFC7616 = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "qop": "auth",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}


def test_rfc2617_md5_vector() -> None:
    """RFC 2617 §3.5."""
    response = compute_response(
        algorithm="MD5", username="Mufasa", realm="testrealm@host.com", password="Circle Of Life",
        method="GET", uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth", nc="00000001", cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_rfc7616_md5_vector() -> None:
    """RFC 7616 §3.9.1, MD5 half."""
    assert compute_response(algorithm="MD5", **RFC7616) == "8ca523f5e9506fed4657c9700eebdbec"


def test_rfc7616_sha256_vector() -> None:
    """RFC 7616 §3.9.1, SHA-256 half."""
    assert compute_response(algorithm="SHA-256", **RFC7616) == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


def test_sipp_computes_the_same_md5_without_qop() -> None:
    """SIPp 3.6.1 answered this exact challenge with this response (no qop, RFC 2069 style)."""
    response = compute_response(
        algorithm="MD5", username="probe", realm="sipp.test", password="pw1", method="INVITE",
        uri="sip:127.0.0.1:15070", nonce="47ebe028cda119c35d4877b383027d28da013815",
    )
    assert response == "0c2161d2cb48162321c444620b841bc3"


def test_session_variant_and_auth_int_follow_the_formulas() -> None:
    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    body = b"v=0\r\n"
    ha1 = h(f"{h('u:r:p')}:n:c")
    ha2 = h(f"INVITE:sip:x@y:{hashlib.sha256(body).hexdigest()}")
    expected = h(f"{ha1}:n:00000002:c:auth-int:{ha2}")
    got = compute_response(algorithm="SHA-256-sess", username="u", realm="r", password=Secret("p"),
                           method="INVITE", uri="sip:x@y", nonce="n", qop="auth-int", nc="00000002",
                           cnonce="c", body=body)
    assert got == expected


def test_sha512_256_userhash() -> None:
    """RFC 7616 §3.9.2: the hashed user name of "Jäsøn Doe" in realm api@example.org."""
    if "SHA-512-256" not in HASHES:
        missing("hashlib has no sha512_256", "use a Python linked against OpenSSL 1.1.1 or later")
    challenge = Challenge(realm="api@example.org", nonce="n", algorithm="SHA-512-256", qop=("auth",), userhash=True)
    value = authorization(challenge, username="J\u00e4s\u00f8n Doe", password="Secret, or not?", method="GET",
                          uri="/doe.json", cnonce="c")
    assert 'username="793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"' in value
    assert "userhash=true" in value and "J\u00e4s\u00f8n" not in value


class TestChallenges:
    def test_parse_full_challenge(self) -> None:
        c = parse_challenge(
            'Digest realm="sip.example.de", domain="sip:sip.example.de", nonce="abc,def", '
            'opaque="xyz", stale=TRUE, algorithm=SHA-256, qop="auth,auth-int"',
            "Proxy-Authenticate",
        )
        assert c is not None
        assert (c.realm, c.nonce, c.opaque, c.stale, c.algorithm) == ("sip.example.de", "abc,def", "xyz", True, "SHA-256")
        assert c.qop == ("auth", "auth-int")
        assert c.answer_header == "Proxy-Authorization" and c.supported

    def test_defaults_to_md5_and_authorization_header(self) -> None:
        c = parse_challenge('digest realm="r", nonce="n"')
        assert c is not None and c.algorithm == "MD5" and c.qop == () and c.answer_header == "Authorization"

    @pytest.mark.parametrize("value", ['Basic realm="r"', 'Digest nonce="n"', 'Digest realm="r"', "", "Digest"])
    def test_unusable_challenges(self, value: str) -> None:
        assert parse_challenge(value) is None

    def test_auth_params_keep_commas_and_escapes(self) -> None:
        assert parse_auth_params('a="x, y", b=1, c="q\\"uote"') == {"a": "x, y", "b": "1", "c": 'q"uote'}

    def test_first_supported_challenge_wins(self) -> None:
        found = challenges_in("WWW-Authenticate", [
            'Digest realm="r", nonce="1", algorithm=AKAv1-MD5',
            'Digest realm="r", nonce="2", algorithm=MD5-sess',  # -sess needs a qop: not usable here
            'Digest realm="r", nonce="3", algorithm=SHA-256, qop="auth"',
            'Digest realm="r", nonce="4", algorithm=MD5',
        ])
        assert [c.nonce for c in found] == ["1", "2", "3", "4"]
        chosen = choose(found)
        assert chosen is not None and chosen.nonce == "3"
        assert choose([]) is None


class TestAuthorization:
    def test_header_with_qop_and_opaque(self) -> None:
        c = parse_challenge(f'Digest realm="{RFC7616["realm"]}", nonce="{RFC7616["nonce"]}", '
                            'qop="auth, auth-int", algorithm=MD5, opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
        assert c is not None
        value = authorization(c, username="Mufasa", password=Secret("Circle of Life"), method="GET",
                              uri="/dir/index.html", cnonce=RFC7616["cnonce"])
        params = parse_auth_params(value.removeprefix("Digest "))
        assert value.startswith("Digest ")
        assert params["response"] == "8ca523f5e9506fed4657c9700eebdbec"
        assert params["qop"] == "auth" and params["nc"] == "00000001"
        assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
        assert params["uri"] == "/dir/index.html" and params["algorithm"] == "MD5"
        assert "Circle of Life" not in value

    def test_no_qop_means_no_cnonce_or_nc(self) -> None:
        c = Challenge(realm="r", nonce="n")
        params = parse_auth_params(authorization(c, username="u", password="p", method="INVITE", uri="sip:x@y"))
        assert "cnonce" not in params and "nc" not in params and "qop" not in params

    def test_auth_int_only(self) -> None:
        c = Challenge(realm="r", nonce="n", qop=("auth-int",))
        params = parse_auth_params(authorization(c, username="u", password="p", method="INVITE", uri="sip:x@y",
                                                 body=b"sdp", cnonce="c"))
        assert params["qop"] == "auth-int"
        expected = compute_response(algorithm="MD5", username="u", realm="r", password="p", method="INVITE",
                                    uri="sip:x@y", nonce="n", qop="auth-int", nc="00000001", cnonce="c", body=b"sdp")
        assert params["response"] == expected

    def test_unsupported_is_refused(self) -> None:
        with pytest.raises(ValueError):
            authorization(Challenge(realm="r", nonce="n", algorithm="AKAv1-MD5"), username="u", password="p",
                          method="INVITE", uri="sip:x@y")
        with pytest.raises(ValueError):
            authorization(Challenge(realm="r", nonce="n", qop=("auth-conf",)), username="u", password="p",
                          method="INVITE", uri="sip:x@y")

    def test_quotes_in_values_are_escaped(self) -> None:
        c = Challenge(realm='we"ird', nonce="n")
        value = authorization(c, username='a"b', password="p", method="INVITE", uri="sip:x@y")
        params = parse_auth_params(value.removeprefix("Digest "))
        assert params["realm"] == 'we"ird' and params["username"] == 'a"b'


def test_secret_never_prints() -> None:
    secret = Secret("hunter2-very-secret")
    logged = "%s" % secret  # noqa: UP031 - logging formats with %, so that is what must be safe
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", logged, repr([secret])):
        assert "hunter2" not in text
    assert secret.reveal() == "hunter2-very-secret"
    assert secret == Secret("hunter2-very-secret") and secret != Secret("other")
