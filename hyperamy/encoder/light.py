"""The search path without torch: one query's vectors in NumPy, straight from the weight files.

A search process encodes one short text. Importing torch costs about two seconds, more than
everything else a one-off `hyperamy search` does; building the backbone through transformers
costs more again. For BERT-style backbones (the default all-MiniLM-L6-v2 is one) this module
reads the backbone's safetensors and tokenizer.json with the `safetensors` and `tokenizers`
libraries, adds the tuned layers and heads of a weights folder, and runs the arithmetic of
`SharedTrunkEncoder.encode_query` in float32 NumPy: one unpadded text, so no attention mask.
`LightQueryEncoder.load` returns None for any other backbone; search then uses the full path.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping

import numpy as np

from hyperamy.encoder.outputs import EmotionBatch, Encoded
from hyperamy.encoder.tokens import Span, check_texts, clause_token_mask, resolve_span
from hyperamy.encoder.weights import (SHIPPED, fingerprint, read_config, read_tensors, read_thresholds,
                                      resolve_backbone)
from hyperamy.errors import WeightsError

BACKBONE_WEIGHTS = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
TUNED_PREFIX = "trunk.model."  # where EmotionModel keeps the backbone's parameters


def plain_block_settings(settings: Mapping) -> bool:
    """A model config (as a dict) whose blocks Block computes: exact GELU, absolute positions, encoder."""
    return (settings.get("hidden_act") == "gelu"
            and settings.get("position_embedding_type", "absolute") == "absolute"
            and not settings.get("is_decoder", False))


class LightQueryEncoder:
    """Encodes one query at a time: semantic vector, mu, kappa and label probabilities."""

    query_precision = "float32"

    def __init__(self, tokenizer, embeddings: "Embeddings", lower: list["Block"], tuned: list["Block"],
                 semantic: list["Block"], heads: Mapping[str, np.ndarray], config, model_id: str,
                 thresholds: np.ndarray):
        self.tokenizer, self.embeddings = tokenizer, embeddings
        self.lower, self.tuned, self.semantic = lower, tuned, semantic
        self.project = Linear(heads["project.weight"], heads["project.bias"])
        self.energy = Linear(heads["energy.weight"], heads["energy.bias"])
        self.intensity = (Linear(heads["intensity.weight"], heads["intensity.bias"])
                          if "intensity.weight" in heads else None)  # absent in weights saved before it
        self.prototypes = _normalize(heads["prototypes"].astype(np.float32))
        self.config, self.model_id = config, model_id
        self.thresholds = thresholds  # per-label decision thresholds chosen on dev

    @classmethod
    def load(cls, path: str | Path | None = None) -> "LightQueryEncoder | None":
        """The light path for a weights folder (default: the shipped model), or None where it does not apply.

        It applies to BERT-style backbones with absolute positions and exact GELU whose folder holds
        model.safetensors and tokenizer.json.

        Raises:
            WeightsError: the weights folder is missing, incomplete or corrupt.
        """
        folder = Path(path) if path is not None else SHIPPED
        config, _ = read_config(folder)
        backbone = resolve_backbone(config.backbone)
        settings = json.loads((backbone / "config.json").read_text(encoding="utf-8"))
        # BERT only among the block-compatible models: RoBERTa's embeddings offset their positions
        if not (settings.get("model_type") == "bert" and plain_block_settings(settings)
                and (backbone / BACKBONE_WEIGHTS).is_file() and (backbone / TOKENIZER_FILE).is_file()):
            return None
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        base = load_file(str(backbone / BACKBONE_WEIGHTS))
        prefix = next((key[: -len("embeddings.word_embeddings.weight")] for key in base
                       if key.endswith("embeddings.word_embeddings.weight")), None)
        if prefix is None:
            return None
        tuned_tensors = read_tensors(folder, framework="numpy")
        layers, split = settings["num_hidden_layers"], settings["num_hidden_layers"] - config.tuned_layers
        heads, eps = settings["num_attention_heads"], settings.get("layer_norm_eps", 1e-12)

        def block(tensors: Mapping[str, np.ndarray], start: str, index: int) -> Block:
            name = f"{start}encoder.layer.{index}."
            parts = {key[len(name):]: value for key, value in tensors.items() if key.startswith(name)}
            if not parts:
                raise WeightsError(f"layer {index} is missing from the weights of {folder} or {backbone}")
            return Block(parts, heads, eps)

        tokenizer = Tokenizer.from_file(str(backbone / TOKENIZER_FILE))
        tokenizer.enable_truncation(config.max_length)
        tokenizer.no_padding()
        return cls(tokenizer, Embeddings(base, prefix, eps),
                   lower=[block(base, prefix, i) for i in range(split)],
                   tuned=[block(tuned_tensors, TUNED_PREFIX, i) for i in range(split, layers)],
                   semantic=[block(base, prefix, i) for i in range(split, layers)],
                   heads=tuned_tensors, config=config, model_id=f"{config.backbone}+{fingerprint(folder)}",
                   thresholds=read_thresholds(folder))

    def encode_query(self, text: str, span: Span = None) -> Encoded:
        """What `SharedTrunkEncoder.encode_query` gives for the same text and span (float32)."""
        text = check_texts([text])[0]
        encoding = self.tokenizer.encode(text)
        token_mask = np.ones(len(encoding.ids), dtype=np.float32)
        chars = resolve_span(text, span)
        if chars is not None:
            offsets = np.asarray(encoding.offsets).reshape(-1, 2)
            token_mask = clause_token_mask(text, offsets, token_mask, chars, self.config.max_length)
        hidden = self.embeddings(np.asarray(encoding.ids))
        for layer in self.lower:
            hidden = layer(hidden)
        semantic, tuned = hidden, hidden
        for layer in self.semantic:
            semantic = layer(semantic)
        for layer in self.tuned:
            tuned = layer(tuned)
        # pooling as EmotionModel.heads: mean of the projections, max of the softplus energies
        weights = token_mask[token_mask > 0]
        pooled = tuned[token_mask > 0]
        mu = _normalize((self.project(pooled) * weights[:, None]).sum(0) / weights.sum())
        energy = np.logaddexp(0.0, self.energy(pooled)[:, 0]).max()
        kappa = np.float32(1.0 + self.config.alpha * energy)
        felt = (np.array([min(np.logaddexp(0.0, self.intensity(pooled)[:, 0]).max(), 1.0)], np.float32)
                if self.intensity is not None else None)
        logits = kappa * (self.prototypes @ mu)
        probs = np.exp(logits - logits.max())
        emotion = EmotionBatch(mu=mu[None].astype(np.float32), kappa=np.array([kappa], np.float32),
                               probs=(probs / probs.sum())[None].astype(np.float32), strength=felt)
        return Encoded(_normalize(semantic.mean(0))[None].astype(np.float32), emotion,
                       int(bool(encoding.overflowing)))


class Linear:
    """x @ W.T + b, with W kept transposed and contiguous for the product."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        self.weight_t = np.ascontiguousarray(weight.T, dtype=np.float32)  # one copy; ~20% faster products
        self.bias = np.asarray(bias, dtype=np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weight_t + self.bias


class LayerNorm:
    def __init__(self, weight: np.ndarray, bias: np.ndarray, eps: float):
        self.weight, self.bias, self.eps = np.asarray(weight, np.float32), np.asarray(bias, np.float32), eps

    def __call__(self, x: np.ndarray) -> np.ndarray:
        centred = x - x.mean(-1, keepdims=True)
        variance = (centred * centred).mean(-1, keepdims=True)
        return centred / np.sqrt(variance + self.eps) * self.weight + self.bias


class Block:
    """One BERT-style transformer block (post-norm, exact GELU) for one unpadded text (tokens, width)."""

    def __init__(self, tensors: Mapping[str, np.ndarray], heads: int, eps: float):
        """`tensors`: a block's parameters by their names inside it (``attention.self.query.weight``, ...)."""
        part = lambda name: tensors[name]  # noqa: E731
        self.heads = heads
        self.qkv = Linear(np.concatenate([part(f"attention.self.{p}.weight") for p in ("query", "key", "value")]),
                          np.concatenate([part(f"attention.self.{p}.bias") for p in ("query", "key", "value")]))
        self.attention_out = Linear(part("attention.output.dense.weight"), part("attention.output.dense.bias"))
        self.attention_norm = LayerNorm(part("attention.output.LayerNorm.weight"),
                                        part("attention.output.LayerNorm.bias"), eps)
        self.up = Linear(part("intermediate.dense.weight"), part("intermediate.dense.bias"))
        self.down = Linear(part("output.dense.weight"), part("output.dense.bias"))
        self.norm = LayerNorm(part("output.LayerNorm.weight"), part("output.LayerNorm.bias"), eps)

    def __call__(self, hidden: np.ndarray) -> np.ndarray:
        length, width = hidden.shape
        q, k, v = (t.reshape(length, self.heads, -1).transpose(1, 0, 2)
                   for t in np.split(self.qkv(hidden), 3, axis=-1))
        scores = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(q.shape[-1]))
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        context = (weights @ v).transpose(1, 0, 2).reshape(length, width)
        hidden = self.attention_norm(self.attention_out(context) + hidden)
        return self.norm(self.down(gelu(self.up(hidden))) + hidden)


class Embeddings:
    """BERT input embeddings: word + absolute position + token type 0, then a layer norm."""

    def __init__(self, tensors: Mapping[str, np.ndarray], prefix: str, eps: float):
        get = lambda name: np.asarray(tensors[f"{prefix}embeddings.{name}"], np.float32)  # noqa: E731
        self.words, self.positions = get("word_embeddings.weight"), get("position_embeddings.weight")
        self.type_zero = get("token_type_embeddings.weight")[0]
        self.norm = LayerNorm(get("LayerNorm.weight"), get("LayerNorm.bias"), eps)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        return self.norm(self.words[ids] + self.type_zero + self.positions[: len(ids)])  # the library's order


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, x * Phi(x), to float32 precision.

    NumPy has no erf, and SciPy's would cost a slow import on the search path. This is
    Abramowitz and Stegun's 7.1.26 (absolute error below 1.5e-7), in float32 like the rest.
    """
    z = np.abs(x) * np.float32(1.0 / math.sqrt(2.0))
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (_AS[0] + t * (_AS[1] + t * (_AS[2] + t * (_AS[3] + t * _AS[4]))))
    erf = np.copysign(1.0 - poly * np.exp(-z * z), x)
    return 0.5 * x * (1.0 + erf)


_AS = np.array([0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429], dtype=np.float32)


def _normalize(x: np.ndarray) -> np.ndarray:
    """L2-normalise the last axis, as torch's F.normalize (norms floored at 1e-12)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
