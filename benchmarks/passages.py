"""How should a passage's feeling be read? Whole-passage pooling against its sentences read in the
passage's own forward pass and combined, measured on FairytaleQA-val sections and Monte Cristo.

    python benchmarks/passages.py                       # the shipped weights
    python benchmarks/passages.py --weights runs/v2     # another model

FairytaleQA val: a section's gold feelings are the labels of every feeling question that names it
(answers mapped by hyperamy/training/feeling_words.py); a reading is right at top-1 when its top
label is one of them (always-neutral scores 0). Monte Cristo: the share of the 10,000 passages
whose top label is neutral (there is no gold; a lower share is only good if FairytaleQA agrees).
GoEmotions dev is the check that short texts do not change: its comments are mostly one sentence.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hyperamy.emotions import LABELS, NEUTRAL  # noqa: E402
from hyperamy.training.data import default_data_dir, feeling_questions  # noqa: E402
from hyperamy.training.passages import COMBINATIONS, combine, sentence_spans  # noqa: E402


def sections_with_feelings(data: Path, split: str = "val") -> tuple[list[str], list[set[str]]]:
    folder = data / "fairytaleqa" / split
    texts, gold = {}, {}
    for _, target, sections in feeling_questions(folder):
        for section in sections:
            gold.setdefault(section, set()).update(LABELS[i] for i in np.flatnonzero(target))
    for line in (folder / "sections.jsonl").open():
        record = json.loads(line)
        texts[record["id"]] = record["text"]
    ids = sorted(gold)
    return [texts[i] for i in ids], [gold[i] for i in ids]


def readings(encoder, texts: list[str]) -> dict[str, np.ndarray]:
    """Label probabilities of each text: whole, and each combination of its sentences."""
    spans = [sentence_spans(t) for t in texts]
    encoded = encoder.encode(texts, mentions=spans)
    out = {"whole": encoded.emotion.probs}
    read = encoded.mentions
    for name in COMBINATIONS:
        out[f"sentences-{name}"] = combine(read, len(texts), encoded.emotion, name).probs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", help="weights folder (default: the shipped model)")
    parser.add_argument("--every", type=int, default=1, help="Monte Cristo: every N-th passage (default all)")
    args = parser.parse_args()
    from hyperamy.encoder.joint import SharedTrunkEncoder

    encoder = SharedTrunkEncoder.load(args.weights)
    data = default_data_dir()
    texts, gold = sections_with_feelings(data)
    rows = {}
    for name, probs in readings(encoder, texts).items():
        ranked = np.argsort(-probs, axis=1)
        rows[name] = {"fairytale_top1": float(np.mean([LABELS[r[0]] in g for r, g in zip(ranked, gold)])),
                      "fairytale_top3": float(np.mean([bool({LABELS[j] for j in r[:3]} & g)
                                                       for r, g in zip(ranked, gold)])),
                      "fairytale_neutral": float(np.mean(probs.argmax(1) == NEUTRAL))}
    passages = [json.loads(line)["text"] for line in (data / "monte_cristo" / "corpus.jsonl").open()][::args.every]
    for name, probs in readings(encoder, passages).items():
        rows[name]["monte_cristo_neutral"] = float(np.mean(probs.argmax(1) == NEUTRAL))
    print(f"FairytaleQA val sections with a feeling question: {len(texts)}; Monte Cristo passages: {len(passages)}")
    print("| reading | FairytaleQA top-1 | top-3 | read neutral | Monte Cristo read neutral |\n|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['fairytale_top1']:.3f} | {r['fairytale_top3']:.3f} | {r['fairytale_neutral']:.3f} | "
              f"{r['monte_cristo_neutral']:.3f} |")


if __name__ == "__main__":
    main()
