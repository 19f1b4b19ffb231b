"""Chat widget fingerprints: every provider from its script src and its loader snippet."""

from __future__ import annotations

import pytest

from auditor.extract.chat import extract_chat, fingerprints, providers, required_literal
from auditor.extract.page import ParsedPage, parse_page

# Other code and the test corpus rely on exactly these slugs.
REQUIRED_SLUGS = """tawk.to smartsupp jivochat liveagent tidio crisp intercom zendesk livechat drift
hubspot freshchat olark liveperson userlike chatra zoho-salesiq facebook-customer-chat bitrix24
talk-me livetex webim redhelper carrotquest envybox yandex-messenger onicon czater sugester chatgo
ondestek infoset gorgias helpscout reamaze kustomer gladly front trengo comm100 salesforce
dynamics365 genesys botpress""".split()

UUID = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"

# slug -> (script src, account id expected from the src or None)
SRC: dict[str, tuple[str, str | None]] = {
    "tawk.to": (
        "https://embed.tawk.to/5f1a2b3c4d5e6f7a8b9c0d1e/1eabcd123",
        "5f1a2b3c4d5e6f7a8b9c0d1e/1eabcd123",
    ),
    "smartsupp": ("https://www.smartsuppchat.com/loader.js?", None),
    "jivochat": ("//code.jivosite.com/widget/AbCdEf1234", "AbCdEf1234"),
    "liveagent": ("https://acme.ladesk.com/scripts/track.js", "acme"),
    "tidio": (
        "//code.tidio.co/abcdefghijklmnopqrstuvwxyz123456.js",
        "abcdefghijklmnopqrstuvwxyz123456",
    ),
    "crisp": ("https://client.crisp.chat/l.js", None),
    "intercom": ("https://widget.intercom.io/widget/abc123de", "abc123de"),
    "zendesk": (f"https://static.zdassets.com/ekr/snippet.js?key={UUID}", UUID),
    "livechat": ("https://cdn.livechatinc.com/tracking.js", None),
    "drift": ("https://js.driftt.com/include/1700000000000/ab12cd34ef56.js", "ab12cd34ef56"),
    "hubspot": ("//js.usemessages.com/conversations-embed.js", None),
    "freshchat": ("https://wchat.freshchat.com/js/widget.js", None),
    "olark": ("https://static.olark.com/jsclient/loader.js", None),
    "liveperson": ("https://lptag.liveperson.net/tag/tag.js?site=12345678", "12345678"),
    "userlike": (
        "https://userlike-cdn-widgets.s3-eu-west-1.amazonaws.com/0123456789abcdef0123456789abcdef.js",
        "0123456789abcdef0123456789abcdef",
    ),
    "chatra": ("https://call.chatra.io/chatra.js", None),
    "zoho-salesiq": (
        "https://salesiq.zohopublic.eu/widget?wc=siq0123456789abcdef",
        "siq0123456789abcdef",
    ),
    "facebook-customer-chat": (
        "https://connect.facebook.net/en_US/sdk/xfbml.customerchat.js",
        None,
    ),
    "bitrix24": (
        "https://cdn-ru.bitrix24.ru/b1234567/crm/site_button/loader_2_abc123.js",
        "b1234567",
    ),
    "talk-me": (
        "https://lcab.talk-me.ru/support/support.js?h=0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef",
    ),
    "livetex": ("https://cs15.livetex.ru/js/client.js", None),
    "webim": ("https://acme.webim.ru/js/button.js", "acme"),
    "redhelper": ("https://web.redhelper.ru/service/main.js?c=acmeshop", "acmeshop"),
    "carrotquest": ("https://cdn.carrotquest.app/api.min.js", None),
    "envybox": (
        "https://cdn.envybox.io/widget/cbk.js?wcb_code=0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef",
    ),
    "yandex-messenger": ("https://chat.s3.yandex.net/widget.js", None),
    "onicon": (
        "https://cp.onicon.ru/loader/5a1b2c3d4e5f6a7b8c9d0e1f.js",
        "5a1b2c3d4e5f6a7b8c9d0e1f",
    ),
    "czater": ("https://www.czater.pl/assets/modules/chat/js/chat.js", None),
    "sugester": ("https://app.sugester.pl/widget.js", None),
    "chatgo": ("https://chatgo.cz/widget/chatgo.js?id=abc123", "abc123"),
    "ondestek": ("https://panel.ondestek.com/widget/loader.js", None),
    "infoset": ("https://cdn.infoset.app/chat/icw.js", None),
    "gorgias": (
        "https://config.gorgias.chat/bundle-loader/01GABCDEF0123456789ABCDEFG",
        "01GABCDEF0123456789ABCDEFG",
    ),
    "helpscout": ("https://beacon-v2.helpscout.net", None),
    "reamaze": ("https://cdn.reamaze.com/assets/reamaze.js", None),
    "kustomer": ("https://cdn.kustomerapp.com/chat-web/widget.js", None),
    "gladly": ("https://cdn.gladly.com/chat-sdk/widget.js", None),
    "front": ("https://chat-assets.frontapp.com/v1/chat.bundle.js", None),
    "trengo": ("https://static.widget.trengo.eu/embed.js", None),
    "comm100": ("https://vue.comm100.com/livechat.ashx?siteId=123456", "123456"),
    "salesforce": ("https://service.force.com/embeddedservice/5.0/esw.min.js", None),
    "dynamics365": (
        "https://oc-cdn-ocprod.azureedge.net/livechatwidget/scripts/LiveChatBootstrapper.js",
        None,
    ),
    "genesys": ("https://apps.mypurecloud.de/genesys-bootstrap/genesys.min.js", None),
    "botpress": ("https://cdn.botpress.cloud/webchat/v1/inject.js", None),
}

# slug -> (inline loader snippet, account id expected or None)
INLINE: dict[str, tuple[str, str | None]] = {
    "tawk.to": (
        """var Tawk_API=Tawk_API||{}, Tawk_LoadStart=new Date();
(function(){var s1=document.createElement("script"),s0=document.getElementsByTagName("script")[0];
s1.async=true;s1.src='https://embed.tawk.to/5f1a2b3c4d5e6f7a8b9c0d1e/default';s1.charset='UTF-8';
s1.setAttribute('crossorigin','*');s0.parentNode.insertBefore(s1,s0);})();""",
        "5f1a2b3c4d5e6f7a8b9c0d1e/default",
    ),
    "smartsupp": (
        """var _smartsupp = _smartsupp || {};
_smartsupp.key = '0123456789abcdef0123456789abcdef01234567';
window.smartsupp||(function(d) {var s,c,o=smartsupp=function(){ o._.push(arguments)};o._=[];
s=d.getElementsByTagName('script')[0];c=d.createElement('script');c.type='text/javascript';
c.charset='utf-8';c.async=true;c.src='https://www.smartsuppchat.com/loader.js?';
s.parentNode.insertBefore(c,s);})(document);""",
        "0123456789abcdef0123456789abcdef01234567",
    ),
    "jivochat": (
        """(function(){ var widget_id = 'Xy12AbCd34';var d=document;var w=window;function l(){
var s = document.createElement('script'); s.type = 'text/javascript'; s.async = true;
s.src = '//code.jivosite.com/script/widget/'+widget_id; var ss = document.getElementsByTagName('script')[0];
ss.parentNode.insertBefore(s, ss);}if(d.readyState=='complete'){l();}else{w.addEventListener('load',l,false);}})();""",
        "Xy12AbCd34",
    ),
    "liveagent": (
        """(function(d, src, c) { var t=d.scripts[d.scripts.length - 1],s=d.createElement('script');
s.id='la_x2s6df8d';s.defer=true;s.src=src;s.onload=s.onreadystatechange=function(){var rs=this.readyState;
if(rs&&(rs!='complete')&&(rs!='loaded')){return;}c(this);};t.parentElement.insertBefore(s,t.nextSibling);})
(document,'https://acme.ladesk.com/scripts/track.js',function(e){ LiveAgent.createButton('p5a7b2c1', e); });""",
        "acme",
    ),
    "tidio": (
        """(function(){var s=document.createElement('script');
s.src='//code.tidio.co/abcdefghijklmnopqrstuvwxyz123456.js';s.async=true;document.body.appendChild(s);})();""",
        "abcdefghijklmnopqrstuvwxyz123456",
    ),
    "crisp": (
        f"""window.$crisp=[];window.CRISP_WEBSITE_ID="{UUID}";(function(){{d=document;s=d.createElement("script");
s.src="https://client.crisp.chat/l.js";s.async=1;d.getElementsByTagName("head")[0].appendChild(s);}})();""",
        UUID,
    ),
    "intercom": (
        """window.intercomSettings = { api_base: "https://api-iam.intercom.io", app_id: "abc123de" };
(function(){var w=window;var ic=w.Intercom;if(typeof ic==="function"){ic('reattach_activator');
ic('update',w.intercomSettings);}else{var d=document;var i=function(){i.c(arguments);};i.q=[];
i.c=function(args){i.q.push(args);};w.Intercom=i;var l=function(){var s=d.createElement('script');
s.type='text/javascript';s.async=true;s.src='https://widget.intercom.io/widget/' + 'abc123de';
var x=d.getElementsByTagName('script')[0];x.parentNode.insertBefore(s,x);};l();}})();""",
        "abc123de",
    ),
    "zendesk": (
        """window.$zopim||(function(d,s){var z=$zopim=function(c){z._.push(c)},$=z.s=
d.createElement(s),e=d.getElementsByTagName(s)[0];z.set=function(o){z.set._.push(o)};z._=[];z.set._=[];
$.async=!0;$.setAttribute("charset","utf-8");$.src="https://v2.zopim.com/?2xYzAbCdEfGhIjKlMnOpQrStUvWx";
z.t=+new Date;$.type="text/javascript";e.parentNode.insertBefore($,e)})(document,"script");""",
        "2xYzAbCdEfGhIjKlMnOpQrStUvWx",
    ),
    "livechat": (
        """window.__lc = window.__lc || {}; window.__lc.license = 12345678;
;(function(n,t,c){function i(n){return e._h?e._h.apply(null,n):e._q.push(n)}var e={_q:[],_h:null,_v:"2.0",
init:function(){var n=t.createElement("script");n.async=!0,n.type="text/javascript",
n.src="https://cdn.livechatinc.com/tracking.js",t.head.appendChild(n)}};!n.__lc.asyncInit&&e.init(),
n.LiveChatWidget=n.LiveChatWidget||e}(window,document,[].slice))""",
        "12345678",
    ),
    "drift": (
        """"use strict"; !function() { var t = window.driftt = window.drift = window.driftt || [];
if (!t.init) { t.invoked = !0, t.methods = [ "identify", "config", "track" ], t.factory = function(e) {
return function() { var n = Array.prototype.slice.call(arguments); return n.unshift(e), t.push(n), t; }; };
t.load = function(t) { var e = 3e5, n = Math.ceil(new Date() / e) * e, o = document.createElement("script");
o.type = "text/javascript", o.async = !0, o.crossorigin = "anonymous",
o.src = "https://js.driftt.com/include/" + n + "/" + t + ".js"; }; } }();
drift.SNIPPET_VERSION = '0.3.1'; drift.load('ab12cd34ef56');""",
        "ab12cd34ef56",
    ),
    "hubspot": (
        """window.hsConversationsSettings = { loadImmediately: false };
window.HubSpotConversations.widget.load();""",
        None,
    ),
    "freshchat": (
        f"""function initFreshChat() {{ window.fcWidget.init({{ token: "{UUID}", host: "https://wchat.freshchat.com" }}); }}
function initialize(i,t){{var e;i.getElementById(t)?initFreshChat():((e=i.createElement("script")).id=t,
e.async=!0,e.src="https://wchat.freshchat.com/js/widget.js",e.onload=initFreshChat,i.head.appendChild(e))}}""",
        UUID,
    ),
    "olark": (
        """;(function(o,l,a,r,k,y){if(o.olark)return;r="script";y=l.createElement(r);r=l.getElementsByTagName(r)[0];
y.async=1;y.src="//"+a;r.parentNode.insertBefore(y,r);y=o.olark=function(){k.s.push(arguments);k.t.push(+new Date)};
y.extend=function(i,j){y("extend",i,j)};y.identify=function(i){y("identify",k.i=i)};
y.configure=function(i,j){y("configure",i,j);k.c[i]=j};k=y._={s:[],t:[+new Date],c:{},l:a};
})(window,document,"static.olark.com/jsclient/loader.js");
olark.identify('1234-567-89-0123');""",
        "1234-567-89-0123",
    ),
    "liveperson": (
        """window.lpTag=window.lpTag||{},'undefined'==typeof window.lpTag._tagCount?(window.lpTag={wl:lpTag.wl||null,
scp:lpTag.scp||null,site:'12345678'||'',section:lpTag.section||'',tagletSection:lpTag.tagletSection||null,
autoStart:lpTag.autoStart!==!1,ovr:lpTag.ovr||{},_v:'1.10.0',_tagCount:1,protocol:'https:',
events:{bind:function(t,e,i){lpTag.defer(function(){lpTag.events.bind(t,e,i)},0)}}}):window.lpTag._tagCount+=1;""",
        "12345678",
    ),
    "userlike": (
        """(function(){var s=document.createElement('script');s.async=true;
s.src='https://userlike-cdn-widgets.s3-eu-west-1.amazonaws.com/0123456789abcdef0123456789abcdef.js';
document.head.appendChild(s);})();""",
        "0123456789abcdef0123456789abcdef",
    ),
    "chatra": (
        """(function(d, w, c) { w.ChatraID = 'AbCdEfGh12345'; var s = d.createElement('script');
w[c] = w[c] || function() { (w[c].q = w[c].q || []).push(arguments); }; s.async = true;
s.src = 'https://call.chatra.io/chatra.js'; if (d.head) d.head.appendChild(s); })(document, window, 'Chatra');""",
        "AbCdEfGh12345",
    ),
    "zoho-salesiq": (
        """var $zoho=$zoho || {};$zoho.salesiq = $zoho.salesiq || {widgetcode: "siq0123456789abcdef",
values:{},ready:function(){}};var d=document;s=d.createElement("script");s.type="text/javascript";
s.id="zsiqscript";s.defer=true;s.src="https://salesiq.zoho.eu/widget";t=d.getElementsByTagName("script")[0];
t.parentNode.insertBefore(s,t);""",
        "siq0123456789abcdef",
    ),
    "facebook-customer-chat": (
        """window.fbAsyncInit = function() { FB.init({ xfbml: true, version: 'v18.0' }); };
(function(d, s, id) { var js, fjs = d.getElementsByTagName(s)[0]; if (d.getElementById(id)) return;
js = d.createElement(s); js.id = id; js.src = 'https://connect.facebook.net/hu_HU/sdk/xfbml.customerchat.js';
fjs.parentNode.insertBefore(js, fjs); }(document, 'script', 'facebook-jssdk'));
var chatbox = document.getElementById('fb-customer-chat'); chatbox.setAttribute("page_id", "123456789012345");""",
        "123456789012345",
    ),
    "bitrix24": (
        """(function(w,d,u){ var s=d.createElement('script');s.async=true;s.src=u+'?'+(Date.now()/60000|0);
var h=d.getElementsByTagName('script')[0];h.parentNode.insertBefore(s,h);
})(window,document,'https://cdn-ru.bitrix24.ru/b1234567/crm/site_button/loader_2_abc123.js');""",
        "b1234567",
    ),
    "talk-me": (
        """(function(d, w, m) { window.supportAPIMethod = m; var s = d.createElement('script');
s.type ='text/javascript'; s.id = 'supportScript'; s.charset = 'utf-8'; s.async = true;
var id = '0123456789abcdef0123456789abcdef'; s.src = 'https://lcab.talk-me.ru/support/support.js?h='+id;
var sc = d.getElementsByTagName('script')[0]; w[m] = w[m] || function() { (w[m].q = w[m].q || []).push(arguments); };
if (sc) sc.parentNode.insertBefore(s, sc); else d.documentElement.firstChild.appendChild(s); })(document, window, 'TalkMe');""",
        None,
    ),
    "livetex": (
        """window['liveTex'] = true, window['liveTexID'] = 123456, window['liveTex_object'] = true;
(function() { var t = document['createElement']('script'); t.type ='text/javascript'; t.async = true;
t.src = '//cs15.livetex.ru/js/client.js'; var c = document['getElementsByTagName']('script')[0];
if ( c ) c['parentNode']['insertBefore'](t, c); else document['documentElement']['firstChild']['appendChild'](t); })();""",
        "123456",
    ),
    "webim": (
        """webim = { accountName: "acme", domain: "acme.webim.ru", location: "default" };
(function () { var s = document.createElement("script"); s.type = "text/javascript";
s.src = "https://acme.webim.ru/js/button.js"; document.getElementsByTagName("head")[0].appendChild(s); })();""",
        "acme",
    ),
    "redhelper": (
        """(function(){var s=document.createElement('script');s.id='rhlpscrtg';s.charset='utf-8';s.async=true;
s.src='https://web.redhelper.ru/service/main.js?c=acmeshop';document.head.appendChild(s);})();""",
        "acmeshop",
    ),
    "carrotquest": (
        """!function(){function t(t,e){return function(){window.carrotquestasync.push(t,arguments)}}
if("undefined"==typeof carrotquest){var e=document.createElement("script");e.type="text/javascript",e.async=!0,
e.src="https://cdn.carrotquest.app/api.min.js",document.getElementsByTagName("head")[0].appendChild(e),
window.carrotquest={},window.carrotquestasync=[],carrotquest.settings={};}}();
carrotquest.connect('12345-abcdef0123456789');""",
        "12345-abcdef0123456789",
    ),
    "envybox": (
        """(function(){var s=document.createElement('script');s.charset='UTF-8';
s.src='https://cdn.envybox.io/widget/cbk.js?wcb_code=0123456789abcdef0123456789abcdef';
document.head.appendChild(s);})();""",
        "0123456789abcdef0123456789abcdef",
    ),
    "yandex-messenger": (
        """window.yandexChatWidget = window.yandexChatWidget || {}; (function(){var s=document.createElement('script');
s.src='https://chat.s3.yandex.net/widget.js';document.body.appendChild(s);})();""",
        None,
    ),
    "onicon": (
        """(function(w,d,n){var s=d.createElement('script');s.async=true;
s.src='//cp.onicon.ru/loader/5a1b2c3d4e5f6a7b8c9d0e1f.js';d.head.appendChild(s);})(window,document);""",
        "5a1b2c3d4e5f6a7b8c9d0e1f",
    ),
    "czater": (
        """window.$czaterMethods = {}; (function(d, s, id) { var cztr = d.createElement(s); cztr.id = id;
cztr.src = 'https://www.czater.pl/assets/modules/chat/js/chat.js'; d.head.appendChild(cztr);
})(document, 'script', 'czater-jssdk');""",
        None,
    ),
    "sugester": (
        """var SUGESTER = SUGESTER || {}; SUGESTER.ACCOUNT_ID = 'acme'; var sugesterChatOptions = {position: 'right'};""",
        "acme",
    ),
    "chatgo": (
        """(function(){var s=document.createElement('script');s.src='https://chatgo.cz/widget/chatgo.js?id=abc123';
document.body.appendChild(s);})();""",
        "abc123",
    ),
    "ondestek": (
        """window.$ondestek = window.$ondestek || []; (function(){var s=document.createElement('script');
s.src='https://panel.ondestek.com/widget/loader.js';document.head.appendChild(s);})();""",
        None,
    ),
    "infoset": (
        """window.InfosetChat = window.InfosetChat || function(){(InfosetChat.q=InfosetChat.q||[]).push(arguments)};
InfosetChat('boot');""",
        None,
    ),
    "gorgias": (
        """window.GorgiasChat = window.GorgiasChat || {}; (function(){var s=document.createElement('script');
s.id='gorgias-chat-widget-install-v3';s.src='https://config.gorgias.chat/bundle-loader/01GABCDEF0123456789ABCDEFG';
document.body.appendChild(s);})();""",
        "01GABCDEF0123456789ABCDEFG",
    ),
    "helpscout": (
        f"""!function(e,t,n){{function a(){{var e=t.getElementsByTagName("script")[0],n=t.createElement("script");
n.type="text/javascript",n.async=!0,n.src="https://beacon-v2.helpscout.net",e.parentNode.insertBefore(n,e)}}
if(e.Beacon=n=function(t,n,a){{e.Beacon.readyQueue.push({{method:t,options:n,data:a}})}},n.readyQueue=[],
"complete"===t.readyState)return a();e.attachEvent?e.attachEvent("onload",a):e.addEventListener("load",a,!1)}}
(window,document,window.Beacon||function(){{}});
window.Beacon('init', '{UUID}')""",
        UUID,
    ),
    "reamaze": (
        """var _support = _support || { 'ui': {}, 'user': {} }; _support['account'] = 'acme';
_support['ui']['contactMode'] = 'default'; _support['ui']['enableKb'] = 'true';""",
        "acme",
    ),
    "kustomer": (
        """window.addEventListener('kustomerLoaded', function() { Kustomer.start({ brandId: '0123456789abcdef01234567' }); });
var script = document.createElement('script'); script.src = 'https://cdn.kustomerapp.com/chat-web/widget.js';
document.body.appendChild(script);""",
        "0123456789abcdef01234567",
    ),
    "gladly": (
        """!function(c,n,r,t){if(!c[r]){var i,d,p=[];d="PROD"!==t&&t?"STAGING"===t?
"https://cdn.gladly.qa/gladly/chat-sdk/widget.js":t:"https://cdn.gladly.com/chat-sdk/widget.js";
c[r]={init:function(){i=arguments;var e={then:function(t){return p.push({type:"t",next:t}),e}};return e}}}}
(window,document,"Gladly","PROD"); window.gladlyConfig = { appId: 'acme.com' }; Gladly.init({ appId: 'acme.com' });""",
        "acme.com",
    ),
    "front": (
        """window.FrontChat('init', {chatId: '0123456789abcdef0123456789abcdef', useDefaultLauncher: true});""",
        "0123456789abcdef0123456789abcdef",
    ),
    "trengo": (
        """window.Trengo = window.Trengo || {}; window.Trengo.key = 'AbCdEf123';
(function(d, script, t) { script = d.createElement('script'); script.type = 'text/javascript'; script.async = true;
script.src = 'https://static.widget.trengo.eu/embed.js'; d.getElementsByTagName('head')[0].appendChild(script);
}(document));""",
        "AbCdEf123",
    ),
    "comm100": (
        """var Comm100API=Comm100API||{};(function(t){function e(e){var a=document.createElement("script"),
c=document.getElementsByTagName("script")[0];a.type="text/javascript",a.async=!0,a.src=e+t.site_id,
c.parentNode.insertBefore(a,c)}t.chat_buttons=t.chat_buttons||[],
t.chat_buttons.push({code_plan:"abcdef01-2345",div_id:"comm100-button-abcdef01"}),t.site_id=123456,
t.main_code_plan="abcdef01-2345",e("https://vue.comm100.com/livechat.ashx?siteId=")})(Comm100API||{})""",
        "123456",
    ),
    "salesforce": (
        """var initESW = function(gslbBaseURL) { embedded_svc.settings.displayHelpButton = true;
embedded_svc.init('https://acme.my.salesforce.com', 'https://acme.my.site.com/liveAgentSetupFlow', gslbBaseURL,
'00D5g000001abcD', 'Chat_Team', { baseLiveAgentContentURL: 'https://c.la1-core1.sfdc-abc.salesforceliveagent.com/content',
deploymentId: '5725g000000AbCd', buttonId: '5735g000000AbCd' }); };""",
        "00D5g000001abcD",
    ),
    "dynamics365": (
        """(function(){var s=document.createElement('script');s.id='Microsoft_Omnichannel_LCWidget';
s.src='https://oc-cdn-ocprod.azureedge.net/livechatwidget/scripts/LiveChatBootstrapper.js';
s.setAttribute('data-app-id','"""
        + UUID
        + """');document.body.appendChild(s);})();""",
        UUID,
    ),
    "genesys": (
        f"""(function (g, e, n, es, ys) {{ g['_genesysJs'] = e; g[e] = g[e] || function () {{
(g[e].q = g[e].q || []).push(arguments) }}; g[e].t = 1 * new Date(); g[e].c = es;
ys = document.createElement('script'); ys.async = 1; ys.src = n; ys.charset = 'utf-8';
document.head.appendChild(ys); }})(window, 'Genesys', 'https://apps.mypurecloud.de/genesys-bootstrap/genesys.min.js',
{{ environment: 'prod-euc1', deploymentId: '{UUID}' }});""",
        UUID,
    ),
    "botpress": (
        f"""window.botpressWebChat.init({{ composerPlaceholder: "Chat with us", botId: '{UUID}',
hostUrl: 'https://cdn.botpress.cloud/webchat/v1', messagingUrl: 'https://messaging.botpress.cloud' }});""",
        UUID,
    ),
}


def _page(body: str, url: str = "https://www.example.hu/") -> ParsedPage:
    return parse_page(
        f"<html><head><title>t</title></head><body><p>Hello</p>{body}</body></html>", url
    )


def _only(points: list, slug: str):  # type: ignore[no-untyped-def]
    found = [p for p in points if p.value == slug]
    assert len(found) == 1, [p.value for p in points]
    return found[0]


def test_data_file_has_every_required_slug() -> None:
    slugs = [p.slug for p in fingerprints().providers]
    assert len(slugs) == len(set(slugs))
    assert set(REQUIRED_SLUGS) <= set(slugs)
    assert len(slugs) >= 44


def test_tables_cover_every_provider() -> None:
    assert set(SRC) == set(REQUIRED_SLUGS)
    assert set(INLINE) == set(REQUIRED_SLUGS)


@pytest.mark.parametrize("slug", REQUIRED_SLUGS)
def test_detected_from_script_src(slug: str) -> None:
    src, account = SRC[slug]
    points = extract_chat(_page(f'<script async src="{src}"></script>'))
    point = _only(points, slug)
    assert point.kind == "chat" and point.method == "widget-script" and point.label is None
    assert point.details["evidence"] == "script-src"
    assert point.details["provider"] == providers()[slug].name
    assert point.raw.rstrip("?").endswith(src.split("//", 1)[1].rstrip("?"))
    assert point.details.get("account_id") == account
    assert point.page_url == "https://www.example.hu/"


@pytest.mark.parametrize("slug", REQUIRED_SLUGS)
def test_detected_from_inline_loader(slug: str) -> None:
    snippet, account = INLINE[slug]
    points = extract_chat(_page(f'<script type="text/javascript">{snippet}</script>'))
    point = _only(points, slug)
    assert point.details["evidence"] == "inline"
    assert point.details.get("account_id") == account
    assert point.context and len(point.context) <= 200


def test_inline_url_is_reported_whole() -> None:
    snippet, _ = INLINE["tawk.to"]
    point = _only(extract_chat(_page(f"<script>{snippet}</script>")), "tawk.to")
    assert point.raw == "https://embed.tawk.to/5f1a2b3c4d5e6f7a8b9c0d1e/default"


def test_src_beats_inline_and_one_point_per_provider() -> None:
    src, _ = SRC["crisp"]
    snippet, _ = INLINE["crisp"]
    points = extract_chat(_page(f'<script>{snippet}</script><script src="{src}"></script>'))
    point = _only(points, "crisp")
    assert point.details["evidence"] == "script-src"
    assert point.details["account_id"] == UUID  # found in the inline snippet
    assert len(points) == 1


def test_several_providers_on_one_page() -> None:
    body = "".join(
        f'<script src="{SRC[s][0]}"></script>' for s in ("tidio", "jivochat", "bitrix24")
    )
    assert sorted(p.value for p in extract_chat(_page(body))) == ["bitrix24", "jivochat", "tidio"]


@pytest.mark.parametrize(
    "body",
    [
        "<p>Our ships drift with a crisp breeze; press the intercom button at the gate.</p>",
        '<div class="drift crisp intercom">Drift</div><span id="crisp">x</span>',
        "<script>var drift = 0.5; function crisp(x){return x} var intercom = true; el.classList.add('drift');</script>",
        "<script>var config = {chat: 'livechat', support: 'tidio'};</script>",
        '<a href="https://www.drift.com/">Drift</a> <a href="https://crisp.chat/en/">Crisp</a>'
        '<a href="https://www.intercom.com/">Intercom</a> <a href="https://www.tidio.com/">Tidio</a>',
        '<script src="https://connect.facebook.net/en_US/sdk.js"></script>',
        '<link rel="stylesheet" href="/css/drift.css">',
    ],
)
def test_prose_and_lookalikes_do_not_match(body: str) -> None:
    assert extract_chat(_page(body)) == []


def test_dead_facebook_chat_is_flagged_from_markup() -> None:
    body = '<div id="fb-root"></div><div class="fb-customerchat" attribution="setup_tool" page_id="123456789012"></div>'
    point = _only(extract_chat(_page(body)), "facebook-customer-chat")
    assert point.details["dead-provider"] is True
    assert point.details["dead_since"] == "2024-05-09"
    assert point.details["evidence"] == "dom"
    assert point.details["account_id"] == "123456789012"


def test_dead_flag_only_on_dead_providers() -> None:
    src, _ = SRC["facebook-customer-chat"]
    point = _only(extract_chat(_page(f'<script src="{src}"></script>')), "facebook-customer-chat")
    assert point.details["dead-provider"] is True
    live = _only(extract_chat(_page(f'<script src="{SRC["tidio"][0]}"></script>')), "tidio")
    assert "dead-provider" not in live.details


def test_hubspot_tracking_loader_is_weak_evidence() -> None:
    weak = _only(
        extract_chat(
            _page(
                '<script id="hs-script-loader" async src="//js.hs-scripts.com/1234567.js"></script>'
            )
        ),
        "hubspot",
    )
    assert weak.details.get("weak") is True and weak.confidence < 0.5
    assert weak.details["account_id"] == "1234567"
    strong = _only(extract_chat(_page(f'<script src="{SRC["hubspot"][0]}"></script>')), "hubspot")
    assert "weak" not in strong.details and strong.confidence > 0.9
    both = _only(
        extract_chat(
            _page(
                '<script src="//js.hs-scripts.com/1234567.js"></script>'
                "<script>window.HubSpotConversations.widget.load();</script>"
            )
        ),
        "hubspot",
    )
    assert "weak" not in both.details and both.details["account_id"] == "1234567"


def test_script_attributes_count_as_evidence() -> None:
    body = (
        '<script id="Microsoft_Omnichannel_LCWidget" src="https://example.com/lcw.js" '
        f'data-app-id="{UUID}" data-org-url="https://org.crm4.dynamics.com"></script>'
    )
    point = _only(extract_chat(_page(body)), "dynamics365")
    assert point.details["account_id"] == UUID


@pytest.mark.parametrize(
    ("body", "slug", "account"),
    [
        (
            '<a href="https://tawk.to/chat/5f1a2b3c4d5e6f7a8b9c0d1e/default">Chat</a>',
            "tawk.to",
            "5f1a2b3c4d5e6f7a8b9c0d1e/default",
        ),
        ('<a href="https://direct.lc.chat/12345678/">Chat with us</a>', "livechat", "12345678"),
        (
            '<noscript><a href="https://www.livechat.com/chat-with/12345678/" rel="nofollow">'
            "Chat with us</a></noscript>",
            "livechat",
            "12345678",
        ),
        (
            '<iframe src="https://tawk.to/chat/5f1a2b3c4d5e6f7a8b9c0d1e/default"></iframe>',
            "tawk.to",
            None,
        ),
        ('<div id="tidio-chat"></div>', "tidio", None),
        ('<div class="b24-widget-button-wrapper"></div>', "bitrix24", None),
        ('<div id="comm100-button-abcdef01"></div>', "comm100", None),
        ("<jdiv></jdiv>", "jivochat", None),
    ],
)
def test_dom_and_direct_links(body: str, slug: str, account: str | None) -> None:
    point = _only(extract_chat(_page(body)), slug)
    assert point.details["evidence"] == "dom"
    if account:
        assert point.details["account_id"] == account


def test_config_url_filled_from_account() -> None:
    point = _only(extract_chat(_page(f'<script src="{SRC["tidio"][0]}"></script>')), "tidio")
    assert (
        point.details["config_url"] == "https://code.tidio.co/abcdefghijklmnopqrstuvwxyz123456.js"
    )


def test_required_literal() -> None:
    assert required_literal(r"embed\.tawk\.to/") == "embed.tawk.to/"
    assert required_literal(r"[a-z0-9-]+\.ladesk\.com/") == ".ladesk.com/"
    assert required_literal(r"wchat(?:\.[a-z]{2,3})?\.freshchat\.com/") == ".freshchat.com/"
    assert required_literal(r"\bIntercom\s*\(") == "Intercom"
    assert required_literal(r"[\x27\"]TalkMe[\x27\"]") == "TalkMe"
    assert required_literal(r"a|b") == ""
    assert required_literal(r"abcd?ef") == "abc"


def test_large_page_without_a_widget_gives_nothing() -> None:
    filler = "function a(b){return b+1};var x={drift:1,crisp:2,zE:3,intercom:4};" * 4000
    body = "".join(
        f"<div id='d{i}' class='row c{i % 9}'><p>Item {i}</p></div>" for i in range(3000)
    )
    page = _page(f"{body}<script>{filler}</script><script>{filler}</script>")
    assert extract_chat(page) == []
