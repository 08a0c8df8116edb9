"""Free-text feeling answers ("upset", "very happy") -> GoEmotions labels.

FairytaleQA's feeling questions are answered in words, not labels. Each word below was mapped by
hand to the GoEmotions label(s) whose definition it names (Demszky et al. 2020, table 1); a word
between two labels splits its mass. Words not listed (about 10% of answers: "stove sick", "home")
are ignored, and a question none of whose answers has a listed word is not used.
"""
from __future__ import annotations

import re

import numpy as np

from hyperamy.emotions import LABELS, NUM_LABELS

WORDS: dict[str, tuple[str, ...]] = {
    # joy and its neighbours
    "happy": ("joy",), "happier": ("joy",), "happiness": ("joy",), "glad": ("joy",), "joy": ("joy",),
    "joyful": ("joy",), "joyous": ("joy",), "pleased": ("joy",), "delighted": ("joy",), "delight": ("joy",),
    "merry": ("joy",), "cheerful": ("joy",), "content": ("joy",), "contented": ("joy",), "elated": ("joy",),
    "overjoyed": ("joy",), "satisfied": ("joy", "approval"), "lucky": ("joy",), "peaceful": ("joy", "relief"),
    "rejoice": ("joy",), "jubilant": ("joy",), "ecstatic": ("excitement", "joy"),
    "excited": ("excitement",), "eager": ("excitement", "desire"), "thrilled": ("excitement", "joy"),
    "amused": ("amusement",), "entertained": ("amusement",),
    "grateful": ("gratitude",), "thankful": ("gratitude",), "gratitude": ("gratitude",),
    "indebted": ("gratitude",), "appreciative": ("gratitude",),
    "proud": ("pride",), "pride": ("pride",), "honored": ("pride",), "honoured": ("pride",),
    "relieved": ("relief",), "relief": ("relief",),
    "hopeful": ("optimism",), "optimistic": ("optimism",), "confident": ("optimism",),
    "love": ("love",), "loved": ("love",), "loving": ("love",), "affection": ("love",), "fond": ("love",),
    "caring": ("caring",), "sympathetic": ("caring",), "compassion": ("caring",), "pity": ("caring", "sadness"),
    "protective": ("caring",),
    "admiration": ("admiration",), "impressed": ("admiration",), "respect": ("admiration",),
    "awe": ("admiration", "surprise"), "awed": ("admiration", "surprise"),
    "desire": ("desire",), "greedy": ("desire",), "longing": ("desire",), "jealous": ("desire", "anger"),
    "envious": ("desire", "anger"), "envy": ("desire", "anger"),
    # surprise, confusion, curiosity
    "surprised": ("surprise",), "surprise": ("surprise",), "astonished": ("surprise",),
    "amazed": ("surprise",), "shocked": ("surprise",), "stunned": ("surprise",), "startled": ("surprise", "fear"),
    "disbelief": ("surprise",), "astounded": ("surprise",), "dumbfounded": ("surprise",),
    "confused": ("confusion",), "puzzled": ("confusion",), "bewildered": ("confusion",), "unsure": ("confusion",),
    "perplexed": ("confusion",), "baffled": ("confusion",),
    "curious": ("curiosity",), "interested": ("curiosity",), "intrigued": ("curiosity",),
    "suspicious": ("curiosity", "disapproval"), "skeptical": ("disapproval",),
    # anger and disapproval
    "angry": ("anger",), "anger": ("anger",), "mad": ("anger",), "furious": ("anger",), "rage": ("anger",),
    "enraged": ("anger",), "infuriated": ("anger",), "hatred": ("anger", "disgust"), "hate": ("anger", "disgust"),
    "vengeful": ("anger",), "outraged": ("anger",), "wrathful": ("anger",), "cross": ("anger",),
    "annoyed": ("annoyance",), "irritated": ("annoyance",), "frustrated": ("annoyance",), "vexed": ("annoyance",),
    "bothered": ("annoyance",), "impatient": ("annoyance",), "offended": ("annoyance", "anger"),
    "upset": ("sadness", "annoyance"), "dislike": ("disapproval",), "disapproval": ("disapproval",),
    "unwilling": ("disapproval",), "reluctant": ("disapproval", "nervousness"),
    "disgusted": ("disgust",), "disgust": ("disgust",), "repulsed": ("disgust",),
    "betrayed": ("anger", "sadness"), "cheated": ("anger", "disappointment"),
    # fear
    "scared": ("fear",), "afraid": ("fear",), "frightened": ("fear",), "terrified": ("fear",),
    "fear": ("fear",), "fearful": ("fear",), "terror": ("fear",), "horrified": ("fear",), "alarmed": ("fear",),
    "panicked": ("fear",), "petrified": ("fear",),
    "worried": ("nervousness",), "anxious": ("nervousness",), "nervous": ("nervousness",),
    "concerned": ("nervousness", "caring"), "uneasy": ("nervousness",), "uncomfortable": ("nervousness",),
    "troubled": ("nervousness", "sadness"), "overwhelmed": ("nervousness",), "tense": ("nervousness",),
    # sadness
    "sad": ("sadness",), "sadness": ("sadness",), "unhappy": ("sadness",), "sorrowful": ("sadness",),
    "sorrow": ("sadness",), "miserable": ("sadness",), "lonely": ("sadness",), "isolated": ("sadness",),
    "melancholy": ("sadness",), "heartbroken": ("grief", "sadness"), "devastated": ("grief", "sadness"),
    "grief": ("grief",), "grieving": ("grief",), "mournful": ("grief",), "despair": ("sadness", "grief"),
    "hurt": ("sadness",), "wounded": ("sadness",), "unloved": ("sadness",), "depressed": ("sadness",),
    "gloomy": ("sadness",), "pitiful": ("sadness",), "dejected": ("sadness",), "distressed": ("sadness", "fear"),
    "disappointed": ("disappointment",), "discontent": ("disappointment",), "dissatisfied": ("disappointment",),
    "regret": ("remorse",), "regretful": ("remorse",), "remorseful": ("remorse",), "sorry": ("remorse",),
    "guilty": ("remorse",), "ashamed": ("embarrassment", "remorse"), "shame": ("embarrassment",),
    "embarrassed": ("embarrassment",), "embarassed": ("embarrassment",), "foolish": ("embarrassment",),
    "humiliated": ("embarrassment",),
    "realized": ("realization",),
}
_WORD = re.compile(r"[a-z]+")


def answer_target(answers: list[str]) -> np.ndarray | None:
    """A soft label over the 28 labels from a question's answers, or None when no word is listed.

    Every listed word in every answer adds one unit of mass, split evenly over its labels.
    """
    target = np.zeros(NUM_LABELS, dtype=np.float32)
    for answer in answers:
        for word in _WORD.findall(answer.lower()):
            labels = WORDS.get(word)
            if labels:
                for label in labels:
                    target[LABELS.index(label)] += 1.0 / len(labels)
    total = target.sum()
    return target / total if total > 0 else None
