"""`hyperamy eval`: GoEmotions and entity-level metrics of an encoder, with baselines."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hyperamy.emotions import (
    AFFECT,
    EKMAN,
    GROUPS,
    LABEL_TO_EKMAN,
    LABEL_TO_GROUP,
    LABEL_TO_SIX,
    LABELS,
    NEUTRAL,
    group_matrix,
    label_set,
)
from hyperamy.training.data import read_entities, read_goemotions, read_label_column
from hyperamy.training.intensity_training import ladder_report
from hyperamy.training.metrics import (
    coarse_accuracy,
    gold_matrix,
    majority_rate,
    multilabel_metrics,
    per_label_prf,
    spearman,
    top1_macro_f1,
)
from hyperamy.encoder.tokens import span_fits
from hyperamy.errors import InputError

SPLITS = ("dev", "test")


def evaluate(encoder, data_dir: Path, split: str = "test", entity_holdout: float = 0.2,
             batch_size: int = 64) -> tuple[dict, str]:
    """Score an encoder on a GoEmotions split and on the held-out entity targets.

    Returns the metrics and a per-label precision / recall / F1 table (Markdown).
    """
    if split not in SPLITS:
        raise InputError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    folder = data_dir / "goemotions"
    samples = read_goemotions(folder / f"{split}.tsv")
    batch = encoder.encode([s.text for s in samples], batch_size=batch_size)
    gold = gold_matrix([s.labels for s in samples])
    train_gold = gold_matrix([s.labels for s in read_goemotions(folder / "train.tsv")])
    metrics = multilabel_metrics(batch.probs, gold, encoder.thresholds)
    intensity = np.asarray([np.delete(s.target, NEUTRAL).max() for s in samples])
    result = {
        "split": split, "n": len(samples), **metrics,
        "majority_baseline": majority_rate(gold, train_gold),
        "kappa_spearman": spearman(batch.kappa, intensity),
        "mean_kappa": float(batch.kappa.mean()),
    }
    for name, targets, mapping in (("group", GROUPS, LABEL_TO_GROUP), ("ekman", EKMAN, LABEL_TO_EKMAN)):
        coarse_gold = gold_matrix(read_label_column(folder / name / f"{split}.tsv"), len(targets))
        coarse_train = gold_matrix(read_label_column(folder / name / "train.tsv"), len(targets))
        result[f"{name}_accuracy"] = coarse_accuracy(batch.probs, group_matrix(mapping, targets), coarse_gold)
        result[f"{name}_majority_baseline"] = majority_rate(coarse_gold, coarse_train)
    result.update(six_reading(batch.probs, samples))
    if (data_dir / "intensity" / f"{split}.jsonl").is_file():  # a --data folder may hold only GoEmotions
        result.update(ladder_report(encoder, data_dir, split))
    if (data_dir / "probes" / "probes.jsonl").is_file():
        result.update(probe_report(encoder, data_dir))
    result.update(evaluate_entities(encoder, data_dir, entity_holdout, batch_size))
    from hyperamy.training.feelings_eval import (
        character_report,
        emobank_report,
        neutral_share_report,
    )

    result.update(emobank_report(encoder, data_dir, batch_size))  # always dev: its test split is reserved
    result.update(character_report(encoder, data_dir))  # FairytaleQA val: its test split is reserved
    result.update(neutral_share_report(encoder, data_dir, every=5, batch_size=batch_size))
    return result, per_label_table(batch.probs >= encoder.thresholds[None, :], gold, encoder.thresholds)


def six_reading(probs: np.ndarray, samples) -> dict:
    """Six emotions (anger, fear, joy, love, sadness, surprise) read through the 28 labels.

    Rows whose non-neutral gold labels fall in exactly one of the six classes are scored; the
    reading is the class with the most summed probability (neutral's mass counts for none).
    """
    names, matrix = label_set("six")
    keep, gold = [], []
    for i, sample in enumerate(samples):
        classes = {names.index(LABEL_TO_SIX[LABELS[j]]) for j in sample.labels if j != NEUTRAL}
        if len(classes) == 1:
            keep.append(i)
            gold.append(classes.pop())
    gold = np.asarray(gold)
    chosen = (probs[keep] @ matrix).argmax(1)
    majority = np.bincount(gold, minlength=len(names)).argmax()
    return {"six_n": len(keep), "six_accuracy": float((chosen == gold).mean()),
            "six_macro_f1": top1_macro_f1(chosen, gold, exclude=-1),
            "six_majority_baseline": float((gold == majority).mean())}


def probe_report(encoder, data_dir: Path) -> dict:
    """Top-1 agreement on the probe battery (an emotion word against a conflicting idiom or context).

    Reported for every model; never used to choose among runs.
    """
    import json

    with (data_dir / "probes" / "probes.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    batch = encoder.encode([row["text"] for row in rows])
    right = np.asarray([LABELS[int(i)] in row["accept"] for i, row in zip(batch.probs.argmax(1), rows)])
    kinds = np.asarray([row["kind"] for row in rows])
    return {"probe_n": len(rows), "probe_accuracy": float(right.mean()),
            **{f"probe_{kind}_accuracy": float(right[kinds == kind].mean()) for kind in sorted(set(kinds))}}


def evaluate_entities(encoder, data_dir: Path, holdout: float, batch_size: int = 64) -> dict:
    """Top-1 accuracy and non-neutral macro-F1 on the held-out entity targets, beside the majority rate."""
    path = data_dir / "entity_granularity" / "entity_granularity_v2.jsonl"
    samples = [s for s in read_entities(path, holdout, "test") if span_fits(encoder, s)]
    batch = encoder.encode([s.text for s in samples], spans=[s.span for s in samples], batch_size=batch_size)
    gold_top = np.asarray([int(np.argmax(s.target)) for s in samples])
    pred_top = batch.probs.argmax(1)
    majority = np.bincount(gold_top, minlength=len(LABELS)).argmax()
    return {
        "entity_n": len(samples),
        "entity_top1_accuracy": float((pred_top == gold_top).mean()),
        "entity_majority_baseline": float((gold_top == majority).mean()),
        "entity_macro_f1_non_neutral": top1_macro_f1(pred_top, gold_top),
        "entity_kappa_spearman": spearman(batch.kappa, np.asarray([np.delete(s.target, NEUTRAL).max()
                                                                    for s in samples])),
    }


def per_label_table(predicted: np.ndarray, gold: np.ndarray, thresholds: np.ndarray) -> str:
    precision, recall, f1, support = per_label_prf(predicted, gold)
    lines = ["| label | threshold | precision | recall | F1 | support |", "|---|---|---|---|---|---|"]
    for i, name in enumerate(LABELS):
        lines.append(f"| {name} | {thresholds[i]:.2f} | {precision[i]:.3f} | {recall[i]:.3f} | "
                     f"{f1[i]:.3f} | {support[i]} |")
    lines.append(f"| **macro** | | {precision.mean():.3f} | {recall.mean():.3f} | {f1.mean():.3f} | "
                 f"{support.sum()} |")
    return "\n".join(lines) + "\n"


def format_metrics(result: dict) -> str:
    """Human-readable summary, each accuracy beside its baseline."""
    r = result
    extra = []
    if "intensity_spearman" in r:
        extra += [f"Intensity ladders, {r['split']} (n={r['intensity_n']}), Spearman with the rung order:",
                  f"  intensity of the ladder's label {r['intensity_spearman']:.3f}   strength "
                  f"{r['intensity_strength_spearman']:.3f}   (kappa {r['intensity_kappa_spearman']:.3f}, "
                  f"label probability {r['intensity_probability_spearman']:.3f})"]
    if "probe_accuracy" in r:
        extra.append(f"Probe battery (n={r['probe_n']}, emotion words against idioms; never used to choose a "
                     f"model): top-1 accepted {r['probe_accuracy']:.3f}")
    return "\n".join([
        f"GoEmotions {r['split']} (n={r['n']}):",
        f"  macro-F1 {r['macro_f1']:.3f}   micro-F1 {r['micro_f1']:.3f}   Jaccard {r['jaccard']:.3f}",
        f"  top-1 accuracy {r['top1_accuracy']:.3f}   top-3 {r['top3_accuracy']:.3f}   "
        f"(majority 'neutral' baseline {r['majority_baseline']:.3f})",
        f"  kappa vs largest label share Spearman {r['kappa_spearman']:.3f}   mean kappa {r['mean_kappa']:.1f}",
        f"  six emotions (n={r['six_n']}): macro-F1 {r['six_macro_f1']:.3f}   accuracy {r['six_accuracy']:.3f} "
        f"(majority {r['six_majority_baseline']:.3f})",
        f"  4-group accuracy {r['group_accuracy']:.3f} (majority {r['group_majority_baseline']:.3f})   "
        f"Ekman accuracy {r['ekman_accuracy']:.3f} (majority {r['ekman_majority_baseline']:.3f})",
        *extra,
        f"Entity targets, held out (n={r['entity_n']}):",
        f"  top-1 accuracy {r['entity_top1_accuracy']:.3f} (majority baseline {r['entity_majority_baseline']:.3f})",
        f"  macro-F1 over non-neutral targets {r['entity_macro_f1_non_neutral']:.3f} (majority baseline 0.000)",
        *_feeling_lines(r),
    ])


def _feeling_lines(r: dict) -> list[str]:
    lines = []
    if "emobank_valence_r" in r:
        lines += [f"EmoBank dev (n={r['emobank_n']}), Pearson r (frozen MiniLM + ridge baseline, PEERS.md):",
                  *(f"  {name:<9} {r[f'emobank_{name}_r']:.3f} ({r[f'emobank_{name}_baseline_r']:.3f})   "
                    f"fiction only (n={r['emobank_fiction_n']}) {r[f'emobank_fiction_{name}_r']:.3f}"
                    for name in AFFECT)]
    elif "emobank_note" in r:
        lines.append(f"EmoBank dev: {r['emobank_note']}")
    if "emobank_strength_arousal_r" in r:
        lines.append(f"EmoBank dev: Pearson r of strength with the arousal ratings {r['emobank_strength_arousal_r']:.3f}")
    if "characters_n" in r:
        lines += [f"FairytaleQA val feeling questions, the character's mention in a gold section (n={r['characters_n']}):",
                  f"  top-1 {r['characters_top1']:.3f}   top-3 {r['characters_top3']:.3f}   (always neutral 0.000; "
                  f"the whole section's reading {r['characters_whole_passage_top1']:.3f} / "
                  f"{r['characters_whole_passage_top3']:.3f})"]
    if "monte_cristo_n" in r:
        lines.append(f"Monte Cristo passages read as neutral: {r['monte_cristo_neutral_share']:.3f} "
                     f"(every 5th passage, n={r['monte_cristo_n']})")
    return lines
