"""Every packaged data file, loaded through the one loader and held to its shape.

A typo in a data file (a misspelt key, a string where a list belongs, a regex that
does not compile, a provider slug nothing defines) should fail here, not as a silent
miss on some page. Each file has one checker; a new data file needs one too.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from auditor import data

STRINGS = "a list of strings"


def _strings(
    value: Any, where: str, *, unique: bool = True, nonempty: bool = False, blank: bool = False
) -> list[str]:
    assert isinstance(value, list), f"{where}: {STRINGS}"
    assert all(isinstance(v, str) and (v or blank) for v in value), f"{where}: {STRINGS} (none empty)"
    if nonempty:
        assert value, f"{where}: empty"
    if unique:
        dups = sorted({v for v in value if value.count(v) > 1})
        assert not dups, f"{where}: duplicate entries {dups}"
    return value


def _regexes(value: Any, where: str) -> None:
    for pattern in _strings(value, where):
        try:
            re.compile(pattern)
        except re.error as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{where}: {pattern!r} does not compile: {exc}")


def _keys(table: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict[str, Any]:
    assert isinstance(table, dict), f"{where}: a table"
    required = set(required)
    missing = required - table.keys()
    unknown = table.keys() - required - set(optional)
    assert not missing, f"{where}: missing keys {sorted(missing)}"
    assert not unknown, f"{where}: unknown keys {sorted(unknown)}"
    return table


def _number(value: Any, where: str) -> None:
    assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: a number"


def _kebab(tag: str) -> bool:
    return re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", tag) is not None


def check_chat_checks(doc: dict[str, Any]) -> None:
    _keys(doc, "chat_checks", ["http", "challenge", "soft404", "form", "providers"])
    _keys(doc["http"], "http", ["head_safe_hosts", "retry_statuses", "keep_headers"])
    _keys(doc["challenge"], "challenge", ["statuses", "body_markers", "headers", "status_headers"])
    _keys(doc["soft404"], "soft404", ["probe_path", "threshold", "max_words"])
    slugs = {p["slug"] for p in data.load("chat_providers.toml")["provider"]}
    for slug, spec in doc["providers"].items():
        _keys(spec, f"providers.{slug}", ["script", "config", "status"])
        assert slug in slugs, f"chat_checks providers.{slug}: no such provider in chat_providers.toml"
        assert spec["status"] in {"verified", "plausible"}, f"providers.{slug}.status"


def check_chat_operator(doc: dict[str, Any]) -> None:
    _keys(doc, "chat_operator", ["provider"], ["rendered", "script_state", "unknown"])
    slugs = {p["slug"] for p in data.load("chat_providers.toml")["provider"]}
    for slug, spec in doc["provider"].items():
        _keys(spec, f"provider.{slug}", ["url", "field", "source"],
              ["online", "offline", "empty_is_offline", "query", "headers", "require", "missing",
               "online_from", "offline_otherwise"])
        assert slug in slugs, f"chat_operator provider.{slug}: no such provider in chat_providers.toml"
        assert re.match(r"(?:https://|\{origin\}/|\{\w+_url\}/)", spec["url"]), f"provider.{slug}.url"
        assert (spec.get("online") or spec.get("online_from")) and spec["source"].strip(), (
            f"provider.{slug}: online values and a source")
        online, offline = set(map(str, spec.get("online", []))), set(map(str, spec.get("offline", [])))
        assert not online & offline, f"provider.{slug}: overlap"
        assert spec.get("offline") or spec.get("offline_otherwise") or spec.get("empty_is_offline"), (
            f"provider.{slug}: nothing can ever mean offline")
        for key in ("query", "headers"):
            assert all(isinstance(v, str) for v in spec.get(key, {}).values()), f"provider.{slug}.{key}: strings"
    for slug, spec in doc.get("rendered", {}).items():
        _keys(spec, f"rendered.{slug}", ["offline", "source"], ["online"])
        assert slug in slugs, f"chat_operator rendered.{slug}: no such provider"
        _strings(spec["offline"], f"rendered.{slug}.offline", nonempty=True)
        _strings(spec.get("online", []), f"rendered.{slug}.online")
    for slug, spec in doc.get("script_state", {}).items():
        _keys(spec, f"script_state.{slug}", ["ready", "expression", "online", "offline", "source"])
        assert slug in slugs, f"chat_operator script_state.{slug}: no such provider"
        for key in ("ready", "expression", "source"):
            assert isinstance(spec[key], str) and spec[key].strip(), f"script_state.{slug}.{key}"
        assert spec["online"] and spec["offline"], f"script_state.{slug}: online and offline values"
        assert not set(map(repr, spec["online"])) & set(map(repr, spec["offline"])), f"script_state.{slug}"
    for slug, spec in doc.get("unknown", {}).items():
        _keys(spec, f"unknown.{slug}", ["reason"])
        assert slug in slugs and slug not in doc["provider"], f"chat_operator unknown.{slug}"
        assert spec["reason"].strip(), f"unknown.{slug}: a reason"


def check_chat_providers(doc: dict[str, Any]) -> None:
    _keys(doc, "chat_providers", ["provider"])
    seen: set[str] = set()
    for entry in doc["provider"]:
        slug = entry.get("slug", "?")
        where = f"provider {slug}"
        _keys(entry, where, ["slug", "name"],
              ["src", "inline", "links", "dom", "account", "config", "weak", "dead", "dead_since",
               "placeholder", "source", "group", "market", "markup_account", "params"])
        assert slug not in seen, f"{where}: duplicate slug"
        seen.add(slug)
        if "group" in entry:
            assert entry["group"] in ("widely-used", "legacy", "regional"), f"{where}.group"
        for key in ("source", "market"):
            if key in entry:
                assert isinstance(entry[key], str) and entry[key], f"{where}.{key}: a string"
        for key in ("src", "inline", "links", "account", "weak", "placeholder", "params"):
            if key in entry:
                _regexes(entry[key], f"{where}.{key}")
        for pattern in entry.get("params", []):
            assert re.compile(pattern).groupindex, f"{where}.params: {pattern!r} names no group"
        for spec in entry.get("markup_account", []):
            _keys(spec, f"{where}.markup_account", ["at", "value"])
            assert re.fullmatch(r"(?:[a-z][a-z0-9-]*)?\[[A-Za-z_][\w.-]*\]", spec["at"]), f"{where}: {spec['at']!r}"
            _regexes([spec["value"]], f"{where}.markup_account.value")
        assert any(entry.get(k) for k in ("src", "inline", "links", "dom", "weak")), f"{where}: no fingerprint"
        if "dom" in entry:
            _strings(entry["dom"], f"{where}.dom")
        if entry.get("dead"):
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", entry.get("dead_since", "")), f"{where}: dead_since"


def check_contact_keywords(doc: dict[str, Any]) -> None:
    _keys(doc, "contact_keywords", ["strong", "medium", "weak", "avoid"])
    for group in ("strong", "medium", "weak"):
        _number(doc[group]["weight"], f"{group}.weight")
        for lang, words in doc[group].items():
            if lang != "weight":
                _strings(words, f"{group}.{lang}", nonempty=True)
    _keys(doc["avoid"], "avoid", ["words", "extensions"])
    _strings(doc["avoid"]["words"], "avoid.words")
    assert all(e.startswith(".") for e in _strings(doc["avoid"]["extensions"], "avoid.extensions"))


def check_emails(doc: dict[str, Any]) -> None:
    _keys(doc, "emails", ["labels", "role", "names", "obfuscation", "reject"])
    for label, spec in doc["labels"].items():
        _keys(spec, f"labels.{label}", ["locals", "keywords"])
        _strings(spec["locals"], f"labels.{label}.locals", nonempty=True)
        _strings(spec["keywords"], f"labels.{label}.keywords", nonempty=True)
        assert _kebab(label), f"labels.{label}: kebab-case"
    _keys(doc["role"], "role", ["words", "prefixes"])
    _strings(doc["role"]["words"], "role.words")
    _strings(doc["role"]["prefixes"], "role.prefixes")
    _keys(doc["names"], "names", ["first", "last"])
    _strings(doc["names"]["first"], "names.first")
    _strings(doc["names"]["last"], "names.last")
    _keys(doc["obfuscation"], "obfuscation", ["at", "dot", "bare"])
    for sign in ("at", "dot"):
        for i, entry in enumerate(doc["obfuscation"][sign]):
            where = f"obfuscation.{sign}[{i}]"
            _keys(entry, where, ["lang", "words"], ["bare", "upper"])
            _strings(entry["words"], f"{where}.words", nonempty=True)
    _keys(doc["obfuscation"]["bare"], "obfuscation.bare", ["stop_locals", "labels"])
    _keys(
        doc["reject"], "reject",
        ["placeholder_domains", "placeholder_locals", "no_reply_locals", "tracking_domains", "file_extensions"],
    )
    for key, value in doc["reject"].items():
        _strings(value, f"reject.{key}")


def check_forms(doc: dict[str, Any]) -> None:
    shape = {
        "message": ["keywords"], "not_message": ["keywords"], "email": ["keywords"], "phone": ["keywords"],
        "search": ["field_names", "action_markers"], "newsletter": ["markers"], "comment": ["markers"],
        "cart": ["markers"], "lookup": ["markers"], "request": ["markers"],
        "captcha": ["field_markers", "markup_markers", "script_markers"], "ignored_types": ["types"],
    }
    _keys(doc, "forms", shape)
    for section, keys in shape.items():
        _keys(doc[section], section, keys)
        for key in keys:
            _strings(doc[section][key], f"{section}.{key}", nonempty=True)


def check_hours(doc: dict[str, Any]) -> None:
    from auditor.extract.hours import DAYS

    _keys(doc, "hours", ["always_open", "always_open_quick", "closed", "pause", "hints", "units", "lang"], ["particles"])
    if "particles" in doc:
        _keys(doc["particles"], "particles", ["script", "read_as"])
        re.compile(doc["particles"]["script"])
        for word, reading in doc["particles"]["read_as"].items():
            assert isinstance(reading, str) and len(reading) <= len(word), f"particles.read_as.{word}: no longer than it"
    _regexes(doc["always_open"], "always_open")
    re.compile(doc["always_open_quick"])
    for key in ("closed", "pause", "hints", "units"):
        _strings(doc[key], key, nonempty=True)
    for code, spec in doc["lang"].items():
        where = f"lang.{code}"
        _keys(spec, where, ["days", "range", "list", "time_range", "from"], ["groups", "range_suffixes"])
        assert len(spec["days"]) == len(DAYS), f"{where}.days: one entry per day, Mo..Su"
        for i, words in enumerate(spec["days"]):
            _strings(words, f"{where}.days[{DAYS[i]}]", nonempty=True)
        for i, group in enumerate(spec.get("groups", [])):
            _keys(group, f"{where}.groups[{i}]", ["days", "words"])
            assert len(group["days"]) == 2 and set(group["days"]) <= set(DAYS), f"{where}.groups[{i}].days"
            _strings(group["words"], f"{where}.groups[{i}].words", nonempty=True)
        for key in ("range", "list", "time_range", "from", "range_suffixes"):
            _strings(spec.get(key, []), f"{where}.{key}")


def check_messaging(doc: dict[str, Any]) -> None:
    _keys(doc, "messaging", ["whatsapp", "telegram", "viber", "messenger", "skype"])
    for platform, spec in doc.items():
        for key, value in spec.items():
            where = f"{platform}.{key}"
            if isinstance(value, list):
                _strings(value, where, nonempty=True, blank=key == "send_paths")
            elif key.endswith("_digits"):
                _number(value, where)
            else:
                assert isinstance(value, str), f"{where}: a string"
        if "name_pattern" in spec:
            re.compile(spec["name_pattern"])
        assert spec.get("min_digits", 0) <= spec.get("max_digits", 99), f"{platform}: digits"


def check_messaging_rules(doc: dict[str, Any]) -> None:
    reasons = data.load("reasons.toml")["reasons"]
    platforms = set(data.load("messaging.toml"))
    for platform, spec in doc.items():
        assert platform in platforms, f"messaging_rules.{platform}: not a platform of messaging.toml"
        assert spec["decide"] in {"number", "page", "none"}, f"{platform}.decide"
        for key in ("found", "missing", "otherwise"):
            if key in spec:
                assert spec[key] in reasons, f"{platform}.{key}: {spec[key]!r} is not in reasons.toml"
        for key in ("generic_url_patterns",):
            if key in spec:
                _regexes(spec[key], f"{platform}.{key}")


def check_messaging_widgets(doc: dict[str, Any]) -> None:
    _keys(doc, "messaging_widgets", ["platforms", "links", "widget"])
    platforms = set(data.load("messaging.toml"))
    for name, platform in doc["platforms"].items():
        assert platform in platforms, f"platforms.{name}: {platform!r} is no messaging platform"
    for platform, template in doc["links"].items():
        assert platform in platforms and "{value}" in template, f"links.{platform}"
    for i, widget in enumerate(doc["widget"]):
        where = f"widget[{i}]"
        _keys(widget, where, ["provider", "where", "marker", "fields"])
        assert widget["where"] == "script" or widget["where"].startswith("attr:"), f"{where}.where"
        for platform, pattern in widget["fields"]:
            assert platform in doc["platforms"] or platform in platforms, f"{where}.fields: {platform!r}"
            assert "(?P<value>" in pattern, f"{where}.fields: no 'value' group"
            _regexes([pattern], f"{where}.fields")


def check_phone_labels(doc: dict[str, Any]) -> None:
    _keys(doc, "phone_labels", ["phone", "labels", "joiners", "guards"])
    for lang, words in doc["phone"].items():
        _strings(words, f"phone.{lang}", nonempty=True)
    for label, by_lang in doc["labels"].items():
        assert _kebab(label), f"labels.{label}: kebab-case"
        for lang, words in by_lang.items():
            _strings(words, f"labels.{label}.{lang}", nonempty=True)
    _strings(doc["joiners"]["words"], "joiners.words")
    _keys(doc["guards"], "guards", ["id_keywords", "amount_units"])
    _strings(doc["guards"]["id_keywords"], "guards.id_keywords")
    _strings(doc["guards"]["amount_units"], "guards.amount_units")


def check_reasons(doc: dict[str, Any]) -> None:
    _keys(doc, "reasons", ["reasons"])
    for tag, message in doc["reasons"].items():
        assert _kebab(tag), f"reason {tag!r}: kebab-case"
        assert isinstance(message, str) and message.strip(), f"reason {tag}: no message"


def check_rendering(doc: dict[str, Any]) -> None:
    _keys(doc, "rendering", ["js_required", "mount_ids"])
    notices = _strings(doc["js_required"], "js_required", nonempty=True)
    assert all(n == n.casefold() for n in notices), "js_required: case-folded (matched case-folded)"
    _strings(doc["mount_ids"], "mount_ids", nonempty=True)


def check_scoring(doc: dict[str, Any]) -> None:
    _keys(doc, "scoring", ["total", "availability", "responsiveness", "benchmarks", "messages"])
    assert abs(sum(doc["total"].values()) - 1.0) < 1e-9, "total: weights add up to 1"
    avail = doc["availability"]
    channels = _strings(avail["channels"], "availability.channels", nonempty=True)
    for key in ("offered", "verified"):
        assert set(avail[key]) == set(channels), f"availability.{key}: one weight per channel"
    weights = doc["responsiveness"]["weights"]
    assert abs(sum(weights.values()) - 1.0) < 1e-9, "responsiveness.weights add up to 1"
    for name, bench in doc["benchmarks"].items():
        _keys(bench, f"benchmarks.{name}", ["label", "hours", "match", "source"])
        low, high = bench["hours"]
        assert 0 < low <= high, f"benchmarks.{name}.hours"
        _strings(bench["match"], f"benchmarks.{name}.match")
    assert "default" in doc["benchmarks"]
    for rule, text in doc["messages"].items():
        assert _kebab(rule) and isinstance(text, str) and text, f"messages.{rule}"


def check_third_party(doc: dict[str, Any]) -> None:
    _keys(doc, "third_party", ["limits", "markers"])
    for key, value in _keys(doc["limits"], "limits", ["label_chars", "siblings", "max_section_chars"]).items():
        _number(value, f"limits.{key}")
    for lang, words in doc["markers"].items():
        _strings(words, f"markers.{lang}", nonempty=True)


CHECKERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "chat_checks.toml": check_chat_checks,
    "chat_operator.toml": check_chat_operator,
    "chat_providers.toml": check_chat_providers,
    "contact_keywords.toml": check_contact_keywords,
    "emails.toml": check_emails,
    "forms.toml": check_forms,
    "hours.toml": check_hours,
    "messaging.toml": check_messaging,
    "messaging_rules.toml": check_messaging_rules,
    "messaging_widgets.toml": check_messaging_widgets,
    "phone_labels.toml": check_phone_labels,
    "reasons.toml": check_reasons,
    "scoring.toml": check_scoring,
    "third_party.toml": check_third_party,
    "rendering.toml": check_rendering,
}


def test_every_data_file_has_a_checker() -> None:
    assert data.names() == sorted(CHECKERS)


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_data_file_shape(name: str) -> None:
    CHECKERS[name](data.load(name))


def test_loader_reads_once_and_rejects_other_names() -> None:
    assert data.load("reasons.toml") is data.load("reasons.toml")
    with pytest.raises(ValueError):
        data.load("../config.py")


def test_no_module_reads_data_files_around_the_loader() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.joinpath("auditor").rglob("*.py"), *root.joinpath("reports").rglob("*.py")]:
        if path.parent.name == "data" and path.name == "__init__.py":
            continue
        text = path.read_text("utf-8")
        if re.search(r"""["']data/[\w.]+\.(?:toml|json)["']""", text):
            offenders.append(str(path.relative_to(root)))
    assert not offenders, f"read data files through auditor.data.load: {offenders}"


def test_callers_do_not_write_into_the_shared_data() -> None:
    """Extracting real pages leaves every loaded table as the file says (callers copy)."""
    from auditor.extract import extract_page

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
    for html in sorted(fixtures.glob("*.html"))[:10]:
        meta = json.loads(html.with_suffix(".json").read_text())
        extract_page(html.read_bytes(), meta["url"], meta.get("country"))
    for name in data.names():
        with resources.files("auditor.data").joinpath(name).open("rb") as fh:
            fresh = tomllib.load(fh) if name.endswith(".toml") else json.load(fh)
        assert data.load(name) == fresh, f"{name}: a caller changed the shared parsed data"
