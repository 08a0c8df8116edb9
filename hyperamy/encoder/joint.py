"""Semantic vectors and emotions from one pass of the shared lower transformer layers.

The emotion encoder tunes only the top layers of its backbone. When the semantic model is that
same backbone (the default: all-MiniLM-L6-v2 for both), the lower layers' work is done once per
text and branches into the original top layers (mean-pooled, normalised: exactly the
sentence-transformers embedding) and the tuned ones (mu, kappa, probs).
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from hyperamy.encoder.outputs import EmotionBatch, Encoded
from hyperamy.encoder.predict import EmotionEncoder
from hyperamy.encoder.tokens import Span, length_sorted_batches


class SharedTrunkEncoder:
    """One tokenisation, one pass of the lower layers, two upper branches."""

    def __init__(self, emotion: EmotionEncoder, semantic_layers: torch.nn.ModuleList, model_id: str):
        self.emotion = emotion
        self.semantic_layers = semantic_layers.eval()
        self.model_id = model_id

    @classmethod
    def from_backbone(cls, emotion: EmotionEncoder) -> "SharedTrunkEncoder":
        """Rebuild the backbone's original top layers beside the tuned ones of `emotion`."""
        from hyperamy.encoder.model import load_backbone, transformer_layers

        _, original = load_backbone(emotion.config.backbone)
        layers = transformer_layers(original)[emotion.model.trunk.split:]
        return cls(emotion, copy.deepcopy(layers), model_id=emotion.model_id)

    @property
    def dimension(self) -> int:
        return self.emotion.model.trunk.model.config.hidden_size

    def encode_query(self, text: str, span: Span = None) -> Encoded:
        """One query through torch (searches use the ONNX runtime, encoder/runtime.py, when it applies)."""
        return self.encode([text], [span])

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], spans: Sequence[Span] | None = None, batch_size: int = 64,
               on_batch: Callable[[int], None] | None = None) -> Encoded:
        """Semantic vectors (whole text) and emotions (whole text or span) for each text.

        `on_batch(n)` is called after each batch of n texts (for progress bars).
        """
        model, trunk = self.emotion.model, self.emotion.model.trunk
        inverse, batches = length_sorted_batches(self.emotion.tokenizer, texts, spans,
                                                 self.emotion.config.max_length, batch_size)
        semantic, mu, kappa, probs, felt, truncated = [], [], [], [], [], 0
        for batch in batches:
            truncated += batch["truncated"]
            attention = batch["attention_mask"]
            lower = trunk.lower(batch["input_ids"], attention)
            top = trunk.run_layers(lower, attention, self.semantic_layers)
            mask = attention.unsqueeze(-1).to(top.dtype)
            semantic.append(F.normalize((top * mask).sum(1) / mask.sum(1).clamp_min(1.0), dim=-1))
            tuned = trunk.upper(lower, attention)
            batch_mu, batch_kappa, _ = model.heads(tuned, batch["token_mask"])
            if model.has_intensity:
                felt.append(model.strength(tuned, batch["token_mask"]))
            mu.append(batch_mu)
            kappa.append(batch_kappa)
            probs.append(model.label_probabilities(batch_mu, batch_kappa))
            if on_batch is not None:
                on_batch(len(attention))
        if not len(inverse):
            return Encoded(np.zeros((0, self.dimension), np.float32), self.emotion.encode([]))
        emotion = EmotionBatch(mu=torch.cat(mu).numpy()[inverse], kappa=torch.cat(kappa).numpy()[inverse],
                               probs=torch.cat(probs).numpy()[inverse],
                               strength=torch.cat(felt).numpy()[inverse] if felt else None)
        return Encoded(torch.cat(semantic).numpy()[inverse].astype(np.float32), emotion, truncated)
