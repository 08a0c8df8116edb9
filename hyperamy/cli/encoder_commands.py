"""`hyperamy eval`, `train`, `train-intensity` and `soup` (they need the training extra)."""
from __future__ import annotations

import dataclasses
import json
import os
import shlex
import time
from pathlib import Path

import click

from hyperamy.cli import main
from hyperamy.cli.common import data_dir, emit_json, progress_wanted, weights_option
from hyperamy.config import EncoderConfig, TrainConfig
from hyperamy.errors import InputError



@main.command(name="eval")
@click.option("--split", type=click.Choice(["dev", "test"]), default="test", show_default=True,
              help="GoEmotions split to score: dev (what thresholds were chosen on) or test (held out).")
@weights_option
@click.option("--data", "data", type=click.Path(file_okay=False), help="Data folder (default: the project's data/).")
@click.option("--report", type=click.Path(dir_okay=False),
              help="Per-label table file [default: eval-<split>.md in the --weights folder; for the shipped "
                   "model, in ~/.cache/hyperamy].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object of metrics.")
def evaluate_command(split: str, weights: str | None, data: str | None, report: str | None, as_json: bool) -> None:
    """Score the encoder on GoEmotions and the held-out entity targets, beside baselines.

    \b
    Example:
      hyperamy eval --split test --json
    """
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training import require_extra
    from hyperamy.training.evaluate import evaluate, format_metrics

    require_extra("eval")
    folder = data_dir(data)  # checked before the model loads, so a wrong path fails fast
    result, table = evaluate(EmotionEncoder.load(weights), folder, split)
    report_path = Path(report) if report else _report_folder(weights) / f"eval-{split}.md"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(f"# Per-label results, GoEmotions {split}\n\n{table}", encoding="utf-8")
    result["report"] = str(report_path)
    if as_json:
        emit_json(result)
    else:
        click.echo(format_metrics(result))
        click.echo(f"Per-label table: {report_path}")


def _report_folder(weights: str | None) -> Path:
    """Where eval reports go: beside the weights evaluated, never the current folder or the package."""
    if weights:
        return Path(weights)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "hyperamy"


@main.command()
@click.option("--out", "-o", type=click.Path(file_okay=False), default="runs/encoder", show_default=True,
              help="Folder for weights, checkpoint, history, curves and model card.")
@click.option("--data", type=click.Path(file_okay=False), help="Data folder (default: the project's data/).")
@click.option("--backbone", help="Local transformers model folder (default: the packaged all-MiniLM-L6-v2).")
@click.option("--tuned-layers", type=int, help=f"Top transformer layers to fine-tune [default: {EncoderConfig.tuned_layers}].")
@click.option("--epochs", type=int, help=f"Most epochs [default: {TrainConfig.epochs}].")
@click.option("--batch-size", type=int, help=f"Samples per batch [default: {TrainConfig.batch_size}].")
@click.option("--grad-accum", type=int, help=f"Batches per optimizer step [default: {TrainConfig.grad_accum}].")
@click.option("--lr-backbone", type=float, help=f"Learning rate of the tuned layers [default: {TrainConfig.lr_backbone:g}].")
@click.option("--lr-heads", type=float, help=f"Learning rate of heads and prototypes [default: {TrainConfig.lr_heads:g}].")
@click.option("--weight-decay", type=float, help=f"AdamW weight decay [default: {TrainConfig.weight_decay:g}].")
@click.option("--warmup-ratio", type=float, help=f"Share of steps spent warming up [default: {TrainConfig.warmup_ratio:g}].")
@click.option("--patience", type=int, help=f"Epochs without a better dev loss before stopping [default: {TrainConfig.patience}].")
@click.option("--seed", type=int, help=f"Random seed [default: {TrainConfig.seed}].")
@click.option("--data-seed", type=int,
              help="Seed of batch order and dropout only (default: --seed). Runs with one --seed and "
                   "different --data-seed start alike, so `hyperamy soup` can average them.")
@click.option("--max-train", type=int, help="Use only the first N GoEmotions rows of train and dev (smoke runs).")
@click.option("--affect-weight", type=float,
              help=f"Weight of the valence/arousal/dominance error on EmoBank (0: no such head) "
                   f"[default: {TrainConfig.affect_weight:g}].")
@click.option("--feelings/--no-feelings", default=None,
              help="Train on FairytaleQA's feeling questions (characters in their sections) [default: on].")
@click.option("--start", type=click.Path(file_okay=False),
              help="Begin from this weights folder's tuned layers and heads (e.g. the shipped model's: "
                   "hyperamy/encoder/weights) instead of the backbone's.")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in --out.")
@click.option("--skip-eval", is_flag=True, help="Do not score the best weights on the test split at the end.")
def train(out: str, data: str | None, backbone: str | None, tuned_layers: int | None, resume: bool,
          skip_eval: bool, start: str | None, **options) -> None:
    """Fine-tune the emotion encoder on GoEmotions, EmoBank, FairytaleQA feelings and the entity labels.

    The intensity head (strength) is not trained here: run `hyperamy train-intensity
    --weights OUT --out OUT-intensity` afterwards.

    \b
    Example:
      hyperamy train --out runs/encoder
      hyperamy train-intensity --weights runs/encoder --out runs/encoder-intensity
    """
    from hyperamy.training import require_extra
    from hyperamy.training.report import finish_run
    from hyperamy.training.train import train as fit

    require_extra("train")
    folder, data_folder = Path(out), data_dir(data)
    encoder_fields = {"backbone": backbone, "tuned_layers": tuned_layers}
    encoder_config = EncoderConfig(**{k: v for k, v in encoder_fields.items() if v is not None})
    config = TrainConfig(**{k: v for k, v in options.items() if v is not None})
    started = time.time()
    best = fit(data_folder, folder, encoder_config, config, resume=resume, show_progress=progress_wanted(),
               start=Path(start) if start else None)
    minutes = best["train_seconds_total"] / 60 if resume else (time.time() - started) / 60
    command = _command_line(click.get_current_context())
    finish_run(folder, data_folder, command, minutes, config.entity_holdout, evaluate_test=not skip_eval)
    click.echo(json.dumps({"out": str(folder), "best_epoch": best["epoch"], "dev_loss": best["dev_loss"],
                           "dev_macro_f1": best["dev_macro_f1"], "minutes": round(minutes, 1),
                           "config": dataclasses.asdict(config)}, indent=2))


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", "-o", type=click.Path(file_okay=False), required=True, help="Folder for the averaged model.")
@click.option("--data", type=click.Path(file_okay=False), help="Data folder (default: the project's data/).")
@click.option("--skip-eval", is_flag=True, help="Do not score the soup on the test split.")
def soup(runs: tuple[str, ...], out: str, data: str | None, skip_eval: bool) -> None:
    """Average the weights of training RUNS that share one --seed into one model.

    Thresholds are chosen again on GoEmotions dev, then the soup is scored on test and gets
    a model card, like a trained run.

    \b
    Example:
      hyperamy train --data-seed 7 --out runs/d7
      hyperamy train --data-seed 21 --out runs/d21
      hyperamy soup runs/encoder runs/d7 runs/d21 --out runs/soup
    """
    from hyperamy.training import require_extra
    from hyperamy.training.report import finish_run
    from hyperamy.training.soup import average_runs

    require_extra("soup")
    data_folder = data_dir(data)
    started = time.time()
    config = average_runs([Path(run) for run in runs], Path(out))
    holdout = config["training"]["config"].get("entity_holdout", TrainConfig.entity_holdout)
    command = " ".join(["hyperamy soup", *map(shlex.quote, runs), "--out", shlex.quote(out)])
    metrics = finish_run(Path(out), data_folder, command, (time.time() - started) / 60, holdout,
                         evaluate_test=not skip_eval)
    result = {"out": out, "runs": list(runs)}
    if metrics:
        result |= {k: metrics[k] for k in ("macro_f1", "kappa_spearman", "top1_accuracy")}
    click.echo(json.dumps(result, indent=2))


@main.command(name="train-intensity")
@weights_option
@click.option("--out", "-o", type=click.Path(file_okay=False), required=True, help="Folder for the refitted model.")
@click.option("--data", type=click.Path(file_okay=False), help="Data folder (default: the project's data/).")
@click.option("--steps", type=click.IntRange(1), help="Full-batch optimizer steps [default: 600].")
@click.option("--arousal-weight", type=click.FloatRange(0), default=None,
              help="Weight of EmoBank train's arousal ratings (1 - Pearson r with strength); 0: leave them "
                   "out [default: 0.3].")
@click.option("--skip-eval", is_flag=True, help="Do not score the new model on the test split.")
def train_intensity(weights: str | None, out: str, data: str | None, steps: int | None, arousal_weight: float | None,
                    skip_eval: bool) -> None:
    """Fit the intensity head (how strongly a text is felt); nothing else in the model changes.

    Starts from --weights (the shipped model by default), fits the head on graded
    ladders, docstrings, GoEmotions, rewrites (see data/intensity) and EmoBank train's
    arousal ratings, chooses thresholds on GoEmotions dev again, scores test and writes a
    model card.

    \b
    Example:
      hyperamy train-intensity --out runs/intensity
    """
    from tqdm import tqdm

    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training import require_extra
    from hyperamy.training.intensity_training import IntensityConfig, fit_intensity_head
    from hyperamy.training.report import finish_run
    from hyperamy.encoder.weights import save_weights

    require_extra("train-intensity")
    data_folder, folder = data_dir(data), Path(out)
    if weights and Path(weights).resolve() == folder.resolve():
        raise InputError(f"--out {out} is the model being refitted; write to a new folder")
    given = {"steps": steps, "arousal_weight": arousal_weight}
    config = IntensityConfig(**{k: v for k, v in given.items() if v is not None})
    started = time.time()
    encoder = EmotionEncoder.load(weights)
    best, history = fit_intensity_head(encoder, data_folder, config, progress_factory=lambda total: tqdm(
        total=total, desc="encoding training texts", unit="text", disable=not progress_wanted()))
    training = dict(encoder.info.get("training", {}))
    training["intensity"] = {"from": weights or "shipped", "from_fingerprint": encoder.fingerprint,
                             "config": dataclasses.asdict(config), "best_step": best["step"],
                             "dev": {k: round(v, 5) for k, v in best.items() if k.startswith("dev")}}
    save_weights(encoder.model, folder, extra={"training": training})
    (folder / "intensity_history.json").write_text(json.dumps(history, indent=1) + "\n")
    holdout = training.get("config", {}).get("entity_holdout", TrainConfig.entity_holdout)
    metrics = finish_run(folder, data_folder, _command_line(click.get_current_context()),
                         (time.time() - started) / 60, holdout, evaluate_test=not skip_eval)
    result = {"out": out, "best_step": best["step"], "dev_objective": round(best["dev"], 5)}
    if metrics:
        result |= {k: metrics[k] for k in ("macro_f1", "intensity_spearman", "kappa_spearman")}
    click.echo(json.dumps(result, indent=2))


def _command_line(ctx: click.Context) -> str:
    """The command as a user would type it, from the options actually given."""
    words = ["hyperamy", ctx.info_name]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value in (None, False) or ctx.get_parameter_source(param.name) == click.core.ParameterSource.DEFAULT:
            continue
        flag = param.opts[0]
        words += [flag] if value is True else [flag, shlex.quote(str(value))]
    return " ".join(words)
