import json

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
    (b'{"id": 1}', "missing text field 'text'"),
    (b'{"id": 1, "text": 5}', "text field 'text' is int, not a string"),
    (b'{"id": 1, "text": "  "}', "text field 'text' is empty"),
    (b'[1, 2]', "expected a JSON object, got list"),
    (b'{"id": 1, "text": "caf\xe9"}', "not valid UTF-8"),
])
def test_bad_rows_name_file_and_line(tmp_path, line, message):
    path = write_lines(tmp_path / "c.jsonl", [json.dumps({"id": 0, "text": "fine"}), line])
    with pytest.raises(DataFormatError, match=rf"c.jsonl:2: {message}"):
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
    with pytest.raises(DataFormatError, match=r"c.csv:3: missing text field 'text'"):
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
