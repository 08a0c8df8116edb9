import json

import pytest

from hyperamy.training.data import read_entities, read_goemotions
from hyperamy.errors import DataFormatError


def test_goemotions_labels_become_even_soft_labels(tiny_data):
    samples = read_goemotions(tiny_data / "goemotions" / "train.tsv")
    assert len(samples) == 8
    first = samples[0]
    assert first.labels == (13, 17)
    assert first.target[13] == first.target[17] == 0.5 and first.target.sum() == 1.0


@pytest.mark.parametrize("line, message", [("no tab here", "expected text<TAB>label ids"),
                                           ("text\tx,1\tid", "bad label ids 'x,1'"),
                                           ("text\t28\tid", "label ids '28' outside 0..27")])
def test_bad_goemotions_rows_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.tsv"
    path.write_text("fine\t1\tid\n" + line + "\n")
    with pytest.raises(DataFormatError, match=rf"bad.tsv:2: {message}"):
        read_goemotions(path)


def test_entity_soft_labels_are_reordered_to_goemotions_ids(tiny_data):
    path = tiny_data / "entity_granularity" / "entity_granularity_v2.jsonl"
    train, test = read_entities(path, 0.3, "train"), read_entities(path, 0.3, "test")
    assert len(train) + len(test) == 10 and train and test
    assert {s.text for s in train}.isdisjoint({s.text for s in test})
    sample = train[0]
    assert sample.span == (17, 25) and sample.text[17:25] == "Danglars"
    assert int(sample.target.argmax()) == 2  # anger in GoEmotions order


def test_entity_span_that_does_not_match_its_text_is_named(tmp_path):
    record = {"text": "Dantes smiled", "targets": [{"span_text": "Mercedes", "char_start": 0, "char_end": 6,
                                                    "soft_label": [0.0] * 27 + [1.0]}]}
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(DataFormatError, match=r"e.jsonl:1: span_text 'Mercedes' is not at \(0, 6\)"):
        read_entities(path, 0.5, "train") + read_entities(path, 0.5, "test")
