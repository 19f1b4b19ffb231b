"""Every chat provider is detected from its own loader shapes, and nothing else is.

The snippets live in ``tests/fixtures/chat_snippets.toml`` (one table per provider,
in the vendor's own install shapes). Each is wrapped in a page and run through the
real extractor, ``auditor.extract.extract_page``: the provider must be found, with
its account id where the snippet carries one, and no other provider may be. The
decoys at the end look like providers to a careless matcher and must find nothing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from auditor.extract import extract_page
from auditor.extract.chat import fingerprints
from tests.unit.test_chat import INLINE, SRC

SNIPPETS = Path(__file__).resolve().parents[1] / "fixtures" / "chat_snippets.toml"
URL = "https://www.example.hu/kapcsolat"


def _snippets() -> dict[str, dict[str, Any]]:
    with SNIPPETS.open("rb") as fh:
        return tomllib.load(fh)


def _cases() -> list[Any]:
    """(provider slug, markup, expected account) for every snippet shape."""
    cases = []
    for key, entry in _snippets().items():
        slug = entry.get("slug", key)
        if "src" in entry:
            body = f'<script async src="{entry["src"]}"></script>'
            cases.append(pytest.param(slug, body, entry.get("src_account"), id=f"{key}-src"))
        if "inline" in entry:
            body = f'<script type="text/javascript">{entry["inline"]}</script>'
            cases.append(pytest.param(slug, body, entry.get("inline_account"), id=f"{key}-inline"))
        if "html" in entry:
            cases.append(pytest.param(slug, entry["html"], entry.get("html_account"), id=f"{key}-html"))
    return cases


def _chats(body: str) -> dict[str, Any]:
    html = f"<html><head><title>Kapcsolat</title></head><body><p>Írjon nekünk!</p>{body}</body></html>"
    return {p.value: p for p in extract_page(html, URL) if p.kind == "chat"}


def test_every_provider_has_a_loader_test() -> None:
    slugs = {p.slug for p in fingerprints().providers}
    tested = {entry.get("slug", key) for key, entry in _snippets().items()} | set(SRC) | set(INLINE)
    assert slugs - tested == set(), "providers without a fingerprint test"
    assert tested - slugs == set(), "snippets for unknown providers"


@pytest.mark.parametrize(("slug", "body", "account"), _cases())
def test_provider_detected_alone_from_its_loader(slug: str, body: str, account: str | None) -> None:
    found = _chats(body)
    assert set(found) == {slug}
    assert found[slug].details.get("account_id") == account


DECOYS = {
    "intercom-prose": "<p>We install intercom systems and door phones; call our intercom service team.</p>",
    "css-variables": "<style>:root{--tawk-color:#03a84e;--crisp-color:#1972f5} img{image-rendering:crisp-edges}"
    " .drift-animation{animation:drift 3s} .olark-like{}</style>",
    "lookalike-classes": '<div class="drift-animation crisp-edges tidio-like zopim-style">'
    '<span class="intercom-icon" id="chat-bubble">Chat</span></div>',
    "css-in-script-string": "<script>el.style.setProperty('--tawk-color', '#000'); el.classList.add('crisp-edges');</script>",
    "whatsapp-share": '<a href="https://wa.me/?text=Look%20at%20this%20https%3A%2F%2Fexample.hu">Share</a>'
    '<a href="https://api.whatsapp.com/send?text=Hello">Share on WhatsApp</a>'
    '<a href="whatsapp://send?text=hi">Share</a>',
    "telegram-share": '<a href="https://t.me/share/url?url=https%3A%2F%2Fexample.hu&text=Hi">Share on Telegram</a>'
    '<a href="tg://msg_url?url=https%3A%2F%2Fexample.hu">Share</a>',
    "commented-out-loader": "<!-- <script src=\"https://embed.tawk.to/5f1a2b3c4d5e6f7a8b9c0d1e/default\"></script>"
    " <script>var Tawk_API=Tawk_API||{};</script> <script src=\"https://client.crisp.chat/l.js\"></script> -->",
    "empty-crisp-placeholder": "<script>window.$crisp=[];window.CRISP_WEBSITE_ID=\"\";</script>",
    "empty-livechat-license": "<script>window.__lc = window.__lc || {}; window.__lc.license = \"\";</script>",
    "empty-tawk-placeholder": "<script>var Tawk_API=Tawk_API||{}, Tawk_LoadStart=new Date();</script>",
    "vendor-marketing-links": '<a href="https://www.chatwoot.com/">Chatwoot</a> <a href="https://www.tidio.com/">Tidio</a>'
    ' <a href="https://www.brevo.com/">Brevo</a> <a href="https://www.getgist.com/">Gist</a>'
    ' <a href="https://www.intaker.com/home/">Intaker</a> <a href="https://blog.intaker.com/post/live-chat">blog</a>',
    "words-in-prose": "<p>Gist of it: our landbot pilots, giosg and ada lovelace; the channel io; a huggy bear; "
    "kindly note; boost ai; five9 mentioned; glia cells; qualified staff; smallchat at the door.</p>",
}


@pytest.mark.parametrize("body", DECOYS.values(), ids=DECOYS.keys())
def test_decoys_detect_nothing(body: str) -> None:
    points = [p for p in extract_page(f"<html><body>{body}</body></html>", URL) if p.kind in ("chat", "messaging")]
    assert points == []
