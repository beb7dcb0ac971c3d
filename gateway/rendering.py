"""Renderings of a category-id mask as PNGs (colours, overlay), and the ids + confidence of the model's answer."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from gateway.model_server import ModelServerFailure, model_server_error
from roadseg.categories import colorize
from roadseg.images import encode_png
from roadseg.masks import decode_mask_png, overlay


def mask_size(mask_png: bytes) -> tuple[int, int]:
    """(width, height) of a mask PNG, from its header."""
    with Image.open(io.BytesIO(mask_png)) as image:
        return image.size


def mask_and_confidence(mask_png: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(ids, confidence) from the handler's 2-channel PNG (grayscale ids + alpha confidence)."""
    ids, confidence = decode_mask_png(mask_png)
    if confidence is None:
        raise model_server_error(
            ModelServerFailure.failed, "the model server returned no confidence; its archive may predate it"
        )
    return ids, confidence


def colour_png(ids: np.ndarray) -> bytes:
    """RGB PNG of (H, W) category ids in the Cityscapes category colours."""
    return encode_png(colorize(ids))


def overlay_png(rgb: np.ndarray, ids: np.ndarray, alpha: float) -> bytes:
    return encode_png(overlay(rgb, ids, alpha))
