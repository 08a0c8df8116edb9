"""The live index: concurrent writers, killed writers, readers that keep up, damage that is caught."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hyperamy.cli import main
from hyperamy.corpus import Record
from hyperamy.engine import HyperAmy
from hyperamy.errors import DataFormatError, IndexBusyError, IndexStateError, InputError
from hyperamy.locking import WriterLock

TESTS = Path(__file__).parent


def writer(folder, action, first, last, delay=0.0):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(TESTS / "write_process.py"), str(folder), action, str(first),
                             str(last), str(delay)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def finished(process):
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def stored_ids(folder, fake_encoder):
    return {d["id"] for d in HyperAmy.open(folder, encoder=fake_encoder).list()}


def records(first, last):
    return [Record(f"d{i}", f"Document {i} about the harbour", {"n": i}) for i in range(first, last)]


def test_two_writers_and_a_deleter_at_once_lose_nothing(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(records(0, 20))
    processes = [writer(folder, "add", 100, 160, 0.002), writer(folder, "add", 200, 260, 0.002),
                 writer(folder, "delete", 0, 5)]
    results = [finished(p) for p in processes]
    assert results[0] == {"added": 60} and results[1] == {"added": 60}
    assert sorted(results[2]["removed"]) == [f"d{i}" for i in range(5)]
    expected = {f"d{i}" for i in [*range(5, 20), *range(100, 160), *range(200, 260)]}
    assert stored_ids(folder, fake_encoder) == expected
    assert HyperAmy.open(folder, encoder=fake_encoder).check()["problems"] == []


def test_a_killed_writer_leaves_exactly_its_last_commit_and_a_rerun_finishes(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(records(0, 5))
    process = writer(folder, "add", 1000, 1400, 0.01)  # commits every 10 documents, 0.1 s each
    deadline = time.time() + 60
    while time.time() < deadline and json.loads((folder / "manifest.json").read_text())["commit"] < 4:
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 0.3))
    assert process.poll() is None, "the writer finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    engine = HyperAmy.open(folder, encoder=fake_encoder)
    committed = len(engine) - 5
    assert committed % 10 == 0 and 20 <= committed < 400
    assert stored_ids(folder, fake_encoder) == {f"d{i}" for i in [*range(5), *range(1000, 1000 + committed)]}
    del engine  # a reader pins the segments it reads: cleanup would rightly leave them
    rerun = finished(writer(folder, "add", 1000, 1400))
    assert rerun == {"added": 400 - committed}
    assert len(HyperAmy.open(folder, encoder=fake_encoder)) == 405
    leftovers = [p for p in (folder / "segments").iterdir()
                 if p.name not in {s["name"] for s in json.loads((folder / "manifest.json").read_text())["segments"]}]
    assert leftovers == []  # the killed writer's unfinished segment and merged ones were cleaned up


def test_a_second_writer_waits_and_then_names_the_holder(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder, wait=0.3)
    engine.add(records(0, 3))
    with WriterLock(folder):
        started = time.monotonic()
        with pytest.raises(IndexBusyError, match=rf"being written by process {os.getpid()}; waited 0.3s"):
            engine.delete(["d0"])
        assert time.monotonic() - started >= 0.3
    assert engine.delete(["d0"]) == 1


def test_an_open_reader_sees_each_commit_at_its_next_search(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(records(0, 10))
    reader = HyperAmy.open(folder, encoder=fake_encoder)
    assert reader.search("harbour", k=20, mode="lexical")
    other = HyperAmy.open(folder, encoder=fake_encoder)
    other.add([Record("new", "A furious storm over the lighthouse", {})])
    assert reader.search("lighthouse", k=1, mode="lexical")[0].id == "new"
    other.delete(["new", "d3"])
    assert "new" not in [h.id for h in reader.search("lighthouse storm", k=20)]
    assert "d3" not in [h.id for h in reader.search("harbour", k=20, mode="lexical")]
    old = reader.snapshot  # a snapshot in use keeps working after writes replace its segments
    other.compact()
    assert old.store.documents(old.live_rows()[:1])[0] and old.fetch(old.live_rows()[:1])
    assert len(reader) == 9 and len(reader.snapshot.segments) == 1


def test_writes_add_segments_that_merge_as_they_pile_up(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    for i in range(25):
        engine.add([Record(f"d{i}", f"Document {i} about the harbour", {})])
    assert len(engine.snapshot.segments) < 10 and len(engine) == 25
    engine.add([Record("d3", "Document 3 rewritten about a garden", {})])  # an update tombstones the old one
    assert engine.get("d3")["text"] == "Document 3 rewritten about a garden"
    before = [h.id for h in engine.search("harbour garden", k=30, mode="lexical")]
    report = engine.compact()
    assert report["after"] == {"segments": 1, "deleted": 0} and report["documents"] == 25
    assert [h.id for h in engine.search("harbour garden", k=30, mode="lexical")] == before
    assert len(list((folder / "segments").iterdir())) == 1


def test_ids_are_found_through_each_segments_sorted_ids_as_docs_parquet_would_find_them(tmp_path, fake_encoder):
    from hyperamy.segments import IDS_FILE, id_keys

    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    engine.add(records(0, 30))
    engine.add([Record("d3", "Document 3 rewritten", {}), Record("é 🙂 \"quoted\"", "An odd id", {})])
    engine.delete(["d7"])
    asked = ["d3", "d7", "d12", "é 🙂 \"quoted\"", "d999", "d3"]

    def both(view):
        return sorted(view.versions(asked)), sorted(view.store.versions(asked))

    through_ids, through_sql = both(engine.refresh())
    assert through_ids == through_sql and len(engine.snapshot.segments) == 2
    assert [(i, r) for i, r, _ in through_ids] == [("d12", 12), ("d3", 3), ("d3", 30), ("d7", 7),
                                                   ("é 🙂 \"quoted\"", 31)]  # deleted and replaced ones too
    assert engine.get("d3")["text"] == "Document 3 rewritten" and engine.get("d7") is None
    engine.compact()
    through_ids, through_sql = both(engine.refresh())
    assert through_ids == through_sql and [r for _, r, _ in through_ids] == [12, 30, 31]
    segment = engine.snapshot.segments[0]
    assert segment.ids.shape == (4, 30) and isinstance(segment.ids, np.memmap)
    assert segment.versions(["d5"], id_keys(["d12"])) == []  # a key shared by another id is not taken for it
    report = engine.add([*records(12, 13), Record("d13", "Changed", {})])
    assert (report.unchanged, report.updated) == (1, 1)
    assert IDS_FILE in json.loads((folder / "manifest.json").read_text())["segments"][0]["files"]


def test_segments_written_before_sorted_ids_are_still_found(tmp_path, fake_encoder):
    from hyperamy import persist
    from hyperamy.segments import IDS_FILE

    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(records(0, 10))
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = manifest["segments"][0]
    del entry["files"][IDS_FILE]
    (folder / "segments" / entry["name"] / IDS_FILE).unlink()
    persist.write_manifest(folder, manifest)  # as an index written before ids.npy was
    engine = HyperAmy.open(folder, encoder=fake_encoder)
    assert engine.snapshot.segments[0].ids is None
    report = engine.add([Record("d4", "Document 4 changed", {}), *records(5, 6)])
    assert (report.updated, report.unchanged, len(engine)) == (1, 1, 10)
    assert engine.get("d4")["text"] == "Document 4 changed" and engine.check()["problems"] == []


def test_a_commit_reads_back_only_the_tables_it_adds(tmp_path, fake_encoder, monkeypatch):
    from hyperamy.store import database

    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    engine.add(records(0, 30))
    bound, real = [], database.Store._connect
    monkeypatch.setattr(database.Store, "_connect", lambda self: bound.append(self._files) or real(self))
    engine.add(records(30, 31))
    new = {s.name for s in engine.snapshot.segments} - {s.folder.name for s in engine.snapshot.segments[:1]}
    assert [[f.parent.name for f in files] for files in bound] == [sorted(new)]  # no DuckDB for the lookup either
    assert engine.count("n >= 29") == 2  # a query still binds every segment


def test_a_write_costs_what_it_adds(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    engine.add(records(0, 50))
    first = {p: p.stat().st_mtime_ns for p in (folder / "segments").rglob("*")}
    engine.add(records(50, 51))
    engine.delete(["d7"])
    untouched = {p: p.stat().st_mtime_ns for p in first if p.exists()}
    assert untouched == first  # no existing file was rewritten


@pytest.mark.parametrize("name", ["semantic.faiss", "emotion.faiss", "feelings.npy", "rows.npy", "terms.json",
                                  "term_counts.npy", "lengths.npy", "hits.jsonl", "hits_offsets.npy", "ids.npy",
                                  "docs.parquet"])
def test_a_damaged_file_is_named_and_derived_files_are_repaired(tmp_path, fake_encoder, name):
    folder = tmp_path / "idx"
    engine = HyperAmy.open(folder, create=True, encoder=fake_encoder)
    engine.add(records(0, 30))
    expected = [h.to_dict() for h in engine.search("Document 12 harbour", k=5)]
    segment = next((folder / "segments").iterdir())
    path = segment / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    path.write_bytes(bytes(data))
    with pytest.raises(IndexStateError, match=f"{path} is damaged: its checksum differs"):
        HyperAmy.open(folder, encoder=fake_encoder)
    report = HyperAmy.open(folder, encoder=fake_encoder, load=False).check()
    assert [p["file"] for p in report["problems"]] == [str(path)]
    repaired = HyperAmy.open(folder, encoder=fake_encoder, load=False).check(repair=True)
    if name == "docs.parquet":
        assert "holds the texts of 30 documents and is damaged" in repaired["unrepairable"][0]
        dropped = HyperAmy.open(folder, encoder=fake_encoder, load=False).check(repair=True, drop_damaged=True)
        assert dropped["dropped"] == [{"segment": segment.name, "documents": 30}]
        assert len(HyperAmy.open(folder, encoder=fake_encoder)) == 0
        return
    assert repaired["repaired"] == [{"segment": segment.name, "files": [name]}]
    engine = HyperAmy.open(folder, encoder=fake_encoder)
    assert [h.to_dict() for h in engine.search("Document 12 harbour", k=5)] == expected
    assert engine.check()["problems"] == []


def test_opening_checksums_each_file_once_until_it_changes(tmp_path, fake_encoder, monkeypatch):
    from hyperamy import file_checks

    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(records(0, 30))
    hashed = []
    real = file_checks.checksum
    monkeypatch.setattr(file_checks, "checksum", lambda path: hashed.append(path.name) or real(path))
    segment = next((folder / "segments").iterdir())
    (segment / file_checks.STAMP).unlink(missing_ok=True)  # as a segment no reader has opened yet
    expected = [h.to_dict() for h in HyperAmy.open(folder, encoder=fake_encoder).search("Document 12 harbour", k=5)]
    first = sorted(hashed)
    assert "semantic.faiss" in first and "docs.parquet" in first and "mentions.parquet" not in first
    hashed.clear()
    engine = HyperAmy.open(folder, encoder=fake_encoder)
    assert hashed == [] and [h.to_dict() for h in engine.search("Document 12 harbour", k=5)] == expected
    path = segment / "emotion.faiss"  # a flipped bit, its modification time put back: still caught
    status, data = path.stat(), bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    with pytest.raises(IndexStateError, match=f"{path} is damaged: its checksum differs"):
        HyperAmy.open(folder, encoder=fake_encoder)
    assert hashed == ["emotion.faiss"]  # the changed file alone was read again
    hashed.clear()
    report = HyperAmy.open(folder, encoder=fake_encoder, load=False).check()  # check reads every file, always
    assert [p["file"] for p in report["problems"]] == [str(path)] and "semantic.faiss" in hashed


def test_duckdb_is_started_only_by_what_needs_it_and_its_failures_are_named(tmp_path, fake_encoder):
    """A search without --where reads the segments' own files: DuckDB (0.1 s a process) is not
    loaded; a --where is; a parquet file damaged after its checksum was checked is named then."""
    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(records(0, 30))
    probe = ("import sys; from fakes import FakeEncoder; from hyperamy.engine import HyperAmy; "
             "e = HyperAmy.open(sys.argv[1], encoder=FakeEncoder()); "
             "ids = [h.id for h in e.search('Document 12 harbour', k=2, where=sys.argv[2] or None)]; "
             "print(ids, 'duckdb' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    plain, filtered = (subprocess.run([sys.executable, "-c", probe, str(folder), where], env=env, text=True,
                                      capture_output=True, check=True).stdout.split("] ")
                       for where in ("", "n > 20"))
    assert plain[1].strip() == "False" and filtered[1].strip() == "True"
    assert plain[0].startswith("['d12'") and "'d12'" not in filtered[0]
    engine = HyperAmy.open(folder, encoder=fake_encoder)  # checksums checked, DuckDB not yet started
    path = next((folder / "segments").iterdir()) / "docs.parquet"
    path.write_bytes(b"not parquet")
    assert [h.id for h in engine.search("Document 12 harbour", k=1)] == ["d12"]  # the hits file serves texts
    with pytest.raises(IndexStateError, match="the index's documents cannot be read: .*run `hyperamy check`"):
        engine.search("Document 12 harbour", k=1, where="n > 20")
    engine.close()
    with pytest.raises(IndexStateError, match="was closed"):
        engine.search("Document 12 harbour", k=1, where="n > 20")


def test_a_keyword_search_that_matches_nothing_finds_nothing(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add(records(0, 30))
    assert list(engine.search("zebra", k=5, mode="lexical")) == []  # was a NumPy shape error
    assert [h.id for h in engine.search("harbour zebra", k=2, mode="lexical")] != []


def test_damage_through_the_cli_is_one_line(tmp_path, fake_encoder):
    folder = tmp_path / "idx"
    HyperAmy.open(folder, create=True, encoder=fake_encoder).add(records(0, 5))
    path = next((folder / "segments").iterdir()) / "term_counts.npy"
    path.write_bytes(b"")
    result = CliRunner().invoke(main, ["info", "--index", str(folder)])
    assert result.exit_code == 1
    size = json.loads((folder / "manifest.json").read_text())["segments"][0]["files"]["term_counts.npy"]["size"]
    assert result.stderr == f"Error: {path} is damaged: 0 bytes, the manifest says {size}; " \
                            "run `hyperamy check --repair`\n"
    checked = CliRunner().invoke(main, ["check", "--index", str(folder), "--json"])
    assert checked.exit_code == 1 and json.loads(checked.stdout)["ok"] is False
    (folder / "manifest.json").write_text("{broken")
    broken = CliRunner().invoke(main, ["search", "harbour", "--index", str(folder)])
    assert broken.exit_code == 1 and "manifest.json is not valid JSON" in broken.stderr


def test_where_cannot_escape_its_parentheses(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add([Record("a", "I am furious", {"kind": "x;y"}), Record("b", "I am so happy", {"kind": "z"})])
    with pytest.raises(InputError, match="closes more than the condition opened"):
        engine.search("feeling", where="1=1) OR (1=1", emotion="anger")
    with pytest.raises(InputError, match="comments are not allowed"):
        engine.search("feeling", where="kind = 'z' --", emotion="anger")
    assert [h.id for h in engine.search("feeling", where="(kind = 'x;y') OR (1=1)", emotion="anger")] == ["a"]
    assert engine.count("kind LIKE '%;%'") == 1


def test_metadata_names_never_collide_silently(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    with pytest.raises(DataFormatError, match="the metadata field name 'meta_row' is taken: the reserved field 'row'"):
        engine.add([Record("a", "text", {"row": 1, "meta_row": 2})])
    engine.add([Record("a", "text one", {"row": 1, "year": 1844})])
    assert engine.get("a")["metadata"] == {"meta_row": 1, "year": 1844}
    with pytest.raises(DataFormatError, match="'year' holds int64 in this index but string here"):
        engine.add([Record("b", "text two", {"year": "eighteen"})])
    engine.add([Record("c", "text three", {"year": 1845.0})])  # a number that fits is cast
    assert engine.count("year > 1844") == 1


def test_list_count_get_and_export(tmp_path, fake_encoder):
    engine = HyperAmy.open(tmp_path / "idx", create=True, encoder=fake_encoder)
    engine.add(records(0, 6))
    engine.delete(["d2"])
    assert [d["id"] for d in engine.list()] == ["d0", "d1", "d3", "d4", "d5"]
    assert [d["id"] for d in engine.list(where="n >= 3", limit=2, offset=1)] == ["d4", "d5"]
    assert engine.count() == 5 and engine.count("n < 2") == 2
    assert engine.get("d2") is None and engine.get("d4")["metadata"] == {"n": 4}
    out = tmp_path / "out.jsonl"
    assert engine.export(out, vectors=True) == 5
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["id"] for d in lines] == ["d0", "d1", "d3", "d4", "d5"] and len(lines[0]["semantic"]) == 32
    assert np.allclose(lines[0]["semantic"], fake_encoder.encode([lines[0]["text"]]).semantic[0])
    import pyarrow.parquet as pq

    assert engine.export(tmp_path / "out.parquet", format="parquet", where="n > 3") == 2
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column("id").to_pylist() == ["d4", "d5"] and table.column("n").to_pylist() == [4, 5]
