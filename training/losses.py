"""Losses: a pixel term (cross-entropy, optionally class-weighted or OHEM) plus a region term (Dice or Lovász).

Void is a class like the others. `class_weights` (e.g. median-frequency balancing) weight the CE term only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from segmentation_models_pytorch.losses import DiceLoss
from torch import nn


class OhemCrossEntropy(nn.Module):
    """Online hard example mining: CE averaged over the pixels whose true-class probability is below
    `threshold`, and never fewer than `min_kept_share` of the pixels (the hardest ones)."""

    weight: torch.Tensor | None

    def __init__(self, weight: torch.Tensor | None = None, threshold: float = 0.7, min_kept_share: float = 1 / 16):
        super().__init__()
        self.register_buffer("weight", weight)
        self.loss_threshold = -math.log(threshold)
        self.min_kept_share = min_kept_share

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pixel_losses = F.cross_entropy(logits, target, weight=self.weight, reduction="none").flatten()
        hard = int((pixel_losses > self.loss_threshold).sum())
        kept = min(pixel_losses.numel(), max(hard, math.ceil(self.min_kept_share * pixel_losses.numel())))
        return pixel_losses.topk(kept, sorted=False).values.mean()


class CombinedLoss(nn.Module):
    """pixel_weight * pixel term (CE or OHEM CE) + region_weight * region term (Dice or Lovász)."""

    def __init__(self, pixel: nn.Module, region: nn.Module, pixel_weight: float = 1.0, region_weight: float = 1.0):
        super().__init__()
        self.pixel, self.region = pixel, region
        self.pixel_weight, self.region_weight = pixel_weight, region_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.pixel_weight * self.pixel(logits, target) + self.region_weight * self.region(logits, target)


_FLOAT32_INF_BITS = 0x7F800000  # above the bits of every finite non-negative float32


def descending_order(values: torch.Tensor) -> torch.Tensor:
    """Each row's indices from its largest value to its smallest, for non-negative `values` (C, N).

    On the CPU, NumPy sorts each row's (value bits, index) pairs packed in int64 (non-negative floats order as
    their bits; ties go by index): NumPy's vectorised sort is about 3x faster than `torch.sort` on 8 rows of a
    million pixels here. Elsewhere, `torch.sort`."""
    if values.device.type != "cpu" or values.dtype != torch.float32 or values.shape[1] >= 2**31:
        return values.sort(dim=1, descending=True).indices
    bits = values.detach().contiguous().view(torch.int32).numpy()
    index = np.arange(bits.shape[1], dtype=np.int64)
    keys = ((_FLOAT32_INF_BITS - bits.astype(np.int64)) << 32) | index
    keys.sort(axis=1)
    return torch.from_numpy(keys & 0xFFFFFFFF)


class LovaszSoftmax(nn.Module):
    """Lovász-Softmax over the whole batch (Berman et al., 2018), averaged over the classes present in `target`.

    The same loss as segmentation_models_pytorch's `LovaszLoss("multiclass", per_image=False)`, with the classes'
    errors sorted in one batched call (`descending_order`) instead of one `torch.sort` per class: about 2.5x faster
    on a batch of 8 at 256x512 on two cores, where the library's took as long as DDRNet-23-slim's own backward."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        classes = logits.shape[1]
        probas = logits.softmax(1).movedim(1, 0).reshape(classes, -1)  # (C, pixels)
        wanted = torch.arange(classes, device=target.device).unsqueeze(1)
        foreground = (target.reshape(1, -1) == wanted).to(probas.dtype)
        errors = (foreground - probas).abs()
        order = descending_order(errors)
        errors, foreground = errors.gather(1, order), foreground.gather(1, order)
        total = foreground.sum(1, keepdim=True)
        jaccard = 1 - (total - foreground.cumsum(1)) / (total + (1 - foreground).cumsum(1))
        gradient = torch.cat([jaccard[:, :1], jaccard.diff(dim=1)], dim=1)  # of the Lovász extension
        return (errors * gradient).sum(1)[total.squeeze(1) > 0].mean()


def _dice() -> nn.Module:
    return DiceLoss("multiclass", from_logits=True)


def _lovasz() -> nn.Module:
    return LovaszSoftmax()


LossBuilder = Callable[[torch.Tensor | None], nn.Module]
LOSSES: dict[str, LossBuilder] = {
    "ce": lambda w: nn.CrossEntropyLoss(weight=w),
    "dice": lambda w: _dice(),
    "lovasz": lambda w: _lovasz(),
    "ce_dice": lambda w: CombinedLoss(nn.CrossEntropyLoss(weight=w), _dice()),
    "ce_lovasz": lambda w: CombinedLoss(nn.CrossEntropyLoss(weight=w), _lovasz()),
    "ohem_dice": lambda w: CombinedLoss(OhemCrossEntropy(w), _dice()),
}
LOSS_DISPLAY_NAMES = {
    "ce": "categorical CE",
    "dice": "Dice",
    "lovasz": "Lovász",
    "ce_dice": "combined",
    "ce_lovasz": "CE + Lovász",
    "ohem_dice": "OHEM CE + Dice",
}


def build_loss(name: str, class_weights: torch.Tensor | np.ndarray | None = None) -> nn.Module:
    """A registered loss; `class_weights` (one per category) weight its cross-entropy term, if it has one."""
    try:
        builder = LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
    return builder(None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32))
