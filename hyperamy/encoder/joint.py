"""Semantic vectors and emotions from one pass of the shared lower transformer layers.

The emotion encoder tunes only the top layers of its backbone. When the semantic model is that
same backbone (the default: all-MiniLM-L6-v2 for both), the lower layers' work is done once per
text and branches into the original top layers (mean-pooled, normalised: exactly the
sentence-transformers embedding) and the tuned ones (mu, kappa, probs).
"""
from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from hyperamy.encoder.model import masked_mean
from hyperamy.encoder.outputs import EmotionBatch, Encoded, MentionBatch
from hyperamy.encoder.precision import BATCH, document_precision
from hyperamy.encoder.predict import EmotionEncoder
from hyperamy.encoder.tokens import Span, clause_token_mask, length_sorted_batches
from hyperamy.errors import InputError


class SharedTrunkEncoder:
    """One tokenisation, one pass of the lower layers, two upper branches."""

    def __init__(self, emotion: EmotionEncoder, semantic_layers: torch.nn.ModuleList, model_id: str,
                 precision: str | None = None):
        self.emotion = emotion
        self.semantic_layers = semantic_layers.eval()
        self.model_id = model_id
        self.precision = document_precision(precision)  # of the transformer layers (precision.py)

    @classmethod
    def load(cls, weights: str | Path | None = None, precision: str | None = None) -> "SharedTrunkEncoder":
        """The encoder of a weights folder (default: the shipped one), sharing its lower layers
        with its backbone's semantic model (MiniLM for the shipped one); `precision` as
        precision.document_precision takes it (default: the CPU's).

        Raises:
            WeightsError: the folder is missing, incomplete or corrupt.
            InputError: an unknown precision.
        """
        return cls.from_backbone(EmotionEncoder.load(weights), precision)

    @classmethod
    def from_backbone(cls, emotion: EmotionEncoder, precision: str | None = None) -> "SharedTrunkEncoder":
        """Rebuild the backbone's original top layers beside the tuned ones of `emotion`."""
        from hyperamy.encoder.model import load_backbone, transformer_layers

        _, original = load_backbone(emotion.config.backbone)
        layers = transformer_layers(original)[emotion.model.trunk.split:]
        return cls(emotion, copy.deepcopy(layers), model_id=emotion.model_id, precision=precision)

    @property
    def dimension(self) -> int:
        return self.emotion.model.trunk.model.config.hidden_size

    def encode_query(self, text: str, span: Span = None) -> Encoded:
        """One query through the batch path (float32). Searches use ONNX Runtime instead
        (runtime.py); this serves a backbone that has no ONNX graph."""
        return self.encode([text], [span])

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], spans: Sequence[Span] | None = None, batch_size: int | None = None,
               on_batch: Callable[[int], None] | None = None,
               mentions: Sequence[Sequence[tuple[int, int]]] | None = None) -> Encoded:
        """Semantic vectors (whole text) and emotions (whole text or span) for each text.

        `mentions` gives, per text, character spans (entity mentions) whose emotions are read
        from the same forward pass, each pooled over its clause as a span is; those past the
        token window are left out (Encoded.mentions says which were read).
        `on_batch(n)` is called after each batch of n texts (for progress bars). `batch_size`
        None takes the precision's (precision.BATCH).
        """
        model, trunk = self.emotion.model, self.emotion.model.trunk
        max_length = self.emotion.config.max_length
        batch_size = batch_size or BATCH[self.precision]
        layers_in = (torch.autocast("cpu", dtype=torch.bfloat16) if self.precision == "bfloat16"
                     else contextlib.nullcontext())
        inverse, batches = length_sorted_batches(self.emotion.tokenizer, texts, spans, max_length, batch_size,
                                                 offsets=mentions is not None)
        if mentions is not None and len(mentions) != len(inverse):
            raise InputError(f"got mentions for {len(mentions)} texts, and {len(inverse)} texts")
        semantic, mu, kappa, probs, strength, affect, truncated = [], [], [], [], [], [], 0
        read: list[tuple] = []
        for batch in batches:
            truncated += batch["truncated"]
            attention = batch["attention_mask"]
            with layers_in:  # the transformer layers; pooling and heads below stay float32
                lower = trunk.lower(batch["input_ids"], attention)
                top = trunk.run_layers(lower, attention, self.semantic_layers).float()
                tuned = trunk.upper(lower, attention).float()
            semantic.append(F.normalize(masked_mean(top, attention), dim=-1))
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
