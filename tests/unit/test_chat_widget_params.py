"""The ids a provider's public status check needs are read from the page's own loader.

Salesforce's legacy Chat (Live Agent) button code names the chat URL, deployment and
org in ``liveagent.init`` and each button in ``showWhenOnline`` and the button
elements' ids; Embedded Service names them in ``embedded_svc.init``'s settings;
LiveChat names the widget's group in ``__lc.group``. Each shape goes through the real
extractor; the contact point carries the ids in ``details["widget_params"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.extract import extract_page

URL = "https://www.example.de/kontakt"

LIVE_AGENT = """
<a id="liveagent_button_online_5731t000000sYQh" href="javascript://Chat" style="display: none;"
   onclick="liveagent.startChat('5731t000000sYQh')">Chat with us</a>
<div id="liveagent_button_offline_5731t000000sYQh" style="display: none;">We are offline</div>
<script type="text/javascript">
if (!window._laq) { window._laq = []; }
window._laq.push(function(){liveagent.showWhenOnline('5731t000000sYQh', document.getElementById('liveagent_button_online_5731t000000sYQh'));
liveagent.showWhenOffline('5731t000000sYQh', document.getElementById('liveagent_button_offline_5731t000000sYQh'));
});</script>
<script type='text/javascript' src='https://c.la1-c1-fra.salesforceliveagent.com/content/g/js/48.0/deployment.js'></script>
<script type='text/javascript'>
liveagent.init('https://d.la1-c1-fra.salesforceliveagent.com/chat', '5721t000000sYQD', '00D1t000000xCYw');
</script>
"""

EMBEDDED = """
<script type='text/javascript' src='https://service.force.com/embeddedservice/5.0/esw.min.js'></script>
<script type='text/javascript'>
var initESW = function(gslbBaseURL) {
  embedded_svc.settings.displayHelpButton = true;
  embedded_svc.init('https://acme.my.salesforce.com', 'https://acme.my.site.com/liveAgentSetupFlow', gslbBaseURL,
    '00D5g000001abcD', 'Chat_Team', { baseLiveAgentContentURL: 'https://c.la1-c2-ia2.salesforceliveagent.com/content',
    deploymentId: '5725g000000XyZa', buttonId: '5735g000000AbCd',
    baseLiveAgentURL: 'https://d.la1-c2-ia2.salesforceliveagent.com/chat',
    eswLiveAgentDevName: 'EmbeddedServiceLiveAgent_Parent04I5g000000AbCd', isOfflineSupportEnabled: false });
};
</script>
"""

LIVECHAT = """
<script>
window.__lc = window.__lc || {};
window.__lc.license = 12345678;
window.__lc.group = 2;
;(function(n,t,c){function i(n){return e._h?e._h.apply(null,n):e._q.push(n)}var e={_q:[],_h:null,_v:"2.0",
on:function(){i(["on",c.call(arguments)])},init:function(){var n=t.createElement("script");n.async=!0,
n.type="text/javascript",n.src="https://cdn.livechatinc.com/tracking.js",t.head.appendChild(n)}};
!n.__lc.asyncInit&&e.init(),n.LiveChatWidget=n.LiveChatWidget||e}(window,document,[].slice))
</script>
"""


def _chat(body: str, slug: str) -> Mapping[str, Any]:
    found = {p.value: p.details for p in extract_page(f"<html><body>{body}</body></html>", URL) if p.kind == "chat"}
    assert set(found) == {slug}
    return found[slug]


def test_legacy_live_agent_button_code() -> None:
    details = _chat(LIVE_AGENT, "salesforce")
    assert details["account_id"] == "00D1t000000xCYw"
    assert details["widget_params"] == {
        "live_agent_url": "https://d.la1-c1-fra.salesforceliveagent.com/chat",
        "deployment_id": "5721t000000sYQD",
        "button_ids": "5731t000000sYQh",
    }


def test_every_button_on_the_page_is_asked_about() -> None:
    second = LIVE_AGENT.replace("5731t000000sYQh", "5731t000000sYQi").split("<script type='text/javascript' src=")[0]
    details = _chat(LIVE_AGENT + second, "salesforce")
    assert details["widget_params"]["button_ids"] == "5731t000000sYQh,5731t000000sYQi"


def test_embedded_service_settings() -> None:
    details = _chat(EMBEDDED, "salesforce")
    assert details["account_id"] == "00D5g000001abcD"
    assert details["widget_params"] == {
        "live_agent_url": "https://d.la1-c2-ia2.salesforceliveagent.com/chat",
        "deployment_id": "5725g000000XyZa",
        "button_ids": "5735g000000AbCd",
    }


def test_a_chat_url_outside_salesforce_is_not_taken() -> None:
    """The status request goes to Salesforce's own chat hosts, never to a URL a page names."""
    details = _chat(LIVE_AGENT.replace("d.la1-c1-fra.salesforceliveagent.com", "evil.example.org"), "salesforce")
    assert "live_agent_url" not in details["widget_params"]


def test_the_button_markup_alone_is_salesforce() -> None:
    markup = LIVE_AGENT.split("<script")[0]
    details = _chat(markup, "salesforce")
    assert details["widget_params"] == {"button_ids": "5731t000000sYQh"}


def test_livechat_group() -> None:
    details = _chat(LIVECHAT, "livechat")
    assert details["account_id"] == "12345678"
    assert details["widget_params"] == {"group": "2"}
    without = _chat(LIVECHAT.replace("window.__lc.group = 2;", ""), "livechat")
    assert "widget_params" not in without
