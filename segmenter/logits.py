"""Pure inference steps shared by evaluation and the TorchServe handler."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def logits_at_size(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize (N, C, h, w) logits to `size` (height, width); no-op when already there."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False)


def argmax_ids(logits: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) -> (N, h, w) uint8 argmax over C (first maximum wins, as torch.argmax), by a running
    maximum: much faster on the CPU than a reduction across the channel stride."""
    ids = torch.zeros((logits.shape[0], *logits.shape[2:]), dtype=torch.uint8)
    best = logits[:, 0].clone()
    for category in range(1, logits.shape[1]):
        plane = logits[:, category]
        ids.masked_fill_(plane > best, category)
        best = torch.maximum(best, plane)
    return ids


def _source_index(out_size: int, in_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bilinear sampling as F.interpolate(align_corners=False) does it: for each output index, the two
    input neighbours and the weight of the second."""
    position = ((torch.arange(out_size, dtype=torch.float32) + 0.5) * (in_size / out_size) - 0.5).clamp(min=0)
    first = position.floor().long().clamp(max=in_size - 1)
    return first, (first + 1).clamp(max=in_size - 1), position - first.float()


BOUNDARY_CHUNK = 1 << 20  # pixels interpolated at a time: bounds memory on 12-megapixel masks


def category_ids_from_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, C, h, w) logits -> (N, H, W) uint8 category ids at `size`: argmax(logits_at_size(...)), computed
    where it is needed only.

    A bilinearly interpolated logit vector is a convex combination of its 4 input neighbours, so where
    those 4 share one argmax, the interpolated argmax is that category. Only output pixels whose 4
    neighbours disagree (along category boundaries, a few percent) are interpolated.
    """
    _, channels, height, width = logits.shape
    low = argmax_ids(logits)
    if (height, width) == tuple(size):
        return low
    # Each input cell (i, j) with its right, lower and diagonal neighbours (clamped at the border).
    down = torch.cat([low[:, 1:], low[:, -1:]], 1)
    right = torch.cat([low[:, :, 1:], low[:, :, -1:]], 2)
    diagonal = torch.cat([right[:, 1:], right[:, -1:]], 1)
    uniform = (low == down) & (low == right) & (low == diagonal)
    undecided = 255
    marked = torch.where(uniform, low, torch.tensor(undecided, dtype=torch.uint8))
    y0, y1, wy = _source_index(size[0], height)
    x0, x1, wx = _source_index(size[1], width)
    ids = marked.index_select(1, y0).index_select(2, x0)
    todo = (ids == undecided).nonzero()
    if not len(todo):
        return ids
    vectors = logits.float().permute(0, 2, 3, 1).reshape(-1, channels)  # one logit vector per input pixel
    for start in range(0, len(todo), BOUNDARY_CHUNK):
        b, yy, xx = todo[start : start + BOUNDARY_CHUNK].unbind(1)
        rows0, rows1 = (b * height + y0[yy]) * width, (b * height + y1[yy]) * width
        cols0, cols1 = x0[xx], x1[xx]
        fy, fx = wy[yy, None], wx[xx, None]
        top = (1 - fx) * vectors[rows0 + cols0] + fx * vectors[rows0 + cols1]
        bottom = (1 - fx) * vectors[rows1 + cols0] + fx * vectors[rows1 + cols1]
        ids[b, yy, xx] = ((1 - fy) * top + fy * bottom).argmax(1).to(torch.uint8)
    return ids
