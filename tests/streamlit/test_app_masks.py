import io
import zipfile

import numpy as np
from app_masks import decode_rgb, masks_zip, only_shown
from app_settings import AppSettings
from PIL import Image


def test_zip_holds_both_masks_per_image_with_unique_names():
    png = io.BytesIO()
    Image.new("L", (2, 2)).save(png, format="PNG")
    data = masks_zip([("a.png", png.getvalue(), b"c"), ("a.jpg", png.getvalue(), b"c")])
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["a_mask.png", "a_color.png", "a_2_mask.png", "a_2_color.png"]


def test_api_url_accepts_base_or_full_predict_url(monkeypatch):
    monkeypatch.setenv("API_URL", "http://gw:8000/predict/")
    assert AppSettings().api_url == "http://gw:8000"
    monkeypatch.setenv("API_URL", "http://gw:8000/")
    assert AppSettings().api_url == "http://gw:8000"


def test_only_shown_keeps_the_chosen_categories_and_the_background_elsewhere():
    ids = np.array([[1, 5], [7, 1]], np.uint8)
    coloured = np.full((2, 2, 3), 200, np.uint8)
    background = np.zeros((2, 2, 3), np.uint8)
    shown = only_shown(coloured, ids, [1, 7], background)
    assert shown[..., 0].tolist() == [[200, 0], [200, 200]]
    assert only_shown(coloured, ids, [], background).max() == 0


def test_decode_rgb_gives_none_for_what_cannot_be_shown():
    png = io.BytesIO()
    Image.new("RGBA", (3, 2), (10, 20, 30, 255)).save(png, format="PNG")
    assert decode_rgb(png.getvalue()).shape == (2, 3, 3)
    assert decode_rgb(b"not an image") is None
