"""How should a long passage's feeling be read: the whole passage at once, or its sentences?

Two sets, both read by the shipped encoder (or --weights):
- FairytaleQA feeling questions ("How did the king feel when ...?") whose answers name a listed
  feeling (hyperamy/training/feeling_words.py): each gold section is read, and the reading is right
  when its top label (top-1) or one of its top three (top-3) is one of the answer's labels;
- Monte Cristo passages (every --every-th of the 10,000): the share read as neutral.
Readings compared:
- whole: the passage encoded at once (what `hyperamy index` stores);
- strongest sentence: the passage's sentences encoded alone, the one with the highest strength;
- sentences weighted by strength: their label probabilities averaged, each weighted by its strength.
Choose on --split train (the encoder learned from train's character spans, so its figures run
high for every reading), report on val.

    python benchmarks/passage_reading.py --split train
    python benchmarks/passage_reading.py --split val
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, SHARED, markdown_table, weights_folder, write_record  # noqa: E402

READINGS = ("whole", "strongest sentence", "sentences weighted by strength")


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()] or [text]


def readings(encoder, texts: list[str]) -> dict[str, np.ndarray]:
    """{reading: (len(texts), 28) label probabilities}."""
    whole = encoder.encode(texts, batch_size=32).probs
    pieces = [sentences(t) for t in texts]
    flat = encoder.encode([s for p in pieces for s in p], batch_size=64)
    strongest, weighted, at = [], [], 0
    for p in pieces:
        probs, strength = flat.probs[at:at + len(p)], np.asarray(flat.strength[at:at + len(p)], np.float64)
        at += len(p)
        strongest.append(probs[int(np.argmax(strength))])
        weights = strength + 1e-6
        weighted.append((probs * weights[:, None]).sum(0) / weights.sum())
    return {"whole": whole, "strongest sentence": np.asarray(strongest),
            "sentences weighted by strength": np.asarray(weighted)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["train", "val"], default="train")
    parser.add_argument("--every", type=int, default=20, help="every Nth Monte Cristo passage")
    parser.add_argument("--limit", type=int, default=0, help="only the first N feeling questions (smoke runs)")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/passage_reading.jsonl)")
    args = parser.parse_args()

    from hyperamy.emotions import LABELS, NEUTRAL
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.data import feeling_questions

    encoder = EmotionEncoder.load(args.weights)
    folder = DATA / "fairytaleqa" / args.split
    sections = {json.loads(line)["id"]: json.loads(line)["text"] for line in (folder / "sections.jsonl").open()}
    asked = [(question, target) for question, target, _ in feeling_questions(folder)]
    if args.limit:
        asked = asked[:args.limit]
    pairs = [(sections[g], {LABELS[i] for i in np.flatnonzero(target)}) for question, target in asked
             for g in question["gold_ids"] if g in sections]
    fairy = readings(encoder, [text for text, _ in pairs])
    corpus = [json.loads(line)["text"] for line in (SHARED / "monte_cristo" / "corpus.jsonl").open()][::args.every]
    if args.limit:
        corpus = corpus[:args.limit]
    novel = readings(encoder, corpus)
    metrics, rows = {}, []
    for name in READINGS:
        ranked = np.argsort(-fairy[name], axis=1)
        top1 = float(np.mean([LABELS[r[0]] in gold for r, (_, gold) in zip(ranked, pairs)]))
        top3 = float(np.mean([bool({LABELS[j] for j in r[:3]} & gold) for r, (_, gold) in zip(ranked, pairs)]))
        neutral = float(np.mean(novel[name].argmax(1) == NEUTRAL))
        metrics[name] = {"fairytaleqa_top1": top1, "fairytaleqa_top3": top3,
                         "fairytaleqa_neutral_share": float(np.mean(fairy[name].argmax(1) == NEUTRAL)),
                         "monte_cristo_neutral_share": neutral}
        rows.append([name, top1, top3, metrics[name]["fairytaleqa_neutral_share"], neutral])
    print(f"FairytaleQA {args.split}: {len(pairs)} gold sections of {len(asked)} feeling questions; "
          f"Monte Cristo: {len(corpus)} passages (always neutral: top-1 0.000)\n")
    print(markdown_table(["reading", "FairytaleQA top-1", "top-3", "read neutral", "Monte Cristo read neutral"], rows))
    path = write_record("passage_reading", {"split": args.split, "every": args.every, "limit": args.limit,
                                            "weights": str(args.weights or "shipped")},
                        f"FairytaleQA {args.split} feeling questions, Monte Cristo every {args.every}th",
                        metrics, {}, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
