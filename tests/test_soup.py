import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from hyperamy.config import EncoderConfig, TrainConfig
from hyperamy.encoder import EmotionEncoder
from hyperamy.training.soup import average_runs
from hyperamy.training.train import train
from hyperamy.errors import InputError, WeightsError

SMALL = EncoderConfig(tuned_layers=1)


def fit(data, out, **seeds):
    config = TrainConfig(epochs=1, batch_size=2, patience=10, lr_backbone=3e-4, lr_heads=1e-2, **seeds)
    train(data, out, SMALL, config, show_progress=False)
    return out


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory):
    """Two runs trained once for the module (training is most of this file's time)."""
    from conftest import write_tiny_data

    base = tmp_path_factory.mktemp("soup")
    data = write_tiny_data(base / "data")
    return [fit(data, base / f"d{s}", seed=5, data_seed=s) for s in (1, 2)]


@pytest.fixture()
def two_runs(trained_runs, tmp_path):
    """Each test's own copies of the two runs: some tests damage them."""
    return [shutil.copytree(run, tmp_path / run.name) for run in trained_runs]


def test_soup_is_the_mean_of_the_runs_and_loads(two_runs, tmp_path):
    out = tmp_path / "soup"
    config = average_runs(two_runs, out)
    a, b, mean = (load_file(str(folder / "model.safetensors")) for folder in (*two_runs, out))
    assert set(mean) == set(a)
    for name in a:
        assert mean[name].dtype == a[name].dtype
        expected = ((a[name].double() + b[name].double()) / 2).to(a[name].dtype)
        assert torch.equal(mean[name], expected), name
    assert [part["data_seed"] for part in config["training"]["soup"]] == [1, 2]
    assert config["training"]["config"]["seed"] == 5
    batch = EmotionEncoder.load(out).encode(["I'm furious they cancelled it again."])
    assert batch.mu.shape == (1, SMALL.dim) and abs(float((batch.mu[0] ** 2).sum()) - 1.0) < 1e-5


def test_soup_refuses_runs_from_different_seeds(tiny_data, two_runs, tmp_path):
    other = fit(tiny_data, tmp_path / "other", seed=6)
    with pytest.raises(InputError, match=r"do not share one training --seed .*other: 6.*--data-seed"):
        average_runs([two_runs[0], other], tmp_path / "soup")
    assert not (tmp_path / "soup").exists()


def test_soup_refuses_one_run_a_repeated_run_and_writing_over_a_run(two_runs, tmp_path):
    with pytest.raises(InputError, match="at least two"):
        average_runs(two_runs[:1], tmp_path / "soup")
    with pytest.raises(InputError, match="given twice"):
        average_runs([two_runs[0], two_runs[0]], tmp_path / "soup")
    with pytest.raises(InputError, match="is one of the runs"):
        average_runs(two_runs, two_runs[1])


def test_soup_names_a_missing_weights_file(two_runs, tmp_path):
    (two_runs[1] / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match=r"d2 is incomplete: model.safetensors is missing"):
        average_runs(two_runs, tmp_path / "soup")


def test_soup_command_writes_thresholds_metrics_and_card(tiny_data, two_runs, tmp_path):
    from click.testing import CliRunner

    from hyperamy.cli import main

    out = tmp_path / "soup"
    result = CliRunner().invoke(main, ["soup", *map(str, two_runs), "--out", str(out), "--data", str(tiny_data)])
    assert result.exit_code == 0, result.output
    summary, metrics = json.loads(result.output), json.loads((out / "eval-test.json").read_text())
    assert summary["runs"] == list(map(str, two_runs)) and summary["macro_f1"] == metrics["macro_f1"]
    assert metrics["n"] == 8 and 0.0 <= metrics["group_accuracy"] <= 1.0
    assert len(json.loads((out / "thresholds.json").read_text())["thresholds"]) == 28
    card = (out / "README.md").read_text()
    assert "uniform average (model soup) of 2 runs" in card and "data seed 2" in card
    assert f"hyperamy soup {two_runs[0]} {two_runs[1]} --out {out}" in card
