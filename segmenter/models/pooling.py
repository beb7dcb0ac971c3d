"""Adaptive average pooling that exports to ONNX for any input size: ONNX has no adaptive pooling op, so exporters
bake the example input's kernel into a fixed pooling (smp's PSPNet then gives other sizes different masks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _pooling_matrix(length: int, bins: int, like: torch.Tensor) -> torch.Tensor:
    """(bins, length): row i averages torch's adaptive bin i, [floor(i*L/bins), ceil((i+1)*L/bins))."""
    positions = torch.arange(length, device=like.device).unsqueeze(0)
    index = torch.arange(bins, device=like.device).unsqueeze(1)
    start = torch.div(index * length, bins, rounding_mode="floor")
    end = -torch.div(-(index + 1) * length, bins, rounding_mode="floor")
    inside = ((positions >= start) & (positions < end)).to(like.dtype)
    return inside / inside.sum(1, keepdim=True)


def adaptive_avg_pool2d(x: torch.Tensor, size: int) -> torch.Tensor:
    """Same result as `F.adaptive_avg_pool2d(x, size)`, as two matrix products that any exporter keeps dynamic."""
    rows = _pooling_matrix(x.shape[-2], size, x)
    cols = _pooling_matrix(x.shape[-1], size, x)
    return rows @ x @ cols.transpose(0, 1)


class PyramidPoolingBranch(nn.Module):
    """One PSPNet pyramid level: pool to size x size, project (`conv`), upsample back to the input's size."""

    def __init__(self, size: int, conv: nn.Module):
        super().__init__()
        self.size = size
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.conv(adaptive_avg_pool2d(x, self.size))
        return F.interpolate(pooled, size=x.shape[-2:], mode="bilinear", align_corners=True)
