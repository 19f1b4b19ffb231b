"""Read the companies to audit: CSV, JSON Lines or a single URL.

Bad rows never stop the audit: each becomes an :class:`InputError` with its row
number and a message, and every good row is audited. The file is read as a stream
(:class:`CompanyStream`): a list of a million rows never sits in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

from auditor.masking import mask_credentials
from auditor.models import Company, InputError
from auditor.net.domains import has_public_suffix

FIELDS = ("name", "website", "country", "industry", "language")
MAX_FIELD = 2000
CHUNK = 1 << 20  # bytes (or characters) read at a time


@dataclass
class CompanyList:
    companies: list[Company] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def normalize_website(raw: str) -> str | None:
    """``example.com`` -> ``https://example.com/``; None when it cannot be a website."""
    text = (raw or "").strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if "." not in host or not has_public_suffix(host):
            return None
    shown = f"[{host}]" if ":" in host else host  # IPv6 literals keep their brackets
    netloc = shown.lower() + (f":{port}" if port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def _country(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().upper()
    if code == "UK":
        code = "GB"
    return code if code in phonenumbers.SUPPORTED_REGIONS else ""


def _encoding(path: Path) -> str:
    """UTF-8 (BOM or not) when the whole file is; otherwise cp1252 so nothing is lost.

    Decided in one pass over the file in chunks (nothing kept), as decoding the
    whole file at once would: one bad byte anywhere makes every row cp1252.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _row_to_company(row_no: int, row: Mapping[str, str | None], errors: list[InputError],
                    seen: set[str] | None) -> Company | None:
    clean = {k: (str(v).strip()[:MAX_FIELD] if v is not None else "") for k, v in row.items() if k}
    raw = mask_credentials(json.dumps(clean, ensure_ascii=False)[:500]) or ""
    website_raw = clean.get("website", "")
    if not website_raw:
        errors.append(InputError(row_no, "missing-website", "the row has no website", raw))
        return None
    website = normalize_website(website_raw)
    if website is None:
        errors.append(
            InputError(row_no, "invalid-website",
                       f"not a usable http(s) website: {mask_credentials(website_raw)!r}", raw)
        )
        return None
    if seen is not None:  # None: the caller finds duplicates itself (a distributed run's queue does)
        if website in seen:
            errors.append(InputError(row_no, "duplicate-row",
                                     f"{mask_credentials(website)} is already listed above", raw))
            return None
        seen.add(website)
    country = _country(clean.get("country"))
    if country == "":
        errors.append(
            InputError(row_no, "invalid-country", f"unknown ISO 3166 code {clean.get('country')!r}; audited without a country", raw)
        )
        country = None
    return Company(
        row=row_no,
        name=clean.get("name") or urlsplit(website).hostname or website,
        website=website,
        country=country,
        industry=clean.get("industry") or None,
        language=(clean.get("language") or None),
    )


def _csv_companies(fh: TextIO, errors: list[InputError], dedupe: bool = True) -> Iterator[Company]:
    """Companies of a CSV text stream (opened with ``newline=""``), one row at a time."""
    sample = fh.read(8192)
    fh.seek(0)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(fh, dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        errors.append(InputError(1, "empty-input", "the companies file is empty"))
        return
    header = [h.strip().lower().lstrip("\ufeff") for h in header]
    if "website" not in header:
        errors.append(
            InputError(1, "missing-header", "the header must name at least the columns name,website", ",".join(header))
        )
        return
    seen: set[str] | None = set() if dedupe else None
    while True:
        row_no = reader.line_num + 1  # the line the record starts on
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(InputError(row_no, "malformed-row", f"CSV error: {exc}"))
            continue
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            extra = values[len(header):]
            if any(v.strip() for v in extra):
                errors.append(
                    InputError(row_no, "malformed-row", f"{len(values)} fields where the header has {len(header)}", ",".join(values)[:500])
                )
                continue
        row = dict(zip(header, values, strict=False))
        if "\ufffd" in "".join(values):
            errors.append(InputError(row_no, "bad-encoding", "the row is not valid UTF-8; decoded as cp1252", ",".join(values)[:500]))
        company = _row_to_company(row_no, row, errors, seen)
        if company is not None:
            yield company


def _jsonl_companies(fh: TextIO, errors: list[InputError], dedupe: bool = True) -> Iterator[Company]:
    """Companies of a JSON Lines text stream, one line at a time.

    Lines are what ``str.splitlines`` makes of the text (also U+2028 and the other
    separators it knows), read line by line.
    """
    seen: set[str] | None = set() if dedupe else None
    lines = (piece for physical in fh for piece in physical.splitlines())
    for row_no, line in enumerate(lines, start=1):
        line = line.strip().lstrip("\ufeff")
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            errors.append(InputError(row_no, "malformed-row", f"not valid JSON: {exc}", line[:500]))
            continue
        if not isinstance(obj, dict):
            errors.append(InputError(row_no, "malformed-row", "a line must hold a JSON object", line[:500]))
            continue
        company = _row_to_company(row_no, {k: v for k, v in obj.items() if isinstance(k, str)}, errors, seen)
        if company is not None:
            yield company


def parse_csv_text(text: str) -> CompanyList:
    out = CompanyList()
    out.companies.extend(_csv_companies(io.StringIO(text, newline=""), out.errors))
    return out


def parse_jsonl_text(text: str) -> CompanyList:
    out = CompanyList()
    out.companies.extend(_jsonl_companies(io.StringIO(text, newline=""), out.errors))
    return out


def _starts_like_jsonl(fh: TextIO) -> bool:
    """The first character past a BOM and white space is ``{``."""
    while chunk := fh.read(CHUNK):
        stripped = chunk.lstrip("\ufeff \t\r\n")
        if stripped:
            return stripped.startswith("{")
    return False


class CompanyStream:
    """The companies of a list, read and parsed as they are iterated.

    Only the row being parsed is in memory, plus the set of normalized websites
    seen so far (duplicates are reported, as before; not kept with ``dedupe=False``) and the input errors, which
    ``errors`` holds once an iteration has ended. Iterating again reads the file
    again (the harvest is fed by a second pass, not by a list of every company).
    Opening checks that the file is readable and picks its encoding: an
    unreadable file raises :class:`OSError` here, not halfway through the audit.
    """

    def __init__(self, source: str, dedupe: bool = True) -> None:
        self.source = source
        self.dedupe = dedupe
        self.errors: list[InputError] = []
        self.count = 0  # companies yielded by the last complete iteration
        self._url = "://" in source and not Path(source).exists()
        self._encoding = "" if self._url else _encoding(Path(source))

    def __len__(self) -> int:
        """The number of companies the last complete pass yielded."""
        return self.count

    def __iter__(self) -> Iterator[Company]:
        errors: list[InputError] = []
        self.errors = errors
        count = 0
        for company in self._companies(errors):
            count += 1
            yield company
        self.count = count

    def _companies(self, errors: list[InputError]) -> Iterator[Company]:
        if self._url:
            company = _row_to_company(1, {"website": self.source}, errors, set())
            if company is not None:
                yield company
            return
        path = Path(self.source)
        with path.open(encoding=self._encoding, errors="replace", newline="") as fh:
            jsonl = self.source.endswith((".jsonl", ".ndjson", ".json")) or _starts_like_jsonl(fh)
            fh.seek(0)
            yield from (_jsonl_companies if jsonl else _csv_companies)(fh, errors, self.dedupe)


def stream_companies(source: str, dedupe: bool = True) -> CompanyStream:
    """Companies from a CSV/JSONL path, or a one-company list from a URL, as a stream.

    ``dedupe=False`` keeps no set of the websites seen (memory that grows with the
    list): for a caller that finds duplicate rows elsewhere, as the queue of a distributed run.
    """
    return CompanyStream(source, dedupe)


def read_companies(source: str) -> CompanyList:
    """Companies from a CSV/JSONL path, or a one-company list from a URL, all in a list."""
    stream = stream_companies(source)
    companies = list(stream)
    return CompanyList(companies, stream.errors)


def company_from_url(url: str, **extra: str | None) -> Iterable[Company]:
    company = _row_to_company(1, {"website": url, **{k: v for k, v in extra.items() if v}}, [], set())
    return [company] if company is not None else []
