import copy

import pytest
import torch

from hyperamy.config import EncoderConfig
from hyperamy.encoder.model import EmotionModel
from hyperamy.encoder.predict import EmotionEncoder
from hyperamy.encoder.tokens import tokenize
from hyperamy.encoder.weights import load_state, save_weights
from hyperamy.errors import WeightsError


@pytest.fixture()
def model(backbone):
    torch.manual_seed(0)
    return EmotionModel(copy.deepcopy(backbone[1]), EncoderConfig(tuned_layers=2))


def test_split_trunk_reproduces_the_whole_backbone(backbone, model):
    tokenizer, transformer = backbone
    batch = tokenize(tokenizer, ["A long sentence with several words in it.", "Short."], None, 256)
    with torch.no_grad():
        whole = transformer(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        lower = model.trunk.lower(batch["input_ids"], batch["attention_mask"])
        split = model.trunk.upper(lower, batch["attention_mask"])
    real = batch["attention_mask"].bool()
    assert torch.allclose(whole[real], split[real], atol=1e-5)


def test_heads_give_unit_mu_and_kappa_of_at_least_one(backbone, model):
    batch = tokenize(backbone[0], ["I love this!", "It rains."], ["love", None], 256)
    with torch.no_grad():
        mu, kappa, logits = model(batch["input_ids"], batch["attention_mask"], batch["token_mask"])
    assert mu.shape == (2, 64) and logits.shape == (2, 28)
    assert torch.allclose(mu.norm(dim=-1), torch.ones(2), atol=1e-6)
    assert bool((kappa >= 1.0).all())


def test_only_top_layers_and_heads_are_tuned(model):
    names = model.tuned_parameter_names()
    assert any(".layer.4." in n for n in names) and any(".layer.5." in n for n in names)
    assert not any(".layer.3." in n or "embeddings" in n for n in names)
    assert {"project.weight", "energy.weight", "auxiliary.weight", "prototypes"} <= set(names)
    model.freeze_lower()
    assert {n for n, p in model.named_parameters() if p.requires_grad} == set(names)


def test_save_and_load_round_trip_gives_the_same_emotions(backbone, model, tmp_path):
    tokenizer, _ = backbone
    tuned = set(model.tuned_parameter_names())
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name in tuned:  # only these are saved; the frozen rest comes from the backbone
                parameter.add_(0.01 * torch.randn_like(parameter))
    save_weights(model, tmp_path, thresholds=torch.full((28,), 0.3).numpy())
    original = EmotionEncoder(model, tokenizer, None).encode(["What a wonderful surprise!"])
    loaded = EmotionEncoder.load(tmp_path)
    again = loaded.encode(["What a wonderful surprise!"])
    # tuned transformer layers are stored in float16
    assert abs(float(original.kappa[0] - again.kappa[0])) < 0.05 * float(original.kappa[0])
    assert float((original.mu[0] * again.mu[0]).sum()) > 0.999
    assert loaded.thresholds.tolist() == pytest.approx([0.3] * 28)


def test_missing_incomplete_and_corrupt_weights_are_named(backbone, model, tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        EmotionEncoder.load(tmp_path / "nowhere")
    save_weights(model, tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="model.safetensors is corrupt or unreadable"):
        EmotionEncoder.load(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="incomplete: model.safetensors is missing"):
        EmotionEncoder.load(tmp_path)
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(WeightsError, match="config.json is not valid JSON"):
        EmotionEncoder.load(tmp_path)


def test_weights_of_another_shape_are_refused(backbone, tmp_path):
    small = EmotionModel(copy.deepcopy(backbone[1]), EncoderConfig(tuned_layers=1))
    save_weights(small, tmp_path)
    bigger = EmotionModel(copy.deepcopy(backbone[1]), EncoderConfig(tuned_layers=2))
    with pytest.raises(WeightsError, match="does not fit this encoder: missing"):
        load_state(bigger, tmp_path)


def test_a_folder_that_is_not_a_model_is_refused(tmp_path):
    from hyperamy.encoder.weights import resolve_backbone

    with pytest.raises(WeightsError, match="is not a local model folder"):
        resolve_backbone(str(tmp_path))
