"""Recall on FairytaleQA: expert-written questions about stories, each answered by sections of its story.

Each story's sections are indexed with `story` and `section` as metadata; each question is searched
within its own story (`--where "story = '...'"`, as a user reading one story would) and a hit is
right when it is one of the sections the question writers marked. R@1, R@3 and MRR overall and per
question type (a question with two types counts in both), hyperamy's modes beside the peers, all in
one run: BM25 per story (bm25s over lower-cased `\\w+` tokens, as ../shared/PEERS.md), MiniLM dense
(exact cosine over the story's sections), their reciprocal-rank fusion (k = 60) and txtai hybrid.

    python benchmarks/recall_fairytaleqa.py                     # val: 23 stories, 1,025 questions
    python benchmarks/recall_fairytaleqa.py --split train       # train: where defaults are chosen
    python benchmarks/recall_fairytaleqa.py --stories 3 --no-txtai   # a smoke run
    python benchmarks/recall_fairytaleqa.py --chunk 128         # sections cut as `hyperamy index` cuts text

With `--chunk TOKENS`, hyperamy indexes each section as the passages its chunker cuts (at most TOKENS
word pieces, sentences kept whole: what `hyperamy index` does to a user's files) and a section
ranks where its best passage ranks. The peers still read whole sections, as ../shared/PEERS.md.

Choose on train, report val; the dataset's test split is kept out of this project.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, markdown_table, weights_folder, write_record  # noqa: E402

TYPES = ("character", "feeling", "setting", "action", "causal relationship", "outcome resolution", "prediction")


def read(split: str, stories: int) -> tuple[list[dict], list[dict]]:
    folder = DATA / "fairytaleqa" / split
    sections = [json.loads(line) for line in (folder / "sections.jsonl").open(encoding="utf-8")]
    questions = [json.loads(line) for line in (folder / "questions.jsonl").open(encoding="utf-8")]
    if stories:
        keep = sorted({s["story"] for s in sections})[:stories]
        sections = [s for s in sections if s["story"] in keep]
        questions = [q for q in questions if q["story"] in keep]
    return sections, questions


def scores(rankings: list[list[str]], questions: list[dict]) -> dict:
    """R@1, R@3, MRR over all questions and per question type."""
    def of(pairs):
        ranks = [next((i for i, d in enumerate(r, 1) if d in set(q["gold_ids"])), None) for r, q in pairs]
        n = max(len(ranks), 1)
        return {"R@1": sum(r == 1 for r in ranks) / n, "R@3": sum(r is not None and r <= 3 for r in ranks) / n,
                "MRR": sum(1.0 / r for r in ranks if r) / n, "n": len(ranks)}

    pairs = list(zip(rankings, questions))
    result = {"all": of(pairs)}
    for kind in TYPES:
        result[kind] = of([(r, q) for r, q in pairs if kind in q["attributes"]])
    return result


def records(sections: list[dict], chunk: int) -> list[dict]:
    """The records hyperamy indexes: each section whole, or cut into passages of at most `chunk` tokens
    (ids `SECTION|N`), each with its story and section as metadata."""
    from hyperamy.books.chunking import Chunking

    out = []
    for s in sections:
        spans = Chunking(chunk).split(s["text"]) if chunk else [(0, len(s["text"]))]
        for n, (a, b) in enumerate(spans):
            out.append({"id": f"{s['id']}|{n}" if chunk else s["id"], "text": s["text"][a:b], "story": s["story"],
                        "section": s["section"]})
    return out


def sections_of(hits) -> list[str]:
    """Section ids in the order of their best passage among the hits."""
    return list(dict.fromkeys(h.id.rsplit("|", 1)[0] if "|" in h.id else h.id for h in hits))


class PerStory:
    """A peer built per story (BM25 with the story's own IDF), or one over everything filtered to the story."""

    def __init__(self, make, sections: list[dict]):
        self.peers = {}
        by_story = collections.defaultdict(list)
        for s in sections:
            by_story[s["story"]].append(s)
        for story, own in by_story.items():
            peer = make()
            peer.build([s["id"] for s in own], [s["text"] for s in own])
            self.peers[story] = peer
        self.name = next(iter(self.peers.values())).name

    def search(self, question: dict, k: int) -> list[str]:
        return self.peers[question["story"]].search(question["question"], k)


class DenseInStory:
    """MiniLM vectors of every section, the question's cosine to its own story's sections."""

    def __init__(self, dense, sections: list[dict]):
        import numpy as np

        self.np, self.dense = np, dense
        self.name = dense.name
        vectors = dense.model.encode([s["text"] for s in sections], batch_size=dense.batch_size,
                                     normalize_embeddings=True)
        self.of_story = collections.defaultdict(list)
        for s, v in zip(sections, vectors):
            self.of_story[s["story"]].append((s["id"], v))

    def search(self, question: dict, k: int) -> list[str]:
        query = self.dense.model.encode([question["question"]], normalize_embeddings=True)[0]
        own = self.of_story[question["story"]]
        cosines = self.np.asarray([v @ query for _, v in own])
        return [own[i][0] for i in self.np.argsort(-cosines, kind="stable")[:k]]


class Fused:
    name = "BM25 + dense, reciprocal-rank fusion"

    def __init__(self, *peers, k: int = 60):
        self.peers, self.k = peers, k

    def search(self, question: dict, k: int) -> list[str]:
        from peers import reciprocal_rank_fusion

        return reciprocal_rank_fusion([peer.search(question, 100) for peer in self.peers], self.k)[:k]


class TxtaiInStory:
    """txtai hybrid over every section, asked for all of them, kept to the question's story."""

    name = "txtai hybrid"

    def __init__(self, txtai, sections: list[dict]):
        txtai.build([s["id"] for s in sections], [s["text"] for s in sections])
        self.txtai, self.total = txtai, len(sections)
        self.story = {s["id"]: s["story"] for s in sections}

    def search(self, question: dict, k: int) -> list[str]:
        found = self.txtai.search(question["question"], self.total)
        return [d for d in found if self.story[d] == question["story"]][:k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["train", "val"], default="val")
    parser.add_argument("--stories", type=int, default=0, help="only the first N stories (smoke runs)")
    parser.add_argument("--chunk", type=int, default=0,
                        help="index each section as passages of at most this many tokens (0: whole sections)")
    parser.add_argument("--index", type=Path, help="reuse or build the hyperamy index here (default: a temp folder)")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--modes", default="hybrid,semantic,lexical", help="hyperamy modes to run")
    parser.add_argument("--no-peers", action="store_true", help="hyperamy alone")
    parser.add_argument("--no-txtai", action="store_true", help="leave txtai out")
    parser.add_argument("--rankings", type=Path, help="also write every system's ranking of every question here")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/recall_fairytaleqa.jsonl)")
    args = parser.parse_args()

    from hyperamy.engine import HyperAmy
    from hyperamy.store import literal

    sections, questions = read(args.split, args.stories)
    depth = max(collections.Counter(r["story"] for r in records(sections, args.chunk)).values())
    folder = args.index or Path(tempfile.mkdtemp(prefix="hyperamy-ftqa-"))
    engine = HyperAmy.open(folder, create=True, weights=args.weights)
    started = time.perf_counter()
    engine.add(records(sections, args.chunk))
    timings = {"hyperamy_index_seconds": round(time.perf_counter() - started, 1)}
    metrics, rankings = {}, {}

    def evaluate(name, search):
        started = time.perf_counter()
        rankings[name] = [search(q) for q in questions]
        timings[f"{name} query_seconds"] = round(time.perf_counter() - started, 2)
        metrics[name] = scores(rankings[name], questions)

    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        evaluate(f"hyperamy {mode}", lambda q, m=mode: sections_of(
            engine.search(q["question"], k=depth, mode=m, where=f"story = {literal(q['story'])}")))
    if "hybrid" in args.modes:
        evaluate("hyperamy hybrid, fusion=evidence (hand-set)", lambda q: sections_of(
            engine.search(q["question"], k=depth, fusion="evidence", where=f"story = {literal(q['story'])}")))
    reason = None
    if not args.no_peers:
        from peers import BM25Peer, DensePeer, txtai_or_reason

        from hyperamy.encoder.weights import resolve_backbone

        model = str(resolve_backbone(engine.encoder.emotion.config.backbone))
        bm25 = PerStory(BM25Peer, sections)
        dense = DenseInStory(DensePeer(model), sections)
        evaluate(bm25.name, lambda q: bm25.search(q, depth))
        evaluate(dense.name, lambda q: dense.search(q, depth))
        fused = Fused(bm25, dense)
        evaluate(fused.name, lambda q: fused.search(q, depth))
        txtai, reason = (None, "left out (--no-txtai)") if args.no_txtai else txtai_or_reason(model)
        if txtai is not None:
            in_story = TxtaiInStory(txtai, sections)
            evaluate(in_story.name, lambda q: in_story.search(q, depth))
    print(f"\nFairytaleQA {args.split}: {len({s['story'] for s in sections})} stories, {len(sections)} sections, "
          f"{len(questions)} questions\n")
    columns = ["R@1", "R@3", "MRR"]
    print(markdown_table(["system", *columns, *[f"{t} R@1" for t in TYPES]],
                         [[name, *[m["all"][c] for c in columns], *[m[t]["R@1"] for t in TYPES]]
                          for name, m in metrics.items()]))
    print("\nquestions per type: " + ", ".join(f"{t} {next(iter(metrics.values()))[t]['n']}" for t in TYPES))
    if reason:
        print(f"txtai hybrid: {reason}")
    if args.rankings:
        args.rankings.write_text(json.dumps({"questions": [q["id"] for q in questions], "rankings": rankings}))
    path = write_record("recall_fairytaleqa", {"split": args.split, "stories": args.stories, "chunk": args.chunk,
                                               "index_config": engine.config.__dict__, "txtai": reason or "ran",
                                               "weights": str(args.weights or "shipped")},
                        f"FairytaleQA {args.split} ({len(sections)} sections, {len(questions)} questions)",
                        metrics, timings, args.out)
    print(f"\nrecord appended to {path}")


if __name__ == "__main__":
    main()
