"""Fit the intensity head of a trained encoder: how strongly a text is felt, 0..1; nothing else changes.

mu, kappa, the prototypes and every transformer layer stay as they are, so every label
probability is unchanged. The head is one linear map over the top layer's token states, softplus
and max-pooled like kappa's energy head (from which it starts), so the top states are computed
once and the head is fitted on them in seconds.

Signals (none fetched at run time):
- graded ladders written for this project (data/intensity/train.jsonl): strength = rung / 4;
- technical text (first paragraphs of Python standard-library docstrings): strength 0;
- GoEmotions train: neutral comments below 0.35, emotional ones above 0.3 (hinges);
- rewrites of emotional GoEmotions comments (augment.py): emphasis above the original, a hedge
  below it, and a change of register (lowercase, hashtag, emoji, no punctuation) equal to it;
- human ratings: EmoBank train's arousal (sentences from fiction, letters, news, ...), which
  strength should rise with (a correlation term: the ratings' scale is not strength's).
The fitted head is chosen on the dev parts (dev ladders, other docstrings, GoEmotions dev, the
10% of EmoBank train that `hyperamy train` also holds out); EmoBank's dev split is only reported.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from hyperamy.config import TrainConfig
from hyperamy.emotions import LABEL_TO_GROUP, LABELS, NEUTRAL
from hyperamy.training import augment
from hyperamy.training.data import read_emobank, read_goemotions
from hyperamy.encoder.tokens import length_sorted_batches
from hyperamy.errors import DataFormatError

log = logging.getLogger(__name__)

DOC_MODULES = (
    "os", "os.path", "json", "pathlib", "collections", "itertools", "functools", "re", "string", "textwrap",
    "shutil", "subprocess", "datetime", "decimal", "fractions", "statistics", "csv", "sqlite3",
    "urllib.parse", "urllib.request", "http.client", "http.server", "email.message", "logging", "argparse",
    "typing", "dataclasses", "hashlib", "zipfile", "tarfile", "gzip", "socket", "threading", "asyncio",
    "unittest", "inspect", "ast", "tokenize", "heapq", "bisect", "struct", "codecs", "io", "tempfile",
    "glob", "fnmatch", "configparser", "xml.etree.ElementTree", "html.parser", "calendar", "random", "uuid",
    "base64", "pickle", "copy", "pprint", "enum", "contextlib", "abc", "numbers", "operator", "weakref",
    "queue", "sched", "selectors", "locale", "gettext", "platform", "sysconfig", "lzma", "bz2", "difflib",
    "secrets", "hmac", "ipaddress", "mimetypes", "smtplib", "ftplib", "imaplib", "plistlib", "shelve",
    "timeit", "pdb", "doctest", "importlib", "pkgutil", "runpy", "traceback", "warnings", "zipimport",
    "multiprocessing.pool", "concurrent.futures", "graphlib", "tomllib", "wave", "colorsys", "filecmp",
)


@dataclasses.dataclass(frozen=True)
class IntensityConfig:
    steps: int = 600
    lr: float = 0.003
    goemotions_rows: int = 9000  # sampled from train, two emotional comments to one neutral
    dev_rows: int = 2250
    seed: int = 13
    margin: float = 0.1  # emphasis must raise, a hedge lower, the strength by at least this much
    # weight of 1 - Pearson r(strength, EmoBank arousal); 0: not used. 0.3 chose the highest sum of the dev
    # ladders' Spearman and the held-out tenth's r among 0, 0.1, 0.3 (on the trial soup runs/v2soup:
    # 0.898 + 0.247, 0.883 + 0.341, 0.868 + 0.395)
    arousal_weight: float = 0.3
    # the tenth of EmoBank train `hyperamy train` holds out: the same sentences choose the step
    arousal_holdout: float = TrainConfig.affect_holdout
    emobank_rows: int = 0  # the first this many rated sentences of each part (0: all)


def technical_texts(part: str, holdout: float = 0.2) -> list[str]:
    """First paragraphs of standard-library docstrings, half written as `def name(args): doc`.

    Split by a hash of the text: `part` "train" or "dev".
    """
    texts = []
    for module_name in DOC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name, value in sorted(vars(module).items()):
            if name.startswith("_") or not (inspect.isfunction(value) or inspect.isclass(value)):
                continue
            doc = inspect.getdoc(value) or ""
            first = " ".join(doc.split("\n\n")[0].split())
            if not 25 <= len(first) <= 300:
                continue
            if len(texts) % 2:
                try:
                    signature = str(inspect.signature(value))
                except (TypeError, ValueError):
                    signature = "()"
                first = f"def {name}{signature[:60]}: {first}"
            texts.append(first)
    unique = sorted(set(texts))
    return [t for t in unique if (_bucket(t) < holdout) == (part == "dev")]


def read_ladders(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, rungs (0..4) and label ids of a ladder file."""
    if not path.is_file():
        raise DataFormatError("file not found", str(path))
    texts, rungs, labels = [], [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
                texts.append(row["text"])
                rungs.append(int(row["rung"]))
                labels.append(LABELS.index(row["label"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DataFormatError(f"not a ladder row: {exc}", str(path), number) from None
    return texts, np.asarray(rungs), np.asarray(labels)


@dataclasses.dataclass
class Part:
    """Texts whose top-layer token states are cached, with what the loss asks of them."""

    texts: list[str]
    tokens: torch.Tensor = None  # (all tokens, hidden) float32: widened once, not at every step
    owner: torch.Tensor = None  # (all tokens,) text index of each token

    def energies(self, head: torch.nn.Linear) -> torch.Tensor:
        token_energy = F.softplus(head(self.tokens).squeeze(-1))
        out = torch.zeros(len(self.texts), dtype=token_energy.dtype)
        return out.scatter_reduce(0, self.owner, token_energy, reduce="amax", include_self=False)


def cache_top_states(model, tokenizer, part: Part, max_length: int, progress=None) -> None:
    """Run the whole network once over a part's texts and keep the pooled-over token states."""
    inverse, batches = length_sorted_batches(tokenizer, part.texts, None, max_length, 64)
    order = np.argsort(inverse)  # position in batch order -> text index
    tokens, owners, seen = [], [], 0
    with torch.inference_mode():
        for batch in batches:
            lower = model.trunk.lower(batch["input_ids"], batch["attention_mask"])
            top = model.trunk.upper(lower, batch["attention_mask"])
            mask = batch["token_mask"]
            for r in range(top.shape[0]):
                kept = top[r][mask[r] > 0]
                tokens.append(kept.float())
                owners.append(torch.full((kept.shape[0],), int(order[seen + r]), dtype=torch.long))
            seen += top.shape[0]
            if progress is not None:
                progress.update(top.shape[0])
    part.tokens, part.owner = torch.cat(tokens), torch.cat(owners)


def build_parts(data_dir: Path, config: IntensityConfig, split: str) -> dict:
    """The texts of every loss term for train or dev, with their targets."""
    rng = random.Random(config.seed + (0 if split == "train" else 1))
    ladder_texts, rungs, _ = read_ladders(data_dir / "intensity" / f"{split}.jsonl")
    rows = read_goemotions(data_dir / "goemotions" / f"{'train' if split == 'train' else 'dev'}.tsv")
    emotional = [s for s in rows if NEUTRAL not in s.labels]
    neutral = [s for s in rows if s.labels == (NEUTRAL,)]
    wanted = config.goemotions_rows if split == "train" else config.dev_rows
    emotional = rng.sample(emotional, min(len(emotional), wanted * 2 // 3))
    neutral = rng.sample(neutral, min(len(neutral), wanted // 3))
    originals = [s.text for s in emotional]
    groups = [LABEL_TO_GROUP[LABELS[s.labels[0]]] for s in emotional]
    parts = {
        "ladders": (Part(ladder_texts), torch.tensor(rungs / 4.0, dtype=torch.float32)),
        "technical": (Part(technical_texts(split)), None),
        "neutral": (Part([s.text for s in neutral]), None),
        "emotional": (Part(originals), None),
        "stronger": (Part([augment.stronger(t, rng) for t in originals]), None),
        "weaker": (Part([augment.weaker(t, rng) for t in originals]), None),
        "keeping": (Part([augment.keeping(t, rng, g) for t, g in zip(originals, groups)]), None),
    }
    if config.arousal_weight:
        rated = read_emobank(data_dir / "emobank" / "train.jsonl", config.arousal_holdout,
                             "train" if split == "train" else "test")[: config.emobank_rows or None]
        if len(rated) >= 2:  # a correlation needs two ratings
            parts["arousal"] = (Part([s.text for s in rated]), torch.tensor([s.affect[1] for s in rated]))
    return parts


def objective(head, parts: dict, margin: float, arousal_weight: float = 0.0) -> dict[str, torch.Tensor]:
    """Each loss term (mean squared violations, each on the 0..1 strength scale; arousal: the
    weighted shortfall of strength's correlation with the ratings from 1)."""
    s = {name: part.energies(head) for name, (part, _) in parts.items()}
    rungs = parts["ladders"][1]
    terms = {
        "ladders": ((s["ladders"] - rungs) ** 2).mean(),
        "technical": (s["technical"] ** 2).mean(),
        "neutral": (F.relu(s["neutral"] - 0.35) ** 2).mean(),
        "emotional": (F.relu(0.3 - s["emotional"]) ** 2).mean(),
        "stronger": (F.relu(margin - (s["stronger"] - s["emotional"])) ** 2).mean(),
        "weaker": (F.relu(margin - (s["emotional"] - s["weaker"])) ** 2).mean(),
        "keeping": ((s["keeping"] - s["emotional"]) ** 2).mean(),
    }
    if "arousal" in parts:
        terms["arousal"] = arousal_weight * (1.0 - _pearson(s["arousal"], parts["arousal"][1]))
    return terms


def _pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x, y = x - x.mean(), y - y.mean()
    return (x * y).sum() / (x.norm() * y.norm()).clamp_min(1e-8)


def fit_intensity_head(encoder, data_dir: Path, config: IntensityConfig, progress_factory=None) -> tuple[dict, list]:
    """Fit encoder.model.intensity in place; returns the chosen step's dev terms and the history."""
    split_parts = cached_parts(encoder, data_dir, config, progress_factory)
    best, history, state = fit_head(encoder.model, split_parts, config)
    with torch.no_grad():
        encoder.model.intensity.load_state_dict(state)
    encoder.model.has_intensity = True
    return best, history


def cached_parts(encoder, data_dir: Path, config: IntensityConfig, progress_factory=None) -> dict:
    """{"train": parts, "dev": parts}, each part's top-layer token states computed once."""
    model = encoder.model.eval()
    split_parts = {split: build_parts(data_dir, config, split) for split in ("train", "dev")}
    total = sum(len(p.texts) for parts in split_parts.values() for p, _ in parts.values())
    progress = progress_factory(total) if progress_factory else None
    for parts in split_parts.values():
        for part, _ in parts.values():
            cache_top_states(model, encoder.tokenizer, part, encoder.config.max_length, progress)
    if progress is not None:
        progress.close()
    return split_parts


def fit_head(model, split_parts: dict, config: IntensityConfig) -> tuple[dict, list, dict]:
    """Full-batch Adam from kappa's energy head: (the chosen step's dev terms, history, head state)."""
    torch.manual_seed(config.seed)
    head = torch.nn.Linear(model.energy.in_features, 1)
    head.load_state_dict(model.energy.state_dict())
    optimizer = torch.optim.Adam(head.parameters(), lr=config.lr)
    history, best, best_state = [], None, None
    for step in range(config.steps + 1):
        if step % 20 == 0 or step == config.steps:
            with torch.no_grad():
                dev = {k: float(v) for k, v in
                       objective(head, split_parts["dev"], config.margin, config.arousal_weight).items()}
            dev_total = sum(dev.values())
            history.append({"step": step, "dev": dev_total, **{f"dev_{k}": v for k, v in dev.items()}})
            if best is None or dev_total < best["dev"]:
                best, best_state = history[-1], {k: v.clone() for k, v in head.state_dict().items()}
        if step == config.steps:
            break
        optimizer.zero_grad()
        loss = sum(objective(head, split_parts["train"], config.margin, config.arousal_weight).values())
        loss.backward()
        optimizer.step()
    return best, history, best_state


def _bucket(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64


def ladder_report(encoder, data_dir: Path, split: str = "test") -> dict:
    """Spearman of intensity, strength and kappa with the rung order of a ladder file."""
    from hyperamy.training.metrics import spearman

    texts, rungs, labels = read_ladders(data_dir / "intensity" / f"{split}.jsonl")
    batch = encoder.encode(texts)
    if batch.strength is None:
        return {"intensity_n": len(texts), "intensity_kappa_spearman": spearman(batch.kappa, rungs)}
    rung_intensity = batch.intensity[np.arange(len(texts)), labels]
    return {
        "intensity_n": len(texts),
        "intensity_spearman": spearman(rung_intensity, rungs),
        "intensity_strength_spearman": spearman(batch.strength, rungs),
        "intensity_kappa_spearman": spearman(batch.kappa, rungs),
        "intensity_probability_spearman": spearman(batch.probs[np.arange(len(texts)), labels], rungs),
    }


def elapsed(started: float) -> float:
    return round(time.time() - started, 1)
