"""SIP parsing and building: real-world shapes, compact forms, framing, and garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.probes.sip.message import (
    BRANCH_MAGIC,
    ParseError,
    SipMessage,
    StreamFramer,
    build_response,
    canonical_name,
    format_name_addr,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
    parse_name_addr,
    parse_params,
    parse_via,
    split_list,
    uri_host,
)


def wire(text: str) -> bytes:
    """Samples are written with LF; the wire uses CRLF."""
    return text.replace("\n", "\r\n").encode()


ASTERISK_183 = wire("""SIP/2.0 183 Session Progress
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=198.51.100.7;rport=5062
From: "Audit" <sip:probe@trunk.example>;tag=as58f4201b
To: <sip:+3612345678@trunk.example;user=phone>;tag=as1d2c3b4a
Call-ID: 3848276298220188511@192.0.2.10
CSeq: 102 INVITE
Server: Asterisk PBX 18.12.1
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE
Contact: <sip:+3612345678@203.0.113.5:5060>
Content-Type: application/sdp
Content-Length: 128

v=0
o=root 1 1 IN IP4 203.0.113.5
s=Asterisk
c=IN IP4 203.0.113.5
t=0 0
m=audio 18000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
""")

COMPACT_INVITE = wire("""INVITE sip:+3612345678@trunk.example;user=phone SIP/2.0
v: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK74bf9
v: SIP / 2.0 / TCP proxy.example.net: 5070 ;branch=z9hG4bKnashds7 ;received=192.0.2.1
t: <sip:+3612345678@trunk.example;user=phone>
f: "Anna \\"the tester\\" Kovacs" <sip:anna@example.hu>;tag=1928301774
i: a84b4c76e66710@pc33.example.hu
m: <sip:anna@192.0.2.2:5060>;expires=60
k: timer, 100rel
c: application/sdp
CSeq: 314159 INVITE
l: 4

test""")

FOLDED = wire("""OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw
Max-Forwards: 70
To: <sip:user@example.com>
From: sip:caller@example.net;tag=3413an89KU
Call-ID: 1234abcd
CSeq: 8 OPTIONS
Subject: I know you're there,
         pick up the phone
\tand talk to me!
Via: SIP/2.0/UDP host2.example.com;branch=z9hG4bK2,
 SIP/2.0/UDP host3.example.com;branch=z9hG4bK3
Content-Length: 0

""")

KAMAILIO_407 = wire("""SIP/2.0 407 Proxy Authentication Required
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKabc;rport=5060
From: <sip:probe@sip.example.de>;tag=x1
To: <sip:+4930123456@sip.example.de;user=phone>;tag=7f3a1b0c2d
Call-ID: deadbeef@10.0.0.5
CSeq: 1 INVITE
Proxy-Authenticate: Digest realm="sip.example.de", nonce="ZxYwVu1234:abcdef", qop="auth,auth-int", algorithm=SHA-256
Proxy-Authenticate: Digest realm="sip.example.de", nonce="ZxYwVu1234:abcdef", qop="auth", algorithm=MD5
Server: kamailio (5.7.2 (x86_64/linux))
Content-Length: 0

""")


class TestParseSamples:
    def test_asterisk_183_with_sdp(self) -> None:
        msg = parse_message(ASTERISK_183)
        assert isinstance(msg, SipMessage)
        assert (msg.status, msg.reason) == (183, "Session Progress")
        assert msg.is_response and not msg.is_request
        assert msg.cseq == (102, "INVITE")
        assert msg.call_id == "3848276298220188511@192.0.2.10"
        assert msg.to_addr is not None and msg.to_addr.tag == "as1d2c3b4a"
        assert msg.from_addr is not None and msg.from_addr.display == "Audit"
        assert msg.body.startswith(b"v=0") and len(msg.body) == 128
        via = msg.top_via
        assert via is not None and via.branch == "z9hG4bK776asdhds" and via.params["rport"] == "5062"
        assert len(msg.values("Allow")) == 11

    def test_compact_forms_and_odd_spacing(self) -> None:
        msg = parse_message(COMPACT_INVITE)
        assert isinstance(msg, SipMessage)
        assert msg.method == "INVITE" and msg.uri == "sip:+3612345678@trunk.example;user=phone"
        assert msg.call_id == "a84b4c76e66710@pc33.example.hu"
        assert msg.header("i") == msg.header("Call-ID")
        assert [name for name, _ in msg.headers][:4] == ["Via", "Via", "To", "From"]
        vias = msg.vias
        assert [(v.transport, v.host, v.port) for v in vias] == [
            ("UDP", "192.0.2.2", 5060), ("TCP", "proxy.example.net", 5070)
        ]
        assert vias[1].branch == "z9hG4bKnashds7" and vias[1].params["received"] == "192.0.2.1"
        sender = msg.from_addr
        assert sender is not None and sender.display == 'Anna "the tester" Kovacs' and sender.tag == "1928301774"
        assert msg.values("Supported") == ["timer", "100rel"]
        assert msg.header("Content-Type") == "application/sdp"
        assert msg.body == b"test"

    def test_folded_headers_and_comma_separated_vias(self) -> None:
        msg = parse_message(FOLDED)
        assert isinstance(msg, SipMessage)
        assert msg.header("Subject") == "I know you're there, pick up the phone and talk to me!"
        assert [v.host for v in msg.vias] == ["host1.example.com", "host2.example.com", "host3.example.com"]
        assert msg.from_addr is not None and msg.from_addr.uri == "sip:caller@example.net"
        assert msg.from_addr.tag == "3413an89KU"
        assert msg.body == b""

    def test_auth_headers_are_not_split_on_commas(self) -> None:
        msg = parse_message(KAMAILIO_407)
        assert isinstance(msg, SipMessage)
        challenges = msg.values("Proxy-Authenticate")
        assert len(challenges) == 2 and 'qop="auth,auth-int"' in challenges[0]

    def test_bare_lf_line_ends(self) -> None:
        msg = parse_message(b"SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nCSeq: 1 INVITE\nContent-Length: 0\n\n")
        assert isinstance(msg, SipMessage) and msg.status == 180 and msg.cseq == (1, "INVITE")

    def test_empty_reason_phrase_and_lowercase_version(self) -> None:
        msg = parse_message(b"sip/2.0 180\r\nCSeq: 1 INVITE\r\n\r\n")
        assert isinstance(msg, SipMessage) and msg.status == 180 and msg.reason == ""

    def test_reason_phrase_keeps_spaces_and_utf8(self) -> None:
        msg = parse_message("SIP/2.0 404 Nem található a szám\r\n\r\n".encode())
        assert isinstance(msg, SipMessage) and msg.reason == "Nem található a szám"

    def test_leading_crlf_before_message(self) -> None:
        msg = parse_message(b"\r\n\r\nSIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n")
        assert isinstance(msg, SipMessage) and msg.status == 100

    def test_no_content_length_on_datagram_takes_rest(self) -> None:
        msg = parse_message(b"SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\n")
        assert isinstance(msg, SipMessage) and msg.body == b"v=0\r\n"

    def test_content_length_shorter_than_datagram_truncates(self) -> None:
        msg = parse_message(b"SIP/2.0 200 OK\r\nContent-Length: 3\r\n\r\nv=0 and junk")
        assert isinstance(msg, SipMessage) and msg.body == b"v=0"

    def test_headers_are_case_insensitive(self) -> None:
        msg = parse_message(b"SIP/2.0 200 OK\r\ncall-id: abc\r\nCSEQ: 7 bye\r\nWWW-AUTHENTICATE: Digest x\r\n\r\n")
        assert isinstance(msg, SipMessage)
        assert msg.call_id == "abc" and msg.cseq == (7, "BYE")
        assert msg.header("www-authenticate") == "Digest x"
        assert ("WWW-Authenticate", "Digest x") in msg.headers


class TestMalformed:
    @pytest.mark.parametrize(
        "data, fragment",
        [
            (b"", "empty"),
            (b"\r\n\r\n", "empty"),
            (b"\x00\xff\xfe garbage", "start line"),
            (b"HTTP/1.1 200 OK\r\n\r\n", "start line"),
            (b"INVITE\r\n\r\n", "start line"),
            (b"INVITE sip:a@b SIP/3.0\r\n\r\n", "version"),
            (b"SIP/2.0 999 Nope\r\n\r\n", "out of range"),
            (b"SIP/2.0 099 Nope\r\n\r\n", "out of range"),
            (b"SIP/2.0 18 Short\r\n\r\n", "start line"),
            (b"SIP/2.0 180 Ringing\r\nthis line has no colon\r\n\r\n", "malformed header"),
            (b"SIP/2.0 180 Ringing\r\n : empty name\r\n\r\n", "continuation"),
            (b"SIP/2.0 180 Ringing\r\nContent-Length: abc\r\n\r\n", "Content-Length"),
            (b"SIP/2.0 180 Ringing\r\nl: -5\r\n\r\n", "Content-Length"),
            (b"SIP/2.0 200 OK\r\nContent-Length: 50\r\n\r\nshort", "shorter"),
            (b"IN(VITE sip:a@b SIP/2.0\r\n\r\n", "method"),
        ],
    )
    def test_garbage_is_a_parse_error_not_an_exception(self, data: bytes, fragment: str) -> None:
        result = parse_message(data)
        assert isinstance(result, ParseError), result
        assert fragment.lower() in result.reason.lower()
        assert not result  # falsy, so `if parsed:` works

    def test_not_bytes(self) -> None:
        assert isinstance(parse_message("SIP/2.0 200 OK\r\n\r\n"), ParseError)  # type: ignore[arg-type]

    def test_malformed_fields_read_as_none(self) -> None:
        msg = parse_message(b"SIP/2.0 200 OK\r\nCSeq: one INVITE\r\nVia: nonsense\r\nFrom: no uri here\r\n\r\n")
        assert isinstance(msg, SipMessage)
        assert msg.cseq is None and msg.top_via is None and msg.vias == [] and msg.from_addr is None
        assert msg.call_id is None and msg.to_addr is None

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=600))
    def test_never_raises_on_random_bytes(self, data: bytes) -> None:
        result = parse_message(data)
        assert isinstance(result, SipMessage | ParseError)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.sampled_from([
        "SIP/2.0 180 Ringing", "INVITE sip:a@b SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bKx", "v: x",
        "l: 3", "Content-Length: 9999", "CSeq: 1 INVITE", " folded", "", "\t", "garbage", ":", "f: <sip:a@b>;tag",
    ]), max_size=12), st.sampled_from(["\r\n", "\n"]))
    def test_never_raises_on_sip_like_lines(self, lines: list[str], eol: str) -> None:
        data = eol.join(lines).encode()
        result = parse_message(data)
        assert isinstance(result, SipMessage | ParseError)
        framer = StreamFramer()
        for item in framer.feed(data + b"\r\n\r\n"):
            assert isinstance(item, SipMessage | ParseError)


class TestValues:
    def test_canonical_names(self) -> None:
        assert canonical_name("i") == "Call-ID"
        assert canonical_name("V") == "Via"
        assert canonical_name("l") == "Content-Length"
        assert canonical_name("cseq") == "CSeq"
        assert canonical_name("www-authenticate") == "WWW-Authenticate"
        assert canonical_name("proxy-authorization") == "Proxy-Authorization"
        assert canonical_name("x-custom-thing") == "X-Custom-Thing"
        assert canonical_name("p-asserted-identity") == "P-Asserted-Identity"

    def test_split_list_respects_quotes_and_brackets(self) -> None:
        text = '"Smith, John" <sip:j@a.example;x=1,2>;q=0.5, <sip:b@b.example>, sip:c@c.example'
        assert split_list(text) == [
            '"Smith, John" <sip:j@a.example;x=1,2>;q=0.5', "<sip:b@b.example>", "sip:c@c.example"
        ]
        assert split_list(' "a\\"b,c" , d ') == ['"a\\"b,c"', "d"]

    def test_params(self) -> None:
        assert parse_params('tag=abc;lr;Received="1.2.3.4";x=') == {"tag": "abc", "lr": "", "received": "1.2.3.4", "x": ""}

    @pytest.mark.parametrize(
        "value, expected",
        [
            ("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport", ("UDP", "192.0.2.1", 5060, "z9hG4bK1")),
            ("SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bK2", ("TLS", "2001:db8::9", 5061, "z9hG4bK2")),
            ("SIP/2.0/tcp proxy.example;branch=z9hG4bK3", ("TCP", "proxy.example", None, "z9hG4bK3")),
            ("SIP / 2.0 / UDP host.example : 4000 ; branch = z9hG4bK4", ("UDP", "host.example", 4000, "z9hG4bK4")),
            ("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks", ("WSS", "df7jal23ls0d.invalid", None, "z9hG4bK56sdasks")),
        ],
    )
    def test_via(self, value: str, expected: tuple[str, str, int | None, str]) -> None:
        via = parse_via(value)
        assert via is not None
        assert (via.transport, via.host, via.port, via.branch) == expected

    @pytest.mark.parametrize("value", ["", "HTTP/1.1 host", "SIP/2.0/UDP", "SIP/2.0/UDP ;branch=x"])
    def test_bad_via(self, value: str) -> None:
        assert parse_via(value) is None

    @pytest.mark.parametrize(
        "value, display, uri, tag",
        [
            ('"Bob <the boss>" <sip:bob@b.example;user=phone>;tag=99', "Bob <the boss>", "sip:bob@b.example;user=phone", "99"),
            ("Bob <sip:bob@b.example>", "Bob", "sip:bob@b.example", None),
            ("<tel:+1-201-555-0123>;tag=t1", "", "tel:+1-201-555-0123", "t1"),
            ("sip:+3612345678@trunk.example;tag=abc", "", "sip:+3612345678@trunk.example", "abc"),
            ('"" <sip:anon@anonymous.invalid>', "", "sip:anon@anonymous.invalid", None),
        ],
    )
    def test_name_addr(self, value: str, display: str, uri: str, tag: str | None) -> None:
        addr = parse_name_addr(value)
        assert addr is not None
        assert (addr.display, addr.uri, addr.tag) == (display, uri, tag)

    @pytest.mark.parametrize("value", ["", "Bob", "<>", "Bob <sip:b@b.example", '"unterminated <sip:x@y>'])
    def test_bad_name_addr(self, value: str) -> None:
        assert parse_name_addr(value) is None

    def test_uri_host(self) -> None:
        assert uri_host("sip:+36@trunk.example:5070;user=phone") == "trunk.example"
        assert uri_host("sips:[2001:db8::1]:5061") == "2001:db8::1"
        assert uri_host("tel:+3612345678") == ""


class TestBuilder:
    def test_round_trip_and_content_length(self) -> None:
        msg = SipMessage.request(
            "invite",
            "sip:+3612345678@trunk.example;user=phone",
            [("v", f"SIP/2.0/UDP 192.0.2.1:5060;branch={new_branch()}"), ("Call-ID", new_call_id("192.0.2.1")),
             ("CSeq", "1 INVITE"), ("Content-Length", "999")],
            body=b"v=0\r\n",
        )
        data = msg.to_bytes()
        assert data.startswith(b"INVITE sip:+3612345678@trunk.example;user=phone SIP/2.0\r\nVia: ")
        assert b"Content-Length: 5\r\n\r\nv=0\r\n" in data and b"999" not in data
        back = parse_message(data)
        assert isinstance(back, SipMessage)
        assert back.method == "INVITE" and back.body == b"v=0\r\n" and back.cseq == (1, "INVITE")
        assert bytes(msg) == data

    def test_header_injection_is_neutralised(self) -> None:
        msg = SipMessage.request("OPTIONS", "sip:a@b", [("Subject", "hi\r\nX-Evil: 1\r\n\r\nbody")])
        data = msg.to_bytes()
        back = parse_message(data)
        assert isinstance(back, SipMessage)
        assert back.header("X-Evil") is None and back.body == b""
        assert back.header("Subject") == "hi X-Evil: 1 body"

    def test_identifiers(self) -> None:
        branches = {new_branch() for _ in range(200)}
        assert len(branches) == 200 and all(b.startswith(BRANCH_MAGIC) for b in branches)
        assert new_tag() != new_tag()
        assert new_call_id("::1").endswith("@[::1]")

    def test_format_name_addr(self) -> None:
        text = format_name_addr("sip:probe@example.hu", 'Audit "Q" \\ Team', "t9")
        addr = parse_name_addr(text)
        assert addr is not None and addr.display == 'Audit "Q" \\ Team' and addr.tag == "t9"
        assert format_name_addr("sip:x@y") == "<sip:x@y>"

    def test_set_add_remove(self) -> None:
        msg = SipMessage.response(200, "OK", [("Via", "a"), ("Route", "r1"), ("Via", "b")])
        msg.set("via", "c")
        assert msg.headers == [("Via", "c"), ("Route", "r1")]
        msg.add("Via", "top", first=True)
        assert msg.header_lines("Via") == ["top", "c"]
        msg.remove("v")
        assert msg.header("Via") is None
        msg.set("Call-ID", "x")
        assert msg.headers[-1] == ("Call-ID", "x")

    def test_build_response_copies_dialog_headers(self) -> None:
        request = parse_message(FOLDED)
        assert isinstance(request, SipMessage)
        response = build_response(request, 200, "OK", to_tag="mytag")
        assert response.header_lines("Via") == request.header_lines("Via")
        assert response.header("To") == "<sip:user@example.com>;tag=mytag"
        assert response.cseq == (8, "OPTIONS") and response.call_id == "1234abcd"
        # An existing To tag is kept; 100 Trying never gets one.
        again = build_response(response_to_request(response), 200, "OK", to_tag="other")
        assert again.header("To") == "<sip:user@example.com>;tag=mytag"
        trying = build_response(request, 100, "Trying", to_tag="t")
        assert trying.header("To") == "<sip:user@example.com>"


def response_to_request(response: SipMessage) -> SipMessage:
    return SipMessage.request("BYE", "sip:x@y", response.headers)


class TestStreamFramer:
    def test_two_messages_in_one_chunk_and_keepalives(self) -> None:
        framer = StreamFramer()
        data = b"\r\n\r\n" + ASTERISK_183 + b"\r\n" + KAMAILIO_407
        out = framer.feed(data)
        assert [m.status for m in out if isinstance(m, SipMessage)] == [183, 407]
        assert framer.feed(b"\r\n\r\n") == []

    def test_byte_by_byte(self) -> None:
        framer = StreamFramer()
        out: list[SipMessage | ParseError] = []
        for i in range(len(ASTERISK_183)):
            out.extend(framer.feed(ASTERISK_183[i : i + 1]))
        assert len(out) == 1 and isinstance(out[0], SipMessage) and len(out[0].body) == 128

    def test_compact_content_length_frames_body(self) -> None:
        framer = StreamFramer()
        out = framer.feed(COMPACT_INVITE + b"SIP/2.0 100 Trying\r\nl:0\r\n\r\n")
        assert [type(m).__name__ for m in out] == ["SipMessage", "SipMessage"]
        first = out[0]
        assert isinstance(first, SipMessage) and first.body == b"test"

    def test_missing_content_length_means_empty_body_on_streams(self) -> None:
        framer = StreamFramer()
        out = framer.feed(b"SIP/2.0 100 Trying\r\nCSeq: 1 INVITE\r\n\r\nSIP/2.0 180 Ringing\r\nCSeq: 1 INVITE\r\n\r\n")
        assert [m.status for m in out if isinstance(m, SipMessage)] == [100, 180]

    def test_incomplete_body_waits(self) -> None:
        framer = StreamFramer()
        assert framer.feed(b"SIP/2.0 200 OK\r\nContent-Length: 10\r\n\r\n12345") == []
        out = framer.feed(b"67890SIP/2.0 100 Trying\r\n\r\n")
        assert isinstance(out[0], SipMessage) and out[0].body == b"1234567890"
        assert isinstance(out[1], SipMessage) and out[1].status == 100

    def test_bad_content_length_breaks_the_stream(self) -> None:
        framer = StreamFramer()
        out = framer.feed(b"SIP/2.0 200 OK\r\nContent-Length: lots\r\n\r\nSIP/2.0 100 Trying\r\n\r\n")
        assert len(out) == 1 and isinstance(out[0], ParseError) and out[0].fatal
        assert framer.broken and framer.feed(b"SIP/2.0 100 Trying\r\n\r\n") == []

    def test_endless_header_is_refused(self) -> None:
        framer = StreamFramer(max_header=1024)
        out = framer.feed(b"SIP/2.0 200 OK\r\n" + b"X-Pad: " + b"a" * 2000)
        assert len(out) == 1 and isinstance(out[0], ParseError) and out[0].fatal

    def test_oversized_body_is_refused(self) -> None:
        framer = StreamFramer(max_body=100)
        out = framer.feed(b"SIP/2.0 200 OK\r\nContent-Length: 5000\r\n\r\n")
        assert len(out) == 1 and isinstance(out[0], ParseError) and out[0].fatal

    def test_garbage_message_on_a_stream_is_reported_and_skipped(self) -> None:
        framer = StreamFramer()
        out = framer.feed(b"HELLO WORLD\r\n\r\nSIP/2.0 180 Ringing\r\n\r\n")
        assert isinstance(out[0], ParseError) and not out[0].fatal
        assert isinstance(out[1], SipMessage) and out[1].status == 180
