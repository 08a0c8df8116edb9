"""GoEmotions TSV and entity-level JSONL -> soft-label training samples."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from hyperamy.emotions import ENTITY_TO_GOEMOTIONS, NUM_LABELS
from hyperamy.errors import DataFormatError


@dataclasses.dataclass(frozen=True)
class Sample:
    """One training or evaluation example: a text, an optional span and its soft label."""

    text: str
    target: np.ndarray  # (28,) in GoEmotions id order, sums to 1
    span: tuple[int, int] | None = None
    labels: tuple[int, ...] = ()  # the gold label ids (GoEmotions rows only)


def default_data_dir() -> Path:
    """The repository's data/ folder (next to the package in a source checkout)."""
    return Path(__file__).resolve().parents[2] / "data"


def read_goemotions(path: str | Path, limit: int = 0) -> list[Sample]:
    """Read a GoEmotions TSV (text, comma-separated ids, comment id); label mass split evenly."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("file not found", str(path))
    samples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if limit and len(samples) >= limit:
                break
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                raise DataFormatError("expected text<TAB>label ids", str(path), number)
            try:
                ids = tuple(sorted({int(x) for x in parts[1].split(",")}))
            except ValueError:
                raise DataFormatError(f"bad label ids {parts[1]!r}", str(path), number) from None
            if not ids or min(ids) < 0 or max(ids) >= NUM_LABELS:
                raise DataFormatError(f"label ids {parts[1]!r} outside 0..{NUM_LABELS - 1}", str(path), number)
            target = np.zeros(NUM_LABELS, dtype=np.float32)
            target[list(ids)] = 1.0 / len(ids)
            samples.append(Sample(text=parts[0], target=target, labels=ids))
    return samples


def read_label_column(path: str | Path) -> list[tuple[int, ...]]:
    """The label-id sets of a mapped GoEmotions TSV (group/ or ekman/)."""
    with Path(path).open(encoding="utf-8") as handle:
        return [tuple(int(x) for x in line.rstrip("\n").split("\t")[1].split(",")) for line in handle]


def read_entities(path: str | Path, holdout: float, part: str) -> list[Sample]:
    """Span samples from the entity file: one per target, soft labels reordered to GoEmotions ids.

    Passages are split by a hash of their text, so the same passage never lands in both parts.
    `part` is "train" or "test".
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("file not found", str(path))
    order = np.asarray(ENTITY_TO_GOEMOTIONS)
    samples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
                text = record["text"]
                targets = record["targets"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataFormatError(f"not an entity record: {exc}", str(path), number) from None
            if (_passage_bucket(text) < holdout) != (part == "test"):
                continue
            for target in targets:
                soft = np.zeros(NUM_LABELS, dtype=np.float32)
                soft[order] = np.asarray(target["soft_label"], dtype=np.float32)
                total = soft.sum()
                if len(target["soft_label"]) != NUM_LABELS or total <= 0:
                    raise DataFormatError("soft_label must hold 28 non-negative numbers", str(path), number)
                span = (int(target["char_start"]), int(target["char_end"]))
                if text[span[0]:span[1]] != target["span_text"]:
                    raise DataFormatError(f"span_text {target['span_text']!r} is not at {span}", str(path), number)
                samples.append(Sample(text=text, target=soft / total, span=span))
    return samples


def _passage_bucket(text: str) -> float:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
