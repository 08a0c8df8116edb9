"""One search result, with every part of its score and how to explain it."""
from __future__ import annotations

import dataclasses
from typing import Any

@dataclasses.dataclass(frozen=True)
class Hit:
    """One result with every part of its score, so the ranking can be explained."""

    rank: int
    id: str
    mode: str
    score: float  # what the ranking sorted on
    semantic: float  # cosine of query and document meaning
    lexical: float  # BM25 keyword score
    emotion_match: float  # the chance both read as the same non-neutral label (rerank.emotion_similarity), 0 to 1
    emotion_weight: float  # how much the emotion term counted (grows with the query's certainty)
    semantic_part: float  # what meaning added to the score (the three parts sum to it)
    lexical_part: float  # what keywords added
    emotion_part: float  # what emotion added
    semantic_share: float  # the share of relevance meaning had (hybrid); keywords had the rest
    fusion: str  # how hybrid weighed the parts: "fitted" (hyperamy/fusion.json) or "evidence" (shares)
    query_kappa: float
    kappa: float
    top_emotions: tuple[tuple[str, float], ...]
    strength: float | None  # how strongly the document is felt, 0..1 (None: built without an intensity head)
    intensity: dict[str, float] | None  # strength x probability of each of the 27 felt labels (None: no head)
    valence: float | None  # 1..5 as EmoBank rates it, 3 neutral (None: built without the head)
    arousal: float | None  # 1 calm .. 5 excited
    dominance: float | None  # 1 controlled .. 5 in control
    text: str
    snippet: str
    metadata: dict[str, Any]
    warning: str | None = None  # said of the query, e.g. emotion mode with a query that feels nothing
    mention: dict | None = None  # with `about`: the entity's mention whose feeling was ranked, and how it is felt
    recency: float | None = None  # with `recency`: the decay the score was multiplied by (1 = newest)
    recency_part: float = 0.0  # what the decay changed in the score (the parts sum to the score)
    age: float | None = None  # with `recency`: the document's age, in `age_unit`
    age_unit: str | None = None  # "days" (a date field), or how far below the field's largest value
    searched: str | None = None  # with `about`: the query without the entity's names, whose meaning and words ranked
    question_map: bool = False  # the fitted fusion read the question's meaning through search/question_meaning.py

    @property
    def emotion(self) -> str:
        """The label the document is felt with most (as `get` and `list` call it)."""
        return self.top_emotions[0][0]

    def to_dict(self) -> dict:
        """The JSON shape (README: "JSON names"): `emotion` is the top label and `intensity` a dict of
        the 27 felt labels, as for documents; `emotion_match` is how well the feelings matched."""
        value = dataclasses.asdict(self)
        value["emotion"] = self.emotion
        value["top_emotions"] = [{"label": name, "prob": round(p, 4)} for name, p in self.top_emotions]
        return value

    def explain(self) -> str:
        """How the score was made: each part with its weight; the printed parts add up to the score."""
        top = ", ".join(f"{name} {p:.2f}" for name, p in self.top_emotions)
        if self.mode == "hybrid" and self.fusion == "fitted":
            moved = ", the question's meaning moved toward answers (question_meaning.py)" if self.question_map else ""
            how = (f"meaning {self.semantic_part:.4f} (the cosine {self.semantic:.3f}{moved}) + keywords "
                   f"{self.lexical_part:.4f} (BM25 {self.lexical:.2f}) + emotion {self.emotion_part:.4f} "
                   f"({self.emotion_weight:.3f} x {self.emotion_match:.3f}, the feelings' match, and the document's "
                   "strength); each part a weighing of its signal against the other candidates, fitted on real "
                   "questions (hyperamy/fusion.json)")
        elif self.mode == "hybrid":
            share = self.semantic_share
            meaning = self.semantic_part / share if share else 0.0
            keywords = self.lexical_part / (1 - share) if share < 1 else 0.0
            how = (f"meaning {self.semantic_part:.4f} ({share:.2f} x {meaning:.3f}, the cosine {self.semantic:.3f} "
                   f"as a z-score over the candidates) + keywords {self.lexical_part:.4f} ({1 - share:.2f} x "
                   f"{keywords:.3f}, BM25 {self.lexical:.2f} as a z-score) + emotion {self.emotion_part:.4f} "
                   f"({self.emotion_weight:.3f} x {self.emotion_match:.3f})")
        else:
            how = {"semantic": f"the cosine {self.semantic:.4f}", "lexical": f"BM25 {self.lexical:.4f}",
                   "emotion": f"the feelings' match {self.emotion_match:.4f}"}[self.mode]
        strength = "" if self.strength is None else f", strength {self.strength:.2f}"
        if self.recency is not None:
            age = "the field is empty: not faded" if self.age is None else f"age {self.age:g} {self.age_unit}"
            how += (f" + recency {self.recency_part:.4f} (relevance e^score times the decay {self.recency:.3f}, "
                    f"{age}: the score plus its log)")
        mention = ""
        if self.mention is not None:
            said = ", ".join(f"{e['label']} {e['prob']:.2f}" for e in self.mention["top_emotions"])
            mention = (f"; emotion read from the mention {self.mention['text']!r} of {self.mention['entity']} "
                       f"(kappa {self.mention['kappa']:.1f} [{said}])")
            if self.searched is not None:
                mention += f"; meaning and keywords of {self.searched!r}, the query without the name"
        return (f"score {self.score:.4f} = {how}; kappa: query {self.query_kappa:.1f}, "
                f"document {self.kappa:.1f}{strength} [{top}]{mention}")
