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
def _placeholders() -> re.Pattern[str] | None:
    """Every provider's stub forms as one regex, compiled once."""
    forms = [
        f"(?:{form})"
        for entry in data.load("chat_providers.toml")["provider"]
        for form in entry.get("placeholder", [])
    ]
    return re.compile("|".join(forms)) if forms else None


def strip_placeholders(script: str) -> str:
    """``script`` without the empty vendor stubs it contains."""
    pattern = _placeholders()
    if pattern is None or not script:
        return script
    return pattern.sub(" ", script)
