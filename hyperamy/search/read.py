"""The read path of `HyperAmy.search`: filters, the query encoded, ranking, explained hits."""
from __future__ import annotations

import dataclasses
import re
from typing import Sequence

import numpy as np

from hyperamy.emotions import LABELS, affect_fields, label_index
from hyperamy.encoder.intensity import by_label
from hyperamy.errors import InputError
from hyperamy.analyzer import words
from hyperamy.entities.names import name_pattern
from hyperamy.rerank import MODES, certainty
from hyperamy.search.hit import Hit
from hyperamy.search import question_meaning
from hyperamy.search.ranking import Query, fitted, rank, single_threaded
from hyperamy.search.recency import Recency
from hyperamy.view import View

def search(engine, view: View, query: str, k: int, mode: str, where: str | None,
           emotion: Sequence[str] | None, span: str | None, settings=None, about: str | None = None,
           recency: str | None = None) -> list[Hit]:
    settings = settings or engine.settings
    if not isinstance(query, str) or not query.strip():
        raise InputError("the query is empty")
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if k < 1:
        raise InputError("k must be at least 1")
    labels = [LABELS[label_index(name)] for name in (emotion or [])]
    fade = Recency.parse(view, recency) if recency else None
    allowed = view.store.filter_rows(where, labels)
    entity = None
    if about is not None:
        from hyperamy.entities.ask import about as mentions_of

        entity = mentions_of(view, about, engine.mention_settings.names)
        allowed = entity.documents() if allowed is None else np.intersect1d(allowed, entity.documents())
    if allowed is not None:
        allowed = view.alive(allowed)
        if not len(allowed):
            return []
    encoded = engine.query_encoder.encode_query(query, span)
    query_emotion = encoded.emotion
    asked = query
    if entity is not None:  # every candidate names the entity: look for what the rest of the query says
        asked = without_names(query, [*entity.keys, *(n for names in engine.mention_settings.names
                                                     if names[0] in entity.keys for n in names)])
        if asked != query:
            meaning = engine.query_encoder.encode_query(asked)
            encoded = dataclasses.replace(encoded, semantic=meaning.semantic)  # the feeling stays the query's
    plain = meaning = encoded.semantic[0]
    if fitted(settings, mode):  # a question is read as the fusion was fitted: question_meaning.py
        meaning = question_meaning.for_search(plain, asked, view.manifest["models"]["encoder"])
    moved = meaning is not plain
    with single_threaded():
        ranked = rank(view, settings, view.manifest["models"]["alpha"],
                      Query(asked, meaning, query_emotion.mu[0], query_emotion.probs[0], float(query_emotion.kappa[0])),
                      k, mode, allowed, entity, fade)
    stored = view.fetch(ranked.rows)
    warning = _feelingless(mode, query_emotion, view.manifest["models"]["alpha"])
    hits = []
    for i, row in enumerate(ranked.rows):
        fields, row_probs, row_strength = stored[int(row)], ranked.probs[i], float(ranked.strength[i])
        top = np.argsort(-row_probs)[:3]
        felt_labels = by_label(row_strength, row_probs)
        hits.append(Hit(rank=i + 1, id=fields["id"], mode=mode, score=float(ranked.scores[i]),
                        semantic=float(ranked.semantic[i]), lexical=float(ranked.lexical[i]),
                        emotion_match=float(ranked.emotion[i]), emotion_weight=ranked.emotion_weight,
                        semantic_part=float(ranked.parts["semantic"][i]),
                        lexical_part=float(ranked.parts["lexical"][i]),
                        emotion_part=float(ranked.parts["emotion"][i]),
                        semantic_share=ranked.semantic_share, fusion=ranked.fusion,
                        warning=warning, query_kappa=float(query_emotion.kappa[0]), kappa=float(ranked.kappa[i]),
                        top_emotions=tuple((LABELS[j], float(row_probs[j])) for j in top),
                        strength=None if felt_labels is None else round(row_strength, 4),
                        intensity=felt_labels, **affect_fields(ranked.affect[i]),
                        text=fields["text"], snippet=snippet(fields["text"], query), metadata=fields["metadata"],
                        mention=entity.describe(int(ranked.mentions[i])) if entity is not None else None,
                        recency=None if fade is None else float(ranked.decay[i]),
                        recency_part=float(ranked.parts.get("recency", np.zeros(len(ranked.rows)))[i]),
                        age=None if fade is None or np.isnan(ranked.age[i]) else round(float(ranked.age[i]), 4),
                        age_unit=None if fade is None else fade.age_unit,
                        searched=asked if asked != query else None, question_map=moved))
    return hits


def without_names(query: str, names) -> str:
    """The query without an entity's names (and their possessive): what is left to look for among
    the passages that mention it. The query itself if nothing would be left."""
    left = query
    for name in sorted(set(names), key=len, reverse=True):
        pattern = rf"(?<!\w){name_pattern(name)}(?:[’']s)?(?!\w)"
        left = re.sub(pattern, " ", left, flags=re.IGNORECASE)
    left = " ".join(left.split())
    return left if words(left) else query


def _feelingless(mode: str, query_emotion, alpha: float) -> str | None:
    """A warning when emotion mode gets a query that carries no feeling to rank by."""
    if mode != "emotion":
        return None
    top = LABELS[int(np.argmax(query_emotion.probs[0]))]
    if top == "neutral" or float(certainty(query_emotion.kappa[0], alpha)) < 0.05:
        return (f"the query reads as {top} (kappa {float(query_emotion.kappa[0]):.1f}): emotion mode ranks only by "
                "feeling, so these hits are arbitrary; describe a feeling (\"someone grieving a loss\"), "
                "or search in hybrid mode, or keep the documents felt with one emotion")
    return None


def snippet(text: str, query: str, width: int = 240) -> str:
    """A window of the text around its first query word, on one line.

    Only the window is flattened, so a hit on a very long text costs what the window does.
    """
    if len(text) <= width:
        return re.sub(r"\s+", " ", text).strip()
    found = [re.search(re.escape(w), text, re.IGNORECASE) for w in words(query) if len(w) > 3]
    positions = [m.start() for m in found if m]
    start = max(0, min(positions) - width // 3) if positions else 0
    flat = re.sub(r"\s+", " ", text[start:start + 4 * width]).strip()
    end = start + len(text[start:start + 4 * width])
    window = flat[:width].strip()
    cut = len(flat) > width or end < len(text)
    return ("..." if start else "") + window + ("..." if cut else "")
