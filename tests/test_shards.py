"""Sharded search on a real local Ray cluster: the same hits as the unsharded index."""
import pytest

from hyperamy.corpus import Record
from hyperamy.engine import HyperAmy

WORDS = ["harbour", "prison", "garden", "storm", "letter", "ball", "furious", "happy", "afraid", "treasure"]


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture()
def index(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add([Record(f"d{i}", f"Document {i}: the {WORDS[i % 10]} and the {WORDS[(i * 7) % 10]} near the "
                              f"{WORDS[(i * 3) % 10]}", {"n": i}) for i in range(300)], commit_every=50)
    engine.delete(["d5", "d77", "d150"])
    return engine


def hits(engine, query, **options):
    return [(h.id, round(h.score, 5), round(h.semantic, 5), round(h.lexical, 5), round(h.emotion, 5))
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
