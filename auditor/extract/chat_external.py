"""User-supplied chat fingerprints in the Wappalyzer format, merged with the project's own.

Open technology databases (Wappalyzer's forks) know providers this project has not
written fingerprints for. Their licences keep them out of the project, but a user who
has a copy can point ``--fingerprints`` at it: the technologies of its live-chat
category are converted to the shape of ``chat_providers.toml`` (``scriptSrc`` -> src,
``js`` globals -> inline, ``dom`` -> dom) and compiled together with the project's
entries into one immutable :class:`~auditor.extract.chat.Fingerprints`, handed to the
chat extractor through its context. Nothing is global: two audits in one process,
with and without the option, each see their own table.
"""

from __future__ import annotations

import json
import logging
import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # the stdlib's regex parser (3.11+)
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from auditor.data import load
from auditor.extract.chat import Fingerprints, _compile, extract_chat, required_literal
from auditor.extract.context import ExtractContext
from auditor.extract.page import parse_page

log = logging.getLogger(__name__)

CATEGORY_NAME = "live chat"  # matched against categories.json names, folded
_DOM_SIMPLE = re.compile(r"(?:#[A-Za-z][\w-]*\*?|\.[A-Za-z_][\w-]*|\[[A-Za-z_][\w:-]*\]|[a-z][a-z0-9-]*)")
_WORD = re.compile(r"\w")


class FingerprintFileError(ValueError):
    """The user's fingerprint files cannot be used (missing, unreadable or without a chat category)."""


@dataclass(frozen=True)
class ExternalFingerprints:
    """What a Wappalyzer-format folder yielded, and what of it was left out and why."""

    providers: tuple[dict[str, Any], ...]  # in the shape of chat_providers.toml entries
    known: tuple[str, ...] = ()  # technologies the project already has (its entry wins)
    problems: tuple[str, ...] = field(default=())  # one line per skipped file or technology


def fold_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _slug(name: str) -> str:
    return "wappalyzer:" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unnamed")


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def split_pattern(pattern: str) -> tuple[str, int]:
    r"""(regex, confidence) from a Wappalyzer pattern with its ``\;version:`` / ``\;confidence:`` tags."""
    regex, *tags = pattern.split("\\;")
    confidence = 100
    for tag in tags:
        key, _, value = tag.partition(":")
        if key.strip() == "confidence":
            try:
                confidence = int(value.strip())
            except ValueError:
                pass
    return regex, confidence


def _global_regex(name: str) -> str:
    """A case-sensitive pattern for a JS global as it appears in a loader snippet."""
    body = re.escape(name)
    start = r"\b" if _WORD.match(name[:1]) else ""
    end = r"\b" if _WORD.match(name[-1:]) else ""
    return f"{start}{body}{end}"


def _dom_markers(dom: Any) -> list[str]:
    """Selectors the project's DOM scan understands (#id, .class, [attr], tag); others are dropped."""
    if isinstance(dom, Mapping):
        selectors = [str(k) for k in dom]
    else:
        selectors = [s for sel in as_list(dom) for s in sel.split(",")]
    return [s.strip() for s in selectors if _DOM_SIMPLE.fullmatch(s.strip())]


def convert(name: str, tech: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """One technology as a chat_providers.toml entry (None if nothing usable), and its problems."""
    bad: list[str] = []
    entry: dict[str, Any] = {"slug": _slug(name), "name": name, "src": [], "inline": [], "weak": []}

    def add(kind: str, regex: str, confidence: int, flags: int) -> None:
        try:
            re.compile(regex, flags)
        except re.error as exc:
            bad.append(f"{regex!r} ({exc})")
            return
        if len(required_literal(regex)) < 2:
            bad.append(f"{regex!r} (no literal of 2+ characters to look for)")
            return
        entry["weak" if confidence < 100 else kind].append(regex)

    for pattern in as_list(tech.get("scriptSrc")):
        regex, confidence = split_pattern(pattern)
        add("src", regex, confidence, re.I)
    js = tech.get("js")
    if isinstance(js, Mapping):
        for global_name, value in js.items():
            _regex, confidence = split_pattern(str(value)) if isinstance(value, str) else ("", 100)
            add("inline", _global_regex(str(global_name)), confidence, 0)
    entry["dom"] = _dom_markers(tech.get("dom"))
    problems = [f"{name}: skipped unusable pattern(s): " + "; ".join(bad)] if bad else []
    if not (entry["src"] or entry["inline"] or entry["weak"] or entry["dom"]):
        return None, problems
    return entry, problems


_CATEGORY_CHAR = {"CATEGORY_DIGIT": "1", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " ",
                  "CATEGORY_NOT_DIGIT": "a", "CATEGORY_NOT_WORD": "-", "CATEGORY_NOT_SPACE": "a"}
_URL_SAFE = "abcdefghijklmnopqrstuvwxyz0123456789"


def _char_in(items: list[tuple[Any, Any]]) -> str:
    """One character a character class accepts, preferring URL-friendly ones."""
    negate = any(str(op) == "NEGATE" for op, _ in items)
    allowed: list[str] = []
    excluded: set[str] = set()
    for op, av in items:
        name = str(op)
        chars: list[str] = []
        if name == "LITERAL":
            chars = [chr(av)]
        elif name == "RANGE":
            lo, hi = av
            span = [chr(c) for c in range(lo, min(hi, lo + 200) + 1)]
            chars = span if negate else ([c for c in span if c in _URL_SAFE] or [chr(lo)])
        elif name == "CATEGORY":
            chars = [_CATEGORY_CHAR.get(str(av), "a")]
        if negate:
            excluded.update(chars)
        else:
            allowed.extend(chars)
    if negate:
        return next(c for c in _URL_SAFE + "-_./" if c not in excluded)
    return allowed[0] if allowed else "a"


def _generate(tokens: Any) -> str:
    out: list[str] = []
    for op, av in tokens:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(av) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_char_in(av))
        elif name == "BRANCH":
            out.append(_generate(av[1][0]))
        elif name == "SUBPATTERN":
            out.append(_generate(av[-1]))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = av
            out.append(_generate(sub) * max(low, 1))  # at least once: optional parts are usually the host
        elif name == "CATEGORY":
            out.append(_CATEGORY_CHAR.get(str(av), "a"))
        elif name in ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS"):
            continue
    return "".join(out)


def example(pattern: str) -> str | None:
    """A string the regex matches (checked), or None if none could be made."""
    try:
        candidate = _generate(sre_parse.parse(pattern, re.I))
        if re.search(pattern, candidate, re.I):
            return candidate
    except (re.error, ValueError, StopIteration, OverflowError):
        return None
    return None


def script_url(pattern: str) -> str | None:
    """A script URL matching ``pattern``; a bare host gets the "/" path a browser gives it."""
    made = _url(pattern)
    if made and not re.match(r"^https?://[^/?#]+[/?#]", made):
        made += "/"
    return made


def _url(pattern: str) -> str | None:
    made = example(pattern)
    if made is None:
        return None
    made = made.strip()
    if re.match(r"^(?:https?:)?//", made, re.I):
        return made if made.startswith("http") else "https:" + made
    made = made.lstrip("/")
    return "https://" + ("www" + made if made.startswith(".") else made)  # "\.vendor\.com" names any subdomain


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise FingerprintFileError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except OSError as exc:
        raise FingerprintFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def technology_files(path: Path) -> tuple[Path, list[Path]]:
    """(categories.json, technology files) for a folder, a technologies/ folder or one file."""
    if not path.exists():
        raise FingerprintFileError(f"{path}: no such file or folder")
    if path.is_file():
        folder, techs = path.parent, [path]
    else:
        folder = path
        sub = path / "technologies"
        techs = sorted((sub if sub.is_dir() else path).glob("*.json"))
        techs = [t for t in techs if t.name != "categories.json"]
    for candidate in (folder / "categories.json", folder.parent / "categories.json"):
        if candidate.is_file():
            return candidate, techs
    raise FingerprintFileError(f"{path}: no categories.json beside the technology files")


def chat_category_ids(categories: Any, where: Path) -> set[str]:
    if not isinstance(categories, Mapping):
        raise FingerprintFileError(f"{where}: the top level must be an object of categories")
    ids = {str(k) for k, v in categories.items() if isinstance(v, Mapping) and fold_name(str(v.get("name", ""))) == fold_name(CATEGORY_NAME)}
    if not ids:
        raise FingerprintFileError(f"{where}: no category named {CATEGORY_NAME!r}")
    return ids


def detected_by(table: Fingerprints | None = None) -> Callable[[str], bool]:
    """Whether ``table`` (default: the project's) reports a chat on a page loading ``url``."""

    def detect(url: str) -> bool:
        page = parse_page(f'<html><head><script async src="{url}"></script></head></html>', "https://x.test/")
        return bool(extract_chat(page, ExtractContext(chat=table)))

    return detect


def load_wappalyzer(path: str | Path, own: Iterable[Mapping[str, Any]] = (),
                    detect: Callable[[str], bool] | None = None) -> ExternalFingerprints:
    """The live-chat technologies of a Wappalyzer-format folder (or file), converted.

    A technology file that is not valid JSON is reported and skipped: the other files
    still load. A technology whose name or slug the project already has is left out
    (the project's entry is kept); so is one whose script URL, generated from its
    ``scriptSrc``, ``detect`` already recognises under another name. Raises :class:`FingerprintFileError` when there is
    nothing to read at all or no live-chat category.
    """
    categories_file, tech_files = technology_files(Path(path))
    chat_ids = chat_category_ids(read_json(categories_file), categories_file)
    own_names = {fold_name(str(e.get(k, ""))) for e in own for k in ("slug", "name")} - {""}
    providers: list[dict[str, Any]] = []
    known: list[str] = []
    problems: list[str] = []
    seen: set[str] = set()
    for tech_file in tech_files:
        try:
            table = read_json(tech_file)
        except FingerprintFileError as exc:
            problems.append(str(exc))
            continue
        if not isinstance(table, Mapping):
            problems.append(f"{tech_file}: the top level must be an object of technologies")
            continue
        for name, tech in table.items():
            if not isinstance(tech, Mapping) or not {str(c) for c in _as_list_any(tech.get("cats"))} & chat_ids:
                continue
            if fold_name(name) in own_names or (detect and _detected(tech, detect)):
                known.append(name)
                continue
            entry, issues = convert(name, tech)
            problems.extend(issues)
            if entry is not None and entry["slug"] not in seen:
                seen.add(entry["slug"])
                providers.append(entry)
    for problem in problems:
        log.warning("fingerprints: %s", problem)
    return ExternalFingerprints(tuple(providers), tuple(known), tuple(problems))


def _detected(tech: Mapping[str, Any], detect: Callable[[str], bool]) -> bool:
    urls = (script_url(split_pattern(p)[0]) for p in as_list(tech.get("scriptSrc")))
    return any(detect(u) for u in urls if u)


def _as_list_any(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@lru_cache(maxsize=8)
def _merged(resolved: str, mtime: float) -> Fingerprints:
    own = load("chat_providers.toml")["provider"]
    extra = load_wappalyzer(resolved, own, detected_by())
    return _compile({"provider": [*own, *extra.providers]})


def merged_fingerprints(path: str | Path | None) -> Fingerprints | None:
    """The project's fingerprints plus the user's live-chat technologies; None without a path.

    The result is immutable and cached per file and modification time, so audits that
    name the same files share it safely and an audit without the option never sees it.
    """
    if not path:
        return None
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise FingerprintFileError(f"{path}: no such file or folder")
    return _merged(str(resolved), resolved.stat().st_mtime)
