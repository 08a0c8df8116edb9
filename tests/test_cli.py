import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from hyperamy.cli import main
from hyperamy.emotions import LABELS


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_help_lists_the_commands_and_starts_without_torch():
    code = ("import sys; from hyperamy.cli import main; "
            "sys.argv=['hyperamy','--help']\ntry: main()\nexcept SystemExit: pass\n"
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "predict" in result.stdout and "train" in result.stdout and "eval" in result.stdout
    assert result.stdout.strip().endswith("False")


@pytest.mark.model
def test_predict_runs_without_torch():
    code = ("import sys; from hyperamy.cli import main\n"
            "try: main(['predict', 'Villefort turned pale', '--span', 'Villefort', '--json'])\n"
            "except SystemExit: pass\n"
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    payload, imported = result.stdout.strip().rsplit("\n", 1)
    assert json.loads(payload)["span"] == "Villefort" and imported == "False False"


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "hyperamy", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("hyperamy, version ")


def test_missing_weights_folder_is_one_clean_line(tmp_path):
    result = run("predict", "hello", "--weights", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: weights folder ") and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_eval_without_data_says_where_it_looked(tmp_path):
    result = run("eval", "--data", str(tmp_path))
    assert result.exit_code == 2
    assert "no GoEmotions data here" in result.stderr and "--data" in result.stderr


def test_unknown_option_is_a_usage_error():
    result = run("predict", "hi", "--top", "99")
    assert result.exit_code == 2 and "--top" in result.stderr


@pytest.mark.model
def test_an_option_other_tools_use_points_at_hyperamys_own():
    runner = CliRunner()
    wrong = runner.invoke(main, ["search", "a storm", "-n", "2"])
    assert wrong.exit_code == 2 and wrong.stderr.splitlines()[-1] == "Error: No such option: -n; did you mean -k?"
    assert runner.invoke(main, ["list", "--filter", "x"]).stderr.splitlines()[-1] == \
        "Error: No such option: --filter; did you mean --where?"
    assert runner.invoke(main, ["search", "-q", "a storm"]).stderr.splitlines()[-1] == \
        "Error: No such option: -q; the query is the first argument: hyperamy search \"what to find\""
    assert runner.invoke(main, ["search", "a storm", "--zzz"]).stderr.splitlines()[-1] == "Error: No such option '--zzz'."


def test_set_takes_numbers_and_the_fusions_word():
    from hyperamy.cli.index_commands import parse_settings

    assert parse_settings(["candidates=200", "emotion_weight=1.5", "fusion=evidence"]) == {
        "candidates": 200, "emotion_weight": 1.5, "fusion": "evidence"}
    with pytest.raises(click.BadParameter, match="expected NAME=NUMBER"):
        parse_settings(["emotion_weight=lots"])


@pytest.mark.model
def test_predict_json_shape_and_span_errors(shipped_encoder):
    result = run("predict", "I can't believe they cancelled it, I'm furious", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"text", "span", "labels_set", "kappa", "strength", "valence", "arousal", "dominance",
                            "top", "predicted", "intensity", "mu"}
    assert payload["valence"] < 2.5 and payload["arousal"] > 3.3  # furious: unpleasant and stirred (3 is neutral)
    assert len(payload["mu"]) == 64 and len(payload["top"]) == 5
    full = shipped_encoder.encode([payload["text"]])  # the torch path the CLI skips for BERT backbones
    assert payload["kappa"] == pytest.approx(float(full.kappa[0]), rel=1e-4)
    assert [(t["label"], pytest.approx(t["prob"], abs=1e-4)) for t in payload["top"]] == full.top(0, 5)
    assert payload["predicted"] == [name for name, flag in zip(full.labels, shipped_encoder.predicted_labels(full.probs)[0])
                                    if flag]
    missing = run("predict", "Villefort turned pale", "--span", "Morcerf")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "Error: span 'Morcerf' does not occur in the text 'Villefort turned pale'"
    assert payload["strength"] == pytest.approx(float(full.strength[0]), abs=1e-4)
    assert payload["intensity"]["anger"] == pytest.approx(float(full.intensity[0, LABELS.index("anger")]), abs=1e-4)
    empty = run("predict", "   ")
    assert empty.exit_code == 2
    assert empty.stderr.strip() == "Error: TEXT is empty: give the text whose emotions to show (or --file FILE)"


@pytest.mark.train
@pytest.mark.model
def test_train_command_writes_weights_curves_and_model_card(tiny_data, tmp_path):
    out = tmp_path / "run"
    result = run("train", "--data", str(tiny_data), "--out", str(out), "--epochs", "2", "--tuned-layers", "1",
                 "--batch-size", "4", "--skip-eval")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["best_epoch"] in (1, 2) and summary["config"]["epochs"] == 2
    for name in ("model.safetensors", "config.json", "thresholds.json", "metrics_history.json",
                 "training_curves.png", "README.md"):
        assert (out / name).is_file(), name
    card = (out / "README.md").read_text()
    assert f"hyperamy train --out {out} --data {tiny_data} --tuned-layers 1 --epochs 2 --batch-size 4 --skip-eval" in card
    from hyperamy.encoder.weights import has_intensity_head

    assert not has_intensity_head(out)  # fitted later by train-intensity, never saved untrained
    resumed = run("train", "--data", str(tiny_data), "--out", str(out), "--epochs", "3", "--tuned-layers", "1",
                  "--batch-size", "4", "--skip-eval", "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert [e["epoch"] for e in json.loads((out / "metrics_history.json").read_text())] == [1, 2, 3]


def test_progress_off_a_terminal_is_a_line_with_total_rate_and_time_left():
    from hyperamy.cli.common import LineProgress

    progress = LineProgress("indexing", 1000, "doc")
    progress.done, progress.started = 250, 100.0
    assert progress.line(110.0) == "indexing: 250/1,000 docs (25%), 25/s, about 30s left"
    progress.total = None
    assert progress.line(110.0) == "indexing: 250 docs, 25/s"
    progress.total, progress.done = 100000, 50000
    assert progress.line(100.0 + 5000) == "indexing: 50,000/100,000 docs (50%), 10/s, about 1h23m left"
