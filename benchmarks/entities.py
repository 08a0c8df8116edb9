"""Entities: what finding mentions costs, how well they are found and felt, and what `--about` gives.

In one run:
- indexing the corpus without mentions and with them (automatic detection), the same encoder
  loaded once, in the order without, with, with, without (--repeats pairs): the median seconds
  of each and their ratio (the issue's bound: at most 1.2x);
- Recall@10 and MRR on data/entity_questions (dev and test reported apart): `search QUERY`
  against `search QUERY --about NAME`, both on the index with mentions;
- detection on the held-out passages of data/entity_granularity (hash split, as training's):
  recall of the labelled spans (overlap, exact) and precision against them (a lower bound: the
  file labels about one name per passage, so a correctly found name it does not label counts
  as wrong), with the name's corpus evidence counted over the Monte Cristo corpus as an index
  of it would;
  and precision on a hand audit of 100 found mentions (data/entity_audit);
- span emotion on those held-out targets: top-1 against always-neutral, non-neutral macro-F1;
  and what a neutral prior down-weighted for spans would give there, its scale chosen on the
  file's training part (the smallest of 1.0, 0.95, ..., 0.1 whose top-1 there is within 0.005 of
  the best); not what hyperamy ships (see README).

    python benchmarks/entities.py                      # the 10,000 passages
    python benchmarks/entities.py --limit 500 --no-emotion   # a smoke run
    python benchmarks/entities.py --only-emotion             # the span emotion figures alone
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, SHARED, input_file, markdown_table, write_record  # noqa: E402


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def recall(rankings: list[list[str]], gold: list[set[str]], cutoff: int = 10) -> dict:
    hits = [bool(set(r[:cutoff]) & g) for r, g in zip(rankings, gold)]
    reciprocal = [next((1.0 / (i + 1) for i, d in enumerate(r) if d in g), 0.0) for r, g in zip(rankings, gold)]
    return {f"R@{cutoff}": sum(hits) / len(gold), "MRR": sum(reciprocal) / len(gold), "n": len(gold)}


def build(folder: Path, records: list[dict], encoder, mentions: bool) -> float:
    from hyperamy.engine import HyperAmy

    engine = HyperAmy.open(folder, create=True, encoder=encoder)
    engine.find_mentions(detect=mentions)
    started = time.perf_counter()
    engine.add(records)
    return time.perf_counter() - started


def detection(corpus: list[dict], holdout: float) -> dict:
    from hyperamy.training.data import _passage_bucket
    from hyperamy.entities.detect import MIN_EVIDENCE, detect

    rows = read_jsonl(DATA / "entity_granularity" / "entity_granularity_v2.jsonl")
    held = [r for r in rows if _passage_bucket(r["text"]) < holdout]
    evidence = collections.Counter(f.entity for text in [d["text"] for d in corpus] + [r["text"] for r in held]
                                   for f in detect(text) if not f.initial)
    found = gold_hit = exact = predicted = right = 0
    gold_n = 0
    audit = {(a["passage_sha256"], a["start"], a["end"]): a["is_person_or_place"]
             for a in read_jsonl(DATA / "entity_audit" / "detection_audit.jsonl")}
    audited = []
    for row in held:
        spans = [f for f in detect(row["text"]) if evidence[f.entity] >= MIN_EVIDENCE]
        digest = hashlib.sha256(row["text"].encode("utf-8")).hexdigest()[:16]
        audited += [audit[(digest, f.start, f.end)] for f in spans if (digest, f.start, f.end) in audit]
        gold = [(t["char_start"], t["char_end"]) for t in row["targets"]]
        gold_n += len(gold)
        predicted += len(spans)
        right += sum(any(f.start < e and f.end > s for s, e in gold) for f in spans)
        gold_hit += sum(any(f.start < e and f.end > s for f in spans) for s, e in gold)
        exact += sum(any((f.start, f.end) == (s, e) for f in spans) for s, e in gold)
        found += 1
    return {"passages": found, "gold_spans": gold_n, "found_spans": predicted,
            "recall_overlap": gold_hit / gold_n, "recall_exact": exact / gold_n,
            "precision_vs_labelled": right / max(predicted, 1),
            "precision_audited": sum(audited) / max(len(audited), 1), "audited": len(audited),
            "audited_no_longer_found": len(audit) - len(audited)}


def span_emotion(encoder, holdout: float = 0.2) -> dict:
    """Held-out span emotion as `hyperamy eval` reports it, and under a neutral prior chosen on training."""
    import numpy as np

    from hyperamy.emotions import LABELS
    from hyperamy.training.data import read_entities
    from hyperamy.training.evaluate import evaluate_entities
    from hyperamy.training.metrics import top1_macro_f1
    from hyperamy.encoder.tokens import span_fits

    figures = evaluate_entities(encoder, DATA, holdout)
    neutral, path = LABELS.index("neutral"), DATA / "entity_granularity" / "entity_granularity_v2.jsonl"

    def read(part):
        samples = [x for x in read_entities(path, holdout, part) if span_fits(encoder, x)]
        probs = encoder.encode([x.text for x in samples], spans=[x.span for x in samples]).probs
        return probs, np.asarray([int(np.argmax(x.target)) for x in samples])

    def decide(probs, scale):
        scaled = probs.copy()
        scaled[:, neutral] *= scale
        return scaled.argmax(1)

    (train, train_gold), (test, test_gold) = read("train"), read("test")
    scales = [round(1.0 - 0.05 * i, 2) for i in range(19)]
    top1 = {scale: float((decide(train, scale) == train_gold).mean()) for scale in scales}
    chosen = min(scale for scale in scales if top1[scale] >= max(top1.values()) - 0.005)
    predicted = decide(test, chosen)
    figures.update({"neutral_scale_chosen_on_train": chosen,
                    "scaled_top1_accuracy": float((predicted == test_gold).mean()),
                    "scaled_macro_f1_non_neutral": top1_macro_f1(predicted, test_gold)})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=input_file, default=SHARED / "monte_cristo" / "corpus.jsonl")
    parser.add_argument("--questions", type=input_file, default=DATA / "entity_questions" / "questions.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="index only the first N passages (smoke runs)")
    parser.add_argument("--no-emotion", action="store_true", help="skip the span emotion figures")
    parser.add_argument("--only-emotion", action="store_true", help="only the span emotion figures")
    parser.add_argument("--repeats", type=int, default=2, help="pairs of builds (without, with; then reversed)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.engine import HyperAmy

    if args.only_emotion:
        from hyperamy.encoder import EmotionEncoder

        figures = span_emotion(EmotionEncoder.load())
        write_record("entities", {"only_emotion": True}, "entity_granularity_v2.jsonl", figures, {}, args.out)
        print(json.dumps(figures, indent=1))
        return
    corpus = read_jsonl(args.corpus)
    if args.limit:
        corpus = corpus[:args.limit]
    encoder = SharedTrunkEncoder.load()
    encoder.encode(["warm up the encoder before timing"])
    with tempfile.TemporaryDirectory() as tmp:
        runs: dict[str, list[float]] = {"with": [], "without": []}
        for repeat in range(args.repeats):
            for kind in (("without", "with") if repeat % 2 == 0 else ("with", "without")):
                runs[kind].append(build(Path(tmp) / f"{kind}{repeat}", corpus, encoder, kind == "with"))
        seconds = {kind: statistics.median(values) for kind, values in runs.items()}
        engine = HyperAmy.open(Path(tmp) / "with0", encoder=encoder)
        mentions = sum(e["mentions"] for e in engine.entities(limit=None))
        ids = {d["id"] for d in corpus}
        questions = [q for q in read_jsonl(args.questions) if set(q["gold"]) & ids]
        table, results = [], {}
        for split in ("dev", "test"):
            chosen = [q for q in questions if q["split"] == split]
            if not chosen:
                continue
            gold = [set(q["gold"]) for q in chosen]
            plain = [[h.id for h in engine.search(q["query"], k=10)] for q in chosen]
            about = [[h.id for h in engine.search(q["query"], k=10, about=q["about"])] for q in chosen]
            results[split] = {"search": recall(plain, gold), "about": recall(about, gold)}
            for name, value in results[split].items():
                table.append([split, name if name == "search" else "search --about", value["n"],
                              f"{value['R@10']:.3f}", f"{value['MRR']:.3f}"])
        top = [(e["name"], e["mentions"]) for e in engine.entities(limit=8)]
    metrics = {"index_seconds": seconds, "index_runs": runs, "index_ratio": seconds["with"] / seconds["without"],
               "mentions": mentions, "questions": results, "top_entities": top,
               "detection": detection(corpus, 0.2)}
    if not args.no_emotion:
        metrics["span_emotion"] = span_emotion(encoder.emotion)
    write_record("entities", {"limit": args.limit, "repeats": args.repeats},
                 f"{args.corpus.name} ({len(corpus)} passages)", metrics, {"index_seconds": runs}, args.out)
    print(f"indexing {len(corpus):,} passages, median of {args.repeats}: {seconds['without']:.1f} s without "
          f"mentions, {seconds['with']:.1f} s with them ({mentions:,} mentions of the entities listed): "
          f"{metrics['index_ratio']:.2f}x")
    print(markdown_table(["set", "ranking", "questions", "R@10", "MRR"], table))
    d = metrics["detection"]
    print(f"detection on {d['passages']} held-out passages ({d['gold_spans']} labelled spans): recall "
          f"{d['recall_overlap']:.3f} (overlap) / {d['recall_exact']:.3f} (exact), precision against the "
          f"labelled spans {d['precision_vs_labelled']:.3f} (a lower bound); precision on the hand audit "
          f"{d['precision_audited']:.3f} ({d['audited']} audited mentions; {d['audited_no_longer_found']} "
          "no longer found)")
    if "span_emotion" in metrics:
        e = metrics["span_emotion"]
        print(f"span emotion on {e['entity_n']} held-out targets: top-1 {e['entity_top1_accuracy']:.3f} "
              f"(always-neutral {e['entity_majority_baseline']:.3f}), non-neutral macro-F1 "
              f"{e['entity_macro_f1_non_neutral']:.3f}; with neutral x{e['neutral_scale_chosen_on_train']} "
              f"(chosen on the training part): top-1 {e['scaled_top1_accuracy']:.3f}, macro-F1 "
              f"{e['scaled_macro_f1_non_neutral']:.3f}")
    print("top entities: " + ", ".join(f"{n} ({c})" for n, c in top))


if __name__ == "__main__":
    main()
