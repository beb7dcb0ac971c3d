"""Losses: cross-entropy, Dice (smp) and the seed's combined CE + Dice; void is a class like the others."""

from __future__ import annotations

import torch
from segmentation_models_pytorch.losses import DiceLoss
from torch import nn


class CombinedLoss(nn.Module):
    """ce_weight * CE + dice_weight * multiclass soft Dice."""

    def __init__(self, ce_weight: float = 1.0, dice_weight: float = 1.0):
        super().__init__()
        self.ce, self.dice = nn.CrossEntropyLoss(), DiceLoss("multiclass", from_logits=True)
        self.ce_weight, self.dice_weight = ce_weight, dice_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.ce_weight * self.ce(logits, target) + self.dice_weight * self.dice(logits, target)


LOSSES = {
    "ce": lambda: nn.CrossEntropyLoss(),
    "dice": lambda: DiceLoss("multiclass", from_logits=True),
    "ce_dice": CombinedLoss,
}
LOSS_DISPLAY_NAMES = {"ce": "categorical CE", "dice": "Dice", "ce_dice": "combined"}


def build_loss(name: str) -> nn.Module:
    try:
        return LOSSES[name]()
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
