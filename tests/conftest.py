"""Shared fixtures. The real MiniLM backbone is local, so model tests use it, loaded once."""
from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# What the tests cache (ONNX graphs, eval reports) goes to the system's temporary folder, never the
# user's ~/.cache; subprocesses inherit it. The first run builds the graph there (~10 s); later runs
# reuse it (graphs are keyed by the weights' fingerprint and the export's version).
os.environ["XDG_CACHE_HOME"] = os.path.join(tempfile.gettempdir(), f"hyperamy-tests-{os.getuid()}")


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
    return write_tiny_data(tmp_path / "data")


def write_tiny_data(folder):
    """Write the tiny data folder (see `tiny_data`) at `folder`; module-scoped fixtures call it too."""
    import json

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
    (folder / "emobank").mkdir()
    rated = [{"id": f"e{i}", "text": text, "valence": v, "arousal": a, "dominance": d, "genre": "fiction"}
             for i, (text, v, a, d) in enumerate([("What a wonderful, happy day.", 4.2, 3.4, 3.3),
                                                  ("The meeting is at noon.", 3.0, 2.8, 3.0),
                                                  ("He screamed in terror.", 1.6, 4.2, 2.2),
                                                  ("I feel calm and content.", 3.8, 2.2, 3.4)] * 4)]
    (folder / "emobank" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rated))
    tales = folder / "fairytaleqa" / "train"
    tales.mkdir(parents=True)
    (tales / "sections.jsonl").write_text(json.dumps(
        {"id": "tale#1", "story": "tale", "section": 1, "text": "The king saw the dragon and the king trembled."}) + "\n")
    (tales / "questions.jsonl").write_text(json.dumps(
        {"id": "tale/q1", "story": "tale", "question": "How did the king feel when he saw the dragon?",
         "gold_ids": ["tale#1"], "attributes": ["feeling"], "explicit": True, "scope": "local",
         "answers": ["scared", "terrified"]}) + "\n")
    return folder


def pytest_collection_modifyitems(items):
    """A test that starts a Ray cluster is a `ray` test, and not part of the fast subset."""
    for item in items:
        if "ray_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ray)
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session")
def ray_cluster():
    import os
    from pathlib import Path

    ray = pytest.importorskip("ray")
    tests = str(Path(__file__).parent)  # the actors import the fake encoders from here
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}})
    yield ray
    ray.shutdown()


from fakes import FakeEncoder  # noqa: E402  (tests/ is on sys.path under pytest)


@pytest.fixture()
def fake_encoder():
    return FakeEncoder()
