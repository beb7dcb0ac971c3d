"""What the page adds to the core's mask helpers (`roadseg.masks`): the image as the browser shows it, only the
chosen categories, the ZIP of many masks."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

import numpy as np

from roadseg.images import ImageDecodeError, decode_image


def decode_rgb(data: bytes) -> np.ndarray | None:
    """The image as the page shows it (EXIF applied), or None when it cannot be read here."""
    try:
        return decode_image(data)
    except ImageDecodeError:
        return None


def only_shown(rgb: np.ndarray, ids: np.ndarray, shown_ids: list[int], background: np.ndarray) -> np.ndarray:
    """`rgb` where the category is one of `shown_ids`, `background` (same shape) elsewhere."""
    return np.where(np.isin(ids, shown_ids)[..., None], rgb, background)


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
