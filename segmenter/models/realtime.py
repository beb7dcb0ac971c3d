"""Light, real-time candidates from well-kept libraries, none with pretrained weights (none can be fetched here):
DeepLabV3+ and PSPNet (the original study's "perspectives") from segmentation_models_pytorch on light encoders, and
torchvision's LR-ASPP on MobileNetV3-Large (Howard et al. 2019, designed for on-device segmentation)."""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
from torch import nn
from torchvision.models.segmentation import lraspp_mobilenet_v3_large

from segmenter.models.pooling import PyramidPoolingBranch
from segmenter.models.pruning import drop_unused_modules


def deeplabv3plus(num_classes: int, encoder: str, width: float = 1.0) -> nn.Module:
    """DeepLabV3+ (output stride 16, separable ASPP); `width` scales the decoder's 256 channels."""
    model = smp.DeepLabV3Plus(
        encoder_name=encoder, encoder_weights=None, decoder_channels=max(16, round(256 * width)), classes=num_classes
    )
    return drop_unused_modules(model)


def pspnet(num_classes: int, encoder: str, width: float = 1.0) -> nn.Module:
    """PSPNet as smp builds it (encoder to 1/8, pyramid pooling at 1, 2, 3, 6, upsampled x8); `width` scales the
    pyramid's 512 output channels. Its pooling is made exportable at any size, and the encoder's stages past 1/8
    (which never run) are dropped."""
    model = smp.PSPNet(
        encoder_name=encoder, encoder_weights=None, psp_out_channels=max(16, round(512 * width)), classes=num_classes
    )
    blocks = model.decoder.psp.blocks  # smp exports these with the example input's pooling kernel baked in
    for i, block in enumerate(blocks):
        blocks[i] = PyramidPoolingBranch(block.pool_size, block.pool[1])
    return drop_unused_modules(model)


class LRASPPMobileNetV3(nn.Module):
    """torchvision's LR-ASPP MobileNetV3-Large, returning logits (torchvision returns a dict); `width` scales the
    head's 128 inner channels. `encoder` is the MobileNetV3 backbone (the wrapper's encoder weights go there).

    Its batch norms keep running statistics with PyTorch's usual momentum, 0.1, not the backbone's 0.01 (tuned for
    ImageNet's long schedule): from scratch, after one Cityscapes epoch (246 steps), the statistics still lagged
    the weights, and the model in eval mode called everything road (val mIoU7 0.07; pixel accuracy 0.46 with
    them, 0.62 with the batch's own)."""

    def __init__(self, num_classes: int, width: float = 1.0):
        super().__init__()
        self.model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes)
        for module in self.model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.momentum = 0.1
        if width != 1.0:
            head = self.model.classifier
            inter = max(16, round(128 * width))
            low, high = head.low_classifier.in_channels, head.cbr[0].in_channels
            self.model.classifier = type(head)(low, high, num_classes, inter)

    @property
    def encoder(self) -> nn.Module:
        """The MobileNetV3 backbone, as a view (a registered copy would save every weight twice)."""
        backbone: nn.Module = self.model.backbone
        return backbone

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(images)["out"]
        return logits
