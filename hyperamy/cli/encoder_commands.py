"""`hyperamy predict`, `eval` and `train`."""
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



@main.command()
@click.argument("text")
@click.option("--span", "-s", help="Feel only this part of TEXT (its first occurrence), e.g. a name.")
@click.option("--top", "-k", "-n", "top", default=5, show_default=True, type=click.IntRange(1, 28),
              help="Emotions to list (-k as in search; -n kept for old scripts).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, with mu.")
@weights_option
def predict(text: str, span: str | None, top: int, as_json: bool, weights: str | None) -> None:
    """Show the emotions of TEXT, with kappa (how intense and certain they are).

    \b
    Example:
      hyperamy predict "Villefort turned pale and trembled" --span Villefort
    """
    from hyperamy.encoder.light import LightQueryEncoder

    if not text.strip():
        raise InputError("TEXT is empty: give the text whose emotions to show")
    light = LightQueryEncoder.load(weights)  # no torch import for BERT-style backbones (seconds sooner)
    if light is not None:
        batch, thresholds = light.encode_query(text, span).emotion, light.thresholds
    else:
        from hyperamy.encoder import EmotionEncoder

        encoder = EmotionEncoder.load(weights)
        batch, thresholds = encoder.encode([text], spans=[span] if span else None), encoder.thresholds
    ranked = batch.top(0, top)
    decided = [name for name, p, threshold in zip(batch.labels, batch.probs[0], thresholds) if p >= threshold]
    if as_json:
        emit_json({"text": text, "span": span, "kappa": float(batch.kappa[0]),
                   "top": [{"label": name, "prob": round(p, 6)} for name, p in ranked],
                   "predicted": decided, "mu": [round(float(x), 6) for x in batch.mu[0]]})
        return
    click.echo(f"kappa {batch.kappa[0]:.1f}   predicted: {', '.join(decided) or '(none over threshold)'}")
    for name, p in ranked:
        click.echo(f"  {name:<15} {p:6.3f}  {'#' * round(p * 30)}")


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
    from hyperamy.encoder.evaluate import evaluate, format_metrics

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
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in --out.")
@click.option("--skip-eval", is_flag=True, help="Do not score the best weights on the test split at the end.")
def train(out: str, data: str | None, backbone: str | None, tuned_layers: int | None, resume: bool,
          skip_eval: bool, **options) -> None:
    """Fine-tune the emotion encoder on GoEmotions and the entity-level labels.

    \b
    Example:
      hyperamy train --out runs/encoder
    """
    from hyperamy.encoder.report import finish_run
    from hyperamy.encoder.train import train as fit

    folder, data_folder = Path(out), data_dir(data)
    encoder_fields = {"backbone": backbone, "tuned_layers": tuned_layers}
    encoder_config = EncoderConfig(**{k: v for k, v in encoder_fields.items() if v is not None})
    config = TrainConfig(**{k: v for k, v in options.items() if v is not None})
    started = time.time()
    best = fit(data_folder, folder, encoder_config, config, resume=resume, show_progress=progress_wanted())
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
    from hyperamy.encoder.report import finish_run
    from hyperamy.encoder.soup import average_runs

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
