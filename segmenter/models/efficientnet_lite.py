"""Segmenters on Google's EfficientNet-Lite encoders (timm's `tf_efficientnet_lite*`, through smp's `tu-` wrapper):
FPN, DeepLabV3+ and U-Net decoders from segmentation_models_pytorch, LR-ASPP's head from torchvision.

The encoders are built exactly as Google trained their ImageNet weights (TensorFlow "same" padding, BatchNorm eps
1e-3), so `training.imagenet_weights` can load them; inputs arrive with the project's ImageNet mean/std and are
rescaled inside the model to Google's (pixel - 127) / 128."""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.segmentation.lraspp import LRASPPHead

from roadseg.preprocessing import MEAN, STD

VARIANTS = ("efficientnet_lite0", "efficientnet_lite2")
DECODERS = ("fpn", "deeplabv3plus", "unet", "lraspp")


class StaticSamePadConv2d(nn.Conv2d):
    """TensorFlow's "same" padding of a strided convolution, fixed for inputs divisible by its stride (the
    wrapper pads every input to a multiple of 32): timm's `Conv2dSame` computes it from the shape at each call,
    which ONNX export bakes in or turns into shape arithmetic. Same parameters, same keys, same outputs."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,  # type: ignore[arg-type]
            conv.stride,  # type: ignore[arg-type]
            0,
            conv.dilation,  # type: ignore[arg-type]
            conv.groups,
            conv.bias is not None,
        )
        pads = []
        for k, s, d in zip(self.kernel_size, self.stride, self.dilation, strict=True):
            total = max((k - 1) * d + 1 - s, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        self.same_pad = (left, right, top, bottom)
        self.load_state_dict(conv.state_dict())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.same_pad))


def with_static_same_padding(module: nn.Module) -> nn.Module:
    """Replace every timm `Conv2dSame` in `module` with a `StaticSamePadConv2d`; returns the module."""
    for name, child in list(module.named_modules()):
        if type(child).__name__ in ("Conv2dSame", "Conv2dSameExport"):
            parent_name, _, attr = name.rpartition(".")
            setattr(module.get_submodule(parent_name), attr, StaticSamePadConv2d(child))
    return module


class LiteInput(nn.Module):
    """ImageNet mean/std-normalised images -> Google's EfficientNet-Lite scale, (pixel - 127) / 128."""

    def __init__(self) -> None:
        super().__init__()
        std, mean = torch.tensor(STD).view(1, 3, 1, 1), torch.tensor(MEAN).view(1, 3, 1, 1)
        self.scale: torch.Tensor
        self.offset: torch.Tensor
        self.register_buffer("scale", std * 255 / 128, persistent=False)
        self.register_buffer("offset", (mean * 255 - 127) / 128, persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images * self.scale + self.offset


class LRASPP(nn.Module):
    """LR-ASPP (Howard et al. 2019) on a four-stage encoder: torchvision's head on the 1/8 and 1/32 features."""

    def __init__(self, encoder: nn.Module, num_classes: int, inter_channels: int):
        super().__init__()
        self.encoder = encoder
        channels: list[int] = list(encoder.out_channels)  # type: ignore[arg-type]
        self.head = LRASPPHead(channels[-3], channels[-1], num_classes, inter_channels)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.encoder(images)
        logits = self.head({"low": features[-3], "high": features[-1]})
        return F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)


class EfficientNetLiteSegmenter(nn.Module):
    """An smp-style segmenter (`encoder` + decoder) whose encoder is an exact EfficientNet-Lite, fed Google's scale."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.to_lite_scale = LiteInput()
        self.model = net

    @property
    def encoder(self) -> nn.Module:
        """smp's TimmUniversalEncoder; its `model` holds timm's feature extractor (the ImageNet weights' keys)."""
        encoder = self.model.encoder
        assert isinstance(encoder, nn.Module)
        return encoder

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(self.to_lite_scale(images))
        return logits


def efficientnet_lite_net(decoder: str, variant: str, num_classes: int, width: float = 1.0) -> nn.Module:
    """`decoder` (one of DECODERS) on `variant` (one of VARIANTS); `width` scales the decoder's channels (1.0: FPN
    64, DeepLabV3+ 128, U-Net 128-64-48-32-16, LR-ASPP 128: sized down from smp's defaults, which cost more than
    this encoder on a CPU)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    encoder_name = f"tu-tf_{variant}"
    scaled = lambda channels: max(8, round(channels * width))
    groups_of_32 = lambda channels: max(32, 32 * round(channels * width / 32))  # smp's FPN uses GroupNorm(32)
    net: nn.Module
    if decoder == "fpn":
        net = smp.FPN(
            encoder_name=encoder_name,
            encoder_weights=None,
            decoder_pyramid_channels=scaled(64),
            decoder_segmentation_channels=groups_of_32(64),
            classes=num_classes,
        )
    elif decoder == "deeplabv3plus":
        net = smp.DeepLabV3Plus(
            encoder_name=encoder_name, encoder_weights=None, decoder_channels=scaled(128), classes=num_classes
        )
    elif decoder == "unet":
        net = smp.Unet(
            encoder_name=encoder_name,
            encoder_weights=None,
            decoder_channels=tuple(scaled(c) for c in (128, 64, 48, 32, 16)),
            classes=num_classes,
        )
    elif decoder == "lraspp":
        encoder = smp.encoders.get_encoder(encoder_name, weights=None)
        net = LRASPP(encoder, num_classes, scaled(128))
    else:
        raise ValueError(f"unknown decoder {decoder!r}; choose one of {', '.join(DECODERS)}")
    with_static_same_padding(net)
    return EfficientNetLiteSegmenter(net)
