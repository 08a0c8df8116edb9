"""Training loop: cached lower layers, tuned upper layers and heads, early stopping, resume."""
from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch

from hyperamy.config import EncoderConfig, TrainConfig
from hyperamy.emotions import AFFECT
from hyperamy.training.cache import CachedSet, build_cache, collate, length_batches
from hyperamy.training.data import read_emobank, read_entities, read_fairytale_feelings, read_goemotions
from hyperamy.training.losses import affect_error, encoder_losses, target_intensity
from hyperamy.training.metrics import multilabel_metrics, tune_thresholds
from hyperamy.encoder.model import EmotionModel, load_backbone
from hyperamy.encoder.weights import save_weights
from hyperamy.errors import WeightsError

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"  # last epoch, with optimizer state: for --resume only, never shipped


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(data_dir: Path, out: Path, encoder_config: EncoderConfig, config: TrainConfig,
          resume: bool = False, show_progress: bool | None = None, start: Path | None = None) -> dict:
    """Fit the encoder; write best weights, thresholds, history, curves and a model card into `out`.

    With `start`, training begins from that weights folder's tuned layers and heads (a head it
    lacks, such as valence/arousal/dominance, starts fresh) instead of the backbone's layers.

    Returns the final history entry of the best epoch.
    """
    from tqdm import tqdm

    started = time.time()
    seed_everything(config.seed)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer, backbone = load_backbone(encoder_config.backbone)
    model = EmotionModel(backbone, encoder_config)
    begun = {}  # the weights training started from, for the model card
    if start is not None:
        from hyperamy.encoder.weights import fingerprint, load_state, read_config

        begun = {"start": f"`{start}` (weights {fingerprint(start)})"}

        if read_config(start)[0] != encoder_config:
            raise WeightsError(f"{start} has another encoder shape than this run: {read_config(start)[0]}")
        load_state(model, start)
    model.has_intensity = False  # its head is fitted afterwards, by `hyperamy train-intensity`
    model.has_affect = config.affect_weight > 0
    model.freeze_lower()
    data_seed = config.seed if config.data_seed is None else config.data_seed
    if data_seed != config.seed:
        torch.manual_seed(data_seed)  # same initial heads as every run of this seed; own dropout stream

    entity_file = data_dir / "entity_granularity" / "entity_granularity_v2.jsonl"
    train_samples = read_goemotions(data_dir / "goemotions" / "train.tsv", limit=config.max_train)
    train_samples += read_entities(entity_file, config.entity_holdout, "train")
    dev_samples = read_goemotions(data_dir / "goemotions" / "dev.tsv", limit=config.max_train)
    if config.affect_weight > 0:
        emobank = data_dir / "emobank" / "train.jsonl"
        train_samples += read_emobank(emobank, config.affect_holdout, "train")[: config.max_train or None]
        dev_samples += read_emobank(emobank, config.affect_holdout, "test")[: config.max_train or None]
    if config.feelings:
        train_samples += read_fairytale_feelings(data_dir / "fairytaleqa" / "train")
    with tqdm(total=len(train_samples) + len(dev_samples), desc="caching lower layers", unit="text",
              disable=_quiet(show_progress)) as bar:
        train_set = build_cache(model, tokenizer, train_samples, encoder_config.max_length, progress=bar,
                                skip_unreachable=True)
        dev_set = build_cache(model, tokenizer, dev_samples, encoder_config.max_length, progress=bar)
    if len(train_set) < len(train_samples):
        log.warning("dropped %d entity targets whose span lies past the %d-token window",
                    len(train_samples) - len(train_set), encoder_config.max_length)

    optimizer = _optimizer(model, config)
    steps_per_epoch = -(-len(train_set) // (config.batch_size * config.grad_accum))
    scheduler = _scheduler(optimizer, config, steps_per_epoch * config.epochs)
    state = {"epoch": 0, "history": [], "best_loss": float("inf"), "stale": 0, "seconds": 0.0}
    if resume:
        state = _restore(out / CHECKPOINT, model, optimizer, scheduler)
        log.info("resumed after epoch %d", state["epoch"])
    weights = torch.tensor([1.0, config.entity_weight])

    while state["epoch"] < config.epochs and state["stale"] < config.patience:
        epoch = state["epoch"] + 1
        epoch_rng = random.Random(data_seed * 1000 + epoch)  # resumes keep the order
        model.train()
        totals = {"prototype": 0.0, "calibration": 0.0, "auxiliary": 0.0, "affect": 0.0, "total": 0.0}
        batches = list(length_batches(train_set, config.batch_size, epoch_rng))
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=_quiet(show_progress))
        for step, rows in enumerate(bar, 1):
            batch = collate(train_set, rows)
            losses, total = _batch_losses(model, batch, config, weights)
            (total / config.grad_accum).backward()
            if step % config.grad_accum == 0 or step == len(batches):
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            for name, value in losses.items():
                totals[name] += float(value) * len(rows)
            totals["total"] += float(total.detach()) * len(rows)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{totals['total'] / (step * config.batch_size):.3f}")
        bar.close()
        dev = evaluate_cached(model, dev_set, config, weights)
        entry = {"epoch": epoch, **{f"train_{k}": v / len(train_set) for k, v in totals.items()},
                 **{f"dev_{k}": v for k, v in dev.items() if k != "thresholds"},
                 "seconds": round(time.time() - started + state["seconds"], 1)}
        state["history"].append(entry)
        log.info("epoch %d: %s", epoch, json.dumps({k: round(v, 4) for k, v in entry.items()}))
        if dev["loss"] < state["best_loss"]:
            state["best_loss"], state["stale"] = dev["loss"], 0
            save_weights(model, out, thresholds=dev["thresholds"],
                         extra={"training": {"best_epoch": epoch, "config": dataclasses.asdict(config) | begun}})
        else:
            state["stale"] += 1
        state["epoch"] = epoch
        _save_checkpoint(out / CHECKPOINT, model, optimizer, scheduler, state, started)
        (out / "metrics_history.json").write_text(json.dumps(state["history"], indent=2) + "\n")
    best = min(state["history"], key=lambda e: e["dev_loss"])
    best["train_seconds_total"] = state["history"][-1]["seconds"]
    return best


def _weighted_losses(model, mu, kappa, logits, affect, batch: dict, config: TrainConfig, weights: torch.Tensor):
    """Per-part means and their weighted total.

    Label losses average over labelled samples (entity and feeling spans weighted by entity_weight);
    the affect loss over the samples rated for valence, arousal and dominance.
    """
    target = batch["target"]
    parts = encoder_losses(model.prototype_logits(mu, kappa), logits, kappa, target, model.config.alpha)
    sample_weight = weights[batch["is_span"].long()] * batch["labelled"]
    labelled = sample_weight.sum().clamp_min(1e-6)
    means = {name: (value * sample_weight).sum() / labelled for name, value in parts.items()}
    rated = torch.isfinite(batch["affect"]).all(-1)
    means["affect"] = affect_error(affect, batch["affect"]).sum() / rated.sum().clamp_min(1)
    total = (config.prototype_weight * means["prototype"] + config.calibration_weight * means["calibration"]
             + config.auxiliary_weight * means["auxiliary"] + config.affect_weight * means["affect"])
    return means, total


def _batch_losses(model, batch, config: TrainConfig, weights: torch.Tensor):
    hidden = model.trunk.upper(batch["lower_hidden"], batch["attention_mask"])
    mu, kappa, logits = model.heads(hidden, batch["token_mask"])
    affect = model.affect(hidden, batch["token_mask"])
    means, total = _weighted_losses(model, mu, kappa, logits, affect, batch, config, weights)
    return {k: v.detach() for k, v in means.items()}, total


@torch.inference_mode()
def run_cached(model, cache: CachedSet, batch_size: int = 128):
    """mu, kappa, auxiliary logits and valence/arousal/dominance of every sample of a cached set."""
    model.eval()
    mu = torch.zeros((len(cache), model.config.dim))
    kappa = torch.zeros(len(cache))
    logits = torch.zeros((len(cache), model.auxiliary.out_features))
    affect = torch.zeros((len(cache), 3))
    for rows in length_batches(cache, batch_size, None):
        batch = collate(cache, rows)
        index = torch.as_tensor(rows)
        hidden = model.trunk.upper(batch["lower_hidden"], batch["attention_mask"])
        mu[index], kappa[index], logits[index] = model.heads(hidden, batch["token_mask"])
        affect[index] = model.affect(hidden, batch["token_mask"])
    return mu, kappa, logits, affect


@torch.inference_mode()
def evaluate_cached(model, cache: CachedSet, config: TrainConfig, weights: torch.Tensor) -> dict:
    """Dev loss, thresholds tuned on the labelled rows, macro-F1 there, mean kappa, affect Pearson r."""
    mu, kappa, logits, affect = run_cached(model, cache)
    batch = {"target": cache.targets, "is_span": cache.is_span, "labelled": cache.labelled, "affect": cache.affect}
    means, total = _weighted_losses(model, mu, kappa, logits, affect, batch, config, weights)
    means, loss = {name: float(value) for name, value in means.items()}, float(total)
    rows = cache.labelled.numpy()
    probs = model.label_probabilities(mu, kappa).numpy()[rows]
    gold = cache.targets.numpy()[rows] > 0
    thresholds = tune_thresholds(probs, gold)
    metrics = multilabel_metrics(probs, gold, thresholds)
    from hyperamy.training.metrics import spearman

    result = {"loss": loss, **means, "macro_f1": metrics["macro_f1"], "mean_kappa": float(kappa[rows].mean()),
              "kappa_spearman": spearman(kappa.numpy()[rows], target_intensity(cache.targets[rows]).numpy()),
              "thresholds": thresholds}
    rated = torch.isfinite(cache.affect).all(-1).numpy()
    if rated.sum() > 2:
        for i, name in enumerate(AFFECT):
            result[f"{name}_r"] = float(np.corrcoef(affect.numpy()[rated, i], cache.affect.numpy()[rated, i])[0, 1])
    return result


def _optimizer(model, config: TrainConfig):
    backbone, heads = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (backbone if name.startswith("trunk.") else heads).append(parameter)
    return torch.optim.AdamW([{"params": backbone, "lr": config.lr_backbone},
                              {"params": heads, "lr": config.lr_heads}], weight_decay=config.weight_decay)


def _scheduler(optimizer, config: TrainConfig, total_steps: int):
    warmup = max(1, int(total_steps * config.warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _save_checkpoint(path: Path, model, optimizer, scheduler, state: dict, started: float) -> None:
    tuned = set(model.tuned_parameter_names())
    payload = {"model": {k: v for k, v in model.state_dict().items() if k in tuned},
               "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
               "state": {**state, "seconds": state["history"][-1]["seconds"]}}
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def _restore(path: Path, model, optimizer, scheduler) -> dict:
    if not path.is_file():
        raise WeightsError(f"cannot resume: {path} does not exist (train once without --resume)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain values only
        # the checkpoint holds the tuned parameters only (the rest is the backbone's): all of them, nothing else
        loaded = model.load_state_dict(payload["model"], strict=False)
        missing = set(model.tuned_parameter_names()) - set(payload["model"])
        if loaded.unexpected_keys or missing:
            raise ValueError(f"it does not fit this model (unexpected: {sorted(loaded.unexpected_keys)[:3]}, "
                             f"missing: {sorted(missing)[:3]})")
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
    except (RuntimeError, KeyError, EOFError, ValueError) as exc:
        raise WeightsError(f"cannot resume from {path}: {exc}") from exc
    return payload["state"]


def _quiet(show_progress: bool | None):
    return None if show_progress is None else not show_progress
