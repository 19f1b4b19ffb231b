"""Messaging links form by form: each platform's canonical value and account, and near misses."""

from __future__ import annotations

import pytest

from auditor.extract.messaging import Deeplink, classify


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        # WhatsApp: 7 to 15 digits
        ("https://wa.me/3620123", Deeplink("whatsapp", "https://wa.me/3620123", "3620123")),
        ("https://wa.me/362012", None),
        ("https://wa.me/361234567890123", Deeplink("whatsapp", "https://wa.me/361234567890123",
                                                   "361234567890123")),
        ("https://wa.me/3612345678901234", None),
        ("whatsapp://send?text=hi&phone=%2B36201234567",
         Deeplink("whatsapp", "https://wa.me/36201234567", "36201234567")),
        ("https://api.whatsapp.com/send?phone=36201234567&phone=36309999999",
         Deeplink("whatsapp", "https://wa.me/36201234567", "36201234567")),  # the first one counts
        ("https://api.whatsapp.com/send?text=a=b&phone=36201234567",
         Deeplink("whatsapp", "https://wa.me/36201234567", "36201234567")),
        ("https://api.whatsapp.com/send?=x&phone=36201234567",
         Deeplink("whatsapp", "https://wa.me/36201234567", "36201234567")),
        # Telegram app links
        ("tg://resolve?domain=AcmeSupport", Deeplink("telegram", "https://t.me/acmesupport", "acmesupport")),
        ("tg://join?invite=AbCdEf123", Deeplink("telegram", "https://t.me/+AbCdEf123", "+AbCdEf123")),
        ("tg://resolve?invite=AbCdEf123", None),
        ("tg://join?domain=AcmeSupport", None),
        ("tg://join", None),
        ("tg://msg?invite=AbCdEf123", None),
        # Messenger
        ("https://m.me/j/AbCdEf", Deeplink("messenger", "https://m.me/j/AbCdEf", "j/AbCdEf")),
        ("https://m.me/j/AbCdEf/extra", Deeplink("messenger", "https://m.me/j/AbCdEf", "j/AbCdEf")),
        ("https://m.me/j", None),
        ("https://www.messenger.com/t/AcmePage", Deeplink("messenger", "https://m.me/acmepage", "acmepage")),
        ("https://www.messenger.com/t", None),
        # Skype: chat actions open a conversation, anything else places a call
        ("skype:acme.support?chat", Deeplink("skype", "skype:acme.support?chat", "acme.support")),
        ("skype://acme.support?call", Deeplink("skype", "skype:acme.support?call", "acme.support")),
        ("skype:acme.support", Deeplink("skype", "skype:acme.support?call", "acme.support")),
        ("skype:acme.support?add=1&topic=x", Deeplink("skype", "skype:acme.support?chat", "acme.support")),
        ("skype:acme.support?userinfo=a=b", Deeplink("skype", "skype:acme.support?chat", "acme.support")),
        ("skype:acme.support?call&chat", Deeplink("skype", "skype:acme.support?call", "acme.support")),
        ("skype:acme.support/?chat", Deeplink("skype", "skype:acme.support/?chat", "acme.support/")),
        ("skype:%20acme%20?chat", Deeplink("skype", "skype:acme?chat", "acme")),
        ("skype:", None),
        ("skype:?chat", None),
        ("skype:///?chat", None),
    ],
)
def test_link_forms(href: str, expected: Deeplink | None) -> None:
    assert classify(href) == expected
