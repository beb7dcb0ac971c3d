"""Test images as bytes, in the formats and modes the service must read."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def gradient_rgb(width: int, height: int) -> np.ndarray:
    """A smooth RGB image (compresses well, so large sizes stay small files)."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    return np.stack(
        [np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)), np.full((height, width), 128.0)],
        axis=-1,
    ).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def image_bytes(kind: str, width: int = 101, height: int = 77) -> bytes:
    """One test image; `kind` names format and mode, e.g. 'png-rgba', 'jpeg-cmyk', 'png-16bit'."""
    rgb = Image.fromarray(gradient_rgb(width, height))
    if kind == "png-rgb":
        return encode(rgb, "PNG")
    if kind == "png-rgba":
        return encode(rgb.convert("RGBA"), "PNG")
    if kind == "png-gray":
        return encode(rgb.convert("L"), "PNG")
    if kind == "png-palette":
        return encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG")
    if kind == "png-16bit":
        values = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
        return encode(Image.fromarray(values), "PNG")
    if kind == "jpeg":
        return encode(rgb, "JPEG", quality=90)
    if kind == "jpeg-cmyk":
        return encode(rgb.convert("CMYK"), "JPEG", quality=90)
    if kind == "jpeg-exif-rotated":  # stored landscape, EXIF says rotate 90°: upright it is portrait
        exif = Image.Exif()
        exif[0x0112] = 6
        return encode(rgb, "JPEG", quality=90, exif=exif.tobytes())
    if kind == "webp":
        return encode(rgb, "WEBP", quality=90)
    if kind == "bmp":
        return encode(rgb, "BMP")
    if kind == "tiff":
        return encode(rgb, "TIFF")
    raise ValueError(kind)


UPRIGHT_SIZE = {"jpeg-exif-rotated": lambda w, h: (h, w)}


def decompression_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG that declares width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )
