"""The file name extensions of what the product reads, lower case, without the dot: images (decoded by Pillow,
`roadseg.images`) and videos (decoded by PyAV, `roadseg.videos`), for file pickers, uploads and folder walks.
Free of Pillow and PyAV, so a caller can sort files before it imports either."""

from __future__ import annotations

from pathlib import Path

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff")  # PNG, JPEG (and MPO), WebP, BMP, TIFF
VIDEO_EXTENSIONS = ("mp4", "mov", "avi", "mkv", "webm")  # MP4/MOV, AVI, MKV and its WebM subset


def media_kind(path: str | Path) -> str | None:
    """'image', 'video', or None for a file the product does not read (by its extension)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return "image" if suffix in IMAGE_EXTENSIONS else "video" if suffix in VIDEO_EXTENSIONS else None
