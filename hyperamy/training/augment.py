"""Surface rewrites of a text: ones that keep its feeling, and ones that raise or lower its strength.

Used to train the intensity head (a rewrite that keeps the feeling must keep the strength;
emphasis raises it, a hedge lowers it) and to measure how far the encoder's reading moves when
a Reddit-style comment is written as a tweet or a chat message (benchmarks/robustness.py).
Facts behind the emphasis rules (capitals, exclamation marks, boosters and hedges shift felt
intensity) are those of Hutto and Gilbert's VADER (2014); the rules are our own.
"""
from __future__ import annotations

import random
import re
import string

EMOJI_BY_GROUP = {"positive": ("\U0001F60A", "\U0001F602", "\u2764\ufe0f"),
                  "negative": ("\U0001F620", "\U0001F622", "\U0001F62D"),
                  "ambiguous": ("\U0001F914", "\U0001F62E"), "neutral": ("",)}
HASHTAGS = ("#mondays", "#life", "#news", "#fail", "#win", "#justsaying", "#today")
HEDGES = ("I guess ", "Kind of feel like ", "Maybe a little, but ", "Not a big deal, but ")
BOOSTERS = ("Honestly, ", "Seriously, ", "I swear, ")


def keeping(text: str, rng: random.Random, group: str = "neutral") -> str:
    """A rewrite in another register that should read the same: lowercase, no punctuation,
    a hashtag, an emoji of the text's group, or a repeated letter."""
    kind = rng.choice(("lower", "unpunctuated", "hashtag", "emoji", "lower_hashtag"))
    if kind == "lower":
        return text.lower()
    if kind == "unpunctuated":
        stripped = text.translate(str.maketrans("", "", ".,;:!?")).strip()
        return stripped or text
    if kind == "hashtag":
        return f"{text} {rng.choice(HASHTAGS)}"
    if kind == "emoji":
        return f"{text} {rng.choice(EMOJI_BY_GROUP[group])}".strip()
    return f"{text.lower()} {rng.choice(HASHTAGS)}"


def stronger(text: str, rng: random.Random) -> str:
    """The same text said with more force: capitals, exclamation marks, a booster, stretched letters."""
    kind = rng.choice(("caps", "exclaim", "booster", "stretch"))
    body = text.rstrip(" .!?")
    if kind == "caps":
        return body.upper() + "!"
    if kind == "exclaim":
        return body + "!!!"
    if kind == "booster":
        return rng.choice(BOOSTERS) + body[:1].lower() + body[1:] + "!"
    return _stretch(body, rng) + "!!"


def weaker(text: str, rng: random.Random) -> str:
    """The same text hedged: a softening opening and no exclamation."""
    body = text.rstrip(" .!?").replace("!", "")
    return rng.choice(HEDGES) + body[:1].lower() + body[1:] + "."


def _stretch(text: str, rng: random.Random) -> str:
    words = [m for m in re.finditer(r"[A-Za-z]{3,}", text)]
    if not words:
        return text
    word = rng.choice(words)
    vowels = [i for i in range(word.start(), word.end()) if text[i].lower() in "aeiou"]
    if not vowels:
        return text
    i = vowels[-1]
    return text[:i] + text[i] * 4 + text[i + 1:]


def has_letters(text: str) -> bool:
    return any(ch in string.ascii_letters for ch in text)
