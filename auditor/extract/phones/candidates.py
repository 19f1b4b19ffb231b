"""Limits, and the shapes of digit runs: candidate runs and the decoys that are not phone numbers.

A regex finds runs of at least six digits (separators allowed) inside one block; dates,
versions, IBANs, registry and tax ids are decoys, blanked out before the matcher runs.
"""

from __future__ import annotations

import re

import phonenumbers

UNKNOWN_REGION = "ZZ"
MIN_DIGITS = 6  # shorter runs are never phone numbers worth the matcher's time
MAX_RUN_DIGITS = 48  # longer runs are tables of figures, not a few numbers in a row
MAX_TRIES = 8  # matcher candidates per window: a window holds one or two numbers
SEGMENT_CHARS = 120  # how far back in a block a label word may stand
HEADING_CHARS = 60  # a block this short, without digits, can title the numbers below it
HEADING_LOOKBACK = 2
CONTEXT_SIDE = 90
MAX_TEL_LINKS = 300
MAX_STRUCT_NODES = 5_000
MAX_STRUCT_DEPTH = 24
MAX_VALUE_CHARS = 200

DEVICE_LABELS = frozenset({"mobile"})  # what kind of line, not what it is for

TYPE_NAMES = {
    value: name for name, value in vars(phonenumbers.PhoneNumberType).items() if name.isupper()
}

# --- candidate runs and the shapes that are not phone numbers ----------------------------

_SEP = r"[\s\-./()\u2010-\u2015\u2212]"
RUN = re.compile(rf"\d(?:{_SEP}{{0,3}}\d){{{MIN_DIGITS - 1},}}")
# RUN on a digit shape (every digit written as "0") where "0" is the only character ``\d``
# matches: the literal first character lets the engine skip ahead (2.5x faster)
SHAPE_RUN = re.compile(rf"0(?:{_SEP}{{0,3}}0){{{MIN_DIGITS - 1},}}")
DIGIT = re.compile(r"\d")

_NB = r"(?<![\d.\-/])"  # not the tail of a longer digit group
_NA = r"(?![.\-/]?\d)"  # not the head of a longer digit group
_NB_SPACE = r"(?<![\d.\-/])(?<!\d\s)"  # stricter, for short shapes like 03/2015
_NA_SPACE = r"(?![.\-/]?\d)(?!\s\d)"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d{2}"
_DASH = r"\s*[\-\u2010-\u2015\u2212]\s*"
# Every decoy starts with up to eight digits and then a separator, or with capitals before a
# digit or dash: the lookahead turns most positions away before the alternation is tried.
# Its one-character test comes first, and its repeats never give back (the separators are
# neither digits nor spaces nor capitals, so giving back could not help): same starts, faster.
_DECOY_START = r"(?=[\dA-Z])(?=\d{1,8}+(?:[./:,\-]|\s*+[\-\u2010-\u2015\u2212])|[A-Z]{1,2}+[\d\-])"
_DECOY_PATTERNS = (
    rf"{_NB}{_DAY}\.\s?{_MON}\.\s?(?:{_YEAR}|\d{{2}}){_NA}\.?",  # 10.05.2024
    rf"{_NB}{_DAY}\.{_MON}\.{_DASH}{_DAY}\.{_MON}(?:\.(?:{_YEAR})?)?{_NA}",  # 24.06.–25.06.
    rf"{_NB}{_DAY}[/\-]{_MON}[/\-](?:{_YEAR}|\d{{2}}){_NA}",  # 10/05/2024
    rf"{_NB}{_MON}[/\-]{_DAY}[/\-]{_YEAR}{_NA}",  # 05/10/2024
    rf"{_NB}{_YEAR}[.\-/]\s?{_MON}[.\-/]\s?{_DAY}{_NA}\.?",  # 2024-05-10, 2024.05.10.
    rf"{_NB}(?:{_MON}[./])?{_YEAR}{_DASH}(?:{_MON}[./])?(?:{_YEAR}|\d{{2}}){_NA}",  # ranges
    rf"{_NB}{_MON}[./]{_YEAR}\s+{_MON}[./]{_YEAR}{_NA}",  # 03/2015 03/2016
    rf"{_NB_SPACE}{_MON}[./]{_YEAR}{_NA_SPACE}",  # 03/2015
    rf"{_NB_SPACE}{_YEAR}/\d{{1,4}}{_NA_SPACE}",  # 2016/679
    rf"{_NB_SPACE}[1-9]\d{{0,3}}/{_YEAR}{_NA_SPACE}",  # 12/2020
    rf"{_NB}\d{{1,2}}[:.]\d{{2}}{_DASH}\d{{1,2}}[:.]\d{{2}}{_NA}",  # 08.00-16.00
    r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,8}(?:\s?[A-Z0-9]{1,3})?\b",  # IBAN
    r"(?<![\d\-])\d{8}-\d-\d{2}(?![\d\-])",  # HU tax number
    r"(?<![\d\-])\d{8}-\d{8}(?:-\d{8})?(?![\d\-])",  # HU bank account
    r"(?<![\d\-])\d{2}-\d{2}-\d{6}(?![\d\-])",  # HU company registry
    r"(?<![\d\-])\d{5}-\d{4}(?![\d\-])",  # ZIP+4
    r"(?<![\d\-])\d{2}-\d{3}(?![\d\-])(?!\s\d)",  # PL post code (not SE 08-465 004 20)
    r"\b[A-Z]{1,2}-\d{4,5}\b",  # D-10115, CH-8001
    rf"{_NB}\d{{1,3}}(?:[.,]\d{{3}})+[.,]\d{{2}}(?!\d)",  # 1.234.567,00
)
DECOY_RUNS = re.compile(f"{_DECOY_START}(?:{'|'.join(_DECOY_PATTERNS)})")
DECIMAL_TAIL = re.compile(r",\d{1,2}(?!\d)(?!\s?\d)")
FILE_TAIL = re.compile(r"\.[A-Za-z]{2,5}\b")
GLUE_BEFORE = frozenset("_=#&?@%\\")
URLISH = re.compile(r"://|www\.|@", re.I)
SLASH = re.compile(r"(?<=[\d)])(\s?)/(?=\s?\(?\d)")
IDD_00 = re.compile(r"(?<![\d+])00(?=\s?[1-9])")
PARENTHETICAL = re.compile(r"\s*[(\[]([^)\]]{1,30})")
GROUPED = re.compile(r"\d\D+\d")
TEL_PARAMS = re.compile(r"[;?].*$", re.S)


def run_start(text: str, start: int) -> int:
    """Start of a run including an opening "+" or "(" right before its first digit."""
    lead = start
    while lead > 0 and text[lead - 1] in "+(" and start - lead < 3:
        lead -= 1
    return lead
