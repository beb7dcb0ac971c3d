import io
import zipfile

import numpy as np
from app_masks import category_shares, colour_mask, masks_zip, only_shown, overlay
from app_settings import AppSettings
from PIL import Image

CATEGORIES = [{"id": 0, "name": "void", "color": [0, 0, 0]}, {"id": 5, "name": "sky", "color": [70, 130, 180]}]


def test_shares_and_colours():
    ids = np.array([[5, 5, 0, 0]], np.uint8)
    assert category_shares(ids, CATEGORIES) == {"void": 0.5, "sky": 0.5}
    assert colour_mask(ids, CATEGORIES)[0, 0].tolist() == [70, 130, 180]


def test_overlay_opacity():
    rgb = np.full((1, 1, 3), 100, np.uint8)
    colours = np.full((1, 1, 3), 200, np.uint8)
    assert overlay(rgb, colours, 0.25)[0, 0, 0] == 125


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
