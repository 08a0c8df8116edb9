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

from hyperamy.encoder.fast import QueryLayer, query_layers, query_precision
from hyperamy.encoder.outputs import EmotionBatch, Encoded
from hyperamy.encoder.predict import EmotionEncoder
from hyperamy.encoder.tokens import Span, check_texts, length_sorted_batches, tokenize


class SharedTrunkEncoder:
    """One tokenisation, one pass of the lower layers, two upper branches."""

    def __init__(self, emotion: EmotionEncoder, semantic_layers: torch.nn.ModuleList, model_id: str):
        self.emotion = emotion
        self.semantic_layers = semantic_layers.eval()
        self.model_id = model_id
        self._query_layers: tuple[torch.nn.ModuleList, ...] | None = None  # packed on first query
        self.query_precision: str | None = None  # that of the packed layers, once built

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

    def query_layers(self, precision: str | None = None) -> tuple[torch.nn.ModuleList, ...]:
        """(lower, tuned, semantic) layers with packed weights, built on the first query (see fast.py).

        `precision` ("float32" or "bfloat16") rebuilds them in that precision; by default the
        first build follows HYPERAMY_QUERY_PRECISION, or the CPU.
        """
        wanted = query_precision(precision) if precision else None
        if self._query_layers is None or (wanted and wanted != self.query_precision):
            self.query_precision, trunk = wanted or query_precision(), self.emotion.model.trunk
            config = trunk.model.config
            self._query_layers = (query_layers(trunk.layers[: trunk.split], config, self.query_precision),
                                  query_layers(trunk.layers[trunk.split:], config, self.query_precision),
                                  query_layers(self.semantic_layers, config, self.query_precision))
        return self._query_layers

    @torch.inference_mode()
    def encode_query(self, text: str, span: Span = None) -> Encoded:
        """One query's semantic vector and emotion, through the packed layers (the search path).

        Gives what `encode([text], [span])` gives, to float32 precision or, on CPUs that compute
        bfloat16 natively, to a cosine of at least 0.9999 (fast.py), in about half the time.
        """
        model, trunk = self.emotion.model, self.emotion.model.trunk
        lower_layers, tuned_layers, semantic_layers = self.query_layers()
        batch = tokenize(self.emotion.tokenizer, check_texts([text]), [span], self.emotion.config.max_length)
        attention = batch["attention_mask"]

        def run(hidden, layers):
            if all(isinstance(layer, QueryLayer) for layer in layers):  # one unpadded text: no mask to build
                for layer in layers:
                    hidden = layer(hidden)
                return hidden
            return trunk.run_layers(hidden, attention, layers)

        hidden = run(trunk.model.embeddings(input_ids=batch["input_ids"]), lower_layers)
        semantic = F.normalize(run(hidden, semantic_layers).mean(1), dim=-1)
        tuned = run(hidden, tuned_layers)
        mu, kappa, _ = model.heads(tuned, batch["token_mask"])
        felt = model.strength(tuned, batch["token_mask"]).numpy() if model.has_intensity else None
        emotion = EmotionBatch(mu=mu.numpy(), kappa=kappa.numpy(), probs=model.label_probabilities(mu, kappa).numpy(),
                               strength=felt)
        return Encoded(semantic.numpy().astype(np.float32), emotion, batch["truncated"])

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
