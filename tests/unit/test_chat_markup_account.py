"""Account ids written in markup beside the loader script are read once the provider is seen.

Some vendors' snippets are a script tag plus an element that carries the account:
Chatlio's ``<chatlio-widget widgetid>``, Zalo's ``<div class="zalo-chat-widget"
data-oaid>``, Dialogflow Messenger's ``<df-messenger agent-id>``, Kakao's channel chat
button ``<div data-channel-public-id>`` (the SDK reads the id from it when
``createChatButton`` gets only a container), and Facebook's old
``<div class="fb-customerchat" page_id>``. Each is run through the real extractor with
the script before and after the element and with other attribute quoting; the decoys
show that the markup alone, or another provider's markup, gives nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from auditor.extract import extract_page

URL = "https://www.example.vn/lien-he"
UUID = "21276619-1a50-4dc5-8e2a-0a1b2c3d4e5f"

# slug: (loader, element with the account, the account)
SHAPES = {
    "chatlio": (
        '<script async src="https://js.chatlio.com/widget.js"></script>',
        f"<chatlio-widget widgetid='{UUID}' data-start-hidden></chatlio-widget>",
        UUID,
    ),
    "zalo": (
        '<script src="https://sp.zalo.me/plugins/sdk.js"></script>',
        '<div data-welcome-message="Rất vui khi được hỗ trợ bạn!" data-autopopup=0 '
        "data-oaid=579745863508352884 class=zalo-chat-widget></div>",
        "579745863508352884",
    ),
    "dialogflow-messenger": (
        '<script src="https://www.gstatic.com/dialogflow-console/fast/df-messenger/prod/v1/df-messenger.js"></script>',
        f"<df-messenger project-id='acme-support' agent-id='{UUID}' language-code='en'>"
        "<df-messenger-chat-bubble chat-title='Acme'></df-messenger-chat-bubble></df-messenger>",
        UUID,
    ),
    "kakao-channel": (
        "<script>window.kakaoAsyncInit = function () { Kakao.Channel.createChatButton("
        "{ container: '#kakao-talk-channel-chat-button' }); };</script>",
        "<div id='kakao-talk-channel-chat-button' data-title='consult' data-size='small' "
        "data-channel-public-id='_xcLqmC'></div>",
        "_xcLqmC",
    ),
    "facebook-customer-chat": (
        "<script>(function(d, s, id) { var js = d.createElement(s); js.id = id;"
        " js.src = 'https://connect.facebook.net/en_US/sdk/xfbml.customerchat.js';"
        " d.getElementsByTagName('head')[0].appendChild(js); }(document, 'script', 'facebook-jssdk'));</script>",
        "<div class='fb-customerchat' attribution=setup_tool page_id='102345678901234'></div>",
        "102345678901234",
    ),
}


def _chats(body: str) -> dict[str, Mapping[str, object]]:
    html = f"<html><head><title>Liên hệ</title></head><body><p>Hỗ trợ</p>{body}</body></html>"
    return {p.value: p.details for p in extract_page(html, URL) if p.kind == "chat"}


@pytest.mark.parametrize("order", ["script-first", "markup-first"])
@pytest.mark.parametrize("slug", SHAPES)
def test_the_account_beside_the_loader_is_read(slug: str, order: str) -> None:
    loader, markup, account = SHAPES[slug]
    body = loader + markup if order == "script-first" else markup + loader
    found = _chats(body)
    assert set(found) == {slug}
    assert found[slug]["account_id"] == account


def test_the_loader_s_own_account_comes_first() -> None:
    """An id in the loader itself wins over markup (the markup may be a leftover)."""
    loader = "<script>Kakao.Channel.createChatButton({ container: '#k', channelPublicId: '_fromScript' });</script>"
    found = _chats(loader + "<div id='k' data-channel-public-id='_fromMarkup'></div>")
    assert found["kakao-channel"]["account_id"] == "_fromScript"


DECOYS = {
    # the attribute alone is no chat
    "bare-oaid": "<div data-oaid='579745863508352884'></div>",
    "bare-agent-id": f"<div agent-id='{UUID}'></div>",
    "bare-page-id": "<div page_id='102345678901234'></div>",
}


@pytest.mark.parametrize("body", DECOYS.values(), ids=DECOYS.keys())
def test_markup_alone_finds_nothing(body: str) -> None:
    assert _chats(body) == {}


def test_another_provider_s_markup_is_not_this_provider_s_account() -> None:
    """A Tawk.to page that also carries a stray data-oaid has no Zalo, and Tawk keeps its own id."""
    tawk = '<script src="https://embed.tawk.to/5f1a2b3c4d5e6f7a8b9c0d1e/default"></script>'
    found = _chats(tawk + "<div data-oaid='579745863508352884'></div>")
    assert set(found) == {"tawk.to"}
    assert found["tawk.to"]["account_id"] == "5f1a2b3c4d5e6f7a8b9c0d1e/default"


def test_a_value_without_the_account_shape_is_not_taken() -> None:
    loader, _markup, _ = SHAPES["chatlio"]
    found = _chats(loader + "<chatlio-widget widgetid='YOUR_WIDGET_ID'></chatlio-widget>")
    assert set(found) == {"chatlio"} and "account_id" not in found["chatlio"]


def test_the_attribute_on_another_element_is_not_read() -> None:
    """Zalo's id is read from a div only; a data-oaid on a link to somewhere else is not it."""
    loader, _markup, _ = SHAPES["zalo"]
    found = _chats(loader + "<a href='/x' data-oaid='579745863508352884'>x</a>")
    assert set(found) == {"zalo"} and "account_id" not in found["zalo"]
