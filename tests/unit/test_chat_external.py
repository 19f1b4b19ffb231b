"""User-supplied Wappalyzer-format chat fingerprints: loading, conversion, merging, isolation.

The database under tests/fixtures/wappalyzer was written for these tests; every
technology in it is fictional.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from auditor.config import build_settings
from auditor.data import load
from auditor.extract import extract_page, parse_page
from auditor.extract.chat import extract_chat, fingerprints
from auditor.extract.chat_external import (
    FingerprintFileError,
    detected_by,
    load_wappalyzer,
    merged_fingerprints,
    split_pattern,
)
from auditor.extract.context import ExtractContext

FIXTURE = Path(__file__).parent.parent / "fixtures" / "wappalyzer"
OWN = load("chat_providers.toml")["provider"]
PAGE = """<html><head>
<script async src="https://widget.parrotalk-fictional.example/loader.js"></script>
<script>window.WombatChat = 1;</script>
</head><body><div id="quokka-chat-root"></div>
<script src="https://cdn.wombatchat-fictional.example/w.js"></script></body></html>"""


def _slugs(points: list) -> set[str]:  # type: ignore[type-arg]
    return {cp.value for cp in points if cp.kind == "chat"}


def test_live_chat_category_is_found_by_name_and_converted() -> None:
    ext = load_wappalyzer(FIXTURE, OWN)
    by_name = {p["name"]: p for p in ext.providers}
    assert set(by_name) == {"Parrotalk", "Quokka Desk", "Wombat Chat"}  # not the analytics one
    parrot = by_name["Parrotalk"]
    assert parrot["src"] == [r"widget\.parrotalk-fictional\.example/loader\.js"]  # \;version: cut
    assert parrot["inline"] == [r"\bParrotalkChat\b"]
    assert parrot["weak"] == [r"\bparrotalk\.open\b"]  # \;confidence:50 is weak evidence
    assert parrot["dom"] == ["#parrotalk-launcher"]  # a compound CSS selector is not understood
    assert by_name["Quokka Desk"]["dom"] == ["#quokka-chat-root"]


def test_known_provider_keeps_the_project_entry() -> None:
    ext = load_wappalyzer(FIXTURE, OWN)
    assert ext.known == ("Tawk.to",)
    merged = merged_fingerprints(FIXTURE)
    assert merged is not None
    tawk = [p for p in merged.providers if p.name == "Tawk.to"]
    assert len(tawk) == 1 and tawk[0].slug == "tawk.to"
    page = parse_page('<script src="https://fictional-other-host.example/tawk"></script>', "https://a.test/")
    assert extract_chat(page, ExtractContext(chat=merged)) == []


def test_regex_python_cannot_compile_is_reported_once_with_the_name(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="auditor.extract.chat_external"):
        ext = load_wappalyzer(FIXTURE, OWN)
    broken = [p for p in ext.problems if p.startswith("Brokenbot:")]
    assert len(broken) == 1 and "look-behind" in broken[0]
    assert any(p.startswith("Quokka Desk:") for p in ext.problems)
    assert "Brokenbot" not in {p["name"] for p in ext.providers}  # nothing usable left
    assert sum("Brokenbot" in r.getMessage() for r in caplog.records) == 1


def test_malformed_file_is_a_clear_problem_and_the_others_still_load(tmp_path: Path) -> None:
    copy = tmp_path / "db"
    shutil.copytree(FIXTURE, copy)
    (copy / "technologies" / "b.json").write_text('{"Quokka Desk": {"cats": [52],}', "utf-8")
    ext = load_wappalyzer(copy, OWN)
    assert {p["name"] for p in ext.providers} == {"Parrotalk", "Wombat Chat"}
    (problem,) = [p for p in ext.problems if "b.json" in p]
    assert "not valid JSON" in problem and "line 1" in problem


def test_missing_category_or_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "categories.json").write_text('{"1": {"name": "CMS"}}', "utf-8")
    with pytest.raises(FingerprintFileError, match="no category named 'live chat'"):
        load_wappalyzer(tmp_path)
    with pytest.raises(FingerprintFileError, match="no such file"):
        merged_fingerprints(tmp_path / "nowhere")
    (tmp_path / "categories.json").write_text("{", "utf-8")
    with pytest.raises(FingerprintFileError, match="categories.json: not valid JSON"):
        load_wappalyzer(tmp_path)


def test_single_technology_file_with_categories_beside_its_folder() -> None:
    ext = load_wappalyzer(FIXTURE / "technologies" / "c.json", OWN)
    assert [p["name"] for p in ext.providers] == ["Wombat Chat"]


def test_split_pattern_tags() -> None:
    assert split_pattern(r"a\.js\;version:\1\;confidence:25") == (r"a\.js", 25)
    assert split_pattern("plain") == ("plain", 100)


def test_two_audits_in_one_process_do_not_share_fingerprints() -> None:
    """One run with --fingerprints, one without, another with: each sees only its own table."""
    before = fingerprints()
    with_file = build_settings(fingerprints=str(FIXTURE))
    without = build_settings()
    assert without.fingerprints is None
    assert with_file.scrapy_settings()["AUDITOR_FINGERPRINTS"] == str(FIXTURE)
    table = merged_fingerprints(with_file.fingerprints)
    assert merged_fingerprints(without.fingerprints) is None
    page = parse_page(PAGE, "https://shop.test/")
    from auditor.extract import extract_contacts

    first = _slugs(extract_contacts(page, None, table))
    second = _slugs(extract_contacts(page, None, merged_fingerprints(without.fingerprints)))
    third = _slugs(extract_page(PAGE, "https://shop.test/"))
    assert first == {"wappalyzer:parrotalk", "wappalyzer:wombat-chat", "wappalyzer:quokka-desk"}
    assert second == third == set()
    assert fingerprints() is before and len(before.providers) == len(OWN)


def test_the_flag_and_the_config_file_reach_the_setting(tmp_path: Path) -> None:
    import argparse

    from auditor.cli.common import add_crawl_options, settings_from

    parser = argparse.ArgumentParser()
    add_crawl_options(parser)
    assert settings_from(parser.parse_args(["--fingerprints", str(FIXTURE)])).fingerprints == str(FIXTURE)
    assert settings_from(parser.parse_args([])).fingerprints is None
    config = tmp_path / "auditor.toml"
    config.write_text(f"fingerprints = {str(FIXTURE)!r}\n", "utf-8")
    assert build_settings(config).fingerprints == str(FIXTURE)
    other = tmp_path / "other"
    assert settings_from(parser.parse_args(["--config", str(config), "--fingerprints", str(other)])).fingerprints == str(other)


def test_a_provider_known_under_another_name_keeps_the_project_entry(tmp_path: Path) -> None:
    """Detected by the project's own table on a page built from its scriptSrc: not added twice."""
    (tmp_path / "categories.json").write_text('{"4": {"name": "Live Chat"}}', "utf-8")
    (tmp_path / "t.json").write_text(
        '{"Renamed Widget": {"cats": [4], "scriptSrc": ["embed\\\\.tawk\\\\.to/"]},'
        ' "Wombat Chat": {"cats": [4], "scriptSrc": ["cdn\\\\.wombatchat-fictional\\\\.example/w\\\\.js"]}}',
        "utf-8")
    ext = load_wappalyzer(tmp_path, OWN, detected_by())
    assert ext.known == ("Renamed Widget",)
    assert [p["name"] for p in ext.providers] == ["Wombat Chat"]
    assert [p["name"] for p in load_wappalyzer(tmp_path, OWN).providers] == ["Renamed Widget", "Wombat Chat"]
