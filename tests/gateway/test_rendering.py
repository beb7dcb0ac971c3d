import io

import numpy as np
from PIL import Image

from gateway.rendering import colour_png, overlay_png
from roadseg.categories import CATEGORY_PALETTE


def test_colour_png_paints_categories():
    ids = np.array([[0, 1, 2, 3], [4, 5, 6, 7]], dtype=np.uint8)
    rgb = np.asarray(Image.open(io.BytesIO(colour_png(ids))))
    assert rgb.shape == (2, 4, 3) and (rgb == CATEGORY_PALETTE[ids]).all()


def test_overlay_blends_with_alpha():
    ids = np.full((3, 3), 5, dtype=np.uint8)
    image = np.full((3, 3, 3), 200, dtype=np.uint8)
    out = np.asarray(Image.open(io.BytesIO(overlay_png(image, ids, 0.5)))).astype(int)
    assert np.abs(out - (0.5 * 200 + 0.5 * CATEGORY_PALETTE[5])).max() <= 1
    untouched = np.asarray(Image.open(io.BytesIO(overlay_png(image, ids, 0.0))))
    assert (untouched == 200).all()
