"""Empty vendor placeholders: loader stubs that name a chat provider but hold no account.

Themes and tag managers leave ``window.$crisp=[];window.CRISP_WEBSITE_ID="";`` or
``window.__lc.license = "";`` on pages whose chat was never set up (or was removed).
The global names are a provider's fingerprint, so the stub alone would report a chat
that cannot open. Each provider lists its stub forms under ``placeholder`` in
``chat_providers.toml``; they are cut out of an inline script before it is matched,
so a stub counts for nothing while a real snippet (which carries the account or the
loader URL after the stub) is still found.
"""

from __future__ import annotations

import re
from functools import cache

from auditor import data


@cache
def _placeholders() -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """Every provider's stub forms, compiled once (see :func:`compile_placeholders`)."""
    return compile_placeholders(
        [form for entry in data.load("chat_providers.toml")["provider"] for form in entry.get("placeholder", [])]
    )


def compile_placeholders(forms: list[str]) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """The stub forms as one regex and the literal each form cannot match without (none at
    all when a form has none: then the regex always runs); None without forms."""
    from auditor.extract.chat import required_literal  # chat imports this module

    if not forms:
        return None
    literals = tuple(required_literal(form) for form in forms)
    pattern = re.compile("|".join(f"(?:{form})" for form in forms))
    return pattern, (literals if all(literals) else ())


def strip_placeholders(script: str, compiled: tuple[re.Pattern[str], tuple[str, ...]] | None = None) -> str:
    """``script`` without the empty vendor stubs it contains (``compiled``: the packaged forms)."""
    found = compiled or _placeholders()
    if found is None or not script:
        return script
    pattern, literals = found
    # Searching the whole script with the stubs' regex costs a pass that tries every form at
    # every position: without any form's literal no form matches, and nothing is cut.
    if literals and not any(literal in script for literal in literals):
        return script
    return pattern.sub(" ", script)
