"""`hyperamy predict --file`: label every text of a file, streaming, into JSON Lines, CSV or Parquet.

Texts are read and encoded in chunks (one EmotionEncoder.encode call each, so its length sorting
works within a chunk) and written as they come, so memory stays flat whatever the file's size.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from hyperamy.emotions import LABELS, label_set
from hyperamy.errors import DataFormatError, InputError

OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
CHUNK = 2048  # texts per encode call: long enough to sort by length, short enough to stream


class LabelView:
    """One label set (goemotions, ekman, group, six) over an EmotionBatch."""

    def __init__(self, name: str, thresholds: np.ndarray):
        self.name = name
        self.names, self.matrix = label_set(name)
        self.thresholds = thresholds

    def probabilities(self, batch) -> np.ndarray:
        return batch.probs @ self.matrix

    def intensities(self, batch) -> np.ndarray | None:
        return None if batch.intensity is None else batch.intensity @ self.matrix

    def decided(self, batch, row: int, probs: np.ndarray) -> list[str]:
        """Labels over their dev-chosen thresholds (GoEmotions), else the most probable class."""
        if self.name == "goemotions":
            return [LABELS[i] for i in np.argsort(-batch.probs[row]) if batch.probs[row, i] >= self.thresholds[i]]
        return [self.names[int(np.argmax(probs[row]))]]

    def records(self, batch, ids: list, top: int, with_mu: bool) -> list[dict]:
        """One plain dict per text: id, top classes, decided labels, kappa, strength, valence, arousal,
        dominance, per-class numbers."""
        probs, intensities = self.probabilities(batch), self.intensities(batch)
        rows = []
        for i, identifier in enumerate(ids):
            order = np.argsort(-probs[i])[:top]
            row = {"id": identifier,
                   "top": [{"label": self.names[j], "prob": round(float(probs[i, j]), 6)} for j in order],
                   "labels": self.decided(batch, i, probs),
                   "kappa": round(float(batch.kappa[i]), 4),
                   "strength": None if batch.strength is None else round(float(batch.strength[i]), 4),
                   **batch.affect_of(i),
                   "probs": {name: round(float(p), 6) for name, p in zip(self.names, probs[i])},
                   "intensity": None if intensities is None else
                   {name: round(float(v), 6) for name, v in zip(self.names, intensities[i])}}
            if with_mu:
                row["mu"] = [round(float(x), 6) for x in batch.mu[i]]
            rows.append(row)
        return rows


def read_texts(path: str, text_field: str, id_field: str | None) -> Iterator[tuple[str, str]]:
    """(id, text) pairs: a corpus file as `hyperamy index` reads it, or plain lines.

    Plain lines come from a .txt file or from `-` (stdin) unless its first line is a JSON object
    holding `text_field` (then stdin is JSON Lines); their ids are line numbers. Blank lines are
    skipped.
    """
    if path == "-":
        first = sys.stdin.readline()
        if _is_record(first, text_field):
            yield from _records([first], sys.stdin, text_field, id_field)
        else:
            yield from _lines([first], sys.stdin)
        return
    if Path(path).suffix.lower() == ".txt":
        if not Path(path).is_file():
            raise DataFormatError("file not found", path)
        with open(path, encoding="utf-8") as handle:
            yield from _lines([], handle)
        return
    from hyperamy.corpus import read_records

    for record in read_records(path, id_field=id_field, text_field=text_field):
        yield record.id, record.text


def _is_record(line: str, text_field: str) -> bool:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return False
    return isinstance(row, dict) and text_field in row


def _lines(head: list[str], rest) -> Iterator[tuple[str, str]]:
    number = 0
    for source in (head, rest):
        for line in source:
            number += 1
            text = line.rstrip("\n")
            if text.strip():
                yield str(number), text


def _records(head: list[str], rest, text_field: str, id_field: str | None) -> Iterator[tuple[str, str]]:
    number = 0
    for source in (head, rest):
        for line in source:
            number += 1
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row[text_field]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise DataFormatError(f"expected a JSON object with a {text_field!r} field", "<stdin>",
                                      number) from None
            if not isinstance(text, str) or not text.strip():
                raise DataFormatError(f"{text_field!r} is empty or not a string", "<stdin>", number)
            yield str(row.get(id_field or "id", number)), text


def count_texts(path: str) -> int | None:
    """How many texts a file holds (for the progress total), or None where that costs a full read.

    Raises:
        DataFormatError: the file does not exist (callers count before loading a model, so a typo
            is named at once).
    """
    if path == "-":
        return None
    if not Path(path).is_file():
        raise DataFormatError("file not found", path)
    if Path(path).suffix.lower() == ".txt":
        with open(path, encoding="utf-8") as handle:
            return sum(1 for line in handle if line.strip())
    from hyperamy.corpus import count_records

    return count_records(path)


def output_format(output: str | None, chosen: str | None) -> str:
    if chosen:
        return chosen
    if output is None or output == "-":
        return "jsonl"
    kind = OUTPUT_FORMATS.get(Path(output).suffix.lower())
    if kind is None:
        raise InputError(f"cannot tell the format of {output!r} from its suffix; use .jsonl, .csv or .parquet, "
                         "or give --format")
    return kind


class Sink:
    """Writes records as JSON Lines, CSV or Parquet, flattened the same way for CSV and Parquet."""

    def __init__(self, output: str | None, kind: str, view: LabelView):
        if kind == "parquet" and (output is None or output == "-"):
            raise InputError("Parquet output needs --output FILE")
        self.kind, self.view, self.output = kind, view, output
        self.tmp = None if output in (None, "-") else Path(f"{output}.part")
        self.handle = None
        self.writer = None
        if kind in ("jsonl", "csv"):
            self.handle = sys.stdout if self.tmp is None else open(self.tmp, "w", encoding="utf-8", newline="")

    def write(self, records: list[dict]) -> None:
        if self.kind == "jsonl":
            self.handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            return
        flat = [self._flat(r) for r in records]
        if self.kind == "csv":
            if self.writer is None:
                self.writer = csv.DictWriter(self.handle, fieldnames=list(flat[0]))
                self.writer.writeheader()
            self.writer.writerows(flat)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(flat)
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.tmp), table.schema)
        self.writer.write_table(table)

    def _flat(self, record: dict) -> dict:
        row = {"id": record["id"], "top": record["top"][0]["label"], "labels": ";".join(record["labels"]),
               "kappa": record["kappa"], "strength": record["strength"], "valence": record["valence"],
               "arousal": record["arousal"], "dominance": record["dominance"]}
        row |= {f"prob_{name}": value for name, value in record["probs"].items()}
        if record["intensity"] is not None:
            row |= {f"intensity_{name}": value for name, value in record["intensity"].items()}
        if "mu" in record:
            row["mu"] = json.dumps(record["mu"]) if self.kind == "csv" else record["mu"]
        return row

    def close(self, finished: bool) -> None:
        """Flush; a finished file replaces --output at once, an interrupted one is removed."""
        if self.kind == "parquet" and self.writer is not None:
            self.writer.close()
        if self.handle is not None and self.handle is not sys.stdout:
            self.handle.close()
        if self.tmp is not None and self.tmp.exists():
            if finished:
                self.tmp.replace(self.output)
            else:
                self.tmp.unlink()


def label_file(encoder, path: str, sink: Sink, top: int, with_mu: bool, text_field: str = "text",
               id_field: str | None = None, on_chunk: Callable[[int], None] | None = None) -> int:
    """Encode every text of `path` into `sink`, chunk by chunk; returns how many were written."""
    done, ids, texts = 0, [], []
    for identifier, text in read_texts(path, text_field, id_field):
        ids.append(identifier)
        texts.append(text)
        if len(texts) == CHUNK:
            done += _flush(encoder, sink, ids, texts, top, with_mu, on_chunk)
            ids, texts = [], []
    if texts:
        done += _flush(encoder, sink, ids, texts, top, with_mu, on_chunk)
    if not done:
        raise DataFormatError("no texts in this file", path)
    return done


def _flush(encoder, sink: Sink, ids, texts, top: int, with_mu: bool, on_chunk) -> int:
    batch = encoder.encode(texts)
    sink.write(sink.view.records(batch, ids, top, with_mu))
    if on_chunk is not None:
        on_chunk(len(texts))
    return len(texts)
