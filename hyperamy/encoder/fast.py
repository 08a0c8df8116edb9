"""Transformer layers with pre-packed weights, for encoding one query at a time.

A search encodes one short text (20 to 60 tokens) through eight layers. At that size a matrix
product spends most of its time converting the weight matrix into the CPU kernel's blocked
layout, again on every call; the arithmetic is small. Packing each weight once, when the
search path is first used, removes that work (the same kernels torch.compile's CPU backend
calls after freezing a model):

- "bfloat16": oneDNN products on bfloat16 weights, for CPUs that multiply bfloat16 natively
  (AMX or AVX-512 BF16). Products accumulate in float32 and everything between them (attention
  softmax, layer norms, GELU, pooling) stays float32; a query's vectors then keep a cosine of
  at least 0.9999 to the float32 ones (tests/test_fast.py).
- "float32": MKL products on packed float32 weights: the plain layers' numbers, to float32 rounding.

Indexing keeps the plain float32 layers: there a batch holds thousands of tokens, packing costs
little, and stored vectors stay exactly those of sentence-transformers on any machine.
HYPERAMY_QUERY_PRECISION=float32 makes queries float32 on every machine too.
"""
from __future__ import annotations

import functools
import os

import torch
from torch import nn
from torch.nn import functional as F

from hyperamy.errors import InputError

PRECISIONS = ("auto", "bfloat16", "float32")


def plain_block_settings(settings) -> bool:
    """A model config (as a dict) whose blocks QueryLayer computes: exact GELU, absolute positions, encoder."""
    return (settings.get("hidden_act") == "gelu"
            and settings.get("position_embedding_type", "absolute") == "absolute"
            and not settings.get("is_decoder", False))


def query_precision(requested: str | None = None) -> str:
    """The precision a query is encoded in: bfloat16 where the CPU computes it natively, else float32."""
    requested = requested or os.environ.get("HYPERAMY_QUERY_PRECISION", "auto")
    if requested not in PRECISIONS:
        raise InputError(f"HYPERAMY_QUERY_PRECISION must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if requested != "auto":
        return requested
    native = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    return "bfloat16" if native and torch.backends.mkldnn.is_available() else "float32"


class PackedLinear(nn.Module):
    """A linear map with its weight packed once for the CPU kernel (inference only).

    With `gelu`, the exact (erf) GELU is applied to the product; in bfloat16 oneDNN fuses it
    into the product and the output stays bfloat16 for the next product to read.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, precision: str, gelu: bool = False):
        super().__init__()
        self.precision, self.gelu, self.out_features = precision, gelu, weight.shape[0]
        weight = weight.detach()
        bias = bias.detach() if bias is not None else torch.zeros(weight.shape[0])
        if precision == "bfloat16":
            self.bias = bias.to(torch.bfloat16)
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.to(torch.bfloat16))
        else:
            self.weight, self.bias = weight, bias  # MKL keeps the original beside the packed copy
            self.packed = torch.ops.mkl._mkl_reorder_linear_weight(weight, 1)

    @classmethod
    def of(cls, linear: nn.Linear, precision: str, gelu: bool = False) -> "PackedLinear":
        return cls(linear.weight, linear.bias, precision, gelu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., in) in float32 or bfloat16 -> (..., out): float32, or bfloat16 after a fused GELU."""
        flat = x.reshape(-1, x.shape[-1])
        if self.precision == "bfloat16":
            out = torch.ops.mkldnn._linear_pointwise(flat.to(torch.bfloat16), self.packed, self.bias,
                                                     "gelu" if self.gelu else "none", [],
                                                     "none" if self.gelu else "")
            out = out if self.gelu else out.float()
        else:
            out = torch.ops.mkl._mkl_linear(flat.float(), self.packed, self.weight, self.bias, flat.shape[0])
            out = F.gelu(out) if self.gelu else out
        return out.reshape(*x.shape[:-1], self.out_features)


class QueryLayer(nn.Module):
    """One BERT-style transformer block for a single unpadded text, with packed products.

    The same computation as the library's block (post-norm, exact GELU, absolute positions) in
    four products instead of six: query, key and value are one product, and the GELU rides on
    the first feed-forward product.
    """

    def __init__(self, layer: nn.Module, precision: str):
        super().__init__()
        attention, output = layer.attention.self, layer.attention.output
        self.heads = attention.num_attention_heads
        self.qkv = PackedLinear(torch.cat([attention.query.weight, attention.key.weight, attention.value.weight]),
                                torch.cat([attention.query.bias, attention.key.bias, attention.value.bias]),
                                precision)
        self.attention_out = PackedLinear.of(output.dense, precision)
        self.attention_norm = output.LayerNorm
        self.up = PackedLinear.of(layer.intermediate.dense, precision, gelu=True)
        self.down = PackedLinear.of(layer.output.dense, precision)
        self.norm = layer.output.LayerNorm

    def forward(self, hidden: torch.Tensor, mask=None) -> torch.Tensor:
        batch, length, width = hidden.shape
        q, k, v = (t.view(batch, length, self.heads, -1).transpose(1, 2)
                   for t in self.qkv(hidden).split(width, dim=-1))
        context = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, length, width)
        hidden = self.attention_norm(self.attention_out(context) + hidden)
        return self.norm(self.down(self.up(hidden)) + hidden)


def _is_plain_bert_layer(layer: nn.Module, config) -> bool:
    """Blocks QueryLayer reproduces exactly: BERT / RoBERTa / MiniLM with absolute positions, exact GELU."""
    try:
        attention = layer.attention.self
        parts = (attention.query, attention.key, attention.value, layer.attention.output.dense,
                 layer.intermediate.dense, layer.output.dense)
        norms = (layer.attention.output.LayerNorm, layer.output.LayerNorm)
    except AttributeError:
        return False
    return (all(isinstance(p, nn.Linear) and p.bias is not None for p in parts)
            and all(isinstance(n, nn.LayerNorm) for n in norms)
            and plain_block_settings(config.to_dict()))


def query_layers(layers: nn.ModuleList, config, precision: str) -> nn.ModuleList:
    """`layers` as QueryLayers, sharing their layer norms; the layers themselves where that cannot be done.

    Plain layers are kept for blocks of another shape, and where this build of torch lacks the
    packing kernels or they disagree with nn.Linear on a test product.
    """
    if not all(_is_plain_bert_layer(layer, config) for layer in layers) or not _kernels_agree(precision):
        return layers
    return nn.ModuleList(QueryLayer(layer, precision) for layer in layers).eval()


@functools.lru_cache(maxsize=None)  # one check per precision, not one per group of layers
def _kernels_agree(precision: str) -> bool:
    generator = torch.Generator().manual_seed(0)
    linear = nn.Linear(48, 40)
    x = torch.randn(2, 7, 48, generator=generator)
    try:
        with torch.inference_mode():
            got = PackedLinear.of(linear, precision, gelu=True)(x).float()
            want = F.gelu(F.linear(x, linear.weight, linear.bias))
    except (RuntimeError, AttributeError, NotImplementedError):
        return False
    tolerance = 0.05 if precision == "bfloat16" else 1e-4
    return got.shape == want.shape and bool(torch.allclose(got, want, atol=tolerance, rtol=tolerance))
