"""Training curves and the model card written beside trained weights."""
from __future__ import annotations

import json
from pathlib import Path

CURVES_FILE = "training_curves.png"
CARD_FILE = "README.md"


def plot_curves(history: list[dict], path: Path) -> None:
    """Loss, dev macro-F1 and mean kappa per epoch, as one PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no backend chosen for the process

    epochs = [e["epoch"] for e in history]
    figure = Figure(figsize=(13, 3.6))
    axes = figure.subplots(1, 3)
    for key, label in (("train_total", "train"), ("dev_loss", "dev")):
        axes[0].plot(epochs, [e[key] for e in history], marker="o", label=label)
    axes[0].set_title("total loss")
    axes[0].legend()
    axes[1].plot(epochs, [e["dev_macro_f1"] for e in history], marker="o")
    axes[1].set_title("dev macro-F1 (thresholds tuned on dev)")
    axes[2].plot(epochs, [e["dev_mean_kappa"] for e in history], marker="o", label="mean kappa")
    axes[2].set_title("dev mean kappa")
    for axis in axes:
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def write_model_card(folder: Path, command: str, minutes: float, metrics: dict | None) -> None:
    """A Markdown model card: data, command, time, metrics beside baselines, known limits."""
    config = json.loads((folder / "config.json").read_text())
    encoder, training = config["encoder"], config.get("training", {})
    lines = [
        "# hyperamy emotion encoder", "",
        "A probabilistic emotion encoder: per-token 64-d vectors mean-pooled and L2-normalised to a",
        "direction `mu`, per-token energies max-pooled into a concentration `kappa = 1 + alpha * energy`,",
        "and an auxiliary head from `mu` to the 28 GoEmotions labels (a training regulariser).",
        "Label probabilities are the von Mises-Fisher posterior over 28 learned prototypes,",
        "`softmax(kappa * cos(mu, prototype))`: a low kappa flattens it, a high kappa sharpens it.", "",
        "## Architecture",
        f"- backbone: `{encoder['backbone']}`; the top {encoder['tuned_layers']} transformer layers are "
        "fine-tuned, the lower ones stay frozen and shared with the backbone",
        f"- mu: {encoder['dim']}-d, alpha = {encoder['alpha']}, max length {encoder['max_length']} tokens",
        "- this folder ships only the tuned layers (float16) and the heads; the frozen layers come from the "
        "backbone package", "",
        "## Data",
        *_data_lines(training), "",
        "## Training",
        f"- command: `{command}`",
        *_training_lines(folder, training, minutes), "",
    ]
    if metrics:
        m = metrics
        lines += [
            "## Metrics (shipped thresholds, chosen on dev)",
            f"GoEmotions {m['split']} (n = {m['n']}):", "",
            "| metric | value | baseline |", "|---|---|---|",
            f"| macro-F1 | {m['macro_f1']:.3f} | frozen MiniLM + logistic regression 0.376 (PEERS.md); "
            "GoEmotions paper BERT-base 0.46 |",
            f"| micro-F1 | {m['micro_f1']:.3f} | |",
            f"| Jaccard | {m['jaccard']:.3f} | |",
            f"| top-1 accuracy | {m['top1_accuracy']:.3f} | always neutral {m['majority_baseline']:.3f} |",
            f"| top-3 accuracy | {m['top3_accuracy']:.3f} | |",
            f"| kappa vs largest non-neutral label share, Spearman (`kappa_spearman`) | "
            f"{m['kappa_spearman']:.3f} | 0 (no relation) |",
            f"| six emotions read through the 28 labels, macro-F1 (n = {m['six_n']}) | {m['six_macro_f1']:.3f} | "
            f"majority accuracy {m['six_majority_baseline']:.3f} (ours {m['six_accuracy']:.3f}) |",
            f"| 4-group accuracy | {m['group_accuracy']:.3f} | majority {m['group_majority_baseline']:.3f} |",
            f"| Ekman accuracy | {m['ekman_accuracy']:.3f} | majority {m['ekman_majority_baseline']:.3f} |",
            f"| entity top-1 accuracy (n = {m['entity_n']}) | {m['entity_top1_accuracy']:.3f} | "
            f"always neutral {m['entity_majority_baseline']:.3f} |",
            f"| entity macro-F1, non-neutral targets | {m['entity_macro_f1_non_neutral']:.3f} | "
            "always neutral 0.000 |", "",
            "Reproduce: `hyperamy eval --split test --json`.", "",
        ]
        if "intensity_spearman" in m:
            lines += [
                f"Intensity, on the graded ladders of `data/intensity/{m['split']}.jsonl` (n = {m['intensity_n']}, "
                "never trained on; Spearman with the rung order):", "",
                "| reading | Spearman |", "|---|---|",
                f"| intensity of the ladder's label (`intensity_spearman`) | {m['intensity_spearman']:.3f} |",
                f"| strength (the intensity head) | {m['intensity_strength_spearman']:.3f} |",
                f"| baseline: kappa | {m['intensity_kappa_spearman']:.3f} |",
                f"| baseline: the label's probability | {m['intensity_probability_spearman']:.3f} |", "",
            ]
        if "emobank_valence_r" in m:
            lines += [
                f"Beyond Reddit (`hyperamy eval`): EmoBank dev (n = {m['emobank_n']}, never trained on), Pearson r with "
                "the human ratings; FairytaleQA val's feeling questions (n = "
                f"{m['characters_n']}): does the asked-about character's first mention in a gold section read "
                "the answer's feeling; Monte Cristo passages read as neutral:", "",
                "| reading | value | baseline |", "|---|---|---|",
                f"| valence / arousal / dominance (1..5) | {m['emobank_valence_r']:.3f} / {m['emobank_arousal_r']:.3f} / "
                f"{m['emobank_dominance_r']:.3f} | frozen MiniLM + ridge {m['emobank_valence_baseline_r']:.3f} / "
                f"{m['emobank_arousal_baseline_r']:.3f} / {m['emobank_dominance_baseline_r']:.3f} |",
                f"| the same, fiction sentences (n = {m['emobank_fiction_n']}) | {m['emobank_fiction_valence_r']:.3f} / "
                f"{m['emobank_fiction_arousal_r']:.3f} / {m['emobank_fiction_dominance_r']:.3f} | |",
                f"| strength against arousal | {m['emobank_strength_arousal_r']:.3f} | |",
                f"| character's feeling, top-1 / top-3 | {m['characters_top1']:.3f} / {m['characters_top3']:.3f} | "
                f"the whole section's reading {m['characters_whole_passage_top1']:.3f} / "
                f"{m['characters_whole_passage_top3']:.3f}; always neutral {m['characters_always_neutral_top1']:.3f} |",
                f"| Monte Cristo passages read as neutral (n = {m['monte_cristo_n']}) | "
                f"{m['monte_cristo_neutral_share']:.3f} | |", "",
            ]
        if "probe_n" in m:
            lines += [
                f"Probe battery (`data/probes`, n = {m['probe_n']}: an emotion word against a conflicting "
                "opening, or an idiom; reported, never used to choose a model): top-1 accepted "
                f"{m['probe_accuracy']:.3f} (emotion words {m['probe_word_accuracy']:.3f}, "
                f"idioms {m['probe_idiom_accuracy']:.3f}).", "",
            ]
    lines += [
        "## Known limits",
        "- English Reddit comments dominate training" + ("; EmoBank's sentences and FairytaleQA's stories add "
        "other registers, but other languages are out of domain." if training.get("config", {}).get("feelings")
        else "; literary prose and other languages are out of domain."),
        "- The entity labels were made by a language model and are 86% neutral; entity-level figures rest "
        "on a few dozen non-neutral targets.",
        "- Rare labels (grief, relief, pride, nervousness) have few training examples and low F1.",
        "- Texts are cut at the token window; a span past it is an error.", "",
    ]
    (folder / CARD_FILE).write_text("\n".join(lines), encoding="utf-8")


def _data_lines(training: dict) -> list[str]:
    """What the weights learned from, each source with its licence, as the training settings say."""
    settings = training.get("config", {})
    lines = ["- GoEmotions train (43,410 Reddit comments, Apache-2.0), multi-labels as soft labels "
             "(mass split evenly); early stopping and thresholds on GoEmotions dev",
             "- entity-level soft labels on Monte Cristo passages (LLM-made, noisy): 80% of passages train, "
             "20% held out by passage hash"]
    if settings.get("affect_weight", 0) > 0:
        lines.append("- EmoBank train (8,062 sentences from fiction, letters, blogs, news, essays and travel guides, "
                     "rated for valence, arousal and dominance; CC BY-SA 4.0, Buechel & Hahn 2017): 90% "
                     "train the valence/arousal/dominance head, 10% held out by sentence hash choose the epoch")
    if settings.get("feelings"):
        lines.append("- FairytaleQA train (Apache-2.0, Xu et al. 2022): its `feeling` questions, the asked-about "
                     "character found in a gold section and the answer's feeling words mapped to labels "
                     "(hyperamy/training/feeling_words.py), as character spans")
    refit = training.get("intensity", {}).get("config", {})
    if refit.get("arousal_weight", 0) > 0:
        lines.append(f"- strength: graded ladders written for this project, and EmoBank train's arousal ratings "
                     f"(a correlation term, weight {refit['arousal_weight']}; 90% fit, 10% choose the step)")
    if "start" in settings:
        lines.append(f"- training started from {settings['start']}, which learned from the sources above")
    return lines


def _training_lines(folder: Path, training: dict, minutes: float) -> list[str]:
    from hyperamy.training.soup import soup_lines

    if "intensity" in training:
        refit = training["intensity"]
        earlier = {k: v for k, v in training.items() if k != "intensity"}
        return [f"- intensity head fitted in {minutes:.1f} minutes (`hyperamy train-intensity`, 2 CPU cores) on "
                f"weights {refit['from_fingerprint']}: nothing else changed (best step "
                f"{refit['best_step']}, dev objective {refit['dev']['dev']:.4f}); everything else is the model below",
                *(soup_lines(earlier) if "soup" in earlier else
                  [f"- earlier training: `{json.dumps(earlier.get('config', {}))}`"])]
    if "soup" in training:
        return [f"- averaging took {minutes:.1f} minutes on this machine (2 CPU cores); each run's own time "
                "is in its folder's model card", *soup_lines(training)]
    history = json.loads((folder / "metrics_history.json").read_text())
    return [f"- time: {minutes:.1f} minutes on this machine (2 CPU cores), best epoch "
            f"{training.get('best_epoch')} of {len(history)}",
            f"- settings: `{json.dumps(training.get('config', {}))}`"]


def tune_shipped_thresholds(folder: Path, data_dir: Path) -> None:
    """Choose each label's threshold on GoEmotions dev through the real inference path."""

    from hyperamy.emotions import LABELS
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.data import read_goemotions
    from hyperamy.training.metrics import gold_matrix, tune_thresholds
    from hyperamy.encoder.weights import THRESHOLDS_FILE

    dev = read_goemotions(data_dir / "goemotions" / "dev.tsv")
    probs = EmotionEncoder.load(folder).encode([s.text for s in dev]).probs
    thresholds = tune_thresholds(probs, gold_matrix([s.labels for s in dev]))
    payload = {"labels": list(LABELS), "chosen_on": "GoEmotions dev",
               "thresholds": [round(float(x), 2) for x in thresholds]}
    (folder / THRESHOLDS_FILE).write_text(json.dumps(payload, indent=2) + "\n")


def finish_run(folder: Path, data_dir: Path, command: str, minutes: float, entity_holdout: float,
               evaluate_test: bool = True) -> dict | None:
    """After training: curves, test metrics with their per-label table, and the model card."""
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.evaluate import evaluate

    history_path = folder / "metrics_history.json"
    if history_path.is_file():  # a soup has no history of its own
        plot_curves(json.loads(history_path.read_text()), folder / CURVES_FILE)
    tune_shipped_thresholds(folder, data_dir)
    metrics = None
    if evaluate_test:
        metrics, table = evaluate(EmotionEncoder.load(folder), data_dir, "test", entity_holdout)
        (folder / "eval-test.md").write_text(f"# Per-label results, GoEmotions test\n\n{table}", encoding="utf-8")
        (folder / "eval-test.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_model_card(folder, command, minutes, metrics)
    return metrics
