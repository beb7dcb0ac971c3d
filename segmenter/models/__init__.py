"""The model registry: one name -> builder table; every builder returns a `SegmentationModel`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from roadseg.categories import NUM_CATEGORIES
from segmenter.models.base import SegmentationModel

__all__ = [
    "EFFICIENTNET_LITE_MODELS",
    "MODEL_REGISTRY",
    "REALTIME_MODELS",
    "SegmentationModel",
    "build_model",
    "display_name",
]
from segmenter.models.ddrnet import DDRNet23Slim
from segmenter.models.dilatednet import DilatedNet
from segmenter.models.efficientnet_lite import DECODERS, VARIANTS, efficientnet_lite_net
from segmenter.models.realtime import LRASPPMobileNetV3, deeplabv3plus, pspnet
from segmenter.models.unet_mini import UNetMini
from segmenter.models.vgg16_unet import build_vgg16_unet_net


def _unet_mini(num_classes: int, width: float = 1.0) -> SegmentationModel:
    net = UNetMini(num_classes, base_width=max(4, round(16 * width)))
    return SegmentationModel(net, size_divisor=16, num_classes=num_classes)


def _vgg16_unet(num_classes: int, width: float = 1.0) -> SegmentationModel:
    net = build_vgg16_unet_net(num_classes, width)
    return SegmentationModel(net, size_divisor=32, num_classes=num_classes)


def _dilatednet(num_classes: int, width: float = 1.0) -> SegmentationModel:
    net = DilatedNet(num_classes, width)
    return SegmentationModel(net, size_divisor=8, num_classes=num_classes)


def _smp(build: Callable[..., nn.Module], encoder: str) -> Callable[..., SegmentationModel]:
    def builder(num_classes: int, width: float = 1.0) -> SegmentationModel:
        return SegmentationModel(build(num_classes, encoder, width), size_divisor=32, num_classes=num_classes)

    return builder


def _lraspp_mobilenet_v3(num_classes: int, width: float = 1.0) -> SegmentationModel:
    return SegmentationModel(LRASPPMobileNetV3(num_classes, width), size_divisor=32, num_classes=num_classes)


def _ddrnet23_slim(num_classes: int, width: float = 1.0) -> SegmentationModel:
    return SegmentationModel(DDRNet23Slim(num_classes, width), size_divisor=64, num_classes=num_classes)


def _efficientnet_lite(decoder: str, variant: str) -> Callable[..., SegmentationModel]:
    def builder(num_classes: int, width: float = 1.0) -> SegmentationModel:
        net = efficientnet_lite_net(decoder, variant, num_classes, width)
        return SegmentationModel(net, size_divisor=32, num_classes=num_classes)

    return builder


# Decoders on ImageNet-pretrainable EfficientNet-Lite encoders (training.imagenet_weights loads the weights).
EFFICIENTNET_LITE_MODELS: dict[str, Callable[..., SegmentationModel]] = {
    f"{decoder}_{variant}": _efficientnet_lite(decoder, variant) for variant in VARIANTS for decoder in DECODERS
}
# Real-time candidates: architecture_encoder (smp's encoder names), none pretrained.
REALTIME_MODELS: dict[str, Callable[..., SegmentationModel]] = {
    "deeplabv3plus_mobilenet_v2": _smp(deeplabv3plus, "mobilenet_v2"),
    "deeplabv3plus_resnet18": _smp(deeplabv3plus, "resnet18"),
    "pspnet_resnet18": _smp(pspnet, "resnet18"),
    "lraspp_mobilenet_v3": _lraspp_mobilenet_v3,
    "ddrnet23_slim": _ddrnet23_slim,
}
MODEL_REGISTRY: dict[str, Callable[..., SegmentationModel]] = {
    "unet_mini": _unet_mini,
    "vgg16_unet": _vgg16_unet,
    "dilatednet": _dilatednet,
    **REALTIME_MODELS,
    **EFFICIENTNET_LITE_MODELS,
}
DISPLAY_NAMES = {
    "unet_mini": "U-Net Mini",
    "vgg16_unet": "VGG16 U-Net",
    "dilatednet": "DilatedNet",
    "deeplabv3plus_mobilenet_v2": "DeepLabV3+ (MobileNetV2)",
    "deeplabv3plus_resnet18": "DeepLabV3+ (ResNet-18)",
    "pspnet_resnet18": "PSPNet (ResNet-18)",
    "lraspp_mobilenet_v3": "LR-ASPP (MobileNetV3-Large)",
    "ddrnet23_slim": "DDRNet-23-slim",
    **{
        f"{decoder}_{variant}": f"{decoder_name} (EfficientNet-Lite{variant[-1]})"
        for variant in VARIANTS
        for decoder, decoder_name in zip(DECODERS, ("FPN", "DeepLabV3+", "U-Net", "LR-ASPP"), strict=True)
    },
}


def build_model(name: str, num_classes: int = NUM_CATEGORIES, **kwargs: Any) -> SegmentationModel:
    """Build a registered model by name; kwargs (e.g. `width`) go to its builder."""
    try:
        builder = MODEL_REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODEL_REGISTRY)}") from None
    return builder(num_classes, **kwargs)


def display_name(name: str, width: float = 1.0) -> str:
    """Human name; a width-reduced variant says so."""
    base = DISPLAY_NAMES.get(name, name)
    return base if width == 1.0 else f"{base} (width {width:g})"
