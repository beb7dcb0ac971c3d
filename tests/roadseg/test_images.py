import io

import numpy as np
import pytest
from PIL import Image

from roadseg.images import (
    ImageDecodeError,
    ImageTooLargeError,
    UnsupportedImageError,
    decode_image,
    inspect_image,
    open_image,
    upright_size,
)
from tests.images import decompression_bomb, encode, image_bytes


@pytest.mark.parametrize(
    "kind", ["png-rgb", "png-rgba", "png-gray", "png-palette", "png-16bit", "jpeg", "jpeg-cmyk", "webp", "bmp", "tiff"]
)
def test_every_mode_decodes_to_rgb_uint8(kind):
    rgb = decode_image(image_bytes(kind, 101, 77))
    assert rgb.shape == (77, 101, 3) and rgb.dtype == np.uint8
    assert 0 < rgb.mean() < 255  # the picture survived (not all black or white)


def test_16bit_is_scaled_not_clipped():
    values = np.full((4, 4), 40000, dtype=np.uint16)
    rgb = decode_image(encode(Image.fromarray(values), "PNG"))
    assert abs(int(rgb[0, 0, 0]) - round(40000 / 257)) <= 1


def test_exif_orientation_is_applied():
    assert decode_image(image_bytes("jpeg-exif-rotated", 101, 77)).shape == (101, 77, 3)


def test_upright_size_agrees_with_the_decoded_pixels():
    for kind in ("jpeg-exif-rotated", "jpeg"):
        data = image_bytes(kind, 101, 77)
        height, width = decode_image(data).shape[:2]
        assert upright_size(open_image(data)) == (width, height)


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", ImageDecodeError, "empty"),
        (b"plain text", UnsupportedImageError, "not an image"),
        (image_bytes("png-rgb", 200, 150)[:300], ImageDecodeError, "truncated"),
        (decompression_bomb(), ImageTooLargeError, "900,000,000 pixels"),
    ],
)
def test_bad_bytes_raise_a_clear_error(data, error, words):
    with pytest.raises(error, match=words):
        decode_image(data)


def test_unsupported_format_is_named():
    with pytest.raises(UnsupportedImageError, match="GIF images are not supported"):
        decode_image(encode(Image.new("RGB", (4, 4)), "GIF"))


def test_inspect_image_reads_the_header_only_and_open_image_decodes():
    truncated = image_bytes("png-rgb", 200, 150)[:300]
    image = inspect_image(truncated, 10**6)
    assert image.size == (200, 150) and upright_size(image) == (200, 150)
    with pytest.raises(ImageDecodeError, match="truncated"):
        open_image(truncated, 10**6)
    with pytest.raises(ImageTooLargeError, match="the limit is 29,999 pixels"):
        inspect_image(truncated, 29_999)


def test_upright_size_of_a_png_reads_its_exif_chunk_without_decoding():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40)).save(buffer, format="PNG", exif=exif)
    data = buffer.getvalue()
    truncated = data[: data.index(b"IDAT") + 8]  # the header and eXIf chunk, no pixel data
    assert upright_size(inspect_image(truncated, 10**6)) == (40, 120)
    assert decode_image(data).shape[:2] == (120, 40)  # the decoder agrees
