"""How to match a document's feeling to a query's: what chose rerank.emotion_similarity.

On GoEmotions train, the fusion's emotion set (fit_fusion.py: 400 comments as queries over 4,000
others, relevant when they share a non-neutral label), emotion mode as search runs it: the emotion
leg's candidates (the 100 nearest by the reading's direction mu), ordered by each way of matching
the two readings' label probabilities. P@10; the same over the 1,000 nearest, and over every document.

    python benchmarks/emotion_similarity.py --cache runs/fusion
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, engine_for, markdown_table  # noqa: E402


def ways(certain):
    """name -> (query probs, documents' probs) -> scores. `certain`: the documents' certainty."""
    from hyperamy.emotions import NEUTRAL
    from hyperamy.rerank import emotion_similarity

    return {
        "shipped: the chance both read as one non-neutral label (p_q . p_d over 27 labels)":
            lambda q, p: emotion_similarity(q, p),
        "the same times the document's certainty c(kappa_d)": lambda q, p: (p[:, :NEUTRAL] @ q[:NEUTRAL]) * certain,
        "p_q . p_d over all 28 labels, neutral too": lambda q, p: p @ q,
        "before: sum sqrt(p_q p_d) over 28 labels, times c(kappa_d)": lambda q, p: (np.sqrt(p) @ np.sqrt(q)) * certain,
        "sum sqrt(p_q p_d) over 27 labels (neutral left out), times c(kappa_d)":
            lambda q, p: (np.sqrt(p[:, :NEUTRAL]) @ np.sqrt(q[:NEUTRAL])) * certain,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("runs/fusion"), help="where fit_fusion.py keeps its indexes")
    parser.add_argument("--corpus", type=int, default=4000)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    from hyperamy.rerank import certainty

    rows = []
    for line in (DATA / "goemotions" / "train.tsv").open(encoding="utf-8"):
        text, labels, comment = line.rstrip("\n").split("\t")[:3]
        rows.append((comment, text, frozenset(int(x) for x in labels.split(",")) - {27}))
    random.Random(2026).shuffle(rows)  # as fit_fusion.py draws them
    documents, asked = rows[:args.corpus], [r for r in rows[args.corpus:] if r[2]][:args.queries]
    engine = engine_for(args.cache / "goemotions_train", [{"id": c, "text": t} for c, t, _ in documents])
    view = engine.refresh()
    every = np.arange(len(view))
    fetched = view.fetch(every)
    labels = {c: l for c, _, l in documents}
    felt = [labels[fetched[int(r)]["id"]] for r in every]
    kappa, probs, _, _ = view.feelings(every)
    probs = np.clip(probs, 0.0, None)
    compared = ways(certainty(kappa, view.manifest["models"]["alpha"]))
    found = {name: ([], [], []) for name in compared}
    for _, text, wanted in asked:
        reading = engine.query_encoder.encode_query(text).emotion
        query = np.clip(reading.probs[0], 0.0, None)
        _, near = view.search("emotion", reading.mu[0], 1000, None, engine.settings.hnsw_ef_search)
        for name, way in compared.items():
            scores = way(query, probs)
            for kept, pool in zip(found[name], (np.asarray(near[:100]), np.asarray(near), every)):
                top = pool[np.argsort(-scores[pool], kind="stable")[:10]]
                kept.append(np.mean([bool(felt[int(r)] & wanted) for r in top]))
    print(f"GoEmotions train: {len(asked)} queries over {len(every)} comments, emotion mode P@10\n")
    print(markdown_table(["way of matching", "the leg's 100 candidates (as search)", "1,000 candidates",
                          "every document"],
                         [[name, *(f"{np.mean(kept):.3f}" for kept in pools)] for name, pools in found.items()]))


if __name__ == "__main__":
    main()
