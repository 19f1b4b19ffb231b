"""Empty vendor stubs are cut out of inline scripts; the cut runs only where a stub's literal is."""

from __future__ import annotations

from auditor.extract.chat_placeholders import compile_placeholders, strip_placeholders

FORMS = [r"\bvar\s+Acme_API\s*=\s*\{\s*\}\s*;?", r"\b(?:window\.)?ACME_ID\s*=\s*(?:\x22\x22|\x27\x27)\s*;?"]


def test_each_form_is_cut_where_its_literal_is() -> None:
    compiled = compile_placeholders(FORMS)
    assert compiled is not None
    assert compiled[1] == ("Acme_API", "ACME_ID")
    assert strip_placeholders("x; var Acme_API = {};y", compiled) == "x;  y"
    assert strip_placeholders("window.ACME_ID='';z", compiled) == " z"
    assert strip_placeholders("a; var Acme_API={}; b; ACME_ID = '';", compiled) == "a;   b;  "


def test_a_script_without_any_literal_is_returned_as_it_is() -> None:
    compiled = compile_placeholders(FORMS)
    script = "var other = {}; acme_api = 1;"  # the literals are case-sensitive, as the forms are
    assert strip_placeholders(script, compiled) is script


def test_a_form_without_a_literal_makes_the_regex_always_run() -> None:
    compiled = compile_placeholders([*FORMS, r"\s+(?:a|b)\s+"])
    assert compiled is not None and compiled[1] == ()
    assert strip_placeholders("x  a y", compiled) == "x y"


def test_no_forms_no_regex() -> None:
    assert compile_placeholders([]) is None


def test_the_packaged_stubs_are_cut() -> None:
    assert strip_placeholders('window.$crisp=[];window.CRISP_WEBSITE_ID="";') .strip() == ""
    assert strip_placeholders("var Tawk_API=Tawk_API||{}, Tawk_LoadStart=new Date();").strip() == ""
    assert strip_placeholders("console.log(1)") == "console.log(1)"
