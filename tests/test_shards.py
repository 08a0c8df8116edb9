"""Sharded search on a real local Ray cluster: the same hits as the unsharded index."""
import warnings

import pytest

from hyperamy.corpus import Record
from hyperamy.engine import HyperAmy

WORDS = ["harbour", "prison", "garden", "storm", "letter", "ball", "furious", "happy", "afraid", "treasure"]


@pytest.fixture()
def index(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add([Record(f"d{i}", f"Document {i}: the {WORDS[i % 10]} and the {WORDS[(i * 7) % 10]} near the "
                              f"{WORDS[(i * 3) % 10]}", {"n": i}) for i in range(300)], commit_every=50)
    engine.delete(["d5", "d77", "d150"])
    return engine


def hits(engine, query, **options):
    return [(h.id, round(h.score, 5), round(h.semantic, 5), round(h.lexical, 5), round(h.emotion_match, 5))
            for h in engine.search(query, k=10, **options)]


QUERIES = [("the furious storm over the harbour", {}), ("prison letter", {"mode": "lexical"}),
           ("happy garden", {"mode": "semantic"}), ("I am so afraid", {"mode": "emotion"}),
           ("treasure and ball", {"where": "n > 100"}), ("the storm", {"emotion": "anger"})]


def test_sharded_search_returns_the_unsharded_hits(ray_cluster, index, fake_encoder):
    expected = {query: hits(index, query, **options) for query, options in QUERIES}
    report = index.reshard(3)
    assert report == {"segments": 3, "documents": 297}
    for shards in (1, 2, 3):
        sharded = HyperAmy.open(index.folder, encoder=fake_encoder)
        sharded.use_shards(shards, address=None)
        assert len(sharded._sharded) == 297
        for query, options in QUERIES:
            assert hits(sharded, query, **options) == expected[query], (shards, query)


def test_resharding_survives_writes_and_merges_keep_the_shard_count(ray_cluster, index, fake_encoder):
    index.reshard(4)
    for i in range(12):  # enough single-document segments to trigger a merge of their tier
        index.add([Record(f"new{i}", f"a new furious note {i}", {})])
    assert len(index.snapshot.segments) >= 4 and index.snapshot.manifest["shards"] == 4
    sharded = HyperAmy.open(index.folder, encoder=fake_encoder)
    sharded.use_shards(4)
    assert hits(sharded, "a new furious note") == hits(index, "a new furious note")


@pytest.fixture()
def corpus():
    return [Record(f"d{i}", f"Document {i}: the {WORDS[i % 10]} and the {WORDS[(i * 7) % 10]} near the "
                          f"{WORDS[(i * 3) % 10]}", {"n": i}) for i in range(120)]


def test_distributed_indexing_builds_the_single_process_index(ray_cluster, tmp_path, fake_encoder, corpus):
    import numpy as np

    from fakes import FakeEncoder

    single = HyperAmy.open(tmp_path / "single", create=True, encoder=fake_encoder)
    single.add(corpus + [corpus[3]], commit_every=25)  # chunk by chunk as the actors are given them
    spread = HyperAmy.open(tmp_path / "ray", create=True, encoder=fake_encoder)
    report = spread.add_distributed(corpus + [corpus[3]], ray_cluster, actors=2, segment_size=25,
                             encoder_factory=FakeEncoder)
    assert (report.added, report.updated, report.duplicates) == (120, 0, 1)
    assert len(spread) == len(single) == 120 and len(spread.snapshot.segments) == 1  # merged at the end
    for query, options in QUERIES:
        assert [h.id for h in spread.search(query, **options)] == [h.id for h in single.search(query, **options)]
    for which in ("semantic", "emotion"):
        vectors = []
        for engine in (single, spread):
            rows = {d["id"]: d["row"] for d in engine.list()}
            vectors.append(engine.snapshot.vectors(which, np.asarray([rows[r.id] for r in corpus])))
        assert np.allclose(vectors[0], vectors[1], atol=1e-5)
    with warnings.catch_warnings(record=True) as caught:  # one chunk to encode: one actor, and Ray says nothing
        warnings.simplefilter("always")
        again = spread.add_distributed(corpus[1:30] + [Record("d0", "Document 0 changed: a furious storm", {"n": 0})],
                                       ray_cluster, actors=2, segment_size=25, encoder_factory=FakeEncoder)
    assert [str(w.message) for w in caught if "ray" in w.filename] == []
    assert (again.added, again.updated, again.unchanged) == (0, 1, 29) and len(spread) == 120
    assert spread.get("d0")["text"] == "Document 0 changed: a furious storm"


def test_a_duplicate_across_chunks_ends_as_its_last_occurrence_as_in_one_process(ray_cluster, tmp_path, fake_encoder):
    """#29.7: the stored text is T0; chunk 1 says T1, a later chunk says T0 again. One process
    commits T1 and then T0; the Ray path used to compare the later T0 with the stored T0, call it
    unchanged and keep T1."""
    from fakes import FakeEncoder

    first = [Record("a", "T0 the harbour at dawn", {})]
    later = [Record("a", "T1 a furious storm", {}), *[Record(f"f{i}", f"filler {i}", {}) for i in range(9)],
             Record("a", "T0 the harbour at dawn", {})]
    single = HyperAmy.open(tmp_path / "single", create=True, encoder=fake_encoder)
    spread = HyperAmy.open(tmp_path / "ray", create=True, encoder=fake_encoder)
    single.add(first)
    spread.add(first)
    single.add(later, commit_every=5)
    spread.add_distributed(later, ray_cluster, actors=2, segment_size=5, encoder_factory=FakeEncoder)
    assert single.get("a")["text"] == spread.get("a")["text"] == "T0 the harbour at dawn"
    assert len(single) == len(spread) == 10


def test_a_failed_distributed_run_leaves_the_index_as_it_was(ray_cluster, tmp_path, fake_encoder, corpus, capfd):
    from fakes import FakeEncoder
    from hyperamy.errors import HyperamyError, InputError

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add(corpus[:10])
    before = (engine.folder / "manifest.json").read_text()
    with pytest.raises(InputError, match="record 1 of this batch needs a non-empty string 'text'"):
        engine.add_distributed([{"id": "x", "text": "fine"}, {"id": "y", "text": ""}], ray_cluster,
                        encoder_factory=FakeEncoder)
    capfd.readouterr()
    with pytest.raises(HyperamyError, match="distributed indexing failed, the index is unchanged: The actor is dead "
                                            "because its worker process has died$") as failed:
        engine.add_distributed(corpus[10:40], ray_cluster, segment_size=10, encoder_factory=BrokenEncoder)
    printed = capfd.readouterr()
    assert printed.err == ""  # Ray Data's progress logs, plans and tracebacks stay quiet (shown with --debug)
    # Ray's own listener thread may print the raylet's one-line notice of the dead worker; nothing else
    assert all(line.startswith("\x1b[33m(raylet)") for line in printed.out.splitlines())
    assert failed.value.__cause__ is not None  # Ray's own error, shown with --debug
    assert (engine.folder / "manifest.json").read_text() == before and len(engine) == 10
    engine.add([Record("z", "a later write cleans up", {})])
    names = {s["name"] for s in engine.snapshot.manifest["segments"]}
    assert {p.name for p in (engine.folder / "segments").iterdir()} == names


class BrokenEncoder:
    """An encoder whose actor dies on its second chunk, as a crashed GPU worker would."""

    def __init__(self):
        from fakes import FakeEncoder

        self.inner, self.calls = FakeEncoder(), 0
        self.model_id, self.dimension, self.emotion = self.inner.model_id, self.inner.dimension, self.inner.emotion

    def encode(self, texts, spans=None, batch_size=64, on_batch=None, mentions=None):
        self.calls += 1
        if self.calls == 2:
            import os

            os._exit(1)  # the actor process dies
        return self.inner.encode(texts, spans, batch_size, on_batch, mentions)


def test_an_unreachable_cluster_is_a_clear_error_within_seconds():
    import subprocess
    import sys

    script = ("from hyperamy import shards\ntry:\n    shards.connect('127.0.0.1:1')\n"
              "except Exception as exc:\n    print(type(exc).__name__, exc)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("HyperamyError cannot reach the Ray cluster at '127.0.0.1:1': ")
