"""Hidden states of the frozen lower layers, computed once and reused every epoch.

Only the top `tuned_layers` blocks and the heads train, so the lower blocks give the same
output every epoch: caching it makes an epoch cost a fraction of a full forward pass.
"""
from __future__ import annotations

import dataclasses
import random
from typing import Iterator, Sequence

import numpy as np
import torch

from hyperamy.training.data import Sample
from hyperamy.encoder.tokens import span_token_mask
from hyperamy.errors import InputError


@dataclasses.dataclass
class CachedSet:
    """Samples with per-text lower hidden states (float16, unpadded) and per-sample token masks."""

    hidden: list[torch.Tensor]  # one (tokens, hidden) tensor per distinct text
    text_of: np.ndarray  # sample -> index into hidden
    token_masks: list[torch.Tensor]  # per sample, bool (tokens,)
    targets: torch.Tensor  # (n, 28)
    is_span: torch.Tensor  # (n,) bool
    samples: list[Sample]
    affect: torch.Tensor  # (n, 3) valence, arousal, dominance; NaN where not rated
    labelled: torch.Tensor  # (n,) bool: has a label target

    def __len__(self) -> int:
        return len(self.samples)

    def lengths(self) -> np.ndarray:
        return np.asarray([self.hidden[t].shape[0] for t in self.text_of])


def build_cache(model, tokenizer, samples: Sequence[Sample], max_length: int, batch_size: int = 128,
                progress=None, skip_unreachable: bool = False) -> CachedSet:
    """Tokenize every distinct text once and run the frozen lower layers over it.

    With skip_unreachable, span samples whose span lies past the token window are dropped
    (the count is `len(samples) - len(result)`); otherwise they are an error.
    """
    texts: dict[str, int] = {}
    for sample in samples:
        texts.setdefault(sample.text, len(texts))
    distinct = list(texts)
    encoded = tokenizer(distinct, truncation=True, max_length=max_length, return_offsets_mapping=True)
    ids = encoded["input_ids"]
    hidden: list[torch.Tensor | None] = [None] * len(distinct)
    order = sorted(range(len(distinct)), key=lambda i: len(ids[i]))
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = max(len(ids[i]) for i in rows)
            input_ids = torch.full((len(rows), width), tokenizer.pad_token_id or 0, dtype=torch.long)
            attention = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
                attention[r, : len(ids[i])] = 1
            lower = model.trunk.lower(input_ids, attention)
            for r, i in enumerate(rows):
                hidden[i] = lower[r, : len(ids[i])].to(torch.float16).clone()
            if progress is not None:
                progress.update(len(rows))
    text_of, masks, kept = [], [], []
    for sample in samples:
        t = texts[sample.text]
        length = len(ids[t])
        if sample.span is None:
            mask = torch.ones(length, dtype=torch.bool)
        else:
            offsets = torch.tensor(encoded["offset_mapping"][t])
            mask = span_token_mask(offsets, torch.ones(length, dtype=torch.bool), sample.span)
            if not mask.any():
                if not skip_unreachable:
                    raise InputError(f"span {sample.text[sample.span[0]:sample.span[1]]!r} covers no token "
                                     f"within the first {max_length} tokens")
                continue
        text_of.append(t)
        masks.append(mask)
        kept.append(sample)
    samples = kept
    text_of = np.asarray(text_of)
    return CachedSet(hidden=hidden, text_of=text_of, token_masks=masks,
                     targets=torch.tensor(np.stack([s.target for s in samples])),
                     is_span=torch.tensor([s.span is not None for s in samples]), samples=list(samples),
                     affect=torch.tensor([s.affect if s.affect is not None else (float("nan"),) * 3 for s in samples],
                                         dtype=torch.float32).reshape(-1, 3),
                     labelled=torch.tensor([s.labelled for s in samples], dtype=torch.bool))


def collate(cache: CachedSet, rows: Sequence[int]) -> dict:
    """Pad the cached states of some samples into one batch."""
    lengths = [cache.hidden[cache.text_of[r]].shape[0] for r in rows]
    width = max(lengths)
    size = cache.hidden[0].shape[1]
    hidden = torch.zeros((len(rows), width, size), dtype=torch.float32)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    token_mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for b, (r, length) in enumerate(zip(rows, lengths)):
        hidden[b, :length] = cache.hidden[cache.text_of[r]].float()
        attention[b, :length] = 1
        token_mask[b, :length] = cache.token_masks[r]
    rows_index = torch.as_tensor(list(rows))
    return {"lower_hidden": hidden, "attention_mask": attention, "token_mask": token_mask,
            "target": cache.targets[rows_index], "is_span": cache.is_span[rows_index],
            "affect": cache.affect[rows_index], "labelled": cache.labelled[rows_index]}


def length_batches(cache: CachedSet, batch_size: int, rng: random.Random | None) -> Iterator[list[int]]:
    """Batches of similar length (less padding); shuffled batches when rng is given."""
    lengths = cache.lengths()
    if rng is None:
        order = list(np.argsort(lengths, kind="stable"))
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        yield from batches
        return
    indices = list(range(len(cache)))
    rng.shuffle(indices)
    pool = batch_size * 50  # sort within pools so batches stay random but of even length
    batches = []
    for start in range(0, len(indices), pool):
        chunk = sorted(indices[start:start + pool], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    yield from batches
