"""What the page computes from a mask: colours, overlay, category shares, the ZIP of many masks."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

import numpy as np
from PIL import Image, ImageOps


def decode_rgb(data: bytes) -> np.ndarray | None:
    """The image as the page shows it (EXIF applied), or None when the browser side cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except Exception:
        return None


def mask_ids(mask_png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(mask_png)) as image:
        return np.asarray(image.convert("L"))


def palette(categories: list[dict]) -> np.ndarray:
    table = np.zeros((256, 3), dtype=np.uint8)
    for category in categories:
        table[category["id"]] = category["color"]
    return table


def colour_mask(ids: np.ndarray, categories: list[dict]) -> np.ndarray:
    return palette(categories)[ids]


def overlay(rgb: np.ndarray, colours: np.ndarray, opacity: float) -> np.ndarray:
    blended = (1 - opacity) * rgb.astype(np.float32) + opacity * colours.astype(np.float32)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def only_shown(rgb: np.ndarray, ids: np.ndarray, shown_ids: list[int], background: np.ndarray) -> np.ndarray:
    """`rgb` where the category is one of `shown_ids`, `background` (same shape) elsewhere."""
    return np.where(np.isin(ids, shown_ids)[..., None], rgb, background)


def category_shares(ids: np.ndarray, categories: list[dict]) -> dict[str, float]:
    """Share of the image's pixels in each category, in category order."""
    counts = np.bincount(ids.ravel(), minlength=256)
    return {c["name"]: float(counts[c["id"]]) / ids.size for c in categories}


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def masks_zip(results: list[tuple[str, bytes, bytes]]) -> bytes:
    """ZIP of `<stem>_mask.png` (category ids) and `<stem>_color.png` per (filename, raw PNG, colour PNG)."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for filename, raw_png, colour_png in results:
            stem = PurePath(filename).stem or "image"
            unique, n = stem, 1
            while unique in used:
                n += 1
                unique = f"{stem}_{n}"
            used.add(unique)
            archive.writestr(f"{unique}_mask.png", raw_png)
            archive.writestr(f"{unique}_color.png", colour_png)
    return buffer.getvalue()
