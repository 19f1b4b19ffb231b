"""Click-to-chat widgets: the number or account in their configuration is a contact point.

Each case is the widget's own configuration shape (Joinchat's ``data-settings`` JSON,
Click to Chat's ``ht_ctc_chat_var``, Chaty's channel list, GetButton's options
object), run through the real extractor.
"""

from __future__ import annotations

import pytest

from auditor.extract import extract_page

URL = "https://www.example.es/contacto"

JOINCHAT = (
    "<div class=\"joinchat joinchat--right\" data-settings='{&quot;telephone&quot;:&quot;34612345678&quot;,"
    "&quot;mobile_only&quot;:false,&quot;button_delay&quot;:3,&quot;whatsapp_web&quot;:false,&quot;qr&quot;:false,"
    "&quot;message_views&quot;:2,&quot;message_delay&quot;:10,&quot;message_send&quot;:&quot;Hola&quot;}'>"
    '<div class="joinchat__button"></div></div>'
)
CLICK_TO_CHAT = (
    "<script type='text/javascript' id='ht_ctc_app_js-js-extra'>/* <![CDATA[ */\n"
    'var ht_ctc_chat_var = {"number":"5511945422056","pre_filled":"Ol\\u00e1!","dis_m":"show","dis_d":"show",'
    '"css":"display: none; cursor: pointer; z-index: 99999999;"};\n/* ]]> */</script>'
)
CHATY = (
    '<script>var chaty_settings = {"ajax_url":"https:\\/\\/www.example.es\\/wp-admin\\/admin-ajax.php",'
    '"chaty_widgets":[{"id":0,"identifier":0,"settings":{"cta_type":"simple-view","has_target_rules":0},'
    '"channels":[{"channel":"Whatsapp","value":"34612345679","hover_text":"WhatsApp"},'
    '{"channel":"Telegram","value":"acme_soporte","hover_text":"Telegram"},'
    '{"channel":"Phone","value":"+34911234567","hover_text":"Phone"}]}]};</script>'
)
GETBUTTON = """<script type="text/javascript">(function () {
    var options = { facebook: "acmeshop.es", whatsapp: "+34 612 345 680", viber: "+34612345681",
        telegram: "acmeshop_bot", call_to_action: "Message us", button_color: "#FF6550", position: "right", order: "facebook,whatsapp,viber,telegram" };
    var proto = document.location.protocol, host = "getbutton.io", url = proto + "//static." + host;
    var s = document.createElement('script'); s.type = 'text/javascript'; s.async = true; s.src = url + '/widget-send-button/js/init.js';
    s.onload = function () { WhWidgetSendButton.init(host, proto, options); };
    var x = document.getElementsByTagName('script')[0]; x.parentNode.insertBefore(s, x); })();</script>"""


def _messaging(body: str) -> dict[str, tuple[str, str | None]]:
    html = f"<html><head><title>Contacto</title></head><body><p>Escríbenos</p>{body}</body></html>"
    return {
        p.value: (p.details["platform"], p.details.get("provider"))
        for p in extract_page(html, URL)
        if p.kind == "messaging"
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (JOINCHAT, {"https://wa.me/34612345678": ("whatsapp", "Joinchat")}),
        (CLICK_TO_CHAT, {"https://wa.me/5511945422056": ("whatsapp", "Click to Chat (HoliThemes)")}),
        (
            CHATY,
            {
                "https://wa.me/34612345679": ("whatsapp", "Chaty"),
                "https://t.me/acme_soporte": ("telegram", "Chaty"),
            },
        ),
        (
            GETBUTTON,
            {
                "https://wa.me/34612345680": ("whatsapp", "GetButton"),
                "viber://chat?number=%2B34612345681": ("viber", "GetButton"),
                "https://t.me/acmeshop_bot": ("telegram", "GetButton"),
                "https://m.me/acmeshop.es": ("messenger", "GetButton"),
            },
        ),
    ],
    ids=["joinchat", "click-to-chat", "chaty", "getbutton"],
)
def test_configured_accounts_are_harvested(body: str, expected: dict[str, tuple[str, str]]) -> None:
    assert _messaging(body) == expected


def test_widget_number_and_plain_link_deduplicate() -> None:
    body = JOINCHAT + '<a href="https://api.whatsapp.com/send?phone=34612345678">WhatsApp</a>'
    found = [p for p in extract_page(f"<html><body>{body}</body></html>", URL) if p.kind == "messaging"]
    assert [(p.value, p.method) for p in found] == [("https://wa.me/34612345678", "deep-link")]


@pytest.mark.parametrize(
    "body",
    [
        # an empty Joinchat placeholder and unrelated data-settings JSON
        "<div class=\"joinchat\" data-settings='{&quot;telephone&quot;:&quot;&quot;}'></div>",
        "<div data-settings='{&quot;slides&quot;:3,&quot;phone&quot;:&quot;34612345678&quot;}'></div>",
        # option names without the widget's loader: a config object of something else
        '<script>var options = { whatsapp: "+34 612 345 680", telegram: "acmeshop_bot" };</script>',
        # Chaty's non-messaging channels only
        '<script>var c = {"channels":[{"channel":"Phone","value":"+34911234567"}]};</script>',
    ],
    ids=["empty-joinchat", "other-data-settings", "no-loader", "chaty-phone-only"],
)
def test_lookalike_configuration_is_not_a_contact(body: str) -> None:
    assert _messaging(body) == {}
