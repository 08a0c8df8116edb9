"""The search path without transformers: one query's vectors straight from the weight files.

A search process encodes one short text. Building the backbone through transformers costs
seconds of imports before the first query, more than everything else `hyperamy search` does.
For BERT-style backbones (the default all-MiniLM-L6-v2 is one) this module reads the
backbone's safetensors and tokenizer.json with the `safetensors` and `tokenizers` libraries,
adds the tuned layers and heads of a weights folder, and runs the packed QueryLayers of
fast.py: the arithmetic of `SharedTrunkEncoder.encode_query`, without its imports.
`LightQueryEncoder.load` returns None for any other backbone; search then uses the full path.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hyperamy.encoder.fast import QueryLayer, kernels_agree, plain_block_settings, query_precision
from hyperamy.encoder.joint import Encoded
from hyperamy.encoder.model import pool_tokens, prototype_logits, resolve_backbone
from hyperamy.encoder.predict import EmotionBatch
from hyperamy.encoder.tokens import Span, check_texts, resolve_span, span_token_mask, uncovered_span
from hyperamy.encoder.weights import SHIPPED, fingerprint, read_config, read_tensors
from hyperamy.errors import WeightsError

BACKBONE_WEIGHTS = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
TUNED_PREFIX = "trunk.model."  # where EmotionModel keeps the backbone's parameters


class LightQueryEncoder:
    """Encodes one query at a time: semantic vector, mu, kappa and label probabilities."""

    def __init__(self, tokenizer, embeddings: "Embeddings", lower: list[QueryLayer], tuned: list[QueryLayer],
                 semantic: list[QueryLayer], heads: dict[str, torch.Tensor], config, model_id: str,
                 precision: str):
        self.tokenizer, self.embeddings = tokenizer, embeddings
        self.lower, self.tuned, self.semantic = lower, tuned, semantic
        self.project = _linear(heads["project.weight"], heads["project.bias"])
        self.energy = _linear(heads["energy.weight"], heads["energy.bias"])
        self.prototypes = heads["prototypes"].float()
        self.config, self.model_id, self.query_precision = config, model_id, precision

    @classmethod
    def load(cls, path: str | Path | None = None, precision: str | None = None) -> "LightQueryEncoder | None":
        """The light path for a weights folder (default: the shipped model), or None where it does not apply.

        It applies to BERT-style backbones with absolute positions and exact GELU whose folder holds
        model.safetensors and tokenizer.json, where this torch build has the packing kernels.

        Raises:
            WeightsError: the weights folder is missing, incomplete or corrupt.
        """
        folder = Path(path) if path is not None else SHIPPED
        config, _ = read_config(folder)
        backbone = resolve_backbone(config.backbone)
        settings = json.loads((backbone / "config.json").read_text(encoding="utf-8"))
        precision = query_precision(precision)
        # BERT only among the block-compatible models: RoBERTa's embeddings offset their positions
        if not (settings.get("model_type") == "bert" and plain_block_settings(settings)
                and (backbone / BACKBONE_WEIGHTS).is_file()
                and (backbone / TOKENIZER_FILE).is_file() and kernels_agree(precision)):
            return None
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        base = load_file(str(backbone / BACKBONE_WEIGHTS))
        prefix = next((key[: -len("embeddings.word_embeddings.weight")] for key in base
                       if key.endswith("embeddings.word_embeddings.weight")), None)
        if prefix is None:
            return None
        tuned_tensors = read_tensors(folder)
        layers, split = settings["num_hidden_layers"], settings["num_hidden_layers"] - config.tuned_layers
        heads, eps = settings["num_attention_heads"], settings.get("layer_norm_eps", 1e-12)

        def block(tensors: dict, start: str, index: int) -> QueryLayer:
            name = f"{start}encoder.layer.{index}."
            parts = {key[len(name):]: value for key, value in tensors.items() if key.startswith(name)}
            if not parts:
                raise WeightsError(f"layer {index} is missing from the weights of {folder} or {backbone}")
            return QueryLayer(parts, heads, eps, precision)

        tokenizer = Tokenizer.from_file(str(backbone / TOKENIZER_FILE))
        tokenizer.enable_truncation(config.max_length)
        tokenizer.no_padding()
        return cls(tokenizer, Embeddings(base, prefix, eps),
                   lower=[block(base, prefix, i) for i in range(split)],
                   tuned=[block(tuned_tensors, TUNED_PREFIX, i) for i in range(split, layers)],
                   semantic=[block(base, prefix, i) for i in range(split, layers)],
                   heads=tuned_tensors, config=config, model_id=f"{config.backbone}+{fingerprint(folder)}",
                   precision=precision)

    @torch.inference_mode()
    def encode_query(self, text: str, span: Span = None) -> Encoded:
        """What `SharedTrunkEncoder.encode_query` gives for the same text and span."""
        text = check_texts([text])[0]
        encoding = self.tokenizer.encode(text)
        token_mask = torch.ones((1, len(encoding.ids)), dtype=torch.bool)
        chars = resolve_span(text, span)
        if chars is not None:
            token_mask[0] = span_token_mask(torch.tensor(encoding.offsets), token_mask[0], chars)
            if not token_mask.any():
                raise uncovered_span(text, chars, self.config.max_length)
        hidden = self.embeddings(torch.tensor([encoding.ids]))
        for layer in self.lower:
            hidden = layer(hidden)
        semantic, tuned = hidden, hidden
        for layer in self.semantic:
            semantic = layer(semantic)
        for layer in self.tuned:
            tuned = layer(tuned)
        mu, kappa = pool_tokens(tuned, token_mask, self.project, self.energy, self.config.alpha)
        probs = torch.softmax(prototype_logits(mu, kappa, self.prototypes), dim=-1)
        emotion = EmotionBatch(mu=mu.numpy(), kappa=kappa.numpy(), probs=probs.numpy())
        return Encoded(F.normalize(semantic.mean(1), dim=-1).numpy().astype(np.float32), emotion,
                       int(bool(encoding.overflowing)))


class Embeddings(nn.Module):
    """BERT input embeddings: word + absolute position + token type 0, then a layer norm."""

    def __init__(self, tensors: dict[str, torch.Tensor], prefix: str, eps: float):
        super().__init__()
        get = lambda name: tensors[f"{prefix}embeddings.{name}"].float()  # noqa: E731
        self.words, self.positions = get("word_embeddings.weight"), get("position_embeddings.weight")
        self.type_zero = get("token_type_embeddings.weight")[0]
        self.norm = nn.LayerNorm(self.words.shape[1], eps=eps)
        with torch.no_grad():
            self.norm.weight.copy_(get("LayerNorm.weight"))
            self.norm.bias.copy_(get("LayerNorm.bias"))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        return self.norm(self.words[ids] + self.type_zero + self.positions[:length])  # the library's order


def _linear(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    linear = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        linear.weight.copy_(weight.float())
        linear.bias.copy_(bias.float())
    return linear.eval()
