"""One confidence scale for every extractor: how sure a found value is a working contact point.

Each level is named by the evidence that earns it, so two extractors that see evidence
of the same strength give the same number; an extractor maps its methods onto these
levels and never writes a number of its own. Phones found in prose build their
confidence from :data:`TEXT_BASE` up by the signs around the number (a label, a ``+``,
grouped digits) and down when the region was guessed.
"""

from __future__ import annotations

from typing import Final

CERTAIN: Final = 1.0  # a link that names the account itself (a messaging deep link)
MACHINE: Final = 0.95  # written for machines: tel:/mailto: links, JSON-LD, a chat script's src
STRUCTURED: Final = 0.9  # marked up or decoded exactly: microdata, an inline chat snippet, hours per day
PLAIN: Final = 0.85  # written out plainly in the page's text (or as HTML entities)
LIKELY: Final = 0.8  # a recognised convention: "name [at] host", an always-open phrase, a form without email
GUESS: Final = 0.7  # a guess from markup or a loose spelling: a chat widget's element, "name at host dot com"
WEAK: Final = 0.6  # a loose guess: a lone "name at host", hours without days
HINT: Final = 0.4  # a hint only: a weak chat fingerprint

# phones in prose: a base and the signs that raise or lower it (clamped to 0..1)
TEXT_BASE: Final = 0.45
TEXT_NAMED: Final = 0.2  # a phone word or label before the number
TEXT_INTERNATIONAL: Final = 0.1  # written with + or 00
TEXT_GROUPED: Final = 0.1  # digits grouped as the country writes them
GUESSED_REGION_PENALTY: Final = 0.25  # region taken from the language of a label word

LEVELS: Final = (CERTAIN, MACHINE, STRUCTURED, PLAIN, LIKELY, GUESS, WEAK, HINT)
