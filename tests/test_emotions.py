from pathlib import Path

import numpy as np
import pytest

from hyperamy.emotions import (
    EKMAN,
    ENTITY_LABEL_ORDER,
    ENTITY_TO_GOEMOTIONS,
    GROUPS,
    LABEL_TO_EKMAN,
    LABEL_TO_GROUP,
    LABELS,
    group_matrix,
    label_index,
)
from hyperamy.errors import InputError

DATA = Path(__file__).resolve().parents[1] / "data" / "goemotions"


def test_labels_match_the_data_set_file():
    assert tuple((DATA / "labels.txt").read_text().split()) == LABELS


@pytest.mark.parametrize("kind, mapping, targets", [("group", LABEL_TO_GROUP, GROUPS), ("ekman", LABEL_TO_EKMAN, EKMAN)])
def test_coarse_mapping_agrees_with_every_single_label_row(kind, mapping, targets):
    assert tuple((DATA / kind / "labels.txt").read_text().split()) == targets
    checked = 0
    for fine, coarse in zip((DATA / "train.tsv").open(), (DATA / kind / "train.tsv").open()):
        fine_ids = fine.rstrip("\n").split("\t")[1].split(",")
        if len(fine_ids) == 1:
            assert targets[int(coarse.rstrip("\n").split("\t")[1])] == mapping[LABELS[int(fine_ids[0])]]
            checked += 1
    assert checked > 30000


def test_group_matrix_sums_probabilities_into_groups():
    probs = np.zeros((1, 28), dtype=np.float32)
    probs[0, LABELS.index("anger")] = 0.3
    probs[0, LABELS.index("fear")] = 0.3
    probs[0, LABELS.index("joy")] = 0.4
    grouped = probs @ group_matrix(LABEL_TO_GROUP, GROUPS)
    assert dict(zip(GROUPS, grouped[0].round(3))) == {"ambiguous": 0, "negative": 0.6, "neutral": 0, "positive": 0.4}


def test_entity_order_is_a_permutation_of_goemotions_ids():
    assert sorted(ENTITY_TO_GOEMOTIONS) == list(range(28))
    assert LABELS[ENTITY_TO_GOEMOTIONS[12]] == "anger" == ENTITY_LABEL_ORDER[12]


def test_label_index_names_the_choices_on_a_typo():
    assert label_index(" Anger ") == 2
    with pytest.raises(InputError, match="unknown emotion 'angry'.*admiration"):
        label_index("angry")
