"""Semantic vectors and emotions from one pass of the shared lower transformer layers.

The emotion encoder tunes only the top layers of its backbone. When the semantic model is that
same backbone (the default: all-MiniLM-L6-v2 for both), the lower layers' work is done once per
text and branches into the original top layers (mean-pooled, normalised: exactly the
sentence-transformers embedding) and the tuned ones (mu, kappa, probs).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from hyperamy.encoder.fast import QueryLayer, query_layers, query_precision
from hyperamy.encoder.outputs import EmotionBatch, Encoded, MentionBatch
from hyperamy.encoder.predict import EmotionEncoder
from hyperamy.encoder.tokens import Span, check_texts, clause_token_mask, length_sorted_batches, tokenize
from hyperamy.errors import InputError


class SharedTrunkEncoder:
    """One tokenisation, one pass of the lower layers, two upper branches."""

    def __init__(self, emotion: EmotionEncoder, semantic_layers: torch.nn.ModuleList, model_id: str):
        self.emotion = emotion
        self.semantic_layers = semantic_layers.eval()
        self.model_id = model_id
        self._query_layers: tuple[torch.nn.ModuleList, ...] | None = None  # packed on first query
        self.query_precision: str | None = None  # that of the packed layers, once built

    @classmethod
    def load(cls, weights: str | Path | None = None) -> "SharedTrunkEncoder":
        """The encoder of a weights folder (default: the shipped one), sharing its lower layers
        with its backbone's semantic model (MiniLM for the shipped one).

        Raises:
            WeightsError: the folder is missing, incomplete or corrupt.
        """
        return cls.from_backbone(EmotionEncoder.load(weights))

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
        strength = model.strength(tuned, batch["token_mask"]).numpy() if model.has_intensity else None
        affect = model.affect(tuned, batch["token_mask"]).numpy() if model.has_affect else None
        emotion = EmotionBatch(mu=mu.numpy(), kappa=kappa.numpy(), probs=model.label_probabilities(mu, kappa).numpy(),
                               strength=strength, affect=affect)
        return Encoded(semantic.numpy().astype(np.float32), emotion, batch["truncated"])

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], spans: Sequence[Span] | None = None, batch_size: int = 64,
               on_batch: Callable[[int], None] | None = None,
               mentions: Sequence[Sequence[tuple[int, int]]] | None = None) -> Encoded:
        """Semantic vectors (whole text) and emotions (whole text or span) for each text.

        `mentions` gives, per text, character spans (entity mentions) whose emotions are read
        from the same forward pass, each pooled over its clause as a span is; those past the
        token window are left out (Encoded.mentions says which were read).
        `on_batch(n)` is called after each batch of n texts (for progress bars).
        """
        model, trunk = self.emotion.model, self.emotion.model.trunk
        max_length = self.emotion.config.max_length
        inverse, batches = length_sorted_batches(self.emotion.tokenizer, texts, spans, max_length, batch_size,
                                                 offsets=mentions is not None)
        if mentions is not None and len(mentions) != len(inverse):
            raise InputError(f"got mentions for {len(mentions)} texts, and {len(inverse)} texts")
        semantic, mu, kappa, probs, strength, affect, truncated = [], [], [], [], [], [], 0
        read: list[tuple] = []
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
                strength.append(model.strength(tuned, batch["token_mask"]))
            if model.has_affect:
                affect.append(model.affect(tuned, batch["token_mask"]))
            mu.append(batch_mu)
            kappa.append(batch_kappa)
            probs.append(model.label_probabilities(batch_mu, batch_kappa))
            if mentions is not None:
                read += _read_mentions(model, tuned, batch, texts, mentions, max_length)
            if on_batch is not None:
                on_batch(len(attention))
        if not len(inverse):
            return Encoded(np.zeros((0, self.dimension), np.float32), self.emotion.encode([]),
                           mentions=_mention_batch([], model, self.emotion.config.dim)
                           if mentions is not None else None)
        emotion = EmotionBatch(mu=torch.cat(mu).numpy()[inverse], kappa=torch.cat(kappa).numpy()[inverse],
                               probs=torch.cat(probs).numpy()[inverse],
                               strength=torch.cat(strength).numpy()[inverse] if strength else None,
                               affect=torch.cat(affect).numpy()[inverse] if affect else None)
        found = _mention_batch(read, model, self.emotion.config.dim) if mentions is not None else None
        return Encoded(torch.cat(semantic).numpy()[inverse].astype(np.float32), emotion, truncated, found)


MENTION_CHUNK = 128  # mentions pooled at once (their texts' token states are gathered per chunk)


def _read_mentions(model, tuned: torch.Tensor, batch: dict, texts, mentions, max_length: int) -> list[tuple]:
    """(doc, number, mu, kappa, probs, strength, affect) of each mention of a batch's texts, from its token states."""
    where, masks = [], []
    attention = batch["attention_mask"].numpy()
    for r, doc in enumerate(batch["rows"]):
        for number, chars in enumerate(mentions[doc]):
            try:
                masks.append(clause_token_mask(texts[doc], batch["offsets"][r], attention[r],
                                               (int(chars[0]), int(chars[1])), max_length))
            except InputError:  # past the token window: its text was cut there
                continue
            where.append((r, doc, number))
    out = []
    for start in range(0, len(where), MENTION_CHUNK):
        part = where[start:start + MENTION_CHUNK]
        hidden = tuned[torch.as_tensor([r for r, _, _ in part])]
        mask = torch.from_numpy(np.stack(masks[start:start + MENTION_CHUNK]))
        mention_mu, mention_kappa, _ = model.heads(hidden, mask)
        strength = model.strength(hidden, mask).numpy() if model.has_intensity else [None] * len(part)
        affect = model.affect(hidden, mask).numpy() if model.has_affect else [None] * len(part)
        probs = model.label_probabilities(mention_mu, mention_kappa).numpy()
        out += [(doc, number, m, k, p, s, a) for (_, doc, number), m, k, p, s, a
                in zip(part, mention_mu.numpy(), mention_kappa.numpy(), probs, strength, affect)]
    return out


def _mention_batch(read: list[tuple], model, dim: int) -> MentionBatch:
    read = sorted(read, key=lambda item: (item[0], item[1]))  # text order, then mention order
    if not read:
        empty = np.zeros(0, np.float32)
        return MentionBatch(np.zeros(0, np.int64), np.zeros(0, np.int64),
                            EmotionBatch(np.zeros((0, dim), np.float32), empty, np.zeros((0, 28), np.float32),
                                         strength=empty if model.has_intensity else None,
                                         affect=np.zeros((0, 3), np.float32) if model.has_affect else None))
    doc, number, mu, kappa, probs, strength, affect = zip(*read)
    emotion = EmotionBatch(mu=np.stack(mu).astype(np.float32), kappa=np.asarray(kappa, np.float32),
                           probs=np.stack(probs).astype(np.float32),
                           strength=np.asarray(strength, np.float32) if model.has_intensity else None,
                           affect=np.stack(affect).astype(np.float32) if model.has_affect else None)
    return MentionBatch(np.asarray(doc, np.int64), np.asarray(number, np.int64), emotion)
