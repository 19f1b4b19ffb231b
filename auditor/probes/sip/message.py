"""SIP messages (RFC 3261 §7, §20, §25): a parser that never raises and a builder.

The parser is lenient where real equipment is sloppy (bare LF line ends, folded
header lines, compact header names, odd spacing around ``SIP / 2.0 / UDP``) and
strict where leniency would mislead (a body shorter than its Content-Length, a
header line without a colon, a status code outside 100-699). Garbage comes back as
a :class:`ParseError` value, never as an exception: a probe must not die because
some middlebox sent junk.

Over TCP and TLS messages arrive as a byte stream; :class:`StreamFramer` cuts it
into messages by Content-Length (RFC 3261 §18.3) and skips CRLF keep-alives
(RFC 5626 §3.5.1).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

SIP_VERSION = "SIP/2.0"
BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 §8.1.1.7: marks a branch as RFC 3261-unique
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024

# RFC 3261 §7.3.3 and later RFCs (3265, 3515, 3892, 4028, 3841, 4474).
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

# Names whose conventional spelling is not simple Title-Case.
_SPECIAL_NAMES: dict[str, str] = {
    name.lower(): name
    for name in (
        "Call-ID", "CSeq", "WWW-Authenticate", "MIME-Version", "RAck", "RSeq", "SIP-ETag",
        "SIP-If-Match", "P-Asserted-Identity", "P-Preferred-Identity", "P-Charging-Vector",
        "P-Access-Network-Info", "P-Called-Party-ID", "P-Early-Media",
    )
}

# Headers whose value may be a comma-separated list (RFC 3261 §7.3.1). The
# authentication headers are deliberately absent: their parameters contain commas.
LIST_HEADERS = frozenset(
    {
        "Via", "Contact", "Route", "Record-Route", "Allow", "Supported", "Require",
        "Proxy-Require", "Unsupported", "Accept", "Accept-Encoding", "Accept-Language",
        "Content-Encoding", "Allow-Events", "In-Reply-To", "Warning", "Reason",
        "Accept-Contact", "Reject-Contact", "Request-Disposition", "Path", "Service-Route",
        "Security-Client", "Security-Server", "Security-Verify", "P-Asserted-Identity",
    }
)

_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_STATUS_LINE = re.compile(r"^SIP\s*/\s*(\d+\.\d+)\s+(\d{3})(?:\s+(.*))?$", re.IGNORECASE)
_REQUEST_LINE = re.compile(r"^(\S+)\s+(\S+)\s+SIP\s*/\s*(\d+\.\d+)$", re.IGNORECASE)


def canonical_name(name: str) -> str:
    """The conventional spelling of a header name, with compact forms expanded."""
    key = name.strip().lower()
    if len(key) == 1 and key in COMPACT_FORMS:
        return COMPACT_FORMS[key]
    if key in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[key]
    return "-".join(part[:1].upper() + part[1:] for part in key.split("-"))


@dataclass(frozen=True)
class ParseError:
    """Why some bytes are not a SIP message; ``fatal`` means a stream lost its framing."""

    reason: str
    data: bytes = b""
    fatal: bool = False

    def __bool__(self) -> bool:  # so `if parsed:` reads naturally
        return False


@dataclass
class SipMessage:
    """One request or response; headers keep their order and repetitions."""

    method: str | None = None  # requests
    uri: str | None = None  # requests
    status: int | None = None  # responses
    reason: str = ""  # responses
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    # ------------------------------------------------------------------ construction
    @classmethod
    def request(cls, method: str, uri: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> SipMessage:
        return cls(method=method.upper(), uri=uri, headers=[(canonical_name(n), v) for n, v in headers], body=body)

    @classmethod
    def response(cls, status: int, reason: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> SipMessage:
        return cls(status=status, reason=reason, headers=[(canonical_name(n), v) for n, v in headers], body=body)

    # ------------------------------------------------------------------ kind
    @property
    def is_request(self) -> bool:
        return self.method is not None

    @property
    def is_response(self) -> bool:
        return self.status is not None

    @property
    def first_line(self) -> str:
        if self.is_request:
            return f"{self.method} {self.uri} {SIP_VERSION}"
        return f"{SIP_VERSION} {self.status} {self.reason}".rstrip()

    # ------------------------------------------------------------------ headers
    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (compact forms accepted), or None."""
        wanted = canonical_name(name)
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def header_lines(self, name: str) -> list[str]:
        """Every header line named ``name``, as written (no comma splitting)."""
        wanted = canonical_name(name)
        return [value for key, value in self.headers if key == wanted]

    def values(self, name: str) -> list[str]:
        """Every value of ``name``: separate lines and, for list headers, comma-separated items."""
        wanted = canonical_name(name)
        out: list[str] = []
        for value in self.header_lines(wanted):
            out.extend(split_list(value) if wanted in LIST_HEADERS else [value.strip()])
        return out

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` header by one line, keeping the first one's position."""
        wanted = canonical_name(name)
        for i, (key, _) in enumerate(self.headers):
            if key == wanted:
                self.headers[i] = (wanted, value)
                self.headers[i + 1 :] = [(k, v) for k, v in self.headers[i + 1 :] if k != wanted]
                return
        self.headers.append((wanted, value))

    def add(self, name: str, value: str, *, first: bool = False) -> None:
        item = (canonical_name(name), value)
        if first:
            self.headers.insert(0, item)
        else:
            self.headers.append(item)

    def remove(self, name: str) -> None:
        wanted = canonical_name(name)
        self.headers = [(k, v) for k, v in self.headers if k != wanted]

    # ------------------------------------------------------------------ common fields
    @property
    def call_id(self) -> str | None:
        value = self.header("Call-ID")
        return value.strip() if value else None

    @property
    def cseq(self) -> tuple[int, str] | None:
        """(sequence number, method) or None when absent or malformed."""
        value = self.header("CSeq")
        if not value:
            return None
        parts = value.split()
        if len(parts) != 2 or not parts[0].isdigit():
            return None
        return int(parts[0]), parts[1].upper()

    @property
    def vias(self) -> list[Via]:
        return [v for v in (parse_via(text) for text in self.values("Via")) if v is not None]

    @property
    def top_via(self) -> Via | None:
        values = self.values("Via")
        return parse_via(values[0]) if values else None

    @property
    def from_addr(self) -> NameAddr | None:
        value = self.header("From")
        return parse_name_addr(value) if value else None

    @property
    def to_addr(self) -> NameAddr | None:
        value = self.header("To")
        return parse_name_addr(value) if value else None

    @property
    def content_length(self) -> int | None:
        value = self.header("Content-Length")
        if value is None:
            return None
        value = value.strip()
        return int(value) if value.isdigit() else None

    # ------------------------------------------------------------------ serialization
    def to_bytes(self) -> bytes:
        """Wire form; Content-Length always matches the body, CR/LF in values are neutralised."""
        lines = [self.first_line]
        for name, value in self.headers:
            if name == "Content-Length":
                continue
            lines.append(f"{name}: {_one_line(value)}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def __bytes__(self) -> bytes:
        return self.to_bytes()


def _one_line(value: str) -> str:
    """A header value can never smuggle a second header or an early body."""
    if "\r" in value or "\n" in value:
        return " ".join(value.replace("\r", " ").replace("\n", " ").split())
    return value


# ---------------------------------------------------------------------- parsing


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """(head, body) at the first empty line (CRLF CRLF or LF LF)."""
    crlf, lf = data.find(b"\r\n\r\n"), data.find(b"\n\n")
    if crlf == -1 and lf == -1:
        return data, b""
    if lf == -1 or (crlf != -1 and crlf < lf):
        return data[:crlf], data[crlf + 4 :]
    return data[:lf], data[lf + 2 :]


def parse_message(data: bytes) -> SipMessage | ParseError:
    """Parse one datagram (or one framed stream message); never raises."""
    try:
        return _parse(data)
    except Exception as exc:  # a last resort: a parser bug must not become a probe crash
        return ParseError(f"unparseable: {type(exc).__name__}: {exc}", data[:200])


def _parse(data: object) -> SipMessage | ParseError:
    """The parser proper; ``data`` is untyped because callers may hand anything over."""
    if not isinstance(data, bytes | bytearray | memoryview):
        return ParseError("not bytes")
    data = bytes(data).lstrip(b"\r\n")
    if not data:
        return ParseError("empty message")
    head, body = _split_head(data)
    text = head.decode("utf-8", errors="replace")
    lines = text.replace("\r\n", "\n").split("\n")
    msg = _start_line(lines[0].strip(), data)
    if isinstance(msg, ParseError):
        return msg
    # ParseError is falsy (see its __bool__): test for None, never chain with `or`.
    error = _read_headers(msg, lines[1:], data)
    if error is None:
        error = _read_body(msg, body, data)
    return msg if error is None else error


def _start_line(start: str, data: bytes) -> SipMessage | ParseError:
    """A message with only its status line or request line read."""
    if match := _STATUS_LINE.match(start):
        version, code = match.group(1), int(match.group(2))
        if version != "2.0":
            return ParseError(f"unsupported SIP version {version}", data[:200])
        if not 100 <= code <= 699:
            return ParseError(f"status code {code} out of range", data[:200])
        return SipMessage(status=code, reason=(match.group(3) or "").strip())
    if match := _REQUEST_LINE.match(start):
        method, uri, version = match.groups()
        if version != "2.0":
            return ParseError(f"unsupported SIP version {version}", data[:200])
        if not _TOKEN.match(method):
            return ParseError(f"bad method {method!r}", data[:200])
        return SipMessage(method=method.upper(), uri=uri)
    return ParseError(f"not a SIP start line: {start[:80]!r}", data[:200])


def _read_headers(msg: SipMessage, lines: list[str], data: bytes) -> ParseError | None:
    """Add the header lines to ``msg``, unfolding continuations; the first malformed line is an error."""
    for line in lines:
        if not line.strip():
            continue
        if line[0] in " \t":  # folded continuation (RFC 3261 §7.3.1)
            if not msg.headers:
                return ParseError("continuation line before any header", data[:200])
            name, value = msg.headers[-1]
            msg.headers[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or not _TOKEN.match(name):
            return ParseError(f"malformed header line {line[:80]!r}", data[:200])
        msg.headers.append((canonical_name(name), value.strip()))
    return None


def _read_body(msg: SipMessage, body: bytes, data: bytes) -> ParseError | None:
    """Set ``msg``'s body, cut to its Content-Length when it has one."""
    length_text = msg.header("Content-Length")
    if length_text is not None:
        length_text = length_text.strip()
        if not length_text.isdigit():
            return ParseError(f"bad Content-Length {length_text!r}", data[:200])
        length = int(length_text)
        if length > len(body):
            return ParseError(f"body shorter ({len(body)}) than Content-Length {length}", data[:200])
        body = body[:length]
    msg.body = body
    return None


_CONTENT_LENGTH_LINE = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\S*)[ \t]*$", re.IGNORECASE | re.MULTILINE)


class StreamFramer:
    """Cut a TCP/TLS byte stream into SIP messages by Content-Length (RFC 3261 §18.3)."""

    def __init__(self, max_header: int = MAX_HEADER_BYTES, max_body: int = MAX_BODY_BYTES) -> None:
        self._buf = bytearray()
        self.max_header = max_header
        self.max_body = max_body
        self.broken = False  # framing lost: the connection should be closed

    def feed(self, data: bytes) -> list[SipMessage | ParseError]:
        if self.broken:
            return []
        self._buf += data
        out: list[SipMessage | ParseError] = []
        while True:
            # CRLF keep-alives (and stray line ends between messages) carry nothing.
            strip = 0
            while strip < len(self._buf) and self._buf[strip] in (0x0D, 0x0A):
                strip += 1
            if strip:
                del self._buf[:strip]
            if not self._buf:
                break
            head_end, sep = self._find_head_end()
            if head_end < 0:
                if len(self._buf) > self.max_header:
                    out.append(self._fail(f"no end of headers within {self.max_header} bytes"))
                break
            head = bytes(self._buf[:head_end])
            found = _CONTENT_LENGTH_LINE.findall(head)
            if found and not found[-1].isdigit():
                out.append(self._fail(f"bad Content-Length {found[-1][:20]!r} on a stream"))
                break
            length = int(found[-1]) if found else 0  # a stream message without one has no body
            if length > self.max_body:
                out.append(self._fail(f"Content-Length {length} over the limit"))
                break
            total = head_end + sep + length
            if len(self._buf) < total:
                break
            chunk = bytes(self._buf[:total])
            del self._buf[:total]
            out.append(parse_message(chunk))
        return out

    def _find_head_end(self) -> tuple[int, int]:
        crlf, lf = self._buf.find(b"\r\n\r\n"), self._buf.find(b"\n\n")
        if crlf == -1 and lf == -1:
            return -1, 0
        if lf == -1 or (crlf != -1 and crlf < lf):
            return crlf, 4
        return lf, 2

    def _fail(self, reason: str) -> ParseError:
        self.broken = True
        data = bytes(self._buf[:200])
        self._buf.clear()
        return ParseError(reason, data, fatal=True)


# ---------------------------------------------------------------------- header values


def split_list(value: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside quotes and angle brackets; empty items dropped."""
    items: list[str] = []
    buf: list[str] = []
    quoted = escaped = False
    angle = 0
    for ch in value:
        if escaped:
            buf.append(ch)
            escaped = False
            continue
        if quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            buf.append(ch)
            continue
        if ch == '"':
            quoted = True
        elif ch == "<":
            angle += 1
        elif ch == ">" and angle:
            angle -= 1
        elif ch == sep and not angle:
            items.append("".join(buf).strip())
            buf = []
            continue
        buf.append(ch)
    items.append("".join(buf).strip())
    return [item for item in items if item]


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_params(text: str) -> dict[str, str]:
    """``;a=1;b;c="x;y"`` -> {"a": "1", "b": "", "c": "x;y"} (names lower-cased)."""
    params: dict[str, str] = {}
    for item in split_list(text, ";"):
        name, _, value = item.partition("=")
        if name.strip():
            params[name.strip().lower()] = unquote(value)
    return params


@dataclass(frozen=True)
class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=...``."""

    transport: str
    host: str
    port: int | None
    params: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")


def parse_via(value: str) -> Via | None:
    """A Via value, tolerating ``SIP / 2.0 / UDP`` spacing; None when malformed."""
    value = re.sub(r"\s*/\s*", "/", value.strip())
    head, semi, rest_params = value.partition(";")
    head = re.sub(r"\s*:\s*", ":", head.strip())  # "host : 5060" (RFC 4475 §3.1.1.1)
    value = head + semi + rest_params
    match = re.match(r"^SIP/2\.0/([A-Za-z0-9\-]+)\s+([^;\s]+)\s*(.*)$", value, re.IGNORECASE)
    if not match:
        return None
    transport, sent_by, rest = match.groups()
    host, port = split_hostport(sent_by)
    if not host:
        return None
    return Via(transport.upper(), host, port, parse_params(rest.lstrip(";")) if rest else {})


def split_hostport(text: str) -> tuple[str, int | None]:
    """``host``, ``host:5060``, ``[::1]:5060`` -> (host, port); a bad port reads as None."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None
    return host, port


@dataclass(frozen=True)
class NameAddr:
    """A From/To/Contact value: optional display name, URI, header parameters (tag, ...)."""

    display: str
    uri: str
    params: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")


def parse_name_addr(value: str) -> NameAddr | None:
    """``"Name" <sip:u@h;user=phone>;tag=x`` or ``sip:u@h;tag=x``; None when no URI is found."""
    value = value.strip()
    if "<" in value:
        # The display name may itself be quoted and contain '<'.
        display = ""
        rest = value
        if value.startswith('"'):
            end = 1
            while end < len(value):
                if value[end] == "\\":
                    end += 2
                    continue
                if value[end] == '"':
                    break
                end += 1
            display, rest = unquote(value[: end + 1]), value[end + 1 :]
        lt, gt = rest.find("<"), rest.find(">")
        if lt == -1 or gt < lt:
            return None
        if not display:
            display = rest[:lt].strip()
        uri = rest[lt + 1 : gt].strip()
        params = parse_params(rest[gt + 1 :].lstrip().lstrip(";"))
    else:
        # addr-spec: everything after the first ';' is a header parameter (RFC 3261 §20.10).
        uri, _, rest = value.partition(";")
        uri = uri.strip()
        display, params = "", parse_params(rest)
    if not uri or ":" not in uri:
        return None
    return NameAddr(display, uri, params)


def format_name_addr(uri: str, display: str | None = None, tag: str | None = None) -> str:
    """``"Display" <uri>;tag=...`` with the display name quoted and escaped."""
    text = f"<{uri}>"
    if display:
        escaped = display.replace("\\", "\\\\").replace('"', '\\"')
        text = f'"{escaped}" {text}'
    if tag:
        text += f";tag={tag}"
    return text


def uri_host(uri: str) -> str:
    """The host of a sip:/sips: URI (brackets kept off IPv6), or ''."""
    match = re.match(r"^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^;:?>]+)", uri.strip(), re.IGNORECASE)
    return match.group(1).strip("[]") if match else ""


def host_for_uri(host: str) -> str:
    """An IPv6 literal needs brackets inside URIs and Via."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


# ---------------------------------------------------------------------- identifiers


def new_branch() -> str:
    """A transaction id unique in space and time, with the RFC 3261 magic cookie."""
    return BRANCH_MAGIC + secrets.token_hex(10)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host_for_uri(host)}"


def build_response(request: SipMessage, status: int, reason: str, *, to_tag: str | None = None,
                   extra: Iterable[tuple[str, str]] = ()) -> SipMessage:
    """A response to ``request`` (RFC 3261 §8.2.6): Vias, From, To(+tag), Call-ID, CSeq copied."""
    headers: list[tuple[str, str]] = [("Via", v) for v in request.header_lines("Via")]
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.header(name)
        if value is None:
            continue
        if name == "To" and to_tag and status > 100 and ";tag=" not in value.replace(" ", "").lower():
            value = f"{value};tag={to_tag}"
        headers.append((name, value))
    headers.extend(extra)
    return SipMessage.response(status, reason, headers)
