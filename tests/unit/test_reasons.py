"""Reason tags: the constants match reasons.toml, and no code gives a tag the file lacks."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor import reasons
from auditor.data import load

ROOT = Path(__file__).resolve().parents[2]
LOOKS_LIKE_TAG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# where a string is a reason tag: these keyword arguments and names, and these constructors'
# positional arguments (Verdict(kind, value, verdict, reason, ...), Check(name, verdict, reason, ...))
TAG_NAMES = frozenset({"reason", "error", "failure"})
TAG_POSITIONS = {"Verdict": 3, "Check": 2, "Classification": 1}


def test_every_tag_has_a_constant_and_a_message() -> None:
    table = load("reasons.toml")["reasons"]
    assert reasons.TAGS == frozenset(table)
    assert reasons.DNS_FAILURE == "dns-failure"
    assert reasons.message(reasons.DNS_FAILURE) == table["dns-failure"]
    assert reasons.message("no-such-tag") == "" and reasons.message(None) == ""


def _module_source(extra: str = "", table: dict[str, str] | None = None) -> str:
    source = (ROOT / "auditor" / "reasons.py").read_text("utf-8")
    if table is not None:
        stub = f"def load(name):\n    return {{'reasons': {table!r}}}\n"
        source = source.replace("from auditor.data import load\n", stub)
    return source.replace("\n\ndef _messages()", f"\n{extra}\n\ndef _messages()")


def test_a_constant_for_no_tag_fails_the_import() -> None:
    with pytest.raises(ImportError, match="BOGUS_TAG"):
        exec(compile(_module_source('BOGUS_TAG: Final = "bogus-tag"'), "reasons", "exec"), {})


def test_a_tag_without_a_message_fails_the_import() -> None:
    table = dict(load("reasons.toml")["reasons"], **{"dns-failure": " "})
    with pytest.raises(ImportError, match="without a message: dns-failure"):
        exec(compile(_module_source(table=table), "reasons", "exec"), {})


def test_a_tag_without_a_constant_fails_the_import() -> None:
    table = dict(load("reasons.toml")["reasons"], **{"brand-new": "A new reason."})
    with pytest.raises(ImportError, match="without a constant here: brand-new"):
        exec(compile(_module_source(table=table), "reasons", "exec"), {})


def _strings(node: ast.AST) -> Iterator[ast.Constant]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for element in node.elts:
            yield from _strings(element)


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def tag_literals(tree: ast.AST) -> Iterator[ast.Constant]:
    """String literals in reason-tag positions: ``reason=``, ``x.reason == ...``, constructors."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in TAG_NAMES:
                    yield from _strings(kw.value)
            index = TAG_POSITIONS.get(_name(node.func) or "")
            if index is not None and len(node.args) > index:
                yield from _strings(node.args[index])
        elif isinstance(node, ast.Assign) and any(_name(t) in TAG_NAMES for t in node.targets):
            yield from _strings(node.value)
        elif isinstance(node, ast.AnnAssign) and _name(node.target) in TAG_NAMES and node.value is not None:
            yield from _strings(node.value)
        elif isinstance(node, ast.Compare) and _name(node.left) in TAG_NAMES:
            for comparator in node.comparators:
                yield from _strings(comparator)


def test_scanner_finds_tags_in_each_position() -> None:
    code = (
        'Verdict("email", v, "unknown", "made-up-one")\nx = f(reason="made-up-two")\n'
        'if check.reason in ("made-up-three", other): pass\nreason = "a" if y else "made-up-four"\n'
    )
    assert sorted(c.value for c in tag_literals(ast.parse(code)) if c.value.startswith("made-up")) == [
        "made-up-four", "made-up-one", "made-up-three", "made-up-two"]


def test_no_code_gives_a_tag_reasons_toml_lacks() -> None:
    unknown = []
    for folder in ("auditor", "spiders", "reports"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for const in tag_literals(ast.parse(path.read_text("utf-8"))):
                if LOOKS_LIKE_TAG.fullmatch(const.value) and const.value not in reasons.TAGS:
                    unknown.append(f"{path.relative_to(ROOT)}:{const.lineno}: {const.value!r}")
    assert not unknown, "reason tags missing from auditor/data/reasons.toml:\n" + "\n".join(unknown)


# Modules that name every reason tag through auditor.reasons: a string literal spelling a tag
# there is a regression, in a tag position or not (a tag travels through returns, tuples,
# tables and flags, more places than the scanner above can name).
CONSTANTS_ONLY = (
    "auditor/validate/email",
    "auditor/validate/browser.py",
    "auditor/validate/http.py",
    "auditor/validate/phone.py",
    "auditor/validate/smtp_reply.py",
    "auditor/validate/run.py",
    "auditor/net/guard.py",
    "auditor/selfcheck.py",
    "auditor/probes/sip",
    "auditor/probes/inquiries/store.py",
    "auditor/probes/inquiries/classify.py",
    "auditor/lab/worldfile.py",
)
# The same spelling in another vocabulary, counted so that a tag literal added beside them fails.
NOT_A_TAG = {
    ("auditor/validate/email/outcomes.py", "pending"): 1,  # a probe's state within a batch
    ("auditor/probes/sip/ua.py", "session-progress"): 1,  # why the UA cancels (its log line)
    ("auditor/probes/inquiries/store.py", "human-reply"): 1,  # auditor.score's outcome words
    ("auditor/probes/inquiries/store.py", "bounced"): 1,
    ("auditor/probes/inquiries/store.py", "no-reply"): 1,
}


def bare_tags(tree: ast.AST) -> Iterator[ast.Constant]:
    """String literals (docstrings aside) that spell a reason tag."""
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in reasons.TAGS
                and id(node) not in docstrings):
            yield node


def test_bare_tags_finds_literals_outside_docstrings() -> None:
    code = '"""no-reply"""\ndef f():\n    """busy"""\n    return UNKNOWN, "greylisted"\nx = {"a": "busy", "b": reasons.BUSY}\n'
    assert sorted(c.value for c in bare_tags(ast.parse(code))) == ["busy", "greylisted"]


def test_converted_modules_name_tags_by_constant() -> None:
    found: dict[tuple[str, str], list[int]] = {}
    for entry in CONSTANTS_ONLY:
        target = ROOT / entry
        for path in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            rel = path.relative_to(ROOT).as_posix()
            for const in bare_tags(ast.parse(path.read_text("utf-8"))):
                found.setdefault((rel, const.value), []).append(const.lineno)
    bare = [f"{rel}:{line}: {tag!r} (use reasons.{tag.upper().replace('-', '_')})"
            for (rel, tag), lines in sorted(found.items()) if len(lines) > NOT_A_TAG.get((rel, tag), 0)
            for line in lines]
    assert not bare, "bare reason-tag literals:\n" + "\n".join(bare)
