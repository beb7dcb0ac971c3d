"""DilatedNet (Yu & Koltun 2016): VGG16 front end with dilated conv5/fc6, then the basic context module.

The front end is torchvision's VGG16-BN with pool4 and pool5 removed, conv5 dilated by 2 and fc6 as a
3x3 convolution dilated by 4 (the paper's 7x7 is cut to 3x3 to keep the MACs trainable on a CPU);
the output stride is 8 and the logits are upsampled bilinearly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vgg import make_layers

# VGG16 up to conv4_3, pool4 removed; conv5 follows, dilated.
VGG16_CONFIG: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512]
CONTEXT_DILATIONS = (1, 1, 2, 4, 8, 16, 1)


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int, dilation: int) -> list[nn.Module]:
    padding = dilation * (kernel - 1) // 2
    return [
        nn.Conv2d(in_ch, out_ch, kernel, padding=padding, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    ]


class DilatedFrontEnd(nn.Module):
    def __init__(self, width: float = 1.0, fc_channels: int = 1024):
        super().__init__()
        config: list[int | str] = [v if isinstance(v, str) else max(8, round(v * width)) for v in VGG16_CONFIG]
        self.features = make_layers(config, batch_norm=True)  # conv1..conv4, pool1..pool3: stride 8
        conv5_ch = int(config[-1])
        conv5 = []
        for _ in range(3):
            conv5 += _conv_bn_relu(conv5_ch, conv5_ch, 3, dilation=2)
        self.conv5 = nn.Sequential(*conv5)
        fc = max(8, round(fc_channels * width))
        self.fc = nn.Sequential(
            *_conv_bn_relu(conv5_ch, fc, 3, dilation=4), nn.Dropout2d(0.1), *_conv_bn_relu(fc, fc, 1, 1)
        )
        self.out_channels = fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv5(self.features(x)))


class DilatedNet(nn.Module):
    def __init__(self, num_classes: int, width: float = 1.0):
        super().__init__()
        self.encoder = DilatedFrontEnd(width)
        self.front_head = nn.Conv2d(self.encoder.out_channels, num_classes, 1)
        context_ch = max(num_classes, round(64 * width))
        layers: list[nn.Module] = []
        in_ch = num_classes
        for dilation in CONTEXT_DILATIONS:
            layers += _conv_bn_relu(in_ch, context_ch, 3, dilation)
            in_ch = context_ch
        layers.append(nn.Conv2d(context_ch, num_classes, 1))
        self.context = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        scores = self.front_head(self.encoder(x))
        scores = scores + self.context(scores)
        return F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
