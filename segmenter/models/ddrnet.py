"""DDRNet-23-slim (Hong et al. 2021, "Deep Dual-resolution Networks for Real-time and Accurate Semantic Segmentation
of Road Scenes"), written here because no well-kept package ships it without a framework (MMSegmentation needs mmcv).

It follows the authors' `DDRNet_23_slim.py`: a ResNet-like trunk that splits at 1/8 into a high-resolution branch (kept
at 1/8) and a low-resolution one (down to 1/64), two bilateral fusions between them, the Deep Aggregation Pyramid
Pooling Module (DAPPM) on the low branch, and a light head on their sum. The training-only auxiliary head is left out:
every model here returns one logits tensor. `width` scales every channel count (1.0 = the paper's 32 base planes)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_bn(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout))


def _bn_relu_conv(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False))


def _resize(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class BasicBlock(nn.Module):
    """ResNet's basic block; the last of two or more in a stage leaves out its ReLU (the next stage applies it)."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, last: bool = False):
        super().__init__()
        self.conv1 = _conv_bn(cin, planes, 3, stride)
        self.conv2 = _conv_bn(planes, planes, 3)
        self.shortcut = _conv_bn(cin, planes, 1, stride) if stride != 1 or cin != planes else nn.Identity()
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(x))) + self.shortcut(x)
        return out if self.last else F.relu(out)


class Bottleneck(nn.Module):
    """ResNet's bottleneck with DDRNet's expansion of 2."""

    expansion = 2

    def __init__(self, cin: int, planes: int, stride: int = 1, last: bool = False):
        super().__init__()
        cout = planes * self.expansion
        self.body = nn.Sequential(
            _conv_bn(cin, planes, 1),
            nn.ReLU(),
            _conv_bn(planes, planes, 3, stride),
            nn.ReLU(),
            _conv_bn(planes, cout, 1),
        )
        self.shortcut = _conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x) + self.shortcut(x)
        return out if self.last else F.relu(out)


def _stage(
    block: type[BasicBlock] | type[Bottleneck], cin: int, planes: int, blocks: int, stride: int = 1
) -> nn.Sequential:
    """As the authors' `_make_layer`: a lone block keeps its ReLU; of several, the last one leaves it out."""
    layers = [block(cin, planes, stride)]
    layers += [block(planes * block.expansion, planes, 1, last=i == blocks - 1) for i in range(1, blocks)]
    return nn.Sequential(*layers)


class DAPPM(nn.Module):
    """Deep Aggregation Pyramid Pooling: average pools at 1/2, 1/4, 1/8 and global, each fused into the next scale."""

    def __init__(self, cin: int, branch: int, cout: int):
        super().__init__()
        pools: list[nn.Module] = [
            nn.AvgPool2d(5, 2, 2, count_include_pad=True),
            nn.AvgPool2d(9, 4, 4, count_include_pad=True),
            nn.AvgPool2d(17, 8, 8, count_include_pad=True),
            nn.AdaptiveAvgPool2d(1),
        ]
        self.scale0 = _bn_relu_conv(cin, branch, 1)
        self.scales = nn.ModuleList(nn.Sequential(pool, _bn_relu_conv(cin, branch, 1)) for pool in pools)
        self.processes = nn.ModuleList(_bn_relu_conv(branch, branch, 3) for _ in pools)
        self.compression = _bn_relu_conv(branch * 5, cout, 1)
        self.shortcut = _bn_relu_conv(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        levels = [self.scale0(x)]
        for scale, process in zip(self.scales, self.processes, strict=True):
            levels.append(process(_resize(scale(x), x) + levels[-1]))
        out: torch.Tensor = self.compression(torch.cat(levels, 1)) + self.shortcut(x)
        return out


class DDRNet23Slim(nn.Module):
    """(N, 3, H, W) with H, W multiples of 64 -> (N, num_classes, H, W) logits."""

    def __init__(self, num_classes: int, width: float = 1.0, blocks: tuple[int, int, int, int] = (2, 2, 2, 2)):
        super().__init__()
        p = max(8, round(32 * width))  # the paper's `planes`
        high = 2 * p  # the high-resolution branch's channels
        self.stem = nn.Sequential(_conv_bn(3, p, 3, 2), nn.ReLU(), _conv_bn(p, p, 3, 2), nn.ReLU())
        self.layer1 = _stage(BasicBlock, p, p, blocks[0])
        self.layer2 = _stage(BasicBlock, p, 2 * p, blocks[1], 2)
        self.layer3 = _stage(BasicBlock, 2 * p, 4 * p, blocks[2], 2)
        self.layer4 = _stage(BasicBlock, 4 * p, 8 * p, blocks[3], 2)
        self.layer5 = _stage(Bottleneck, 8 * p, 8 * p, 1, 2)
        self.layer3_high = _stage(BasicBlock, 2 * p, high, 2)
        self.layer4_high = _stage(BasicBlock, high, high, 2)
        self.layer5_high = _stage(Bottleneck, high, high, 1)
        self.compression3 = _conv_bn(4 * p, high, 1)
        self.compression4 = _conv_bn(8 * p, high, 1)
        self.down3 = _conv_bn(high, 4 * p, 3, 2)
        self.down4 = nn.Sequential(_conv_bn(high, 4 * p, 3, 2), nn.ReLU(), _conv_bn(4 * p, 8 * p, 3, 2))
        self.spp = DAPPM(16 * p, max(16, round(128 * width)), 4 * p)
        head = max(16, round(64 * width))
        self.head = nn.Sequential(
            _bn_relu_conv(4 * p, head, 3), nn.BatchNorm2d(head), nn.ReLU(), nn.Conv2d(head, num_classes, 1)
        )

    @property
    def encoder(self) -> nn.Module:
        """The ResNet-like trunk, as a view (a registered copy would save every weight twice)."""
        return nn.ModuleList([self.stem, self.layer1, self.layer2, self.layer3, self.layer4])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x1 = self.layer1(self.stem(images))  # 1/4
        x2 = self.layer2(F.relu(x1))  # 1/8
        low = self.layer3(F.relu(x2))  # 1/16
        high = self.layer3_high(F.relu(x2))  # 1/8
        low, high = low + self.down3(F.relu(high)), high + _resize(self.compression3(F.relu(low)), high)
        low = self.layer4(F.relu(low))  # 1/32
        high = self.layer4_high(F.relu(high))
        low, high = low + self.down4(F.relu(high)), high + _resize(self.compression4(F.relu(low)), high)
        high = self.layer5_high(F.relu(high))
        low = _resize(self.spp(self.layer5(F.relu(low))), high)  # 1/64 -> 1/8
        logits = self.head(low + high)
        return _resize(logits, images)
