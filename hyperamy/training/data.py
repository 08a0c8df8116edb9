"""Training samples: GoEmotions TSV, entity-level JSONL, EmoBank ratings and FairytaleQA feelings."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Iterator

import numpy as np

from hyperamy.emotions import AFFECT, ENTITY_TO_GOEMOTIONS, NUM_LABELS
from hyperamy.errors import DataFormatError


@dataclasses.dataclass(frozen=True)
class Sample:
    """One training or evaluation example: a text, an optional span and its soft label."""

    text: str
    target: np.ndarray  # (28,) in GoEmotions id order, sums to 1
    span: tuple[int, int] | None = None
    labels: tuple[int, ...] = ()  # the gold label ids (GoEmotions rows only)
    affect: tuple[float, float, float] | None = None  # valence, arousal, dominance, 1..5 (EmoBank rows)

    @property
    def labelled(self) -> bool:
        """Whether the sample has a label target (EmoBank rows have only valence/arousal/dominance)."""
        return bool(self.target.sum() > 0)


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


def read_emobank(path: str | Path, holdout: float = 0.0, part: str = "all") -> list[Sample]:
    """EmoBank sentences as samples with valence, arousal and dominance (1..5) and no label target.

    With holdout > 0, sentences are split by a hash of their text: `part` "train" or "test".
    """
    return [sample for sample, _ in emobank_rows(path)
            if not (holdout and part != "all" and (_passage_bucket(sample.text) < holdout) != (part == "test"))]


def emobank_rows(path: str | Path) -> Iterator[tuple[Sample, str | None]]:
    """(sample, genre) of each EmoBank record with a text, in file order."""
    for number, record in _json_lines(path):
        try:
            text, affect = record["text"], tuple(float(record[k]) for k in AFFECT)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(f"not an EmoBank record: {exc}", str(path), number) from None
        if text.strip():
            yield Sample(text=text, target=np.zeros(NUM_LABELS, dtype=np.float32), affect=affect), record.get("genre")


_FEEL_QUESTION = re.compile(r"^\s*how (?:did|does|do|will|would|might|could|may|was|were|is|are|should|must) "
                            r"(?P<who>.+?) (?:feel|felt|feeling)\b", re.IGNORECASE)
_PRONOUNS = {"he", "she", "they", "it", "you", "i", "we", "him", "her", "them", "everyone", "everybody"}
_DETERMINERS = ("the ", "a ", "an ", "his ", "her ", "their ", "its ", "this ", "that ", "these ", "those ")


def question_character(question: str) -> list[str]:
    """The names a feeling question asks about ("How did the old king feel ..." -> ["the old king"])."""
    match = _FEEL_QUESTION.match(question)
    if not match:
        return []
    names = [n.strip(" ,") for n in re.split(r",| and ", match.group("who")) if n.strip(" ,")]
    return [n for n in names if n.lower() not in _PRONOUNS]


def find_character(text: str, name: str, limit: int = 4) -> list[tuple[int, int]]:
    """Character spans of a name in a text: the whole name, else without its determiner, else its last word."""
    tries = [name]
    lowered = name.lower()
    for det in _DETERMINERS:
        if lowered.startswith(det):
            tries.append(name[len(det):])
            break
    words = tries[-1].split()
    if len(words) > 1:
        tries.append(words[-1].removesuffix("'s"))
    for attempt in tries:
        if len(attempt) < 2:
            continue
        found = [m.span() for m in re.finditer(rf"\b{re.escape(attempt)}\b", text, re.IGNORECASE)]
        if found:
            return found[:limit]
    return []


def read_fairytale_feelings(folder: str | Path, limit_per_question: int = 4) -> list[Sample]:
    """Span samples from FairytaleQA's feeling questions: the asked-about character in its gold sections.

    The target is the answers' words mapped to labels (feeling_words.py). Questions whose
    character cannot be found in a gold section, or whose answers name no listed feeling, are skipped.
    """
    return [sample for _, _, sections in feeling_questions(folder, limit_per_question)
            for found in sections.values() for sample in found]


def feeling_questions(folder: str | Path, limit: int = 4) -> Iterator[tuple[dict, np.ndarray, dict[str, list[Sample]]]]:
    """(question, target, {gold section id: span samples}) of each FairytaleQA feeling question
    whose answers name a listed feeling (feeling_words.py): in each gold section, up to `limit`
    mentions of the character asked about (none where it is not found)."""
    from hyperamy.training.feeling_words import answer_target

    folder = Path(folder)
    texts = {record["id"]: record["text"] for _, record in _json_lines(folder / "sections.jsonl")}
    for _, question in _json_lines(folder / "questions.jsonl"):
        if "feeling" not in question.get("attributes", []):
            continue
        target = answer_target(question.get("answers", []))
        if target is None:
            continue
        sections = {}
        for section_id in question.get("gold_ids", []):
            text = texts.get(section_id)
            if text is None:
                continue
            spans = [span for name in question_character(question["question"])
                     for span in find_character(text, name, limit)]
            sections[section_id] = [Sample(text=text, target=target, span=span) for span in spans[:limit]]
        yield question, target, sections


def _json_lines(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("file not found", str(path))
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"not JSON: {exc}", str(path), number) from None
