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
    """(N, C, h, w) logits -> (N, H, W) uint8 category ids at `size`, as argmax(logits_at_size(...)).

    One category at a time with a running maximum: a 12-megapixel mask needs a few planes of memory,
    not one float plane per category.
    """
    best = logits_at_size(logits[:, :1], size)[:, 0]
    ids = torch.zeros(best.shape, dtype=torch.uint8)
    for category in range(1, logits.shape[1]):
        plane = logits_at_size(logits[:, category : category + 1], size)[:, 0]
        better = plane > best
        ids[better] = category
        best = torch.where(better, plane, best)
    return ids
