import json
import re

import pytest

from hyperamy.corpus import Skipped, read_records
from hyperamy.errors import DataFormatError


def write_lines(path, lines):
    path.write_bytes(b"\n".join(line if isinstance(line, bytes) else line.encode() for line in lines) + b"\n")
    return path


def test_jsonl_records_keep_other_fields_as_metadata(tmp_path):
    path = write_lines(tmp_path / "c.jsonl", [json.dumps({"id": 7, "text": "Hello", "chapter": 2, "who": "x"}),
                                              "", json.dumps({"text": "No id here"})])
    first, second = list(read_records(path))
    assert (first.id, first.text, first.metadata, first.source) == ("7", "Hello", {"chapter": 2, "who": "x"},
                                                                    f"{path}:1")
    assert second.id_generated and second.id.startswith("doc-")
    again = list(read_records(write_lines(tmp_path / "d.jsonl", [json.dumps({"text": "No id here"})])))
    assert again[0].id == second.id  # generated from the text, so stable across files


@pytest.mark.parametrize("line, message", [
    (b'{"id": 1, "text": "ok"', "malformed JSON"),
    (b'{"id": 1, "text": "a\tb"}', "malformed JSON: Invalid control character at column 21 (a raw tab or line break "
                                   "inside a string: write it as \\t or \\n)"),
    (b'{"id": 1}', "missing text field 'text'; this record has 'id'"),
    (b'{"id": 1, "text": 5}', "text field 'text' is int, not a string"),
    (b'{"id": 1, "text": "  "}', "text field 'text' is empty"),
    (b'[1, 2]', "expected a JSON object, got list"),
    (b'{"id": 1, "text": "caf\xe9"}', "not valid UTF-8"),
])
def test_bad_rows_name_file_and_line(tmp_path, line, message):
    path = write_lines(tmp_path / "c.jsonl", [json.dumps({"id": 0, "text": "fine"}), line])
    with pytest.raises(DataFormatError, match=rf"c\.jsonl:2: {re.escape(message)}"):
        list(read_records(path))


def test_skip_invalid_keeps_the_good_rows_and_lists_the_bad(tmp_path):
    path = write_lines(tmp_path / "c.jsonl", [json.dumps({"id": 0, "text": "fine"}), "{oops",
                                              json.dumps({"id": 2, "text": "also fine"})])
    skipped = Skipped()
    assert [r.id for r in read_records(path, skipped=skipped)] == ["0", "2"]
    assert len(skipped.rows) == 1 and skipped.rows[0].startswith(f"{path}:2: malformed JSON")


def test_csv_and_parquet_are_read_with_line_numbers(tmp_path):
    import duckdb

    csv = tmp_path / "c.csv"
    csv.write_text("id,text,year\na,First text,1844\nb,,1845\n")
    with pytest.raises(DataFormatError, match=r"c.csv:3: text field 'text' is empty"):
        list(read_records(csv))
    parquet = tmp_path / "c.parquet"
    duckdb.sql(f"COPY (SELECT 'p1' AS id, 'Parquet text' AS body, 3 AS n) TO '{parquet}' (FORMAT parquet)")
    (record,) = read_records(parquet, text_field="body")
    assert (record.id, record.text, record.metadata) == ("p1", "Parquet text", {"n": 3})


def test_unknown_format_and_missing_file_are_named(tmp_path):
    with pytest.raises(DataFormatError, match="file not found"):
        list(read_records(tmp_path / "none.jsonl"))
    (tmp_path / "c.xml").write_text("<x/>")
    with pytest.raises(DataFormatError, match="unknown corpus format '.xml'"):
        list(read_records(tmp_path / "c.xml"))


def test_named_fields_must_be_in_the_first_record(tmp_path):
    path = write_lines(tmp_path / "c.jsonl", [json.dumps({"id": 1, "body": "x", "kind": "y"})])
    with pytest.raises(DataFormatError, match=r"c.jsonl:1: no id field 'ident' in the first record; "
                                              r"its fields are 'id', 'body', 'kind'"):
        list(read_records(path, id_field="ident", text_field="body"))
    with pytest.raises(DataFormatError, match=r"no text field 'text' in the first record; its fields are 'id', "
                                              r"'body', 'kind' \(choose one with --text-field\)"):
        list(read_records(path))
    assert [r.id for r in read_records(path, id_field="kind", text_field="body")] == ["y"]


def test_an_empty_file_has_no_records(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataFormatError, match="empty.jsonl: no records in this file"):
        list(read_records(tmp_path / "empty.jsonl"))


def test_json_arrays_compressed_files_and_stdin(tmp_path, monkeypatch):
    import gzip
    import io

    import zstandard

    from hyperamy.corpus import count_records

    rows = [{"id": "a", "text": "First"}, {"id": "b", "text": "Second", "n": 2}]
    (tmp_path / "c.json").write_text(json.dumps(rows))
    assert [(r.id, r.metadata) for r in read_records(tmp_path / "c.json")] == [("a", {}), ("b", {"n": 2})]
    lines = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(lines))
    (tmp_path / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines))
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(b"id,text\na,First\nb,Second\n"))
    for name in ("c.jsonl.gz", "c.jsonl.zst", "c.csv.gz"):
        assert [r.text for r in read_records(tmp_path / name)] == ["First", "Second"], name
        assert count_records(tmp_path / name) == 2
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(lines)))
    assert [r.id for r in read_records("-")] == ["a", "b"]
    with pytest.raises(DataFormatError, match=r"unknown corpus format '.parquet.gz'"):
        list(read_records(tmp_path / "c.parquet.gz"))


@pytest.mark.parametrize("call", ["value", "rows", "copy_parquet"])
def test_ctrl_c_while_duckdb_reads_a_file_is_a_keyboard_interrupt(call, tmp_path):
    """DuckDB turns SIGINT into its own error; reading files must give Ctrl-C back, not call it a
    file that cannot be read (count_records would have read it as 'no count' and gone on)."""
    import os
    import signal
    import threading
    import time

    from hyperamy.store import files

    slow = "SELECT sum(i * i) AS s FROM range(20000000000) t(i)"  # many seconds on one thread
    run = {"value": lambda: files.value(slow),
           "rows": lambda: list(files.rows(slow)),
           "copy_parquet": lambda: files.copy_parquet(slow, [], tmp_path / "out.parquet", 1000)}[call]
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    # Python's Ctrl-C handler even where SIGINT is ignored (a suite started in the background: `... &`)
    kept = signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, kept)
    assert time.monotonic() - started < 5  # stopped by the interrupt, not run to the end
