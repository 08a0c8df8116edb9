"""Classification metrics over label probabilities. Pure NumPy, no model here."""
from __future__ import annotations

import numpy as np

from hyperamy.emotions import NEUTRAL, NUM_LABELS

THRESHOLD_GRID = np.round(np.arange(0.02, 0.96, 0.01), 2)


def gold_matrix(label_sets, width: int = NUM_LABELS) -> np.ndarray:
    """(n, width) boolean matrix from a list of label-id tuples."""
    gold = np.zeros((len(label_sets), width), dtype=bool)
    for row, ids in enumerate(label_sets):
        gold[row, list(ids)] = True
    return gold


def f1_counts(predicted: np.ndarray, gold: np.ndarray):
    """Per-column true positives, predicted positives and gold positives."""
    tp = (predicted & gold).sum(0).astype(np.float64)
    return tp, predicted.sum(0).astype(np.float64), gold.sum(0).astype(np.float64)


def per_label_prf(predicted: np.ndarray, gold: np.ndarray):
    """Per-column precision, recall, F1 (0 where undefined) and support."""
    tp, pred, true = f1_counts(predicted, gold)
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return precision, recall, f1, true.astype(int)


def tune_thresholds(probs: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """For each label, the threshold on the grid that maximises its F1 on these rows."""
    thresholds = np.empty(probs.shape[1], dtype=np.float32)
    for label in range(probs.shape[1]):
        predicted = probs[:, label][:, None] >= THRESHOLD_GRID[None, :]
        truth = gold[:, label][:, None]
        tp = (predicted & truth).sum(0)
        denominator = predicted.sum(0) + truth.sum()
        f1 = np.divide(2 * tp, denominator, out=np.zeros(len(THRESHOLD_GRID)), where=denominator > 0)
        thresholds[label] = THRESHOLD_GRID[int(np.argmax(f1))]
    return thresholds


def multilabel_metrics(probs: np.ndarray, gold: np.ndarray, thresholds: np.ndarray) -> dict:
    """Macro / micro F1 and mean Jaccard of thresholded predictions, top-1 / top-3 accuracy."""
    predicted = probs >= thresholds[None, :]
    _, _, f1, _ = per_label_prf(predicted, gold)
    tp, pred, true = f1_counts(predicted, gold)
    micro = 2 * tp.sum() / max(pred.sum() + true.sum(), 1.0)
    union = (predicted | gold).sum(1)
    jaccard = np.divide((predicted & gold).sum(1), union, out=np.zeros(len(gold)), where=union > 0)
    ranked = np.argsort(-probs, axis=1)
    rows = np.arange(len(gold))
    top1 = gold[rows, ranked[:, 0]]
    top3 = gold[rows[:, None], ranked[:, :3]].any(1)
    return {"macro_f1": float(f1.mean()), "micro_f1": float(micro), "jaccard": float(jaccard.mean()),
            "top1_accuracy": float(top1.mean()), "top3_accuracy": float(top3.mean())}


def majority_rate(gold: np.ndarray, train_gold: np.ndarray | None = None) -> float:
    """Top-1 accuracy of always answering the most frequent label (of train_gold when given)."""
    reference = gold if train_gold is None else train_gold
    label = int(np.argmax(reference.sum(0)))
    return float(gold[:, label].mean())


def coarse_accuracy(probs: np.ndarray, matrix: np.ndarray, gold: np.ndarray) -> float:
    """Top-1 accuracy after summing label probabilities into coarser classes."""
    choice = np.argmax(probs @ matrix, axis=1)
    return float(gold[np.arange(len(gold)), choice].mean())


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (ties get average ranks)."""
    from scipy.stats import spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(spearmanr(x, y).statistic)


def top1_macro_f1(pred_top: np.ndarray, gold_top: np.ndarray, exclude: int = NEUTRAL) -> float:
    """Macro-F1 of single-label top-1 decisions, averaged over the gold classes other than `exclude`.

    Always answering `exclude` (neutral) scores 0 here, whatever its accuracy.
    """
    classes = sorted(set(gold_top.tolist()) - {exclude})
    if not classes:
        return 0.0
    scores = []
    for label in classes:
        tp = float(((pred_top == label) & (gold_top == label)).sum())
        denominator = float((pred_top == label).sum() + (gold_top == label).sum())
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))
