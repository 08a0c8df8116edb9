"""Entity mentions: which names a document mentions, and where (character spans).

Three sources, in order of trust:
- a list the user gives (`--entities FILE`: one entity per line, aliases after `|`), matched as
  whole words; every alias resolves to the line's first name;
- a metadata field naming each document's entities (`--entity-field F`), matched the same way;
- automatic detection (on unless turned off): runs of capitalised words, titles and particles
  included ("M. de Villefort", "Château d’If"), keyed by the name without male titles and leading
  particles ("Villefort"); female titles stay part of the name ("Madame Danglars" is not
  "Danglars"). Each mention records whether it opens a sentence, where any word is capitalised:
  a name counts as an entity once it is seen capitalised inside a sentence at least
  MIN_EVIDENCE times (browse time, `entities.py`), which drops "Yes", "There" and their kind.

No model is involved: detection runs on the text before encoding; each mention's emotion comes
from the document's own forward pass (encoder/joint.py).
"""
from __future__ import annotations

import bisect
import dataclasses
import re
from pathlib import Path
from typing import Any

from hyperamy.entities.names import MentionSettings, alias_pattern, field_names, fold

MIN_EVIDENCE = 2  # mentions inside a sentence before an automatically found name counts as an entity
MAX_WORDS = 6  # longest name a run of capitalised words may form

# Titles dropped from a name's key ("M. de Villefort" -> "Villefort"); female ones are kept, as
# in the novels they name another person ("Madame de Villefort").
DROPPED_TITLES = {
    "m.", "mm.", "mr.", "mr", "monsieur", "messieurs", "sir", "signor", "signore", "don", "señor", "herr",
    "captain", "major", "general", "colonel", "lieutenant", "commander", "sergeant", "corporal", "admiral",
    "baron", "count", "viscount", "vicomte", "marquis", "duke", "prince", "lord", "dr.", "doctor",
    "abbé", "abbe", "father", "brother", "saint", "st.", "king", "emperor", "professor", "prof.", "minister",
    "cardinal", "pope", "judge", "president", "governor", "inspector", "mayor",
}
KEPT_TITLES = {"madame", "mme.", "mme", "mademoiselle", "mlle.", "mlle", "mrs.", "mrs", "miss", "ms.", "lady",
               "countess", "baroness", "marquise", "duchess", "princess", "signora", "signorina", "queen",
               "empress", "sister", "mother", "dame", "frau", "señora"}
PARTICLES = {"de", "d’", "d'", "du", "des", "la", "le", "di", "da", "del", "della", "von", "van", "der", "of",
             "y", "l’", "l'"}
# Capitalised words that are not names of people or places, whatever their frequency.
NOT_NAMES = {
    "i", "i’m", "i'm", "i’ll", "i'll", "i’d", "i'd", "i’ve", "i've", "god", "heaven", "heavens", "providence",
    "lord’s", "chapter", "volume", "contents", "book", "part", "the", "a", "an", "and", "but", "or", "oh", "ah",
    "alas", "yes", "no", "well", "now", "then", "there", "here", "this", "that", "what", "why", "how", "who",
    "when", "where", "which", "it", "he", "she", "we", "you", "they", "his", "her", "my", "your", "our", "their",
    "mon", "dieu", "ma", "foi", "pardieu", "parbleu", "eh", "hum", "o", "ay", "amen",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
    "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
    "french", "frenchman", "frenchmen", "english", "englishman", "englishmen", "italian", "italians",
    "spanish", "spaniard", "greek", "greeks", "turkish", "turk", "turks", "arab", "arabs", "arabian",
    "roman", "romans", "german", "germans", "russian", "american", "catalan", "catalans", "corsican",
    "christian", "christians", "catholic", "bonapartist", "bonapartists", "royalist", "royalists",
    "excellency", "majesty", "highness", "eminence", "holiness", "sire", "mister", "madam", "parisian",
    "parisians", "genoese", "nubian", "neapolitan", "florentine", "marseillaise", "provençal", "sailor",
    "son", "east", "west", "north", "south", "chamber",
    # English words that open sentences, capitalised after a quote or a line break inside one
    *"""about above after again against all almost already also although always am among another any
    anything are around as at away be because been before being below besides between both by can
    cannot certainly come could dear did do does doing done down during each either enough even ever
    every everything except far few for from further go good had has have having hear her here hers
    herself him himself his however if in indeed into is its itself just keep know last leave less let
    like listen look many me might mine more most much must myself near neither never next nor not
    nothing of off often on once one only other others otherwise ought ours ourselves out over own
    perhaps please pray quick quite rather really right same say see shall should since some something
    so soon still such sure these those take tell than thank thanks thus till to too true two three four five under
    unless until up upon us very wait was were whatever whether while whom whose will with within
    without would yet yours yourself yourselves""".split(),
}
# A word, a title abbreviation ("M.", "Mme."), an elided particle before a capital ("d’If"),
# or something that ends or opens a sentence.
TOKEN = re.compile(r"(?P<abbrev>\b(?:M|MM|Mr|Mrs|Ms|Mme|Mlle|Dr|St|Prof)\.)"
                   r"|(?P<elided>\b[dl][’'](?=[^\W\d_]))"
                   r"|(?P<word>[^\W\d_](?:[^\W_]|-|[’'](?=[^\W\d_]))*)"
                   r"|(?P<stop>[.!?;:“”\"«»()\[\]—–]|\n\s*\n|\d+)")
POSSESSIVE = re.compile(r"[’']s$")
CONTRACTION = re.compile(r"[’'](?:re|ve|ll|d|m|t)$")  # "You're", "Can't", "I'd": never a name
# Words people write in lower case ("Yeah", "Lol", "Im", "Hope" in comments), from GoEmotions
# train (benchmarks/common_words.py): capitalised alone, without a title, they are not names.
COMMON_WORDS = frozenset(
    line for line in (Path(__file__).parent / "words" / "common.txt").read_text(encoding="utf-8").split("\n")
    if line and not line.startswith("#"))
# Written capitalised in the middle of comments, yet never a name.
CHAT_WORDS = {"edit", "edited", "update", "source", "tldr", "tl", "dr", "eta", "ps", "nsfw", "imo", "imho", "tbh",
              "btw", "lol", "lmao", "omg", "idk", "smh", "fyi", "op"}
NOT_NAMES_ALONE = COMMON_WORDS | CHAT_WORDS  # built once: _name asks it of every name found
ABBREVIATED = {"mme.": "Madame", "mme": "Madame", "mlle.": "Mademoiselle", "mlle": "Mademoiselle"}


@dataclasses.dataclass(frozen=True)
class Found:
    """One mention in one text: its characters, the entity it names and how it was found."""

    start: int
    end: int
    entity: str  # the name it resolves to
    source: str  # "list", "field" or "auto"
    initial: bool = False  # opens a sentence (weak evidence that a word is a name)


class Finder:
    """Finds the mentions of one index's settings in texts."""

    def __init__(self, settings: MentionSettings):
        self.settings = settings
        self.listed = alias_pattern(settings.names)

    def find(self, text: str, metadata: dict[str, Any] | None = None) -> list[Found]:
        """Mentions in a text, in text order; a listed name wins over what overlaps it."""
        found: list[Found] = []
        if self.listed is not None:
            pattern, owner = self.listed
            found += [Found(m.start(), m.end(), owner[m.group()], "list") for m in pattern.finditer(text)]
        if self.settings.field and metadata:
            names = field_names(metadata.get(self.settings.field))
            pattern = alias_pattern(tuple((n,) for n in names))
            if pattern is not None:
                found += [Found(m.start(), m.end(), pattern[1][m.group()], "field") for m in pattern[0].finditer(text)]
        if self.settings.detect:
            found += detect(text)
        return _without_overlaps(found)


def detect(text: str) -> list[Found]:
    """Capitalised names in a text (see the module's docstring), each with its key."""
    found: list[Found] = []
    run: list[re.Match] = []
    run_initial, at_start = False, True
    for match in TOKEN.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "stop":
            found += _name(text, run, run_initial)
            run = []
            at_start = value not in ")]”»" and not value.isdigit()
            continue
        capital = kind == "abbrev" or (kind == "word" and value[0].isupper() and not _shouting(value))
        if capital and _common(value) and not (run and run[-1].lastgroup == "elided"):  # "The", "Chapter"
            found += _name(text, run, run_initial)
            run, at_start = [], False
            continue
        joins = kind == "elided" or (kind == "word" and value.lower() in PARTICLES)
        if run:
            gap = text[run[-1].end():match.start()]
            if (capital or joins) and not gap.strip() and gap.count("\n") < 2:
                run.append(match)
                continue
            found += _name(text, run, run_initial)
            run = []
        if capital:
            run, run_initial = [match], at_start
        at_start = False
    return found + _name(text, run, run_initial)


def _name(text: str, run: list[re.Match], initial: bool) -> list[Found]:
    """The name a run of capitalised words makes: its span, and its key without the titles,
    particles and sentence words ("The", "Then") at its start or particles at its end."""
    words = list(run)
    while words and (words[-1].lastgroup == "elided" or words[-1].group().lower() in PARTICLES):
        words.pop()
    if not words:
        return []
    start = words[0].start()
    while words and (words[0].lastgroup == "elided" or _lowered(words[0]) in DROPPED_TITLES | PARTICLES
                     or (_lowered(words[0]) in NOT_NAMES and _lowered(words[0]) not in KEPT_TITLES)):
        initial = initial and _lowered(words[0]) not in DROPPED_TITLES  # "M. Morrel" is a name anywhere
        if _lowered(words[0]) in NOT_NAMES:  # "Then Villefort": the name itself is inside the sentence
            initial = False
        words.pop(0)
    if words and _lowered(words[0]) in KEPT_TITLES:
        initial = False
    if not words or len(words) > MAX_WORDS or all(_lowered(w) in KEPT_TITLES | PARTICLES for w in words):
        return []
    if words[0].start() > start and _lowered(run[0]) in NOT_NAMES:
        start = words[0].start()  # the span leaves out "The", keeps titles: "M. de Villefort"
    surface = POSSESSIVE.sub("", text[words[0].start():words[-1].end()])
    key = " ".join([ABBREVIATED.get(surface.split()[0].lower(), surface.split()[0]), *surface.split()[1:]])
    if len(key) < 2 or (len(words) == 1 and fold(key) in NOT_NAMES):
        return []
    if len(run) == 1 and _plain(surface) in NOT_NAMES_ALONE:  # a bare common word: "Yeah", "Hope"
        return []
    return [Found(start, words[0].start() + len(surface), key, "auto", initial)]


def _common(word: str) -> bool:
    plain = _plain(word)
    return (plain in NOT_NAMES and plain not in KEPT_TITLES) or CONTRACTION.search(plain) is not None


def _lowered(match: re.Match) -> str:
    return _plain(match.group())


def _plain(word: str) -> str:
    """A word lowercased, without its possessive ("Morrel’s" -> "morrel")."""
    return POSSESSIVE.sub("", word.lower())


def _shouting(word: str) -> bool:
    """A word in capitals (headings: "CHAPTER", "THE COUNT"), not a name's capital letter."""
    letters = [c for c in word if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def _without_overlaps(found: list[Found]) -> list[Found]:
    """Mentions in text order, dropping any that overlaps one found earlier in the list (more trusted).

    The kept mentions never overlap, so sorted by start they are sorted by end too, and a new one
    need only be checked against its two neighbours (a text with a million names takes seconds,
    not hours)."""
    starts: list[int] = []
    kept: list[Found] = []
    for mention in found:
        place = bisect.bisect_right(starts, mention.start)
        if place > 0 and kept[place - 1].end > mention.start:
            continue
        if place < len(kept) and kept[place].start < mention.end:
            continue
        starts.insert(place, mention.start)
        kept.insert(place, mention)
    return kept
