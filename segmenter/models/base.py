"""The wrapper every registered model shares: input checks, padding to the net's stride, logits of the input size."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class SegmentationModel(nn.Module):
    """Wraps a segmentation net: (N, 3, H, W) normalised images -> (N, C, H, W) logits, for any H, W."""

    def __init__(self, net: nn.Module, size_divisor: int, num_classes: int):
        super().__init__()
        self.net = net  # must expose the feature extractor as `net.encoder`
        self.size_divisor = size_divisor
        self.num_classes = num_classes

    @property
    def encoder(self) -> nn.Module:
        encoder = self.net.encoder
        assert isinstance(encoder, nn.Module)
        return encoder

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images of shape (N, 3, H, W), got {tuple(images.shape)}")
        height, width = images.shape[-2:]
        pad_h = -height % self.size_divisor
        pad_w = -width % self.size_divisor
        # Always padded (zeros are a no-op), never branched on: an exported graph (ONNX) must not bake in
        # whether its example input needed padding. Images are normalised: zero is the dataset mean colour.
        images = F.pad(images, (0, pad_w, 0, pad_h))
        logits = self.net(images)
        return logits[..., :height, :width]

    def load_encoder_weights(self, path: str | Path) -> None:
        """Load a local state dict (e.g. ImageNet VGG16-BN features) into the encoder; strict on shared keys."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        own = self.encoder.state_dict()
        matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        if not matched:
            raise ValueError(f"{path}: no tensor matches the encoder's parameter names and shapes")
        self.encoder.load_state_dict(matched, strict=False)
