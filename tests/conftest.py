"""Shared fixtures. The real MiniLM backbone is local, so model tests use it, loaded once."""
from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def backbone():
    """(tokenizer, transformer) of the packaged all-MiniLM-L6-v2; callers must not modify it."""
    from hyperamy.encoder.model import load_backbone

    return load_backbone("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def shipped_encoder():
    """The encoder shipped inside the package, loaded once for the whole run."""
    from hyperamy import EmotionEncoder

    return EmotionEncoder.load()


GOEMOTIONS_ROWS = [
    ("I am so happy for you, congratulations!", "17,13"),
    ("This is the worst thing that ever happened to me.", "25"),
    ("Why would anyone do that? I don't get it.", "6"),
    ("The meeting is at 3pm in room 4.", "27"),
    ("Thank you so much, that really helped.", "15"),
    ("I'm furious they cancelled it again.", "2"),
    ("That is absolutely disgusting behaviour.", "11"),
    ("I'm scared of what happens next.", "14"),
]


@pytest.fixture()
def tiny_data(tmp_path):
    """A data folder shaped like the project's data/, small enough for a training run in seconds."""
    import json

    folder = tmp_path / "data"
    (folder / "goemotions").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        lines = [f"{text}\t{ids}\tid{i}" for i, (text, ids) in enumerate(GOEMOTIONS_ROWS)]
        (folder / "goemotions" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    from hyperamy.emotions import EKMAN, GROUPS, LABEL_TO_EKMAN, LABEL_TO_GROUP, LABELS

    for name, targets, mapping in (("group", GROUPS, LABEL_TO_GROUP), ("ekman", EKMAN, LABEL_TO_EKMAN)):
        (folder / "goemotions" / name).mkdir()
        lines = [f"{text}\t{','.join(sorted({str(targets.index(mapping[LABELS[int(i)]])) for i in ids.split(',')}))}"
                 f"\tid{n}" for n, (text, ids) in enumerate(GOEMOTIONS_ROWS)]
        for split in ("train", "dev", "test"):
            (folder / "goemotions" / name / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    entity = folder / "entity_granularity"
    entity.mkdir()
    soft = [0.0] * 28
    soft[12] = 1.0  # entity order position 12 is anger
    records = [{"text": f"Dantes glared at Danglars, passage {i}.",
                "targets": [{"span_text": "Danglars", "char_start": 17, "char_end": 25, "soft_label": soft,
                             "intensity": 1.0}]} for i in range(10)]
    (entity / "entity_granularity_v2.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return folder


class FakeEmotion:
    """Stands in for EmotionEncoder's config and thresholds."""

    class config:  # noqa: N801 - mirrors EncoderConfig's fields the engine reads
        dim = 8
        alpha = 50.0
        max_length = 256

    thresholds = np.full(28, 0.3, dtype=np.float32)


FEELINGS = {"furious": ("anger", 0), "angry": ("anger", 0), "rage": ("anger", 0), "happy": ("joy", 1),
            "delighted": ("joy", 1), "afraid": ("fear", 2), "terrified": ("fear", 2)}


class FakeEncoder:
    """Deterministic, fast stand-in for SharedTrunkEncoder, with known answers.

    Meaning: hashed bag of words (32-d). Feeling: the first emotion word sets mu to that
    emotion's axis with kappa 41; texts without one are neutral with kappa 1.
    """

    model_id = "fake-encoder"
    dimension = 32
    emotion = FakeEmotion()

    def encode(self, texts, spans=None, batch_size=64, on_batch=None):
        from hyperamy.emotions import LABELS
        from hyperamy.encoder.outputs import EmotionBatch, Encoded
        from hyperamy.encoder.tokens import check_texts, resolve_span
        from hyperamy.lexical import words

        texts = check_texts(texts)
        spans = spans or [None] * len(texts)
        semantic = np.zeros((len(texts), 32), np.float32)
        mu = np.zeros((len(texts), 8), np.float32)
        kappa = np.ones(len(texts), np.float32)
        probs = np.zeros((len(texts), 28), np.float32)
        for i, (text, span) in enumerate(zip(texts, spans)):
            for word in words(text):
                semantic[i, zlib.crc32(word.encode()) % 32] += 1.0
            chars = resolve_span(text, span)
            felt = text[chars[0]:chars[1]] if chars else text
            found = next((FEELINGS[w] for w in words(felt) if w in FEELINGS), None)
            if found:
                mu[i, found[1]], kappa[i] = 1.0, 41.0
                probs[i, LABELS.index(found[0])] = 0.9
                probs[i, LABELS.index("neutral")] = 0.1
            else:
                mu[i, 7] = 1.0
                probs[i, LABELS.index("neutral")] = 1.0
        semantic /= np.maximum(np.linalg.norm(semantic, axis=1, keepdims=True), 1e-9)
        if on_batch is not None:
            on_batch(len(texts))
        return Encoded(semantic, EmotionBatch(mu=mu, kappa=kappa, probs=probs))

    def encode_query(self, text, span=None):
        return self.encode([text], [span])


@pytest.fixture()
def fake_encoder():
    return FakeEncoder()
