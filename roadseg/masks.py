"""What every part computes from a mask of category ids: its PNG (ids, and the confidence as a second channel when
asked) written and read back, the overlay on the image, each category's share. NumPy + Pillow only: the handler,
the gateway and the app use the same functions."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from roadseg.categories import CATEGORIES, NUM_CATEGORIES, colorize
from roadseg.images import encode_png


def encode_mask_png(ids: np.ndarray, confidence: np.ndarray | None = None) -> bytes:
    """8-bit PNG of (H, W) category ids; with `confidence` (H, W uint8, 255 = sure) as its alpha channel."""
    return encode_png(ids if confidence is None else np.stack([ids, confidence], axis=-1))


def decode_mask_png(mask_png: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(ids, confidence or None) from a mask PNG written by `encode_mask_png`."""
    with Image.open(io.BytesIO(mask_png)) as image:
        if image.mode == "LA":
            both = np.asarray(image)
            return np.ascontiguousarray(both[..., 0]), np.ascontiguousarray(both[..., 1])
        return np.asarray(image.convert("L")), None


def mask_ids(mask_png: bytes) -> np.ndarray:
    """(H, W) uint8 category ids from a mask PNG (its first channel when it carries the confidence too)."""
    return decode_mask_png(mask_png)[0]


def overlay(rgb: np.ndarray, ids: np.ndarray, alpha: float) -> np.ndarray:
    """The image blended with its category colours; `alpha` is the colours' weight (0..1)."""
    blended = (1 - alpha) * rgb.astype(np.float32) + alpha * colorize(ids).astype(np.float32)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def category_pixels(ids: np.ndarray) -> np.ndarray:
    """Pixels of each category, indexed by category id (NUM_CATEGORIES counts)."""
    return np.bincount(ids.ravel(), minlength=NUM_CATEGORIES)[:NUM_CATEGORIES]


def category_share_by_name(ids: np.ndarray) -> dict[str, float]:
    """Each category's share of the mask's pixels (0..1), by name, in id order."""
    counts = category_pixels(ids)
    return {c.name: float(counts[c.id]) / max(ids.size, 1) for c in CATEGORIES}
