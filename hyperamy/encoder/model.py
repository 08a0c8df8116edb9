"""Backbone split into a shared lower trunk and tuned upper layers, plus the vMF heads."""
from __future__ import annotations

import os

import torch
from torch import nn
from torch.nn import functional as F

from hyperamy.config import EncoderConfig
from hyperamy.emotions import NUM_LABELS
from hyperamy.encoder.weights import resolve_backbone
from hyperamy.errors import WeightsError


def masked_mean(hidden: torch.Tensor, weights: torch.Tensor, floor: float = 1.0) -> torch.Tensor:
    """(batch, dim) mean of token states under per-token weights (a 0/1 attention mask, or a
    span's weights), the weights' sum floored at `floor`: the one pooling of every path (the
    semantic vector, mu, valence/arousal/dominance; batch, ONNX graph and training alike)."""
    weights = weights.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(floor)


def load_backbone(backbone: str):
    """Load tokenizer and transformer from a local folder, never from the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder = resolve_backbone(backbone)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModel.from_pretrained(folder, attn_implementation="sdpa")
    except (OSError, ValueError) as exc:
        raise WeightsError(f"could not load backbone from {folder}: {exc}") from exc
    if not tokenizer.is_fast:
        raise WeightsError(f"backbone {folder} has no fast tokenizer; spans need character offsets")
    return tokenizer, model


def transformer_layers(model: nn.Module) -> nn.ModuleList:
    """The stack of transformer blocks of a BERT-style encoder (BERT, RoBERTa, ELECTRA, MiniLM)."""
    encoder = getattr(model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise WeightsError(f"unsupported backbone {type(model).__name__}: expected encoder.layer blocks "
                           "(BERT, RoBERTa, ELECTRA and MiniLM models have them)")
    return layers


class Trunk(nn.Module):
    """Runs a transformer in two parts so the lower part can be shared or cached."""

    def __init__(self, model: nn.Module, split: int):
        super().__init__()
        self.model = model
        self.layers = transformer_layers(model)
        if not 0 <= split <= len(self.layers):
            raise WeightsError(f"cannot split a {len(self.layers)}-layer backbone at layer {split}")
        self.split = split

    def _mask(self, hidden: torch.Tensor, attention_mask: torch.Tensor):
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.model.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)

    def run_layers(self, hidden, attention_mask, layers) -> torch.Tensor:
        mask = self._mask(hidden, attention_mask)
        for layer in layers:
            hidden = layer(hidden, mask)
        return hidden

    def lower(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Hidden states after the shared lower layers."""
        hidden = self.model.embeddings(input_ids=input_ids)
        return self.run_layers(hidden, attention_mask, self.layers[: self.split])

    def upper(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.run_layers(hidden, attention_mask, self.layers[self.split:])


class EmotionModel(nn.Module):
    """Token heads over a transformer: per-token 64-d vectors and energies, pooled over a mask."""

    def __init__(self, backbone_model: nn.Module, config: EncoderConfig):
        super().__init__()
        self.config = config
        layers = transformer_layers(backbone_model)
        if config.tuned_layers > len(layers):
            raise WeightsError(f"tuned_layers={config.tuned_layers} but the backbone has {len(layers)} layers")
        self.trunk = Trunk(backbone_model, len(layers) - config.tuned_layers)
        hidden = backbone_model.config.hidden_size
        self.project = nn.Linear(hidden, config.dim)
        self.energy = nn.Linear(hidden, 1)
        self.auxiliary = nn.Linear(config.dim, NUM_LABELS)
        self.prototypes = nn.Parameter(F.normalize(torch.randn(NUM_LABELS, config.dim), dim=-1))
        nn.init.constant_(self.energy.bias, -2.0)  # start near kappa = 1: uncertain until taught
        # how strongly the text is felt, 0..1: fitted by `hyperamy train-intensity` (intensity_training.py)
        self.intensity = nn.Linear(hidden, 1)
        self.has_intensity = True  # False when loaded from weights saved before the head existed
        # valence, arousal, dominance on EmoBank's 1..5 scale, from the mean token state (EmoBank ratings)
        self.affect_head = nn.Linear(hidden, 3)
        self.has_affect = True  # False when loaded from weights saved before the head existed

    def tuned_parameter_names(self) -> list[str]:
        """Names of every parameter that training changes (and the shipped weights hold)."""
        split = self.trunk.split
        names = []
        for name, _ in self.named_parameters():
            if name.startswith("trunk."):
                index = _layer_index(name)
                if index is None or index < split:
                    continue
            names.append(name)
        return names

    def freeze_lower(self) -> None:
        tuned = set(self.tuned_parameter_names())
        for name, parameter in self.named_parameters():
            parameter.requires_grad = name in tuned

    def heads(self, hidden: torch.Tensor, token_mask: torch.Tensor):
        """Pool token outputs over token_mask into (mu, kappa, auxiliary logits).

        token_mask is boolean, or float weights (a span's own tokens 1, the rest of its clause
        less): mu is the weighted mean, kappa the largest energy of any token weighted above 0.
        """
        mu = F.normalize(masked_mean(self.project(hidden), token_mask), dim=-1)
        energies = F.softplus(self.energy(hidden).squeeze(-1))
        energies = energies.masked_fill(token_mask <= 0, 0.0)  # softplus >= 0, so 0 never wins over a real token
        kappa = 1.0 + self.config.alpha * energies.max(dim=1).values
        return mu, kappa, self.auxiliary(mu)

    def strength(self, hidden: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """How strongly the masked tokens are felt, 0..1: the largest softplus token score, capped at 1."""
        scores = F.softplus(self.intensity(hidden).squeeze(-1)).masked_fill(token_mask <= 0, 0.0)
        return scores.max(dim=1).values.clamp(max=1.0)

    def affect(self, hidden: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """(n, 3) valence, arousal, dominance in 1..5: a linear read of the masked mean token state."""
        return 3.0 + 2.0 * torch.tanh(self.affect_head(masked_mean(hidden, token_mask, floor=1e-6)))

    def infer(self, input_ids, attention_mask, token_mask):
        """mu, kappa, label probabilities, strength and valence/arousal/dominance of a batch (None
        for a head the weights lack)."""
        hidden = self.trunk.upper(self.trunk.lower(input_ids, attention_mask), attention_mask)
        mu, kappa, _ = self.heads(hidden, token_mask)
        strength = self.strength(hidden, token_mask) if self.has_intensity else None
        affect = self.affect(hidden, token_mask) if self.has_affect else None
        return mu, kappa, self.label_probabilities(mu, kappa), strength, affect

    def forward_from_lower(self, lower_hidden, attention_mask, token_mask):
        return self.heads(self.trunk.upper(lower_hidden, attention_mask), token_mask)

    def forward(self, input_ids, attention_mask, token_mask):
        with torch.no_grad():
            lower_hidden = self.trunk.lower(input_ids, attention_mask)
        return self.forward_from_lower(lower_hidden, attention_mask, token_mask)

    def prototype_logits(self, mu: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
        """vMF-style logits: cosine to each normalised prototype, scaled by the (detached) kappa."""
        return kappa.detach().unsqueeze(-1) * (mu @ F.normalize(self.prototypes, dim=-1).T)

    def label_probabilities(self, mu: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
        """Posterior over the 28 labels: softmax(kappa * cos(mu, prototype)).

        A low kappa flattens it (uncertain), a high kappa sharpens it. On GoEmotions dev this
        readout beats the auxiliary head, which stays a training regulariser (model card).
        """
        return torch.softmax(self.prototype_logits(mu, kappa), dim=-1)


def _layer_index(name: str) -> int | None:
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if part == "layer" and parts[i + 1].isdigit():
            return int(parts[i + 1])
    return None
