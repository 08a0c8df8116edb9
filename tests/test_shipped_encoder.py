"""The encoder shipped in the package, used for real."""
import numpy as np
import pytest

from hyperamy.emotions import LABELS

pytestmark = pytest.mark.model


def test_angry_text_is_angry_and_more_intense_than_a_neutral_one(shipped_encoder):
    batch = shipped_encoder.encode(["They cancelled it, I'm furious", "The meeting is at 3pm.",
                                    "I can't believe they cancelled it, I'm furious"])
    assert batch.top(0, 1)[0][0] == "anger"
    assert batch.top(1, 1)[0][0] == "neutral"
    assert batch.kappa[0] > batch.kappa[1] + 20 and batch.kappa[2] > batch.kappa[1] + 20
    # mixed cues: "can't believe" pulls towards surprise, which leads; anger still ranks in the top 3
    assert "anger" in [name for name, _ in batch.top(2, 3)]


def test_encode_returns_unit_mu_and_probabilities_in_input_order(shipped_encoder):
    texts = ["Thank you so much!", "I am terrified of the dark and what hides in it.", "ok"]
    batch = shipped_encoder.encode(texts, batch_size=2)
    assert batch.mu.shape == (3, 64) and batch.mu.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch.mu, axis=1), 1.0, atol=1e-5)
    assert np.allclose(batch.probs.sum(1), 1.0, atol=1e-5) and batch.labels == LABELS
    assert batch.top(0, 1)[0][0] == "gratitude" and batch.top(1, 1)[0][0] == "fear"
    one_by_one = [shipped_encoder.encode([t]) for t in texts]
    assert np.allclose(batch.kappa, [b.kappa[0] for b in one_by_one], rtol=1e-4)


@pytest.mark.parametrize("text, first, second", [
    ("Albert was delighted. Villefort was terrified.", ("Albert was delighted.", "joy"),
     ("Villefort was terrified.", "fear")),
    ("Thank you so much for the gift! I am so sad that you are leaving.",
     ("Thank you so much for the gift!", "gratitude"), ("I am so sad that you are leaving.", "sadness")),
    ("Dantes wept with grief, while Danglars laughed with joy.", ("Dantes wept with grief", "sadness"),
     ("Danglars laughed with joy", "joy")),
])
def test_a_span_feels_like_its_own_clause(shipped_encoder, text, first, second):
    # Compared by Ekman family: within one family, fine labels sit close ("delighted" reads
    # admiration 0.32 and joy 0.30 in the shipped soup) and flip from one training run to the next.
    from hyperamy.emotions import LABEL_TO_EKMAN

    batch = shipped_encoder.encode([text, text], spans=[first[0], second[0]])
    tops = (batch.top(0, 1)[0][0], batch.top(1, 1)[0][0])
    assert tuple(LABEL_TO_EKMAN[label] for label in tops) == (LABEL_TO_EKMAN[first[1]], LABEL_TO_EKMAN[second[1]])


def test_shipped_weights_are_small_and_carry_thresholds(shipped_encoder):
    from hyperamy.encoder.weights import SHIPPED

    size = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert size < 25 * 1024 * 1024
    assert shipped_encoder.thresholds.shape == (28,) and not np.all(shipped_encoder.thresholds == 0.5)


def test_eval_writes_json_and_its_per_label_report(tiny_data, tmp_path):
    """`eval --json --report` on a small data folder (what the shipped weights score on the real
    test split, beside the baselines, is checked where README's `hyperamy eval` runs: test_readme)."""
    import json

    from click.testing import CliRunner

    from hyperamy.cli import main

    report = tmp_path / "report.md"
    result = CliRunner().invoke(main, ["eval", "--split", "dev", "--data", str(tiny_data), "--json",
                                       "--report", str(report)])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert (metrics["split"], metrics["n"], metrics["entity_n"], metrics["report"]) == ("dev", 8, 1, str(report))
    assert metrics["majority_baseline"] == 0.125  # 8 texts, one neutral
    assert 0 < metrics["macro_f1"] <= 1 and "emobank_valence_r" not in metrics  # the folder has no EmoBank dev
    assert report.read_text().count("\n| ") == 30  # header, 28 labels and the macro row
