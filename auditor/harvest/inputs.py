"""Read the companies to audit: CSV, JSON Lines or a single URL.

Bad rows never stop the audit: each becomes an :class:`InputError` with its row
number and a message, and every good row is audited.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

from auditor.masking import mask_credentials
from auditor.models import Company, InputError
from auditor.net.domains import has_public_suffix

FIELDS = ("name", "website", "country", "industry", "language")
MAX_FIELD = 2000


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


def _decode(data: bytes) -> tuple[str, bool]:
    """UTF-8 (BOM or not) first; otherwise cp1252 so nothing is lost, flagged."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), True


def _row_to_company(row_no: int, row: Mapping[str, str | None], out: CompanyList, seen: set[str]) -> None:
    clean = {k: (str(v).strip()[:MAX_FIELD] if v is not None else "") for k, v in row.items() if k}
    raw = mask_credentials(json.dumps(clean, ensure_ascii=False)[:500]) or ""
    website_raw = clean.get("website", "")
    if not website_raw:
        out.errors.append(InputError(row_no, "missing-website", "the row has no website", raw))
        return
    website = normalize_website(website_raw)
    if website is None:
        out.errors.append(
            InputError(row_no, "invalid-website",
                       f"not a usable http(s) website: {mask_credentials(website_raw)!r}", raw)
        )
        return
    if website in seen:
        out.errors.append(InputError(row_no, "duplicate-row",
                                     f"{mask_credentials(website)} is already listed above", raw))
        return
    seen.add(website)
    country = _country(clean.get("country"))
    if country == "":
        out.errors.append(
            InputError(row_no, "invalid-country", f"unknown ISO 3166 code {clean.get('country')!r}; audited without a country", raw)
        )
        country = None
    out.companies.append(
        Company(
            row=row_no,
            name=clean.get("name") or urlsplit(website).hostname or website,
            website=website,
            country=country,
            industry=clean.get("industry") or None,
            language=(clean.get("language") or None),
        )
    )


def parse_csv_text(text: str) -> CompanyList:
    out = CompanyList()
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        out.errors.append(InputError(1, "empty-input", "the companies file is empty"))
        return out
    header = [h.strip().lower().lstrip("\ufeff") for h in header]
    if "website" not in header:
        out.errors.append(
            InputError(1, "missing-header", "the header must name at least the columns name,website", ",".join(header))
        )
        return out
    seen: set[str] = set()
    while True:
        row_no = reader.line_num + 1  # the line the record starts on
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.errors.append(InputError(row_no, "malformed-row", f"CSV error: {exc}"))
            continue
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            extra = values[len(header):]
            if any(v.strip() for v in extra):
                out.errors.append(
                    InputError(row_no, "malformed-row", f"{len(values)} fields where the header has {len(header)}", ",".join(values)[:500])
                )
                continue
        row = dict(zip(header, values, strict=False))
        if "\ufffd" in "".join(values):
            out.errors.append(InputError(row_no, "bad-encoding", "the row is not valid UTF-8; decoded as cp1252", ",".join(values)[:500]))
        _row_to_company(row_no, row, out, seen)
    return out


def parse_jsonl_text(text: str) -> CompanyList:
    out = CompanyList()
    seen: set[str] = set()
    for row_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip().lstrip("\ufeff")
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            out.errors.append(InputError(row_no, "malformed-row", f"not valid JSON: {exc}", line[:500]))
            continue
        if not isinstance(obj, dict):
            out.errors.append(InputError(row_no, "malformed-row", "a line must hold a JSON object", line[:500]))
            continue
        _row_to_company(row_no, {k: v for k, v in obj.items() if isinstance(k, str)}, out, seen)
    return out


def read_companies(source: str) -> CompanyList:
    """Companies from a CSV/JSONL path, or a one-company list from a URL."""
    if "://" in source and not Path(source).exists():
        out = CompanyList()
        _row_to_company(1, {"website": source}, out, set())
        return out
    data = Path(source).read_bytes()
    text, _lossy = _decode(data)
    stripped = text.lstrip("\ufeff \t\r\n")
    if source.endswith((".jsonl", ".ndjson", ".json")) or stripped.startswith("{"):
        return parse_jsonl_text(text)
    return parse_csv_text(text)


def company_from_url(url: str, **extra: str | None) -> Iterable[Company]:
    out = CompanyList()
    _row_to_company(1, {"website": url, **{k: v for k, v in extra.items() if v}}, out, set())
    return out.companies
