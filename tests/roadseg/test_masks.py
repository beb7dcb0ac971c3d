import numpy as np

from roadseg.categories import CATEGORY_PALETTE
from roadseg.images import encode_png
from roadseg.masks import category_pixels, category_share_by_name, decode_mask_png, encode_mask_png, mask_ids, overlay


def test_shares_of_every_category_by_name_in_id_order():
    ids = np.array([[5, 5, 0, 7]], np.uint8)
    shares = category_share_by_name(ids)
    assert list(shares)[:2] == ["void", "flat"] and len(shares) == 8
    assert shares["sky"] == 0.5 and shares["void"] == 0.25 and shares["vehicle"] == 0.25 and shares["human"] == 0
    assert category_pixels(ids).tolist() == [1, 0, 0, 0, 0, 2, 0, 1]


def test_overlay_weights_the_category_colour_by_alpha():
    rgb = np.full((1, 2, 3), 100, np.uint8)
    ids = np.array([[5, 0]], np.uint8)
    blended = overlay(rgb, ids, 0.25)
    sky = CATEGORY_PALETTE[5]
    assert blended[0, 0].tolist() == [int(0.75 * 100 + 0.25 * c + 0.5) for c in sky]
    assert blended[0, 1].tolist() == [75, 75, 75]  # void is black


def test_mask_ids_read_plain_and_confidence_masks():
    ids = np.array([[1, 2], [3, 7]], np.uint8)
    assert np.array_equal(mask_ids(encode_png(ids)), ids)
    with_confidence = np.stack([ids, np.full_like(ids, 200)], axis=-1)
    assert np.array_equal(mask_ids(encode_png(with_confidence)), ids)


def test_mask_png_round_trips_ids_and_confidence():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 8, (5, 7), dtype=np.uint8)
    confidence = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    decoded_ids, decoded_confidence = decode_mask_png(encode_mask_png(ids, confidence))
    assert np.array_equal(decoded_ids, ids) and np.array_equal(decoded_confidence, confidence)
    only_ids, none = decode_mask_png(encode_mask_png(ids))
    assert np.array_equal(only_ids, ids) and none is None
    assert np.array_equal(mask_ids(encode_mask_png(ids, confidence)), ids)
