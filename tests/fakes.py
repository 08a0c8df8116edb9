"""A deterministic, fast stand-in for the encoder, importable by test subprocesses too."""
from __future__ import annotations

import time
import zlib

import numpy as np


class FakeEmotion:
    """Stands in for EmotionEncoder's config and thresholds."""

    class config:  # noqa: N801 - mirrors EncoderConfig's fields the engine reads
        dim = 8
        alpha = 50.0
        max_length = 256

    thresholds = np.full(28, 0.3, dtype=np.float32)


FEELINGS = {"furious": ("anger", 0), "angry": ("anger", 0), "rage": ("anger", 0), "happy": ("joy", 1),
            "delighted": ("joy", 1), "afraid": ("fear", 2), "terrified": ("fear", 2)}
STRONG = {"furious", "rage", "delighted", "terrified"}  # strength 0.9; the other feeling words 0.5


class FakeEncoder:
    """Deterministic, fast stand-in for SharedTrunkEncoder, with known answers.

    Meaning: hashed bag of words (32-d). Feeling: the first emotion word sets mu to that
    emotion's axis with kappa 41 and strength 0.9 (STRONG words) or 0.5; texts without one are
    neutral with kappa 1 and strength 0.
    """

    model_id = "fake-encoder"
    dimension = 32
    emotion = FakeEmotion()

    def encode(self, texts, spans=None, batch_size=64, on_batch=None, mentions=None):
        """Mentions are read over their clause (tokens.span_clause), as the real encoder pools them."""
        from hyperamy.encoder.outputs import EmotionBatch, Encoded, MentionBatch
        from hyperamy.encoder.tokens import check_texts, span_clause

        texts = check_texts(texts)
        encoded = self._encode(texts, spans, batch_size, on_batch)
        if mentions is None:
            return encoded
        where = [(d, n, t[slice(*span_clause(t, tuple(c)))]) for d, (t, found) in enumerate(zip(texts, mentions))
                 for n, c in enumerate(found)]
        read = self._encode([clause for _, _, clause in where], None, batch_size, None) if where else None
        emotion = read.emotion if read is not None else EmotionBatch(
            np.zeros((0, 8), np.float32), np.zeros(0, np.float32), np.zeros((0, 28), np.float32), np.zeros(0, np.float32))
        return Encoded(encoded.semantic, encoded.emotion, 0, MentionBatch(
            np.asarray([d for d, _, _ in where], np.int64), np.asarray([n for _, n, _ in where], np.int64), emotion))

    def _encode(self, texts, spans, batch_size, on_batch):
        from hyperamy.emotions import LABELS
        from hyperamy.encoder.outputs import EmotionBatch, Encoded
        from hyperamy.encoder.tokens import resolve_span
        from hyperamy.analyzer import words

        spans = spans or [None] * len(texts)
        semantic = np.zeros((len(texts), 32), np.float32)
        mu = np.zeros((len(texts), 8), np.float32)
        kappa = np.ones(len(texts), np.float32)
        probs = np.zeros((len(texts), 28), np.float32)
        strength = np.zeros(len(texts), np.float32)
        for i, (text, span) in enumerate(zip(texts, spans)):
            for word in words(text):
                semantic[i, zlib.crc32(word.encode()) % 32] += 1.0
            chars = resolve_span(text, span)
            felt = text[chars[0]:chars[1]] if chars else text
            word = next((w for w in words(felt) if w in FEELINGS), None)
            found = FEELINGS.get(word)
            if found:
                mu[i, found[1]], kappa[i] = 1.0, 41.0
                strength[i] = 0.9 if word in STRONG else 0.5
                probs[i, LABELS.index(found[0])] = 0.9
                probs[i, LABELS.index("neutral")] = 0.1
            else:
                mu[i, 7] = 1.0
                probs[i, LABELS.index("neutral")] = 1.0
        semantic /= np.maximum(np.linalg.norm(semantic, axis=1, keepdims=True), 1e-9)
        if on_batch is not None:
            on_batch(len(texts))
        return Encoded(semantic, EmotionBatch(mu=mu, kappa=kappa, probs=probs, strength=strength))

    def encode_query(self, text, span=None):
        return self.encode([text], [span])


class SlowEncoder(FakeEncoder):
    """The fake encoder taking `delay` seconds per text, so a test can interrupt a long write."""

    def __init__(self, delay: float = 0.01):
        self.delay = delay

    def encode(self, texts, spans=None, batch_size=64, on_batch=None, mentions=None):
        time.sleep(self.delay * len(texts))
        return super().encode(texts, spans, batch_size, on_batch, mentions)


class AffectEncoder(FakeEncoder):
    """The fake encoder with a valence/arousal/dominance head: arousal = 2 + 2.5 x strength
    (furious 4.25, a plain feeling word 3.25, no feeling 2.0), valence 3 - arousal / 4, dominance 3."""

    model_id = "fake-affect-encoder"

    def _encode(self, texts, spans, batch_size, on_batch):
        import dataclasses

        encoded = super()._encode(texts, spans, batch_size, on_batch)
        arousal = 2.0 + 2.5 * encoded.emotion.strength
        affect = np.column_stack([3.0 - arousal / 4, arousal, np.full(len(arousal), 3.0)]).astype(np.float32)
        return dataclasses.replace(encoded, emotion=dataclasses.replace(encoded.emotion, affect=affect))
