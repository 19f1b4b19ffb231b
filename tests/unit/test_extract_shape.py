"""The extractors' shared shape: one signature, one table, one confidence scale."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

from auditor.extract import EXTRACTORS, extract_page
from auditor.extract import confidence as conf
from auditor.extract.context import NO_CONTEXT, ExtractContext

ROOT = Path(__file__).resolve().parents[2]


def test_every_extractor_takes_the_page_and_a_context() -> None:
    assert [kind for kind, _ in EXTRACTORS] == ["phone", "email", "chat", "messaging", "form", "framework-state", "hours"]
    for kind, func in EXTRACTORS:
        params = list(inspect.signature(func).parameters.values())
        assert [p.name for p in params] == ["page", "context"], kind
        assert params[1].default is NO_CONTEXT, kind


def test_hours_attach_to_what_the_extractors_before_them_found() -> None:
    html = "<p>Ügyfélszolgálat: +36 1 234 5678, hétfő-péntek 8-16</p>"
    [phone, hours] = extract_page(html, "https://example.hu/kapcsolat", "HU")
    assert (phone.kind, hours.kind) == ("phone", "hours")
    assert hours.details["applies_to"] == phone.value
    from auditor.extract.hours import extract_hours
    from auditor.extract.page import parse_page

    alone = extract_hours(parse_page(html, "https://example.hu/kapcsolat"), ExtractContext("HU"))
    assert alone and alone[0].details.get("applies_to") is None


def test_confidences_are_levels_of_the_one_scale() -> None:
    """Every confidence but a prose phone's (built from TEXT_BASE) is a named level."""
    seen = set()
    for html in sorted((ROOT / "tests" / "fixtures" / "pages").glob("*.html")):
        meta = json.loads(html.with_suffix(".json").read_text())
        for cp in extract_page(html.read_bytes(), meta["url"], meta.get("country")):
            if cp.kind == "phone" and cp.method == "text":
                continue
            assert any(abs(cp.confidence - level) < 1e-9 for level in conf.LEVELS), (html.name, cp)
            seen.add(cp.confidence)
    assert len(seen) >= 5


def test_no_extractor_writes_a_confidence_number_of_its_own() -> None:
    offenders = []
    for path in sorted((ROOT / "auditor" / "extract").rglob("*.py")):
        if path.name == "confidence.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            values: list[ast.expr] = []
            if isinstance(node, ast.keyword) and node.arg == "confidence":
                values.append(node.value)
            elif isinstance(node, ast.Assign) and any("CONFIDENCE" in ast.unparse(t) for t in node.targets):
                values.append(node.value)
            for value in values:
                for sub in ast.walk(value):
                    # 0.0 and 1.0 bound a sum (min/max), they are not levels
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, float) and sub.value not in (0.0, 1.0):
                        offenders.append(f"{path.relative_to(ROOT)}:{sub.lineno}")
    assert not offenders, offenders
