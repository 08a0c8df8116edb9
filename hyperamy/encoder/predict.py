"""Inference: texts (and spans) -> EmotionBatch(mu, kappa, probs)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from hyperamy.emotions import LABELS
from hyperamy.encoder.outputs import EmotionBatch
from hyperamy.encoder.tokens import Span, length_sorted_batches


class EmotionEncoder:
    """The probabilistic emotion encoder with its tuned weights and decision thresholds."""

    def __init__(self, model, tokenizer, thresholds: np.ndarray, info: dict | None = None, fingerprint: str = ""):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.thresholds = thresholds
        self.info = info or {}
        self.fingerprint = fingerprint  # short hash of the weights file: an index is tied to one model

    @property
    def model_id(self) -> str:
        """Backbone name and weights fingerprint, e.g. 'all-MiniLM-L6-v2+3f9c0a1b2c4d'."""
        return f"{self.config.backbone}+{self.fingerprint}" if self.fingerprint else self.config.backbone

    @property
    def config(self):
        return self.model.config

    @classmethod
    def load(cls, path: str | Path | None = None) -> "EmotionEncoder":
        """Load a weights folder; with no path, the model shipped inside the package.

        Raises:
            WeightsError: the folder is missing, incomplete, corrupt, or does not fit its backbone.
        """
        from hyperamy.encoder.model import EmotionModel, load_backbone
        from hyperamy.encoder.weights import SHIPPED, fingerprint, load_state, read_config, read_thresholds

        folder = Path(path) if path is not None else SHIPPED
        config, raw = read_config(folder)
        tokenizer, backbone = load_backbone(config.backbone)
        model = EmotionModel(backbone, config)
        load_state(model, folder)
        return cls(model, tokenizer, read_thresholds(folder), info=raw, fingerprint=fingerprint(folder))

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], spans: Sequence[Span] | None = None,
               batch_size: int = 64) -> EmotionBatch:
        """Encode texts, pooling over the whole text or over each given span.

        Args:
            texts: non-empty strings.
            spans: per text, None (whole text), a substring, or a (start, end) character pair.
            batch_size: texts per forward pass; texts are grouped by length to limit padding.

        Raises:
            InputError: an empty or non-string text, or a span that is not in its text.
        """
        inverse, batches = length_sorted_batches(self.tokenizer, texts, spans, self.config.max_length, batch_size)
        parts: list[tuple] = []
        for batch in batches:
            parts.append(self.model.infer(batch["input_ids"], batch["attention_mask"], batch["token_mask"]))
        if not len(inverse):
            dim = self.config.dim
            return EmotionBatch(np.zeros((0, dim), np.float32), np.zeros(0, np.float32),
                                np.zeros((0, len(LABELS)), np.float32),
                                strength=np.zeros(0, np.float32) if self.model.has_intensity else None,
                                affect=np.zeros((0, 3), np.float32) if self.model.has_affect else None)
        mu, kappa, probs, strength, affect = (torch.cat(column).numpy()[inverse].astype(np.float32)
                                          if column[0] is not None else None for column in zip(*parts))
        return EmotionBatch(mu=mu, kappa=kappa, probs=probs, strength=strength, affect=affect)

    def predicted_labels(self, probs: np.ndarray) -> np.ndarray:
        """Multi-label decisions: a (n, 28) boolean array, probability >= the label's threshold."""
        return probs >= self.thresholds[None, :]
