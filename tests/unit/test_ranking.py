"""Link ranking: multilingual keywords, encoded slugs, position, things to avoid."""

import pytest

from auditor.harvest.links import fold, link_score


@pytest.mark.parametrize(
    ("url", "anchor"),
    [
        ("https://x.hu/kapcsolat", ""),
        ("https://x.hu/el%C3%A9rhet%C5%91s%C3%A9g", ""),
        ("https://x.hu/x", "Ügyfélszolgálat"),
        ("https://x.de/impressum", ""),
        ("https://x.pl/obsluga-klienta", ""),
        ("https://x.com.tr/iletisim", ""),
        ("https://x.com.tr/x", "İletişim"),
        ("https://x.ru/%D0%BA%D0%BE%D0%BD%D1%82%D0%B0%D0%BA%D1%82%D1%8B", ""),
        ("https://x.com.ua/x", "Контакти"),
        ("https://x.fr/nous-contacter", ""),
        ("https://x.it/contatti", ""),
        ("https://x.es/contacto", ""),
        ("https://x.nl/klantenservice", ""),
        ("https://x.cz/kontakty", ""),
        ("https://x.ro/contact", ""),
    ],
)
def test_contact_pages_score_high(url: str, anchor: str) -> None:
    assert link_score(url, anchor) >= 1.0


def test_order_and_position() -> None:
    contact = link_score("https://x.hu/kapcsolat", "Kapcsolat", "footer")
    support = link_score("https://x.hu/segitseg", "Segítség")
    about = link_score("https://x.hu/rolunk", "Rólunk")
    product = link_score("https://x.hu/termek/123", "Cipő")
    assert contact > support > about > product == 0.0
    assert link_score("https://x.hu/kapcsolat", "", "footer") > link_score("https://x.hu/kapcsolat", "")


def test_downloads_and_carts_are_skipped() -> None:
    assert link_score("https://x.de/kontakt.pdf", "Kontakt") < 0
    assert link_score("https://x.de/cart", "Kontakt") < 0
    assert link_score("https://x.de/login?next=/kontakt") < 0


def test_fold_handles_letters_nfkd_keeps() -> None:
    assert fold("Obsługa-Klienta") == " obsluga klienta "
    assert fold("İletişim") == " iletisim "
