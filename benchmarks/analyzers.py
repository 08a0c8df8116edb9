"""Which keyword analyzer: BM25 alone over FairytaleQA train, with each way of reading words.

Each question is scored by hyperamy's own keyword scorer (lexical.KeywordScorer over one segment
of every train section: IDF over all of them), kept to its story's sections, and counts when its
best section is one the question writers marked. The analyzers, one change at a time: words as
written (BM25 k1 1.5, b 0.75: the analyzer of indexes built before analyzers), Snowball stems,
stems with English function words dropped, and that with k1 0.9, b 0.4 (hyperamy's "english").
Train only: this is where the choice was made; val and test are not read.

    python benchmarks/analyzers.py          # about 20 seconds on 2 cores
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import markdown_table, write_record  # noqa: E402
from recall_fairytaleqa import read  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=0, help="only the first N train stories (smoke runs)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/analyzers.jsonl)")
    args = parser.parse_args()

    from hyperamy.analyzer import analyzer
    from hyperamy.lexical import KeywordScorer, TermCounts, top

    sections, questions = read("train", args.stories)
    of_story = collections.defaultdict(list)
    for row, s in enumerate(sections):
        of_story[s["story"]].append(row)
    words, english = analyzer("words"), analyzer("english")
    variants = {
        "words as written (k1 1.5, b 0.75)": words,
        "stems": dataclasses.replace(words, stem=True),
        "stems, function words dropped": dataclasses.replace(english, k1=words.k1, b=words.b),
        "stems, function words dropped, k1 0.9, b 0.4 (english)": english,
    }
    feeling = np.asarray(["feeling" in q["attributes"] for q in questions])
    metrics, rows = {}, []
    for name, reading in variants.items():
        terms = TermCounts.build([s["text"] for s in sections], reading)
        everything = np.arange(len(sections))
        scorer = KeywordScorer([(terms, everything, np.ones(len(sections), bool))], reading)
        hits = []
        for q in questions:
            found, scores = scorer.scores(q["question"])
            _, best = top(found, scores, 1, np.asarray(of_story[q["story"]]))
            hits.append(bool(len(best)) and sections[int(best[0])]["id"] in q["gold_ids"])
        hits = np.asarray(hits)
        metrics[name] = {"R@1": float(hits.mean()), "feeling R@1": float(hits[feeling].mean())}
        rows.append([name, metrics[name]["R@1"], metrics[name]["feeling R@1"]])
    print(f"FairytaleQA train: {len(questions)} questions ({feeling.sum()} about feelings), {len(sections)} sections\n")
    print(markdown_table(["analyzer", "BM25 R@1", "feeling R@1"], rows))
    out = write_record("analyzers", {"stories": args.stories}, f"FairytaleQA train ({len(questions)} questions)",
                       metrics, {}, args.out)
    print(f"\nrecord appended to {out}")


if __name__ == "__main__":
    main()
