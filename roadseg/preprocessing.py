"""Eval preprocessing: resize to the inference scale and normalise. Training's eval preset, the TorchServe
handler and the ONNX path all call `model_input`, so training and serving cannot drift apart."""

from __future__ import annotations

import numpy as np
from PIL import Image

# ImageNet statistics: the convention of the VGG encoders, kept so local pretrained weights fit.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
_SCALE = (1.0 / (255.0 * np.asarray(STD, dtype=np.float32))).reshape(3, 1, 1)
_OFFSET = (np.asarray(MEAN, dtype=np.float32) / np.asarray(STD, dtype=np.float32)).reshape(3, 1, 1)


def resized_size_for_short_side(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) after resizing so the shorter side is `short_side`, aspect ratio kept (as v2.Resize)."""
    if height <= width:
        return short_side, max(1, int(short_side * width / height))
    return max(1, int(short_side * height / width)), short_side


def normalized_chw(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32, scaled to [0, 1] then normalised with MEAN and STD."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) * _SCALE - _OFFSET


def model_input(rgb: np.ndarray, short_side: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, h, w) float32 model input whose shorter side is `short_side`.

    Bilinear with antialiasing (Pillow), as torchvision's `resize(antialias=True)` does."""
    height, width = rgb.shape[:2]
    size = resized_size_for_short_side(height, width, short_side)
    if size != (height, width):
        rgb = np.asarray(
            Image.fromarray(np.ascontiguousarray(rgb)).resize((size[1], size[0]), Image.Resampling.BILINEAR)
        )
    return normalized_chw(rgb)
