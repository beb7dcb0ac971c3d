"""VGG16-BN encoder + U-Net decoder, from segmentation_models_pytorch; `width` < 1 thins every layer."""

from __future__ import annotations

import segmentation_models_pytorch as smp
from segmentation_models_pytorch.encoders import encoders as SMP_ENCODERS


def _register_thin_vgg16_bn(width: float) -> str:
    """Register smp's VGG16-BN encoder with every channel count scaled by `width`; returns its name."""
    name = f"vgg16_bn_w{width:g}"
    if name not in SMP_ENCODERS:
        base = SMP_ENCODERS["vgg16_bn"]
        params = dict(base["params"])
        params["config"] = [v if v == "M" else max(8, round(v * width)) for v in params["config"]]
        params["out_channels"] = [3] + [max(8, round(c * width)) for c in params["out_channels"][1:]]
        SMP_ENCODERS[name] = {"encoder": base["encoder"], "pretrained_settings": {}, "params": params}
    return name


def build_vgg16_unet_net(num_classes: int, width: float = 1.0) -> smp.Unet:
    encoder_name = "vgg16_bn" if width == 1.0 else _register_thin_vgg16_bn(width)
    decoder_channels = [max(8, round(c * width)) for c in (256, 128, 64, 32, 16)]
    return smp.Unet(
        encoder_name=encoder_name,
        encoder_weights=None,
        decoder_channels=decoder_channels,
        classes=num_classes,
    )
