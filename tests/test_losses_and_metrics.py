import numpy as np
import pytest
import torch

from hyperamy.training.losses import calibration, soft_kl, target_intensity
from hyperamy.training.metrics import multilabel_metrics, spearman, top1_macro_f1, tune_thresholds


def one_hot(*ids, width=28):
    row = torch.zeros(width)
    row[list(ids)] = 1.0 / len(ids)
    return row


def test_soft_kl_is_zero_at_the_target_and_positive_elsewhere():
    target = torch.tensor([[0.5, 0.5, 0.0]])
    assert soft_kl(torch.log(target.clamp_min(1e-12)), target).item() == pytest.approx(0.0, abs=1e-5)
    assert soft_kl(torch.zeros(1, 3), target).item() == pytest.approx(np.log(3) - np.log(2), abs=1e-6)


def test_intensity_is_the_largest_non_neutral_mass():
    targets = torch.stack([one_hot(27), one_hot(2), one_hot(2, 27), one_hot(2, 14, 17, 27)])
    assert target_intensity(targets).tolist() == [0.0, 1.0, 0.5, 0.25]


def test_calibration_pulls_kappa_to_one_plus_alpha_intensity():
    targets = torch.stack([one_hot(27), one_hot(2)])
    assert calibration(torch.tensor([1.0, 51.0]), targets, 50.0).tolist() == [0.0, 0.0]
    assert calibration(torch.tensor([26.0, 1.0]), targets, 50.0).tolist() == [0.25, 1.0]


def test_metrics_on_a_hand_checked_example():
    probs = np.array([[0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    gold = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    m = multilabel_metrics(probs, gold, np.array([0.5, 0.5, 0.5]))
    # label 0: tp 1, fp 1 -> F1 2/3; label 1: never predicted -> 0; label 2: F1 1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert m["micro_f1"] == pytest.approx(2 * 2 / (3 + 3))
    assert m["jaccard"] == pytest.approx(2 / 3)
    assert m["top1_accuracy"] == pytest.approx(2 / 3)
    assert m["top3_accuracy"] == 1.0


def test_tuned_thresholds_separate_a_separable_label():
    probs = np.array([[0.10], [0.20], [0.35], [0.40]])
    gold = np.array([[0], [0], [1], [1]], dtype=bool)
    threshold = tune_thresholds(probs, gold)[0]
    assert 0.20 < threshold <= 0.35


def test_always_neutral_scores_zero_non_neutral_macro_f1():
    gold = np.array([27, 27, 27, 2, 14])
    assert top1_macro_f1(np.full(5, 27), gold) == 0.0
    assert top1_macro_f1(np.array([27, 27, 27, 2, 27]), gold) == pytest.approx((1.0 + 0.0) / 2)


def test_spearman_handles_constant_input():
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.5, 1.0])) == pytest.approx(1.0)
    assert spearman(np.ones(3), np.array([0.0, 0.5, 1.0])) == 0.0


def test_the_model_card_names_every_source_the_settings_say_were_used(tmp_path):
    import json

    from hyperamy.training.report import write_model_card

    encoder = {"backbone": "all-MiniLM-L6-v2", "tuned_layers": 2, "dim": 64, "alpha": 50.0, "max_length": 256}
    plain = {"config": {"seed": 13, "affect_weight": 0.0, "feelings": False}, "best_epoch": 3}
    (tmp_path / "config.json").write_text(json.dumps({"encoder": encoder, "training": plain}))
    (tmp_path / "metrics_history.json").write_text(json.dumps([{"epoch": 1}, {"epoch": 2}, {"epoch": 3}]))
    write_model_card(tmp_path, "hyperamy train", 1.0, None)
    card = (tmp_path / "README.md").read_text()
    assert "GoEmotions train" in card and "EmoBank" not in card and "FairytaleQA" not in card
    assert "literary prose and other languages are out of domain" in card
    refit = {"config": {"seed": 13, "affect_weight": 0.5, "feelings": True,
                        "start": "`hyperamy/encoder/weights` (weights e04902c6ebff)"},
             "soup": [{"run": "runs/a", "fingerprint": "aaa", "data_seed": 13, "best_epoch": 2}],
             "intensity": {"from_fingerprint": "bbb", "best_step": 300, "dev": {"dev": 0.1},
                           "config": {"arousal_weight": 0.3}}}
    (tmp_path / "config.json").write_text(json.dumps({"encoder": encoder, "training": refit}))
    write_model_card(tmp_path, "hyperamy train-intensity", 1.0, None)
    card = (tmp_path / "README.md").read_text()
    assert "EmoBank train (8,062 sentences" in card and "CC BY-SA 4.0" in card
    assert "FairytaleQA train (Apache-2.0" in card and "EmoBank train's arousal ratings" in card
    assert "training started from `hyperamy/encoder/weights` (weights e04902c6ebff)" in card
