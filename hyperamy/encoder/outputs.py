"""What the encoders return: plain NumPy containers, importable without torch."""
from __future__ import annotations

import dataclasses

import numpy as np

from hyperamy.emotions import AFFECT, LABELS, affect_fields


@dataclasses.dataclass(frozen=True)
class EmotionBatch:
    """Emotion of n texts: directions, certainties and label probabilities."""

    mu: np.ndarray  # (n, dim) float32, unit norm
    kappa: np.ndarray  # (n,) float32, >= 1: higher = more strongly felt (and a sharper posterior)
    probs: np.ndarray  # (n, 28) float32: softmax(kappa * cos(mu, label prototypes))
    strength: np.ndarray | None = None  # (n,) 0..1, how strongly felt (None: weights without the head)
    # (n, 3) valence, arousal, dominance on EmoBank's 1..5 scale (3 = neutral); None: weights without the head
    affect: np.ndarray | None = None
    labels: tuple[str, ...] = LABELS

    def __len__(self) -> int:
        return len(self.kappa)

    @property
    def intensity(self) -> np.ndarray | None:
        """(n, 28) how strongly each label is felt: strength times its probability (neutral 0)."""
        from hyperamy.encoder.intensity import intensity

        return None if self.strength is None else intensity(self.strength, self.probs)

    def affect_of(self, row: int) -> dict[str, float | None]:
        """{"valence", "arousal", "dominance"} of one row, 1..5 rounded to 3 places (None each without the head)."""
        return affect_fields(None if self.affect is None else self.affect[row])

    def top(self, row: int, n: int = 3) -> list[tuple[str, float]]:
        """The n most probable labels of one row, with their probabilities."""
        order = np.argsort(-self.probs[row])[:n]
        return [(self.labels[i], float(self.probs[row, i])) for i in order]

    def to_pandas(self, texts=None):
        """One row per text: `emotion` (the likeliest label), `kappa`, `strength`, `valence`,
        `arousal`, `dominance` (columns present when the weights have those heads), the probability
        of each label (`prob_<label>`) and its intensity (`intensity_<label>`, 27 felt labels)."""
        import pandas as pd

        columns = {} if texts is None else {"text": list(texts)}
        columns["emotion"] = [self.labels[i] for i in np.argmax(self.probs, axis=1)]
        columns["kappa"] = self.kappa.astype(float)
        if self.strength is not None:
            columns["strength"] = self.strength.astype(float)
        if self.affect is not None:
            for i, name in enumerate(AFFECT):
                columns[name] = self.affect[:, i].astype(float)
        for i, name in enumerate(self.labels):
            columns[f"prob_{name}"] = self.probs[:, i].astype(float)
        intensities = self.intensity
        if intensities is not None:
            for i, name in enumerate(self.labels):
                if name != "neutral":
                    columns[f"intensity_{name}"] = intensities[:, i].astype(float)
        return pd.DataFrame(columns)


@dataclasses.dataclass(frozen=True)
class MentionBatch:
    """The emotions of entity mentions read in their texts' own forward pass.

    Only mentions inside the token window are read; `doc` and `number` say which they are.
    """

    doc: np.ndarray  # (m,) int64: the text each mention is in
    number: np.ndarray  # (m,) int64: its place in that text's list of mentions
    emotion: EmotionBatch

    def __len__(self) -> int:
        return len(self.doc)


@dataclasses.dataclass(frozen=True)
class Encoded:
    """What the index stores per text: a semantic vector and its emotion (and its mentions')."""

    semantic: np.ndarray  # (n, d) float32, unit norm
    emotion: EmotionBatch
    truncated: int = 0  # texts longer than the token window (encoded cut; the index stores them whole)
    mentions: MentionBatch | None = None  # when encode() was given mentions
