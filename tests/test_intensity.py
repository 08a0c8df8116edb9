"""Intensity: the shipped head, the label sets, `predict --file`, and intensity in the index."""
import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hyperamy.cli import main
from hyperamy.emotions import LABELS, NEUTRAL, label_set


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_intensity_is_strength_times_probability_and_never_neutral():
    from hyperamy.encoder.intensity import intensity

    probs = np.zeros((2, 28), np.float32)
    probs[0, LABELS.index("anger")], probs[0, NEUTRAL] = 0.8, 0.2
    probs[1, NEUTRAL] = 1.0
    felt = intensity(np.float32([0.9, 0.05]), probs)
    assert felt[0, LABELS.index("anger")] == pytest.approx(0.72)
    assert felt[:, NEUTRAL].tolist() == [0.0, 0.0] and felt[1].sum() == 0.0


def test_label_sets_sum_probabilities_into_their_classes():
    names, matrix = label_set("six")
    assert names == ("anger", "fear", "joy", "love", "sadness", "surprise")
    assert matrix[NEUTRAL].sum() == 0 and (matrix.sum(1)[np.arange(28) != NEUTRAL] == 1).all()
    assert names[int(matrix[LABELS.index("caring")].argmax())] == "love"
    for name, width in (("goemotions", 28), ("ekman", 7), ("group", 4)):
        assert label_set(name)[1].shape == (28, width) and (label_set(name)[1].sum(1) == 1).all()


def test_where_filters_on_intensity_and_hits_carry_it(tmp_path):
    from fakes import FakeEncoder

    from hyperamy import HyperAmy

    engine = HyperAmy.open(tmp_path / "index", create=True, encoder=FakeEncoder())
    engine.add([{"id": "furious", "text": "I am furious about the fee"},
                {"id": "angry", "text": "I am angry about the fee"},
                {"id": "calm", "text": "The fee is due on Monday"}])
    strong = engine.search("the fee", where="intensity_anger > 0.6", k=5)
    assert [hit.id for hit in strong] == ["furious"]  # 0.9 x 0.9 = 0.81; angry: 0.5 x 0.9 = 0.45
    assert strong[0].strength == pytest.approx(0.9) and strong[0].intensity["anger"] == pytest.approx(0.81)
    assert sorted(h.id for h in engine.search("the fee", where="strength < 0.6", k=5)) == ["angry", "calm"]
    calm = engine.get("calm")
    assert calm["strength"] == 0.0 and set(calm["intensity"]) == set(LABELS) - {"neutral"}
    assert "intensity_anger" not in calm["metadata"] and "strength" not in calm["metadata"]
    assert strong[0].to_dict()["intensity"]["anger"] == pytest.approx(0.81) and strong[0].to_dict()["emotion"] == "anger"


@pytest.mark.model
def test_docstrings_read_neutral_with_less_kappa_and_strength_than_fury():
    result = run("predict", "def open(path): Open a file and return a stream.", "--json")
    furious = run("predict", "I am absolutely furious about this!", "--json", "--labels", "six")
    assert result.exit_code == 0 and furious.exit_code == 0, result.output + furious.output
    doc, fury = json.loads(result.stdout), json.loads(furious.stdout)
    assert doc["top"][0]["label"] == "neutral" and fury["top"][0]["label"] == "anger"
    assert doc["kappa"] < fury["kappa"] and doc["strength"] < 0.15 < 0.8 < fury["strength"]
    assert max(doc["intensity"].values()) < 0.02 and fury["intensity"]["anger"] > 0.6
    assert set(fury["intensity"]) == {"anger", "fear", "joy", "love", "sadness", "surprise"}


@pytest.mark.model
def test_the_shipped_strength_follows_a_ladder(shipped_encoder):
    ladders = [["The meeting was moved to Tuesday.", "I'm slightly annoyed the meeting was moved.",
                "I'm angry the meeting was moved.", "I'm absolutely FURIOUS they moved the meeting!!!"],
               ["The package arrived today.", "I'm a bit worried about the package.",
                "I'm scared the package is lost.", "I'm absolutely terrified, the package is gone!!!"]]
    for ladder in ladders:
        strength = shipped_encoder.encode(ladder).strength
        assert strength[0] < min(strength[1:3]) and strength[3] > max(strength[1:3]) and strength[3] - strength[0] > 0.5
    # The middle rungs are not always in order: the encoder refitted on EmoBank arousal reads "slightly annoyed"
    # 0.55 above a bare "angry" 0.47 (0.50 < 0.64 with "a little" / "really"); `hyperamy eval` reports the
    # ladders' Spearman (0.749) beside the human-rated figures that chose the head.
    package = shipped_encoder.encode(ladders[1]).strength
    assert package.tolist() == sorted(package.tolist())


@pytest.mark.model
def test_predict_file_writes_one_line_per_text_in_every_format(shipped_encoder, tmp_path):
    texts = ["Thank you so much!", "I am terrified of the dark.", "ok", "def f(x): Return x squared."]
    corpus = tmp_path / "in.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    out = run("predict", "--file", str(corpus))
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["t0", "t1", "t2", "t3"]
    batch = shipped_encoder.encode(texts)
    assert [r["top"][0]["label"] for r in rows] == [batch.top(i, 1)[0][0] for i in range(4)]
    assert [r["strength"] for r in rows] == pytest.approx(batch.strength.tolist(), abs=1e-4)
    assert "labelled 4 texts" in out.stderr

    lines = run("predict", "--file", "-", "--labels", "ekman", "-o", str(tmp_path / "out.csv"),
                input="\n".join(texts) + "\n\n")
    assert lines.exit_code == 0, lines.output
    table = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert [r["id"] for r in table] == ["1", "2", "3", "4"] and table[1]["top"] == "fear"
    assert "prob_fear" in table[0] and "intensity_fear" in table[0] and "prob_admiration" not in table[0]

    parquet = run("predict", "--file", str(corpus), "-o", str(tmp_path / "out.parquet"), "--mu")
    assert parquet.exit_code == 0, parquet.output
    import pyarrow.parquet as pq

    stored = pq.read_table(tmp_path / "out.parquet")
    assert stored.column("id").to_pylist() == ["t0", "t1", "t2", "t3"] and len(stored.column("mu")[0]) == 64
    assert not (tmp_path / "out.parquet.part").exists()


def test_predict_file_refuses_mixed_or_unknown_requests(tmp_path):
    corpus = tmp_path / "in.txt"
    corpus.write_text("hello\n")
    both = run("predict", "hello", "--file", str(corpus))
    assert both.exit_code == 2 and "--file labels a whole file" in both.stderr
    odd = run("predict", "--file", str(corpus), "-o", str(tmp_path / "out.xlsx"))
    assert odd.exit_code == 2 and "cannot tell the format of" in odd.stderr
    missing = run("predict", "--file", str(tmp_path / "none.jsonl"))
    assert missing.exit_code == 2 and "file not found" in missing.stderr
    stray = run("predict", "hello", "--mu")
    assert stray.exit_code == 2 and "go with --file" in stray.stderr


def _weights_without_intensity(folder):
    """The shipped weights as saved before the intensity head existed (same mu, kappa, probs)."""
    import shutil

    from safetensors.torch import save_file

    from hyperamy.encoder.weights import SHIPPED, read_tensors

    shutil.copytree(SHIPPED, folder)
    tensors = {k: v for k, v in read_tensors(SHIPPED).items() if not k.startswith("intensity.")}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format_version": "1"})
    return folder


@pytest.mark.model
def test_an_index_from_older_weights_opens_and_says_to_rebuild(tmp_path):
    old = _weights_without_intensity(tmp_path / "old-weights")
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "I am furious about the fee."}) + "\n")
    built = run("index", str(corpus), "--index", str(tmp_path / "idx"), "--weights", str(old))
    assert built.exit_code == 0, built.output
    listed = run("get", "a", "--index", str(tmp_path / "idx"), "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["strength"] is None  # older weights: no intensity stored
    hit = json.loads(run("search", "fee", "--index", str(tmp_path / "idx"), "--json", "--weights", str(old)).stdout)
    assert hit["id"] == "a" and hit["strength"] is None and hit["intensity"] is None
    info = run("info", "--index", str(tmp_path / "idx"))
    assert info.exit_code == 0, info.output  # it still opens with the new weights
    search = run("search", "fee", "--index", str(tmp_path / "idx"))
    assert search.exit_code == 1
    assert "was built with encoder 'all-MiniLM-L6-v2+" in search.stderr and "rebuild it with `hyperamy index`" in search.stderr


@pytest.mark.model
def test_fitting_the_intensity_head_changes_nothing_else(tmp_path):
    import torch

    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.data import default_data_dir
    from hyperamy.training.intensity_training import IntensityConfig, fit_intensity_head

    encoder = EmotionEncoder.load(_weights_without_intensity(tmp_path / "old"))
    assert not encoder.model.has_intensity and encoder.encode(["hello"]).strength is None
    before = {k: v.clone() for k, v in encoder.model.state_dict().items() if not k.startswith("intensity.")}
    config = IntensityConfig(steps=40, goemotions_rows=60, dev_rows=30, emobank_rows=200)
    best, history = fit_intensity_head(encoder, default_data_dir(), config)
    assert 0 < history[0]["dev_arousal"] <= 2 * config.arousal_weight  # EmoBank's held-out tenth is scored
    after = encoder.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert encoder.model.has_intensity and best["dev"] <= history[0]["dev"] and best["dev"] < 0.9 * history[0]["dev"]
    texts = ["The meeting is at 3pm.", "I am absolutely furious about this!!!"]
    strength = encoder.encode(texts).strength
    assert strength[1] > strength[0]


def test_the_arousal_term_is_the_weighted_shortfall_of_strengths_correlation_with_the_ratings():
    import torch

    from hyperamy.training.intensity_training import Part, objective

    def part(values):  # one token a text, its state a single number the head scales
        return Part([str(v) for v in values], tokens=torch.tensor(values, dtype=torch.float32).reshape(-1, 1),
                    owner=torch.arange(len(values)))

    head = torch.nn.Linear(1, 1)
    with torch.no_grad():
        head.weight.fill_(1.0), head.bias.fill_(0.0)
    empty = (part([0.5]), None)
    parts = {"ladders": (part([0.0, 0.5]), torch.tensor([0.0, 0.5])), "technical": empty, "neutral": empty,
             "emotional": empty, "stronger": empty, "weaker": empty, "keeping": empty,
             "arousal": (part([0.2, 0.9, 2.0, 3.0]), torch.tensor([2.0, 3.0, 4.5, 1.0]))}
    strength = torch.nn.functional.softplus(torch.tensor([0.2, 0.9, 2.0, 3.0])).numpy()
    r = np.corrcoef(strength, [2.0, 3.0, 4.5, 1.0])[0, 1]
    terms = objective(head, parts, margin=0.1, arousal_weight=0.3)
    assert float(terms["arousal"]) == pytest.approx(0.3 * (1 - r), rel=1e-5)
    assert "arousal" not in objective(head, {k: v for k, v in parts.items() if k != "arousal"}, 0.1, 0.3)
