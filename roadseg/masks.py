"""What every part computes from a mask of category ids: the ids out of its PNG, the overlay on the image,
each category's share. NumPy + Pillow only: the gateway and the app use the same functions."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from roadseg.categories import CATEGORIES, NUM_CATEGORIES, colorize


def mask_ids(mask_png: bytes) -> np.ndarray:
    """(H, W) uint8 category ids from a mask PNG (its first channel when it carries the confidence too)."""
    with Image.open(io.BytesIO(mask_png)) as image:
        return np.asarray(image.getchannel(0) if image.mode == "LA" else image.convert("L"))


def overlay(rgb: np.ndarray, ids: np.ndarray, alpha: float) -> np.ndarray:
    """The image blended with its category colours; `alpha` is the colours' weight (0..1)."""
    blended = (1 - alpha) * rgb.astype(np.float32) + alpha * colorize(ids).astype(np.float32)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def category_pixels(ids: np.ndarray) -> np.ndarray:
    """Pixels of each category, indexed by category id (NUM_CATEGORIES counts)."""
    return np.bincount(ids.ravel(), minlength=NUM_CATEGORIES)[:NUM_CATEGORIES]


def category_shares(ids: np.ndarray) -> dict[str, float]:
    """Each category's share of the mask's pixels (0..1), by name, in id order."""
    counts = category_pixels(ids)
    return {c.name: float(counts[c.id]) / max(ids.size, 1) for c in CATEGORIES}
