import dataclasses
import json

import pytest
from safetensors.torch import load_file

from hyperamy.config import EncoderConfig, TrainConfig
from hyperamy.training.train import train
from hyperamy.errors import WeightsError

SMALL = EncoderConfig(tuned_layers=1)


def fit(data, out, epochs, resume=False):
    config = TrainConfig(epochs=epochs, batch_size=4, patience=10, lr_backbone=3e-4, lr_heads=1e-2)
    return train(data, out, SMALL, config, resume=resume, show_progress=False)


def test_training_writes_weights_history_and_learns(tiny_data, tmp_path):
    out = tmp_path / "run"
    best = fit(tiny_data, out, epochs=3)
    history = json.loads((out / "metrics_history.json").read_text())
    assert [e["epoch"] for e in history] == [1, 2, 3]
    assert history[-1]["train_total"] < history[0]["train_total"]
    assert best["dev_loss"] == min(e["dev_loss"] for e in history)
    assert {"model.safetensors", "config.json", "thresholds.json", "checkpoint.pt"} <= {p.name for p in out.iterdir()}
    shipped = load_file(str(out / "model.safetensors"))
    assert all("optimizer" not in name for name in shipped)
    assert any(".layer.5." in name for name in shipped) and not any(".layer.4." in name for name in shipped)


def test_same_seed_gives_the_same_weights(tiny_data, tmp_path):
    fit(tiny_data, tmp_path / "a", epochs=1)
    fit(tiny_data, tmp_path / "b", epochs=1)
    a, b = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(bool((a[name] == b[name]).all()) for name in a)


def test_resume_continues_from_the_last_epoch(tiny_data, tmp_path):
    out = tmp_path / "run"
    fit(tiny_data, out, epochs=1)
    fit(tiny_data, out, epochs=2, resume=True)
    history = json.loads((out / "metrics_history.json").read_text())
    assert [e["epoch"] for e in history] == [1, 2]


def test_resume_without_a_checkpoint_says_so(tiny_data, tmp_path):
    with pytest.raises(WeightsError, match="cannot resume: .*checkpoint.pt does not exist"):
        fit(tiny_data, tmp_path / "empty", epochs=1, resume=True)


def test_data_seed_keeps_the_start_and_changes_the_order(tiny_data, tmp_path):
    # With learning rates of zero, a run's weights are its starting weights.
    frozen = dict(epochs=1, batch_size=4, lr_backbone=0.0, lr_heads=0.0, weight_decay=0.0)
    for name, seeds in (("a", dict(seed=5, data_seed=1)), ("b", dict(seed=5, data_seed=2)), ("c", dict(seed=6))):
        train(tiny_data, tmp_path / name, SMALL, TrainConfig(**frozen, **seeds), show_progress=False)
    a, b, c = (load_file(str(tmp_path / name / "model.safetensors")) for name in "abc")
    assert all(bool((a[name] == b[name]).all()) for name in a)
    assert not bool((a["prototypes"] == c["prototypes"]).all())
    moving = TrainConfig(epochs=1, batch_size=2, patience=10, lr_backbone=3e-4, lr_heads=1e-2, seed=5)
    for name, data_seed in (("d", 1), ("e", 2)):
        train(tiny_data, tmp_path / name, SMALL, dataclasses.replace(moving, data_seed=data_seed), show_progress=False)
    d, e = (load_file(str(tmp_path / name / "model.safetensors")) for name in "de")
    assert not bool((d["prototypes"] == e["prototypes"]).all())
