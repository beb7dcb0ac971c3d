"""Pure inference steps shared by evaluation and the TorchServe handler."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def logits_at_size(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize (N, C, h, w) logits to `size` (height, width); no-op when already there."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False)


def category_ids_from_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, C, h, w) logits -> (N, H, W) uint8 category ids at the requested size."""
    return logits_at_size(logits, size).argmax(1).to(torch.uint8)
