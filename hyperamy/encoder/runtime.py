"""Queries through ONNX Runtime: the encoder's graph (graph.py), run without torch.

A search or a `hyperamy predict` encodes one short text. This runs the cached graph of the
weights folder in ONNX Runtime (CPU kernels with fused attention and layer norms): the float32
graph, or for searches its int8 one where $HYPERAMY_QUERY_PRECISION=int8 asks (graph.py says what
int8 gains and costs; `predict` always reads in float32),
with the backbone's `tokenizers` tokenizer, so a process that only searches imports neither
torch nor transformers once the graph is built. It gives what the torch encoder gives
(float32: `SharedTrunkEncoder.encode`'s numbers, cosine >= 0.9999; tests/test_runtime.py).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from hyperamy.encoder.graph import OUTPUTS, PRECISIONS, ensure_graph, ensure_query_graph
from hyperamy.encoder.outputs import EmotionBatch, Encoded
from hyperamy.encoder.tokens import Span, check_texts, clause_token_mask, resolve_span
from hyperamy.encoder.weights import (SHIPPED, has_intensity_head, model_id, read_config, read_thresholds,
                                      resolve_backbone)
from hyperamy.errors import ExportError, InputError

TOKENIZER_FILE = "tokenizer.json"
log = logging.getLogger(__name__)


class OnnxQueryEncoder:
    """Encodes one query at a time: semantic vector, mu, kappa, label probabilities and strength."""

    def __init__(self, session, tokenizer, config, model_id: str, thresholds: np.ndarray, has_strength: bool,
                 precision: str = "float32", graph: Path | None = None):
        self.session, self.tokenizer = session, tokenizer
        self.precision, self.graph = precision, graph  # the graph file's weights (int8 or float32), and the file
        self.config, self.model_id = config, model_id
        self.thresholds = thresholds  # per-label decision thresholds chosen on dev
        self.has_strength = has_strength

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int | None = None,
             precision: str | None = None) -> "OnnxQueryEncoder | None":
        """The runtime for a weights folder (default: the shipped model), building its graph on first use.

        `precision`: "float32" or "int8" (None: $HYPERAMY_QUERY_PRECISION, else float32).

        Returns None for a backbone without a fast tokenizer file (tokenizer.json).

        Raises:
            WeightsError: the weights folder is missing, incomplete or corrupt.
            ExportError: the model cannot be exported, or its cached graph is damaged (an int8
                graph that cannot be made falls back to float32, with a warning).
        """
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(path) if path is not None else SHIPPED
        config, _ = read_config(folder)
        backbone = resolve_backbone(config.backbone)
        if not (backbone / TOKENIZER_FILE).is_file():
            return None
        model = model_id(folder)
        precision = precision or _precision_from_environment()
        graph = ensure_graph(path, model)
        if precision == "int8":
            try:
                graph = ensure_query_graph(path, model)
            except ExportError as exc:  # the float32 graph still reads queries right, a few ms slower
                log.warning("%s; queries run the float32 graph instead", exc)
                precision = "float32"
        options = onnxruntime.SessionOptions()
        # 0: ONNX Runtime's default, one per core; a server runs one thread per request instead
        options.intra_op_num_threads = threads or _threads_from_environment()
        options.log_severity_level = 3  # errors only
        try:
            session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime's own kinds, e.g. InvalidProtobuf for a damaged cache file
            raise ExportError(f"the cached query graph {graph} cannot be loaded ({type(exc).__name__}); delete "
                              f"{graph.parent} and it is built again on first use") from exc
        tokenizer = Tokenizer.from_file(str(backbone / TOKENIZER_FILE))
        tokenizer.enable_truncation(config.max_length)
        tokenizer.no_padding()
        return cls(session, tokenizer, config, model, read_thresholds(folder), has_intensity_head(folder), precision,
                   graph)

    def encode_query(self, text: str, span: Span = None) -> Encoded:
        """One text's semantic vector and emotion (pooled over the text, or a span and its clause)."""
        text = check_texts([text])[0]
        encoding = self.tokenizer.encode(text)
        token_mask = np.ones(len(encoding.ids), dtype=np.float32)
        chars = resolve_span(text, span)
        if chars is not None:
            offsets = np.asarray(encoding.offsets).reshape(-1, 2)
            token_mask = clause_token_mask(text, offsets, token_mask, chars, self.config.max_length)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_mask": token_mask[None]}
        semantic, mu, kappa, probs, strength, affect = self.session.run(list(OUTPUTS), feed)
        emotion = EmotionBatch(mu=mu, kappa=kappa, probs=probs, strength=strength if self.has_strength else None,
                               affect=None if np.isnan(affect).any() else affect)
        return Encoded(semantic, emotion, int(bool(encoding.overflowing)))


def check_environment() -> None:
    """Refuse now a bad $HYPERAMY_QUERY_PRECISION or $HYPERAMY_QUERY_THREADS, before anything
    loads (a server would otherwise fail its first search, not its start)."""
    _precision_from_environment()
    _threads_from_environment()


def _threads_from_environment() -> int:
    value = os.environ.get("HYPERAMY_QUERY_THREADS") or "0"
    if not value.isdigit():
        raise InputError(f"HYPERAMY_QUERY_THREADS must be a whole number of threads, not {value!r}")
    return int(value)


def _precision_from_environment() -> str:
    value = os.environ.get("HYPERAMY_QUERY_PRECISION") or PRECISIONS[0]
    if value not in PRECISIONS:
        raise InputError(f"HYPERAMY_QUERY_PRECISION must be one of {', '.join(PRECISIONS)}, not {value!r}")
    return value
