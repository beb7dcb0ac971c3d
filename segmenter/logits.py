"""Logits resized in PyTorch, for evaluation and agreement checks (the served path turns logits into ids with
`roadseg.logits`, the same in every runtime)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def logits_at_size(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize (N, C, h, w) logits to `size` (height, width); no-op when already there."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False)
