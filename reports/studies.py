"""Published audits of companies' contact points, cited on the methodology page.

Figures are as published (some via secondary pages); sources are named as the
reference notes name them, as text: the report links to no other host.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Study:
    name: str
    sample: str
    measure: str
    headline: str
    source: str


EMAIL_STUDIES: tuple[Study, ...] = (
    Study("SuperOffice Customer Service Benchmark 2018",
          "1,000 companies; one email asking two simple questions",
          "acknowledgements (auto-replies), replies and answers counted apart",
          "62 % never replied; 10 % sent an automatic acknowledgement; average reply time "
          "12 h 10 min; slowest over 8 days",
          "superoffice.co.uk/resources/articles/customer-service-response-times; toistersolutions.com blog"),
    Study("Hornstein Associates, yearly 2001-2010", "38-49 admired US firms; one-sentence email",
          "only a real answer",
          "answered within 24 h: 63 % (2002) → 31 % (2008); answered at all: 86 % → 51 %",
          "4hoteliers.com"),
    Study("Eptica US 2015",
          "500 US retailers; 10 routine questions by web, email, Twitter, Facebook, chat",
          "an accurate answer",
          "email 73 % answered, avg 7 h 51 min; chat answered by 35 % though 51 % advertised it, "
          "avg 4 min 28 s",
          "econtentmag.com"),
    Study("Jupiter Research 2005", "255 US sites", "—",
          "41 % sent an auto-acknowledgement; 45 % resolved within 24 h; 39 % took ≥ 3 days or never",
          "destinationcrm.com"),
    Study("Strike Force Sales (AU)", "~460 queries", "answer within 7 days",
          "59 % did not answer; 49 % of auto-acknowledgers never followed up", "itnews.com.au"),
    Study("Consumer expectations (Toister surveys 2015-2020)", "1,000-3,200 adults", "—",
          "a 1-hour reply meets ~88-89 % of customers; 15 minutes is \"world-class\"",
          "toistersolutions.com"),
)

PHONE_CHAT_STUDIES: tuple[Study, ...] = (
    Study("Polish helpline study", "published helpline numbers of Polish companies called", "—",
          "over half of the published numbers inactive; 24/7 lines only ~10 % of all; most lines "
          "open Mon-Fri; sectors: trade > 30 %, banks and insurers < 20 %, telecoms 9 %",
          "cited in a Polish article on hotlines"),
    Study("Dutch live-chat studies 2014 / 2015 / 2016",
          "108 / 163 / 135 sites advertising chat; tested day, evening, weekend; 5-minute cutoff", "—",
          "chat offline in daytime 42 % / 37 % / 27 %; offline at weekends 88 % / 70 % / 72 %; "
          "mean wait 44 / 51 / 41 s",
          "digitalcustomercare.eu"),
    Study("Gazeta.pl hotline ranking (PL)",
          "21 firms, 3 calls each, 13:00-15:00; time through the menu to a live agent", "—",
          "average wait from 22 s to 9 min 19 s", "Gazeta.pl"),
    Study("Expertise.com 2020-21", "41,293 first calls to businesses during business hours", "—",
          "60.5 % answered on the first attempt", "expertise.com"),
)

BENCHMARK_SOURCES: dict[str, str] = {
    "hu-guide": "Reaction-time expectations by industry, Hungarian customer-service guide "
                "(technology 1-2 h, banking 2-4 h, retail 1-3 h, travel 3-6 h, online games 1-2 h)",
    "toister+hornstein": "1 h meets ~88-89 % of customers (Toister surveys 2015-2020); 24 h is the "
                         "yardstick of the Hornstein Associates audits 2001-2010",
}
