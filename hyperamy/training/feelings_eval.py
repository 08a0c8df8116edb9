"""How well an encoder reads feeling beyond GoEmotions: EmoBank dev ratings, FairytaleQA-val
characters, and how many Monte Cristo passages it reads as neutral.

Only dev and validation splits are read here: EmoBank's and FairytaleQA's test splits measure
the project from outside and are not in data/.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hyperamy.emotions import AFFECT, LABELS, NEUTRAL
from hyperamy.training.data import Sample, emobank_rows, feeling_questions

# frozen MiniLM sentence embeddings + ridge fitted on EmoBank train (../shared/PEERS.md, 2026-12-04)
EMOBANK_RIDGE_BASELINE = {"valence": 0.637, "arousal": 0.484, "dominance": 0.300}


def emobank_report(encoder, data_dir: Path, batch_size: int = 64) -> dict:
    """Pearson r of the encoder's valence, arousal, dominance with EmoBank dev's ratings (all, and
    fiction), and of its strength with the arousal ratings."""
    path = data_dir / "emobank" / "dev.jsonl"
    if not path.is_file():
        return {}
    samples, genres = zip(*emobank_rows(path))
    batch = encoder.encode([s.text for s in samples], batch_size=batch_size)
    rated = np.asarray([s.affect for s in samples])
    result = {"emobank_n": len(samples)}
    if batch.strength is not None:  # how strongly felt against how excited the raters judged it
        result["emobank_strength_arousal_r"] = _pearson(batch.strength, rated[:, 1])
    if batch.affect is None:
        return result | {"emobank_note": "these weights have no valence/arousal/dominance head"}
    fiction = np.asarray([g == "fiction" for g in genres])
    result["emobank_fiction_n"] = int(fiction.sum())
    for i, name in enumerate(AFFECT):
        result[f"emobank_{name}_r"] = _pearson(batch.affect[:, i], rated[:, i])
        result[f"emobank_fiction_{name}_r"] = _pearson(batch.affect[fiction, i], rated[fiction, i])
        result[f"emobank_{name}_baseline_r"] = EMOBANK_RIDGE_BASELINE[name]
    return result


def character_questions(data_dir: Path, split: str = "val") -> list[Sample]:
    """FairytaleQA feeling questions whose character is found in a gold section and whose answers
    name a listed feeling (feeling_words.py): one span sample per question, the character's first
    mention in the first gold section that has one."""
    folder = data_dir / "fairytaleqa" / split
    if not (folder / "questions.jsonl").is_file():
        return []
    return [next(found[0] for found in sections.values() if found)
            for _, _, sections in feeling_questions(folder) if any(sections.values())]


def character_report(encoder, data_dir: Path, batch_size: int = 32) -> dict:
    """FairytaleQA-val: is the character's feeling (its first mention in the gold section, pooled
    over its clause) one of the answers' labels? Top-1 and top-3, beside always-neutral (0: no
    answer maps to neutral) and the whole section's reading."""
    from hyperamy.encoder.tokens import span_fits

    items = [item for item in character_questions(data_dir) if span_fits(encoder, item)]
    if not items:
        return {}
    texts = [item.text for item in items]
    gold = [{LABELS[i] for i in np.flatnonzero(item.target)} for item in items]
    read = encoder.encode(texts, spans=[item.span for item in items], batch_size=batch_size).probs
    whole = encoder.encode(texts, batch_size=batch_size).probs
    result = {"characters_n": len(items)}
    for name, probs in (("characters", read), ("characters_whole_passage", whole)):
        ranked = np.argsort(-probs, axis=1)
        result[f"{name}_top1"] = float(np.mean([LABELS[r[0]] in g for r, g in zip(ranked, gold)]))
        result[f"{name}_top3"] = float(np.mean([bool({LABELS[j] for j in r[:3]} & g) for r, g in zip(ranked, gold)]))
        result[f"{name}_neutral_share"] = float(np.mean(probs.argmax(1) == NEUTRAL))
    result["characters_always_neutral_top1"] = 0.0
    return result


def neutral_share_report(encoder, data_dir: Path, every: int = 1, batch_size: int = 64) -> dict:
    """The share of Monte Cristo passages (data/monte_cristo, 10,000; every `every`-th of them)
    whose top label is neutral."""
    path = data_dir / "monte_cristo" / "corpus.jsonl"
    if not path.is_file():
        return {}
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()][::every]
    texts = [t for t in texts if t.strip()]
    probs = encoder.encode(texts, batch_size=batch_size).probs
    top = probs.argmax(1)
    return {"monte_cristo_n": len(texts), "monte_cristo_neutral_share": float(np.mean(top == NEUTRAL))}


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if len(a) > 2 else float("nan")
