"""U-Net Mini: a small four-level U-Net (Ronneberger et al. 2015) for fast CPU training."""

from __future__ import annotations

import torch
from torch import nn


def _double_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class UNetMiniEncoder(nn.Module):
    def __init__(self, widths: list[int]):
        super().__init__()
        self.stages = nn.ModuleList([_double_conv(3 if i == 0 else widths[i - 1], w) for i, w in enumerate(widths)])
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.pool(x))
            features.append(x)
        return features


class UNetMini(nn.Module):
    def __init__(self, num_classes: int, base_width: int = 16, levels: int = 4):
        super().__init__()
        widths = [base_width * 2**i for i in range(levels + 1)]
        self.encoder = UNetMiniEncoder(widths)
        self.ups = nn.ModuleList(
            [nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in reversed(range(levels))]
        )
        self.decoders = nn.ModuleList([_double_conv(2 * widths[i], widths[i]) for i in reversed(range(levels))])
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *skips, x = self.encoder(x)
        for up, decode, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            x = decode(torch.cat([up(x), skip], dim=1))
        return self.head(x)
