"""Training losses of the probabilistic encoder. Pure functions over tensors."""
from __future__ import annotations

import torch
from torch.nn import functional as F

from hyperamy.emotions import NEUTRAL


def soft_kl(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-example KL(target || softmax(logits)); target rows sum to 1."""
    log_probs = F.log_softmax(logits, dim=-1)
    return (torch.xlogy(target, target) - target * log_probs).sum(-1)


def target_intensity(target: torch.Tensor) -> torch.Tensor:
    """How strongly a soft label is felt: its largest non-neutral mass (0 for pure neutral)."""
    without_neutral = torch.cat([target[:, :NEUTRAL], target[:, NEUTRAL + 1:]], dim=-1)
    return without_neutral.max(dim=-1).values


def calibration(kappa: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """Squared error of kappa to 1 + alpha * intensity, divided by alpha**2.

    Dividing by alpha**2 keeps the term on the 0..1 scale of the soft labels, so its
    weight means the same whatever alpha is; the minimiser is unchanged.
    """
    wanted = 1.0 + alpha * target_intensity(target)
    return ((kappa - wanted) / alpha) ** 2


def encoder_losses(prototype_logits, auxiliary_logits, kappa, target, alpha: float) -> dict[str, torch.Tensor]:
    """Per-example prototype, calibration and auxiliary losses."""
    return {
        "prototype": soft_kl(prototype_logits, target),
        "calibration": calibration(kappa, target, alpha),
        "auxiliary": soft_kl(auxiliary_logits, target),
    }


# EmoBank train's standard deviations of valence, arousal, dominance: each dimension's error is
# measured in its own spread, so the narrow dominance ratings count as much as valence's
AFFECT_SPREAD = (0.350, 0.262, 0.211)


def affect_error(predicted: torch.Tensor, rated: torch.Tensor) -> torch.Tensor:
    """Per-example mean squared error over valence, arousal, dominance, each in its spread (NaN rows: 0)."""
    spread = torch.tensor(AFFECT_SPREAD, dtype=predicted.dtype)
    known = torch.isfinite(rated).all(-1)
    error = ((predicted - torch.nan_to_num(rated)) / spread) ** 2
    return error.mean(-1) * known
