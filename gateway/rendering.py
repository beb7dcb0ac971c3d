"""Turn the category-id mask into the colour and overlay renderings (NumPy + Pillow only)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from gateway.errors import GatewayError
from roadseg.categories import colorize
from roadseg.images import encode_png


def mask_size(mask_png: bytes) -> tuple[int, int]:
    """(width, height) of a mask PNG, from its header."""
    with Image.open(io.BytesIO(mask_png)) as image:
        return image.size


def mask_ids(mask_png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(mask_png)) as image:
        return np.asarray(image.convert("L"))


def mask_and_confidence(mask_png: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(ids, confidence) from the handler's 2-channel PNG (grayscale ids + alpha confidence)."""
    with Image.open(io.BytesIO(mask_png)) as image:
        if image.mode != "LA":
            raise GatewayError(
                502,
                "torchserve_error",
                f"the model server returned no confidence (a {image.mode} mask); its archive may predate it",
            )
        both = np.asarray(image)
    return np.ascontiguousarray(both[..., 0]), np.ascontiguousarray(both[..., 1])


def colour_png(ids: np.ndarray) -> bytes:
    """RGB PNG of (H, W) category ids in the Cityscapes category colours."""
    return encode_png(colorize(ids))


def overlay(rgb: np.ndarray, ids: np.ndarray, alpha: float) -> np.ndarray:
    """The input blended with the category colours; `alpha` is the colours' weight."""
    blended = (1 - alpha) * rgb.astype(np.float32) + alpha * colorize(ids).astype(np.float32)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def overlay_png(rgb: np.ndarray, ids: np.ndarray, alpha: float) -> bytes:
    return encode_png(overlay(rgb, ids, alpha))
