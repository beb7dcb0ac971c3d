"""Image bytes in, RGB array out (and PNG bytes back): shared by the datasets, the handler and the gateway."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from roadseg.limits import max_pixels as configured_max_pixels

SUPPORTED_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP", "BMP", "TIFF"})  # extensions: roadseg.media
EXIF_ORIENTATION = 0x0112

# Our own pixel limit is checked before decoding; Pillow's bomb check would only repeat it.
Image.MAX_IMAGE_PIXELS = None


class ImageDecodeError(ValueError):
    """The bytes are not an image this product reads; the message says why, for a person."""


class UnsupportedImageError(ImageDecodeError):
    """Not an image, or a format this product does not read."""


class ImageTooLargeError(ImageDecodeError):
    """The image has more pixels than allowed."""


def inspect_image(data: bytes, max_pixels: int | None = None) -> Image.Image:
    """Open `data` lazily, checking from its header alone that it is a supported format with at most
    `max_pixels` pixels (default: ROADSEG_MAX_PIXELS); the pixels are not decoded."""
    max_pixels = configured_max_pixels() if max_pixels is None else max_pixels
    if not data:
        raise ImageDecodeError("the uploaded file is empty")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnsupportedImageError(
            "the file is not an image that can be read (supported: PNG, JPEG, WebP, BMP, TIFF)"
        ) from None
    if image.format not in SUPPORTED_FORMATS:
        raise UnsupportedImageError(f"{image.format} images are not supported (supported: PNG, JPEG, WebP, BMP, TIFF)")
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageDecodeError(f"the image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,} pixels"
        )
    return image


def open_image(data: bytes, max_pixels: int | None = None) -> Image.Image:
    """`inspect_image`, then decode every pixel (truncated or corrupt data fails here)."""
    image = inspect_image(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. odd EXIF or ICC data: the pixels are still fine
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageDecodeError(f"the image data is truncated or corrupt ({error})") from None
    return image


def rgb_array(image: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB with EXIF orientation applied, from any mode (16-bit, float, CMYK, palette...)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
        if image.mode == "I" and values.max() <= 255:
            top = 255.0
        gray = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.array(image)


def upright_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) once the EXIF orientation is applied, from the header alone (a PNG's eXIf chunk comes
    before its pixel data; Pillow's getexif would decode the whole PNG to look for a late one)."""
    try:
        if image.format == "PNG":
            exif = Image.Exif()
            if raw := image.info.get("exif"):
                exif.load(raw)
        else:
            exif = image.getexif()
        orientation = exif.get(EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, struct.error):
        orientation = 1  # unreadable metadata: the decoder will say what is wrong with the file
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def decode_image(data: bytes, max_pixels: int | None = None) -> np.ndarray:
    """Bytes of PNG/JPEG/WebP/BMP/TIFF in any mode -> (H, W, 3) uint8 RGB, upright."""
    return rgb_array(open_image(data, max_pixels))


def encode_png(array: np.ndarray) -> bytes:
    """(H, W) uint8 -> 8-bit grayscale PNG; (H, W, 2) -> grayscale + alpha; (H, W, 3) -> RGB PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
