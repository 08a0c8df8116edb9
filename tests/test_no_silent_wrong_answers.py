"""Issue #29: each finding of the code review and the new-user trial, as a test that failed on
38758a7 (a wrong answer without an error, or a traceback) and passes now."""
from __future__ import annotations

import gc
import json
import math
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from hyperamy import HyperAmy, snapshot
from hyperamy.cli import main
from hyperamy.config import IndexConfig
from hyperamy.corpus import Record
from hyperamy.errors import IndexStateError, InputError
from hyperamy.rerank import fitted_emotion_weight


def docs(start, stop, text="Document {i} about the harbour"):
    return [Record(f"d{i}", text.format(i=i), {"n": i}) for i in range(start, stop)]


def stored_ids(folder, encoder):
    with HyperAmy.open(folder, encoder=encoder) as index:
        return {d["id"] for d in index.list()}


def test_1_a_slow_search_reload_never_rolls_a_write_back(tmp_path, fake_encoder, monkeypatch):
    """A search thread reloads commit N slowly while the same engine commits N+1; before, the
    reader then put N back, and the next write built on N: acknowledged documents vanished or the
    manifest named a deleted segment."""
    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    engine.add(docs(0, 5))
    HyperAmy.open(folder, encoder=fake_encoder).add(docs(5, 6))  # another process: engine is now stale
    loaded, real_load = threading.Event(), snapshot.load

    def slow_for_the_reader(*args, **kwargs):
        view = real_load(*args, **kwargs)
        if threading.current_thread().name == "reader":
            loaded.set()
            time.sleep(0.3)  # a real reload takes ~45 ms; slowed, the write commits meanwhile
        return view

    monkeypatch.setattr(snapshot, "load", slow_for_the_reader)
    reader = threading.Thread(target=engine.refresh, name="reader")
    reader.start()
    assert loaded.wait(10)
    engine.add(docs(6, 7))  # commit 3 while the reader still holds commit 2
    reader.join()
    assert engine.snapshot.manifest["commit"] == 3  # the reader did not move the engine back
    engine.add(docs(7, 8))
    assert stored_ids(folder, fake_encoder) == {f"d{i}" for i in range(8)}
    assert HyperAmy.open(folder, encoder=fake_encoder).check()["problems"] == []


def test_1_searches_in_the_writing_process_lose_no_acknowledged_write(tmp_path, fake_encoder):
    """serve-like: searches and writes share one engine (12 writes, 3 deletes, with 2 search threads)."""
    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    engine.add(docs(0, 5))
    stop, failures = threading.Event(), []

    def search():
        while not stop.is_set():
            try:
                engine.search("harbour", k=5)
            except Exception as exc:  # noqa: BLE001 - any failure of a search is the finding
                failures.append(exc)
            time.sleep(0.002)  # still dozens of searches a write, without starving the writer of the GIL

    threads = [threading.Thread(target=search) for _ in range(2)]
    for thread in threads:
        thread.start()
    acknowledged = {f"d{i}" for i in range(5)}
    for i in range(5, 17):
        engine.add(docs(i, i + 1))
        acknowledged.add(f"d{i}")
        if i % 4 == 0:
            engine.delete([f"d{i - 5}"])
            acknowledged.discard(f"d{i - 5}")
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert stored_ids(folder, fake_encoder) == acknowledged


def test_2_about_keeps_to_the_filters(tmp_path):
    from fakes import FakeEncoder

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=FakeEncoder())
    engine.add([{"id": str(c), "text": f"Villefort was terrified in chapter {c}.", "chapter": c} for c in range(1, 6)])
    hits = engine.search("Villefort afraid", k=10, about="Villefort", where="chapter >= 3")
    assert sorted(h.metadata["chapter"] for h in hits) == [3, 4, 5]
    assert engine.search("Villefort afraid", k=10, about="Villefort", where="chapter > 9") == []


def test_3_hnsw_breadth_reaches_faiss_per_search_and_from_the_index(tmp_path, fake_encoder, monkeypatch):
    from hyperamy.vectors import VectorIndex

    seen, real_search = [], VectorIndex.search

    def spy(self, query, k, allowed=None, live=None, breadth=None):  # records, then runs the real search
        seen.append(breadth)
        return real_search(self, query, k, allowed, live, breadth)

    monkeypatch.setattr(VectorIndex, "search", spy)
    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder,
                  config=IndexConfig(vector_index="hnsw", hnsw_ef_search=300)).add(docs(0, 20))
    engine = HyperAmy.open(folder, encoder=fake_encoder)
    engine.search("harbour", k=3, mode="semantic")
    assert seen[-1] == 300  # the index's own, after reopening
    engine.search("harbour", k=3, mode="semantic", hnsw_ef_search=777)
    assert seen[-1] == 777


def test_4_ranking_settings_chosen_at_creation_apply_after_reopening(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder,
                  config=IndexConfig(emotion_weight=2.0, candidates=7)).add(docs(0, 5))
    reopened = HyperAmy.open(folder, encoder=fake_encoder)
    assert (reopened.settings.emotion_weight, reopened.settings.candidates) == (2.0, 7)
    assert reopened.info()["config"]["emotion_weight"] == 2.0  # what info shows is what ranks
    reopened.add([Record("rage", "a furious storm", {})])
    assert reopened.search("furious anger", k=1, fusion="evidence")[0].emotion_weight == pytest.approx(2.0 * 0.8)
    assert reopened.search("furious anger", k=1)[0].emotion_weight == pytest.approx(fitted_emotion_weight(0.8, 2.0))


def test_5_recency_past_a_thousand_half_lives_still_ranks_and_stays_json(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add([Record("old", "harbour harbour harbour", {"chapter": 0}),
                Record("new", "harbour", {"chapter": 5000})])
    hits = engine.search("harbour", k=2, mode="lexical", recency="chapter:1")
    assert [h.id for h in hits] == ["new", "old"]
    assert all(math.isfinite(h.score) for h in hits)
    assert hits[1].recency_part == pytest.approx(-5000 * math.log(2))
    json.dumps([h.to_dict() for h in hits], allow_nan=False)


def test_6_shards_opened_from_a_stale_handle_serve_the_whole_index(ray_cluster, tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    stale = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    stale.add(docs(0, 4), commit_every=2)
    other = HyperAmy.open(folder, encoder=fake_encoder)
    other.add(docs(4, 7))
    other.compact()  # the segments `stale` knows are gone
    stale.use_shards(2)
    assert len(stale.search("harbour", k=20, mode="lexical")) == 7


def test_8_a_large_add_merges_by_tier_never_everything_at_once(tmp_path, fake_encoder, monkeypatch):
    from hyperamy import writer

    merged, real_merge = [], writer.IndexWriter.merge

    def counting(self, names, *args, **kwargs):
        merged.append(sum(len(s) for s in self.base.segments if s.name in names))
        return real_merge(self, names, *args, **kwargs)

    monkeypatch.setattr(writer.IndexWriter, "merge", counting)
    monkeypatch.setattr(writer, "END_MERGE_DOCUMENTS", 5)
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add(docs(0, 60), commit_every=2)
    assert len(engine) == 60
    assert merged and max(merged) <= writer.MERGE_FACTOR * 2  # before: one merge of all 60 at the end


def test_9_merge_tiers_count_exact_powers_in_their_own_tier():
    from hyperamy.writer import tier

    assert [tier(n) for n in (0, 9, 10, 99, 100, 999, 1000, 10_000, 99_999)] == [0, 0, 1, 1, 2, 2, 3, 4, 4]


def test_9_recency_newest_is_the_newest_live_document(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add([Record("a", "harbour", {"chapter": 1}), Record("b", "harbour", {"chapter": 3}),
                Record("c", "harbour", {"chapter": 9})])
    engine.delete(["c"])
    hits = engine.search("harbour", k=2, mode="lexical", recency="chapter:1")
    assert {h.id: h.age for h in hits} == {"b": 0, "a": 2}


def test_9_a_pin_on_a_missing_folder_raises_cleanly(tmp_path, monkeypatch):
    from hyperamy.locking import Pin

    ignored = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    with pytest.raises(FileNotFoundError):
        Pin(tmp_path / "missing")
    gc.collect()
    assert ignored == []


def test_9_a_missing_segment_is_named_not_called_a_busy_index(tmp_path, fake_encoder):
    import shutil

    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(docs(0, 3))
    segment = next((folder / "segments").iterdir())
    shutil.rmtree(segment)
    started = time.monotonic()
    with pytest.raises(IndexStateError, match=rf"damaged: .*{segment.name}.* is missing.*check --repair"):
        HyperAmy.open(folder, encoder=fake_encoder)
    assert time.monotonic() - started < 0.4  # not 50 tries


def test_9_ranking_settings_from_a_command_line_are_numbers_or_named_errors(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add(docs(0, 3))
    assert len(engine.search("harbour", k=2, candidates=1e2)) == 2
    with pytest.raises(InputError, match="candidates must be a whole number, not 2.5"):
        engine.search("harbour", candidates=2.5)
    with pytest.raises(InputError, match="emotion_weight must be a finite number, not inf"):
        engine.search("harbour", emotion_weight=float("inf"))
    result = CliRunner().invoke(main, ["search", "harbour", "-i", str(tmp_path / "idx"), "--set", "candidates=x"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_9_drop_damaged_with_damaged_rows_leaves_an_index_that_opens(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    engine.add(docs(0, 4))
    engine.add(docs(4, 8))
    engine.delete(["d1", "d6"])  # tombstones in both segments
    first = sorted((folder / "segments").iterdir())[0]
    for name in ("docs.parquet", "rows.npy"):
        (first / name).write_bytes(b"damaged")
    report = HyperAmy.open(folder, encoder=fake_encoder, load=False).check(repair=True, drop_damaged=True)
    assert len(report["dropped"]) == 1
    reopened = HyperAmy.open(folder, encoder=fake_encoder)
    assert len(reopened) == len({d["id"] for d in reopened.list()}) == reopened.manifest["counts"]["documents"]
    assert reopened.check()["problems"] == []


def test_9_close_lets_go_and_with_closes(tmp_path, fake_encoder):
    from hyperamy.locking import remove_if_unused

    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(docs(0, 3))
    with HyperAmy.open(folder, encoder=fake_encoder) as index:
        assert index.search("harbour", k=1)
        segment = index.snapshot.segments[0].folder
        assert not remove_if_unused(segment)  # pinned while open
    assert remove_if_unused(segment)  # unpinned once closed
    with pytest.raises(IndexStateError, match="was closed"):
        index.search("harbour")
    index.close()  # twice is harmless


def test_10_get_and_list_json_carry_dates(tmp_path, fake_encoder, monkeypatch):
    import datetime

    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(
        [Record("a", "harbour", {"posted": datetime.date(2026, 12, 4)})])
    monkeypatch.setattr("hyperamy.encoder.joint.SharedTrunkEncoder.load", lambda weights=None: fake_encoder)
    for args in (["get", "a", "--json"], ["list", "--json"]):
        result = CliRunner().invoke(main, [*args, "-i", str(folder)])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output.splitlines()[0])["metadata"]["posted"] == "2026-12-04"


def test_12_export_writes_the_format_its_name_says_or_refuses(tmp_path, fake_encoder):
    import csv

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add(docs(0, 3))
    assert engine.export(tmp_path / "out.csv") == 3
    rows = list(csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8")))
    assert [r["id"] for r in rows] == ["d0", "d1", "d2"] and rows[0]["n"] == "0" and "intensity_anger" in rows[0]
    with pytest.raises(InputError, match="cannot tell the export format from .*out.txt"):
        engine.export(tmp_path / "out.txt")


def test_13_hits_and_documents_share_one_json_vocabulary(tmp_path, fake_encoder):
    import datetime

    from hyperamy.jsontext import dumps

    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add([Record("rage", "a furious storm", {"at": datetime.datetime(2026, 12, 4, 10, 30)})])
    hit, document = engine.search("furious", k=1)[0].to_dict(), engine.get("rage")
    assert hit["metadata"]["at"] == json.loads(dumps(document))["metadata"]["at"] == "2026-12-04T10:30:00"
    assert hit["emotion"] == document["emotion"] == "anger"
    assert set(hit["intensity"]) == set(document["intensity"]) and len(hit["intensity"]) == 27
    assert hit["intensity"]["anger"] == pytest.approx(document["intensity"]["anger"], abs=1e-4)
    assert 0 <= hit["emotion_match"] <= 1
